/* pyhost call: instantiate a plugin once and poll it N times. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/escape.h"
#include "core/log.h"
#include "hw/hw.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: pyhost call [--config FILE] [--polls N] [--no-cache] PLUGIN.wasm\n"
                     "\n"
                     "Instantiates PLUGIN.wasm once on the board of FILE (default: the simulated\n"
                     "board) and polls it N times (default 1). Each poll prints one line on\n"
                     "stdout: a JSON array of readings, or {\"error\": {...}} when it failed.\n"
                     "Exits 0 when every poll succeeded, 1 otherwise, 2 on a usage error.\n");
}

static int parse_polls(const char *text, unsigned long *ret) {
        char *end = NULL;
        unsigned long value = strtoul(text, &end, 10);
        if (end == text || *end != '\0' || text[0] == '-' || value == 0 || value > 100000000UL)
                return -1;
        *ret = value;
        return 0;
}

/* Takes ownership of `value`. */
static int print_json_line(json_t *value) {
        int result = cli_print_json_line(stdout, value);
        if (fflush(stdout) != 0 && result == 0)
                result = -EIO;
        return result;
}

int cmd_call(int argc, char **argv) {
        static const struct option long_options[] = {{"config", required_argument, NULL, 'c'},
                                                     {"polls", required_argument, NULL, 'n'},
                                                     {"no-cache", no_argument, NULL, 'C'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        const char *config_path = NULL;
        unsigned long polls = 1;
        bool use_cache = true;
        int option;
        while ((option = getopt_long(argc, argv, "c:n:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'n':
                        if (parse_polls(optarg, &polls) < 0) {
                                escape_print_line(stderr,
                                                  "pyhost: --polls: '%s' is not a positive count",
                                                  optarg);
                                return 2;
                        }
                        break;
                case 'C':
                        use_cache = false;
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
        struct host_config config;
        if (cli_load_config(config_path, &config) < 0)
                return 2;
        log_set_level(config.log_level);
        if (!use_cache)
                config.cache_dir[0] = '\0';
        struct ph_error error = {0};
        struct plugin_config plugin_config;
        if (cli_plugin_config(&config, argv[optind], &plugin_config, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 2;
        }
        struct cli_plugin opened;
        if (cli_plugin_open(&config, &plugin_config, &opened, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 1;
        }
        struct plugin *plugin = opened.plugin;
        int exit_code = 0;
        for (unsigned long i = 0; i < polls; i++) {
                struct reading_list readings;
                struct plugin_failure failure;
                if (plugin_poll(plugin, &readings, &failure, NULL) < 0) {
                        exit_code = 1;
                        escape_print_line(stderr, "pyhost: %s: poll %lu failed (%s): %s",
                                          plugin_name(plugin), i + 1,
                                          plugin_failure_kind_name(failure.kind), failure.message);
                        print_json_line(cli_failure_to_json(&failure));
                        continue;
                }
                int printed = print_json_line(reading_list_to_json(&readings));
                if (printed < 0) {
                        exit_code = 1;
                        escape_print_line(
                                stderr, "pyhost: %s: poll %lu: cannot print its readings: %s",
                                plugin_name(plugin), i + 1,
                                printed == -ENOMEM ? "out of memory" : strerror(-printed));
                }
                reading_list_clear(&readings);
        }
        struct plugin_status status;
        plugin_get_status(plugin, &status);
        log_write(LOG_LEVEL_INFO, plugin_name(plugin),
                  "linear memory: %.1f MiB now, %.1f MiB at most",
                  (double)status.memory_bytes / 1048576.0,
                  (double)status.memory_high_water / 1048576.0);
        cli_plugin_close(&opened);
        return exit_code;
}
