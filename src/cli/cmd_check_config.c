/* pyhost check-config: read a config file as `run` would, say what it
 * found, and start nothing (no engine, no compiling, no sockets). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: pyhost check-config FILE\n"
                     "       pyhost check-config --keys\n"
                     "\n"
                     "Reads FILE as `pyhost run --config FILE` would and checks every key,\n"
                     "without starting anything. Exits 0 with a summary (the plugins, their\n"
                     "files and whether each exists), 1 with the first error (file:line,\n"
                     "section, key), 2 on a usage error.\n"
                     "--keys prints every section's keys with their defaults and bounds.\n");
}

/* "exists", "MISSING", ... for a plugin's file. */
static const char *file_state(const char *path) {
        struct stat info;
        if (stat(path, &info) < 0)
                return errno == ENOENT ? "MISSING" : "cannot be read";
        if (S_ISDIR(info.st_mode))
                return "is a directory";
        return S_ISREG(info.st_mode) ? "exists" : "not a regular file";
}

static void print_summary(const char *path, const struct host_config *config) {
        printf("%s: ok\n", path);
        printf("board: %s\n", config->board.backend);
        if (config->http.is_enabled)
                printf("http: %s port %u\n", config->http.address, config->http.port);
        else
                printf("http: off\n");
        printf("history: %s\n", config->history.path[0] != '\0' ? config->history.path : "off");
        printf("mqtt: %s\n", config->mqtt.is_enabled ? config->mqtt.host : "off");
        printf("plugins: %zu\n", config->plugin_count);
        for (size_t i = 0; i < config->plugin_count; i++) {
                const struct plugin_config *plugin = &config->plugins[i];
                printf("  [plugin %s] file = %s (%s)\n", plugin->name, plugin->path,
                       file_state(plugin->path));
        }
}

int cmd_check_config(int argc, char **argv) {
        static const struct option long_options[] = {{"keys", no_argument, NULL, 'k'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        bool is_keys = false;
        int option;
        while ((option = getopt_long(argc, argv, "kh", long_options, NULL)) != -1) {
                switch (option) {
                case 'k':
                        is_keys = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (is_keys) {
                if (optind != argc) {
                        usage(stderr);
                        return 2;
                }
                config_print_keys(stdout);
                return 0;
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        const char *path = argv[optind];
        struct host_config config;
        if (cli_load_config(path, &config) < 0)
                return 1;
        print_summary(path, &config);
        return 0;
}
