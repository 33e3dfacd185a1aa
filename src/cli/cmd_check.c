/* pyhost check: does a component fit the sensor-plugin world? */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/escape.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: pyhost check [--config FILE] PLUGIN\n"
                     "\n"
                     "Says whether PLUGIN.wasm is a component that fits the sensor-plugin world\n"
                     "(wit/plugin.wit) and lists what it imports and exports; a plugin given as\n"
                     "Python source (a .py file or a directory) is loaded on the Python runtime.\n"
                     "Exits 0 when it fits, 1 when it does not, 2 on a usage error.\n");
}

/* Python source: it fits when the runtime imports it and finds its classes. */
static int check_python_source(const struct host_config *config, const char *path) {
        struct ph_error error = {0};
        struct plugin_config plugin_config;
        if (cli_plugin_config(config, path, &plugin_config, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 2;
        }
        struct cli_plugin opened;
        if (cli_plugin_open(config, &plugin_config, &opened, &error) < 0) {
                escape_print_line(stderr, "pyhost: does not load: %s", error.message);
                return 1;
        }
        cli_plugin_close(&opened);
        escape_print_line(stdout, "%s: loads on the Python runtime (%s)", path,
                          config->python_runtime);
        return 0;
}

int cmd_check(int argc, char **argv) {
        static const struct option long_options[] = {{"config", required_argument, NULL, 'c'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        const char *config_path = NULL;
        int option;
        while ((option = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        const char *path = argv[optind];
        struct host_config config;
        if (cli_load_config(config_path, &config) < 0)
                return 2;
        if (cli_is_python_source(path))
                return check_python_source(&config, path);

        struct ph_error error = {0};
        struct plugin_engine *engine = plugin_engine_new(config.cache_dir, &error);
        if (engine == NULL) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 1;
        }
        plugin_engine_set_precompiled_key(engine, config.precompiled_key);
        struct plugin_interfaces interfaces;
        int result = plugin_inspect_file(engine, path, &interfaces, &error);
        plugin_engine_free(engine);

        if (interfaces.import_count + interfaces.export_count > 0) {
                /* The names are the component's: escaped. */
                printf("imports:\n");
                for (size_t i = 0; i < interfaces.import_count; i++)
                        escape_print_line(stdout, "  %s", interfaces.imports[i]);
                printf("exports:\n");
                for (size_t i = 0; i < interfaces.export_count; i++)
                        escape_print_line(stdout, "  %s", interfaces.exports[i]);
        }
        if (result < 0) {
                escape_print_line(stderr, "pyhost: does not fit the sensor-plugin world: %s",
                                  error.message);
                return 1;
        }
        escape_print_line(stdout, "%s: fits the sensor-plugin world", path);
        return 0;
}
