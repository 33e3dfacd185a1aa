/* cli.h - the `pyhost` subcommands and what they share.
 * Each command runs on the main thread and returns the process exit code. */
#ifndef PH_CLI_H
#define PH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "hw/hw.h"
#include "plugin/plugin.h"

int cmd_run(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_new(int argc, char **argv);

/* One plugin run by a command on its own engine and board. */
struct cli_plugin {
        struct plugin_engine *engine;
        struct hw_board *board;
        struct plugin *plugin;
};

/* Whether `path` is a plugin given as Python source (a .py file or a
 * directory), which runs on the shared Python runtime. */
bool cli_is_python_source(const char *path);

/* The settings of the plugin at `path` for a single-plugin command: the
 * defaults, named after its file, restarted at once after a crash. */
int cli_plugin_config(const struct host_config *config, const char *path,
                      struct plugin_config *ret_config, struct ph_error *error);

/* Loads the plugin of `plugin_config` (borrowed for the call) on the board
 * and runtime of `config`, and starts its instance. On failure fills
 * `error` (not NULL) and returns its code; the caller closes a plugin
 * opened with cli_plugin_close. */
int cli_plugin_open(const struct host_config *config, const struct plugin_config *plugin_config,
                    struct cli_plugin *ret_plugin, struct ph_error *error);

/* Frees what cli_plugin_open made; accepts a closed or failed one. */
void cli_plugin_close(struct cli_plugin *plugin);

/* Where compiled components are cached unless the config says otherwise:
 * $XDG_CACHE_HOME/pyhost/compiled, else ~/.cache/pyhost/compiled. Writes ""
 * when neither variable is set (no cache). */
void cli_default_cache_dir(char *out, size_t size);

/* Loads `config_path` (NULL: defaults only) into `config`, fills a default
 * cache directory, and prints a clear error on failure. Returns 0 or -1. */
int cli_load_config(const char *config_path, struct host_config *config);

/* Returns a new JSON object describing `failure`; caller json_decrefs. */
json_t *cli_failure_to_json(const struct plugin_failure *failure);

/* Writes `value` to `stream` as one compact JSON line, with the characters
 * that would act on a terminal (C1, bidi controls) as \u escapes
 * (escape_json_fwrite). Does not flush. Takes ownership of `value` (NULL:
 * out of memory). Returns 0, -ENOMEM when `value` is NULL or cannot be
 * formatted, or -EIO when writing failed. */
int cli_print_json_line(FILE *stream, json_t *value);

/* Parses a positive number of seconds; returns -1 when `text` is not one. */
int cli_parse_seconds(const char *text, double *ret_seconds);

#endif
