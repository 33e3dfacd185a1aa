/* pyhost run: the daemon. Parses its arguments and the config, blocks the
 * signals, makes the host (cli/host.h: loads the configured plugins, polls
 * each on its own thread, prints every poll's readings as a JSON line on
 * stdout), serves signals with it and stops cleanly on SIGINT or SIGTERM.
 *
 * As a service (packaging/pyhost.service): tells systemd READY=1 once the
 * plugins are loaded; the host pings its watchdog while every plugin's poll
 * loop makes progress, re-reads the config on SIGHUP and bounds a SIGTERM
 * stop with a guard thread.
 *
 * Threads: the main thread only. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/host.h"
#include "cli/service.h"
#include "core/escape.h"
#include "core/log.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: pyhost run [--config FILE] [--interval SECONDS] [PLUGIN.wasm...]\n"
                "\n"
                "Runs the host: loads the plugins of FILE's [plugin NAME] sections and any\n"
                "PLUGIN.wasm given, polls each at its interval (--interval overrides them all)\n"
                "and prints each poll's readings as one JSON object per line. Stops on\n"
                "SIGINT or SIGTERM; SIGHUP re-reads FILE; SIGUSR1 lifts quarantines.\n");
}

/* Runs the host with the parsed arguments and `config`. */
static int run(struct host_arguments *arguments, struct host_config *config, char **files,
               size_t file_count) {
        if (cli_load_config(arguments->config_path, config) < 0)
                return 2;
        struct ph_error error = {0};
        arguments->files = files;
        arguments->file_count = file_count;
        for (size_t i = 0; i < arguments->file_count; i++) {
                if (config_add_plugin_file(config, arguments->files[i], &error) < 0) {
                        escape_print_line(stderr, "pyhost: %s", error.message);
                        return 2;
                }
        }
        if (config->plugin_count == 0) {
                fprintf(stderr, "pyhost: no plugins: give PLUGIN.wasm or a config with a "
                                "[plugin NAME] section\n");
                return 2;
        }
        log_set_level(config->log_level);

        /* Signals go to sigwait on this thread only: block them before any
         * thread starts, so every thread inherits the mask. */
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGUSR1);
        sigaddset(&signals, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &signals, NULL);

        struct host *host = host_new(arguments, config, &error);
        if (host == NULL && error.code == -ECANCELED) {
                log_write(LOG_LEVEL_INFO, "host", "%s", error.message);
                return 0; /* asked to stop: not a failure */
        }
        if (host == NULL) {
                log_write(LOG_LEVEL_ERROR, "host", "%s", error.message);
                return 1;
        }
        char ready[96];
        snprintf(ready, sizeof(ready), "READY=1\nSTATUS=polling %zu plugins", host->running.count);
        service_tell(ready);

        int signal_number = host_serve(host, &signals);
        log_write(LOG_LEVEL_INFO, "host", "%s: stopping", strsignal(signal_number));
        service_tell("STOPPING=1");
        host_free(host, true);
        return 0;
}

int cmd_run(int argc, char **argv) {
        static const struct option long_options[] = {{"config", required_argument, NULL, 'c'},
                                                     {"interval", required_argument, NULL, 'i'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        struct host_arguments arguments = {0};
        int option;
        while ((option = getopt_long(argc, argv, "c:i:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        arguments.config_path = optarg;
                        break;
                case 'i':
                        if (cli_parse_seconds(optarg, &arguments.interval_s) < 0) {
                                escape_print_line(stderr,
                                                  "pyhost: --interval: '%s' is not a number of "
                                                  "seconds in (0, 86400]",
                                                  optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        /* Large: off the stack. */
        struct host_config *config = calloc(1, sizeof(*config));
        if (config == NULL) {
                fprintf(stderr, "pyhost: out of memory\n");
                return 1;
        }
        int exit_code = run(&arguments, config, argv + optind, (size_t)(argc - optind));
        free(config);
        return exit_code;
}
