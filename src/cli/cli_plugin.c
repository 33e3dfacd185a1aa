/* cli_plugin.c - one plugin with its own engine and board, for the commands
 * that run a plugin once (call, check). Main thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

bool cli_is_python_source(const char *path) {
        struct stat info;
        size_t length = strlen(path);
        if (length > 3 && strcmp(path + length - 3, ".py") == 0)
                return true;
        return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

int cli_plugin_config(const struct host_config *config, const char *path,
                      struct plugin_config *ret_config, struct ph_error *error) {
        struct host_config *single = malloc(sizeof(*single));
        if (single == NULL)
                return ph_error_set(error, -ENOMEM, "out of memory");
        *single = *config;
        single->plugin_count = 0;
        int result = config_add_plugin_file(single, path, error);
        if (result == 0)
                *ret_config = single->plugins[0];
        free(single);
        /* Runs exactly the polls asked for: after a crash the next poll
         * restarts the plugin at once instead of waiting out a backoff. */
        if (result == 0)
                ret_config->restart_backoff_ms = 0;
        return result;
}

int cli_plugin_open(const struct host_config *config, const struct plugin_config *plugin_config,
                    struct cli_plugin *ret_plugin, struct ph_error *error) {
        memset(ret_plugin, 0, sizeof(*ret_plugin));
        ret_plugin->engine = plugin_engine_new(config->cache_dir, error);
        if (ret_plugin->engine == NULL)
                goto fail;
        plugin_engine_set_python_runtime(ret_plugin->engine, config->python_runtime);
        plugin_engine_set_precompiled_key(ret_plugin->engine, config->precompiled_key);
        ret_plugin->board = hw_board_new(&config->board, error);
        if (ret_plugin->board == NULL)
                goto fail;
        struct plugin_host_options options = {.state_dir = config->state_dir,
                                              .state_write_interval_s =
                                                      config->state_write_interval_s};
        ret_plugin->plugin =
                plugin_new(ret_plugin->engine, plugin_config, &options, ret_plugin->board, error);
        if (ret_plugin->plugin == NULL)
                goto fail;
        return 0;
fail:
        cli_plugin_close(ret_plugin);
        return error->code < 0 ? error->code : -EINVAL;
}

void cli_plugin_close(struct cli_plugin *plugin) {
        plugin_free(plugin->plugin);
        hw_board_free(plugin->board);
        plugin_engine_free(plugin->engine);
        memset(plugin, 0, sizeof(*plugin));
}
