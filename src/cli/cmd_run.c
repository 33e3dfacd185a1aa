/* pyhost run: the daemon. Loads the configured plugins, polls each on its
 * own thread, prints every poll's readings as a JSON line on stdout, and
 * stops cleanly on SIGINT or SIGTERM. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/log.h"
#include "hw/hw.h"
#include "http/server.h"
#include "mqtt/mqtt.h"
#include "plugin/reloader.h"
#include "plugin/scheduler.h"
#include "store/history.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: pyhost run [--config FILE] [--interval SECONDS] [PLUGIN.wasm...]\n"
                "\n"
                "Runs the host: loads the plugins of FILE's [plugin NAME] sections and any\n"
                "PLUGIN.wasm given, polls each at its interval (--interval overrides them all)\n"
                "and prints each poll's readings as one JSON object per line. Stops on\n"
                "SIGINT or SIGTERM.\n");
}

/* Serialises stdout between the plugin threads. */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

/* Where readings go besides stdout; NULL when not configured. Set before
 * the scheduler starts and cleared after it stops. */
static struct history *run_history;
static struct mqtt_publisher *run_mqtt;

/* Copies the readings into the history's and MQTT's queues: never waits on
 * I/O. A full queue drops readings; those modules count and log it. */
static void record_readings(const char *name, int64_t time_ms,
                            const struct reading_list *readings) {
        if (run_history != NULL && history_append(run_history, name, time_ms, readings) < 0) {
                /* dropped and counted */
        }
        if (run_mqtt != NULL && mqtt_publish_readings(run_mqtt, name, time_ms, readings) < 0) {
                /* dropped and counted */
        }
}

/* Opens the history and starts MQTT when the config asks for them. */
static int start_recorders(const struct host_config *config, struct ph_error *error) {
        const struct history_config *history = &config->history;
        if (history->path[0] != '\0') {
                struct history_options options = {
                        .path = history->path,
                        .sync = history->is_sync_full ? HISTORY_SYNC_FULL : HISTORY_SYNC_NORMAL,
                        .batch_rows = history->batch_rows,
                        .batch_ms = history->batch_ms,
                        .queue_rows = history->queue_rows,
                        .max_age_s = history->max_age_days * 86400.0,
                        .max_rows = history->max_rows};
                run_history = history_open(&options, error);
                if (run_history == NULL)
                        return -1;
                log_write(LOG_LEVEL_INFO, "history", "recording readings in %s", history->path);
        }
        if (config->mqtt.is_enabled) {
                run_mqtt = mqtt_start(&config->mqtt, error);
                if (run_mqtt == NULL)
                        return -1;
        }
        return 0;
}

/* After the last poll: commits the history's open batch, sends what MQTT
 * still holds. */
static void stop_recorders(void) {
        if (run_history != NULL) {
                struct ph_error error = {0};
                struct history_stats stats;
                if (history_flush(run_history, &error) < 0) {
                        /* logged by the history; counted below */
                }
                history_get_stats(run_history, &stats);
                history_close(run_history);
                log_write(LOG_LEVEL_INFO, "history",
                          "closed: %llu readings written, %llu lost in %llu failed writes, "
                          "%llu dropped with the queue full",
                          (unsigned long long)stats.written,
                          (unsigned long long)stats.dropped_failed,
                          (unsigned long long)stats.write_errors,
                          (unsigned long long)stats.dropped_full);
        }
        mqtt_stop(run_mqtt);
        run_history = NULL;
        run_mqtt = NULL;
}

/* The web server (API, events, dashboard); NULL when disabled or when it
 * could not start: the plugins run on regardless. Set before the scheduler
 * starts and cleared after it stops. */
static struct http_server *run_http;

static void start_http(const struct host_config *config, struct plugin *const *plugins,
                       size_t count, struct reloader *reloader, struct hw_board *board) {
        if (!config->http.is_enabled)
                return;
        const struct plugin_config *plugin_configs[CONFIG_MAX_PLUGINS] = {0};
        for (size_t i = 0; i < count; i++)
                for (size_t j = 0; j < config->plugin_count; j++)
                        if (strcmp(config->plugins[j].name, plugin_name(plugins[i])) == 0)
                                plugin_configs[i] = &config->plugins[j];
        struct http_host host = {.plugins = plugins,
                                 .plugin_configs = plugin_configs,
                                 .plugin_count = count,
                                 .reloader = reloader,
                                 .board = board,
                                 .state_dir = config->state_dir,
                                 .reload_debounce_ms = config->reload_debounce_ms};
        struct ph_error error = {0};
        run_http = http_server_start(&config->http, &host, &error);
        if (run_http == NULL)
                log_write(LOG_LEVEL_ERROR, "http", "web server not started: %s", error.message);
}

static void on_poll(struct plugin *plugin, const struct reading_list *readings,
                    const struct plugin_failure *failure, double duration_ms, void *user_data) {
        (void)user_data;
        /* Copies into the web server's state; never waits for a request. */
        http_server_note_poll(run_http, plugin, readings, failure, duration_ms);
        const char *name = plugin_name(plugin);
        /* The plugin logs entering quarantine or a restart wait once; a
         * skipped poll says nothing new. */
        if (failure != NULL && (failure->kind == PLUGIN_FAILURE_QUARANTINED ||
                                failure->kind == PLUGIN_FAILURE_RESTARTING))
                return;
        if (failure != NULL) {
                log_write(LOG_LEVEL_ERROR, name, "poll failed (%s) after %.1f ms: %s",
                          plugin_failure_kind_name(failure->kind), duration_ms, failure->message);
                if (failure->traceback[0] != '\0')
                        log_write_text(LOG_LEVEL_ERROR, name, failure->traceback,
                                       strlen(failure->traceback));
                return;
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        json_int_t time_ms = (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        record_readings(name, (int64_t)time_ms, readings);
        json_t *line =
                json_pack("{s:s, s:I, s:f, s:o}", "plugin", name, "time_ms", time_ms, "duration_ms",
                          duration_ms, "readings", reading_list_to_json(readings));
        if (line == NULL) {
                log_write(LOG_LEVEL_ERROR, name, "out of memory formatting readings");
                return;
        }
        pthread_mutex_lock(&output_lock);
        json_dumpf(line, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        putchar('\n');
        fflush(stdout);
        pthread_mutex_unlock(&output_lock);
        json_decref(line);
}

/* Waits for SIGINT or SIGTERM; SIGUSR1 meanwhile lifts every quarantine
 * (the operator's reset). */
static int wait_for_stop_signal(const sigset_t *signals, struct plugin *const *plugins,
                                size_t count) {
        for (;;) {
                int signal_number = 0;
                if (sigwait(signals, &signal_number) != 0)
                        continue;
                if (signal_number != SIGUSR1)
                        return signal_number;
                log_write(LOG_LEVEL_INFO, "host", "SIGUSR1: lifting quarantines");
                for (size_t i = 0; i < count; i++)
                        plugin_reset(plugins[i]);
        }
}

int cmd_run(int argc, char **argv) {
        static const struct option long_options[] = {{"config", required_argument, NULL, 'c'},
                                                     {"interval", required_argument, NULL, 'i'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        const char *config_path = NULL;
        double interval_s = 0;
        int option;
        while ((option = getopt_long(argc, argv, "c:i:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'i':
                        if (cli_parse_seconds(optarg, &interval_s) < 0) {
                                fprintf(stderr,
                                        "pyhost: --interval: '%s' is not a number of "
                                        "seconds in (0, 86400]\n",
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
        static struct host_config config; /* large: keep it off the stack */
        if (cli_load_config(config_path, &config) < 0)
                return 2;
        struct ph_error error = {0};
        for (int i = optind; i < argc; i++) {
                if (config_add_plugin_file(&config, argv[i], &error) < 0) {
                        fprintf(stderr, "pyhost: %s\n", error.message);
                        return 2;
                }
        }
        if (config.plugin_count == 0) {
                fprintf(stderr, "pyhost: no plugins: give PLUGIN.wasm or a config with a "
                                "[plugin NAME] section\n");
                return 2;
        }
        log_set_level(config.log_level);

        /* Stop signals go to sigwait on this thread only: block them before
         * any thread starts, so every thread inherits the mask. */
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

        int exit_code = 1;
        struct plugin *plugins[CONFIG_MAX_PLUGINS] = {0};
        double intervals[CONFIG_MAX_PLUGINS];
        size_t loaded = 0;
        struct scheduler *scheduler = NULL;
        struct reloader *reloader = NULL;
        struct plugin_host_options options = {.state_dir = config.state_dir,
                                              .state_write_interval_s =
                                                      config.state_write_interval_s};
        struct hw_board *board = NULL;
        struct plugin_engine *engine = plugin_engine_new(config.cache_dir, &error);
        if (engine == NULL)
                goto fail;
        board = hw_board_new(&config.board, &error);
        if (board == NULL)
                goto fail;
        log_write(LOG_LEVEL_INFO, "host", "board: %s; compiled-code cache: %s", board->ops->name,
                  config.cache_dir[0] != '\0' ? config.cache_dir : "off");

        for (size_t i = 0; i < config.plugin_count; i++) {
                struct plugin_config *plugin_config = &config.plugins[i];
                if (interval_s > 0)
                        plugin_config->interval_s = interval_s;
                struct plugin *plugin = plugin_new(engine, plugin_config, &options, board, &error);
                if (plugin == NULL) {
                        /* One bad plugin does not stop the others. */
                        log_write(LOG_LEVEL_ERROR, plugin_config->name, "not loaded: %s",
                                  error.message);
                        continue;
                }
                log_write(LOG_LEVEL_INFO, plugin_config->name, "loaded %s, polling every %g s",
                          plugin_config->path, plugin_config->interval_s);
                plugins[loaded] = plugin;
                intervals[loaded] = plugin_config->interval_s;
                loaded++;
        }
        if (loaded == 0) {
                snprintf(error.message, sizeof(error.message), "no plugin could be loaded");
                goto fail;
        }
        reloader = reloader_start(plugins, loaded, config.reload_debounce_ms, &error);
        if (reloader == NULL)
                goto fail;
        if (start_recorders(&config, &error) < 0)
                goto fail;
        start_http(&config, plugins, loaded, reloader, board);
        scheduler = scheduler_start(plugins, intervals, loaded, on_poll, NULL, &error);
        if (scheduler == NULL)
                goto fail;

        int signal_number = wait_for_stop_signal(&stop_signals, plugins, loaded);
        log_write(LOG_LEVEL_INFO, "host", "%s: stopping", strsignal(signal_number));
        exit_code = 0;
        goto done;
fail:
        log_write(LOG_LEVEL_ERROR, "host", "%s", error.message);
done:
        scheduler_stop(scheduler);
        http_server_stop(run_http);
        run_http = NULL;
        stop_recorders();
        reloader_stop(reloader);
        for (size_t i = 0; i < loaded; i++)
                plugin_free(plugins[i]);
        hw_board_free(board);
        plugin_engine_free(engine);
        return exit_code;
}
