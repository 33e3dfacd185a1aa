/* pyhost run: the daemon. Loads the configured plugins, polls each on its
 * own thread, prints every poll's readings as a JSON line on stdout, and
 * stops cleanly on SIGINT or SIGTERM.
 *
 * As a service (packaging/pyhost.service): tells systemd READY=1 once the
 * plugins are loaded, pings its watchdog while every plugin's poll loop
 * makes progress (cli/service.h), re-reads the config on SIGHUP (what
 * changes live and what needs a restart: see reload_config), and bounds a
 * SIGTERM stop with a guard thread.
 *
 * Threads: the main thread owns everything here and is the only one that
 * starts, reloads and stops. Plugin threads call on_poll, which reads
 * `running` (stable while the scheduler runs: it is only changed with the
 * scheduler stopped) and the recorders under `recorders_lock`. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/service.h"
#include "core/liveness.h"
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
                "SIGINT or SIGTERM; SIGHUP re-reads FILE; SIGUSR1 lifts quarantines.\n");
}

/* Serialises stdout between the plugin threads. */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

/* Where readings go besides stdout; NULL when not configured. Set before
 * the scheduler starts; cleared under `recorders_lock` when they stop, which
 * may happen while a stuck poll is still running (the stop guard). */
static pthread_mutex_t recorders_lock = PTHREAD_MUTEX_INITIALIZER;
static struct history *run_history;
static struct mqtt_publisher *run_mqtt;

/* Copies the readings into the history's and MQTT's queues: never waits on
 * I/O. A full queue drops readings; those modules count and log it. */
static void record_readings(const char *name, int64_t time_ms,
                            const struct reading_list *readings) {
        pthread_mutex_lock(&recorders_lock);
        if (run_history != NULL && history_append(run_history, name, time_ms, readings) < 0) {
                /* dropped and counted */
        }
        if (run_mqtt != NULL && mqtt_publish_readings(run_mqtt, name, time_ms, readings) < 0) {
                /* dropped and counted */
        }
        pthread_mutex_unlock(&recorders_lock);
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
 * still holds. Called by the main thread, or by the stop guard's thread when
 * the stop overran; whoever comes first takes the recorders. */
static void stop_recorders(void) {
        pthread_mutex_lock(&recorders_lock);
        struct history *history_taken = run_history;
        struct mqtt_publisher *mqtt_taken = run_mqtt;
        run_history = NULL;
        run_mqtt = NULL;
        pthread_mutex_unlock(&recorders_lock);
        if (history_taken != NULL) {
                struct ph_error error = {0};
                struct history_stats stats;
                if (history_flush(history_taken, &error) < 0) {
                        /* logged by the history; counted below */
                }
                history_get_stats(history_taken, &stats);
                history_close(history_taken);
                log_write(LOG_LEVEL_INFO, "history",
                          "closed: %llu readings written, %llu lost in %llu failed writes, "
                          "%llu dropped with the queue full",
                          (unsigned long long)stats.written,
                          (unsigned long long)stats.dropped_failed,
                          (unsigned long long)stats.write_errors,
                          (unsigned long long)stats.dropped_full);
        }
        mqtt_stop(mqtt_taken);
}

static void stop_recorders_on_timeout(void *data) {
        (void)data;
        stop_recorders();
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

/* The plugins being polled. Changed only by the main thread with the
 * scheduler stopped; the poll threads read it. */
struct running {
        struct plugin *plugins[CONFIG_MAX_PLUGINS];
        double intervals[CONFIG_MAX_PLUGINS];
        size_t count;
        struct scheduler *scheduler;
        struct reloader *reloader;
        struct liveness liveness; /* worker i is plugins[i]'s poll thread */
};
static struct running running;

/* Every poll (failed and skipped ones too) is progress of its thread. */
static void note_progress(const struct plugin *plugin) {
        for (size_t i = 0; i < running.count; i++)
                if (running.plugins[i] == plugin)
                        liveness_beat(&running.liveness, i, liveness_now_ms());
}

static void on_poll(struct plugin *plugin, const struct reading_list *readings,
                    const struct plugin_failure *failure, double duration_ms, void *user_data) {
        (void)user_data;
        note_progress(plugin);
        /* Copies into the web server's state; never waits for a request. */
        http_server_note_poll(run_http, plugin, readings, failure, duration_ms);
        const char *name = plugin_name(plugin);
        /* The plugin logs entering quarantine, a restart wait or a failed
         * load once; a skipped poll says nothing new. */
        if (failure != NULL && plugin_failure_is_skipped(failure->kind))
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

/* What `pyhost run` was given besides the config, for reloads. */
struct run_context {
        const char *config_path; /* NULL: defaults only */
        char **files;            /* PLUGIN.wasm arguments, borrowed from argv */
        size_t file_count;
        double interval_s; /* --interval; 0: each plugin's own */
        struct plugin_engine *engine;
        struct hw_board *board;
        struct plugin_host_options options;
};

/* The configuration in force. Large: off the stack. */
static struct host_config config;

/* How long a plugin's thread may go without finishing a poll before it
 * counts as stalled. */
static int64_t allowed_silence_ms(const struct plugin_config *plugin, double stall_timeout_s) {
        return (int64_t)((plugin->interval_s + stall_timeout_s) * 1000.0) +
               (int64_t)plugin->budget_ms;
}

static const struct plugin_config *find_plugin_config(const struct host_config *host,
                                                      const char *name) {
        for (size_t i = 0; i < host->plugin_count; i++)
                if (strcmp(host->plugins[i].name, name) == 0)
                        return &host->plugins[i];
        return NULL;
}

/* Sets each running plugin's stall allowance from `config`. */
static void set_allowances(void) {
        for (size_t i = 0; i < running.count; i++) {
                const struct plugin_config *plugin_config =
                        find_plugin_config(&config, plugin_name(running.plugins[i]));
                if (plugin_config != NULL)
                        running.liveness.workers[i].max_silence_ms =
                                allowed_silence_ms(plugin_config, config.stall_timeout_s);
        }
}

/* Starts polling `running.plugins`: reloader, web server, scheduler. */
static int start_running(struct run_context *context, struct ph_error *error) {
        liveness_init(&running.liveness);
        int64_t now_ms = liveness_now_ms();
        for (size_t i = 0; i < running.count; i++) {
                size_t index = 0;
                if (liveness_add(&running.liveness, plugin_name(running.plugins[i]), 0, now_ms,
                                 &index, error) < 0)
                        return -1;
        }
        set_allowances();
        running.reloader =
                reloader_start(running.plugins, running.count, config.reload_debounce_ms, error);
        if (running.reloader == NULL)
                return -1;
        start_http(&config, running.plugins, running.count, running.reloader, context->board);
        running.scheduler = scheduler_start(running.plugins, running.intervals, running.count,
                                            on_poll, NULL, error);
        return running.scheduler == NULL ? -1 : 0;
}

/* Stops polling: waits for the polls in progress (see the stop guard for
 * the bound), then the web server and the reloader. Keeps the plugins. */
static void stop_running(struct stop_guard *guard) {
        stop_guard_set_stage(guard, "waiting for the plugins' polls in progress");
        scheduler_stop(running.scheduler);
        running.scheduler = NULL;
        stop_guard_set_stage(guard, "stopping the web server");
        http_server_stop(run_http);
        run_http = NULL;
        stop_guard_set_stage(guard, "stopping the reloader");
        reloader_stop(running.reloader);
        running.reloader = NULL;
}

/* Loads a plugin of the config into the running set. One whose file does
 * not load joins it too, not loaded (plugin_open logs why): the API shows
 * it and it loads when its file is fixed. Only an error of the host
 * leaves it out. */
static void load_plugin(struct run_context *context, const struct plugin_config *plugin_config) {
        struct ph_error error = {0};
        struct plugin *plugin = plugin_open(context->engine, plugin_config, &context->options,
                                            context->board, &error);
        if (plugin == NULL) {
                log_write(LOG_LEVEL_ERROR, plugin_config->name, "not loaded: %s", error.message);
                return;
        }
        if (plugin_is_loaded(plugin))
                log_write(LOG_LEVEL_INFO, plugin_config->name, "loaded %s, polling every %g s",
                          plugin_config->path, plugin_config->interval_s);
        running.plugins[running.count] = plugin;
        running.intervals[running.count] = plugin_config->interval_s;
        running.count++;
}

/* Reads the config as at start-up (file, PLUGIN.wasm arguments,
 * --interval) into `next`, for a reload. */
static int read_config(const struct run_context *context, struct host_config *next,
                       struct ph_error *error) {
        config_set_defaults(next);
        cli_default_cache_dir(next->cache_dir, sizeof(next->cache_dir));
        if (context->config_path != NULL && config_load_file(next, context->config_path, error) < 0)
                return -1;
        if (config_validate(next, error) < 0) {
                ph_error_prefix(error, "%s",
                                context->config_path != NULL ? context->config_path : "config");
                return -1;
        }
        for (size_t i = 0; i < context->file_count; i++)
                if (config_add_plugin_file(next, context->files[i], error) < 0)
                        return -1;
        if (next->plugin_count == 0)
                return ph_error_set(error, -EINVAL, "no [plugin NAME] section: nothing to run");
        if (context->interval_s > 0)
                for (size_t i = 0; i < next->plugin_count; i++)
                        next->plugins[i].interval_s = context->interval_s;
        return 0;
}

/* Sections that only a restart applies: the running values are kept (and
 * a warning names each changed one). */
static void keep_restart_only_settings(struct host_config *next) {
        const char *changed[8];
        size_t count = 0;
        if (strcmp(next->cache_dir, config.cache_dir) != 0 ||
            strcmp(next->state_dir, config.state_dir) != 0 ||
            strcmp(next->python_runtime, config.python_runtime) != 0 ||
            next->state_write_interval_s != config.state_write_interval_s ||
            next->reload_debounce_ms != config.reload_debounce_ms)
                changed[count++] = "[host] cache_dir, state_dir, python_runtime, "
                                   "state_write_interval_s or reload_debounce_ms";
        if (memcmp(&next->board, &config.board, sizeof(config.board)) != 0)
                changed[count++] = "[board]";
        if (memcmp(&next->http, &config.http, sizeof(config.http)) != 0)
                changed[count++] = "[http]";
        if (memcmp(&next->history, &config.history, sizeof(config.history)) != 0)
                changed[count++] = "[history]";
        if (memcmp(&next->mqtt, &config.mqtt, sizeof(config.mqtt)) != 0)
                changed[count++] = "[mqtt]";
        for (size_t i = 0; i < count; i++)
                log_write(LOG_LEVEL_WARNING, "host",
                          "SIGHUP: %s changed: applied at the next restart; the running "
                          "values stay",
                          changed[i]);
        memcpy(next->cache_dir, config.cache_dir, sizeof(config.cache_dir));
        memcpy(next->state_dir, config.state_dir, sizeof(config.state_dir));
        memcpy(next->python_runtime, config.python_runtime, sizeof(config.python_runtime));
        next->state_write_interval_s = config.state_write_interval_s;
        next->reload_debounce_ms = config.reload_debounce_ms;
        next->board = config.board;
        next->http = config.http;
        next->history = config.history;
        next->mqtt = config.mqtt;
}

/* Whether a running plugin can go on as it is under `next` (only its
 * interval may differ: the scheduler takes that, not the plugin). */
static bool is_same_plugin(const struct plugin_config *running_config,
                           const struct plugin_config *next) {
        struct plugin_config candidate = *next;
        candidate.interval_s = running_config->interval_s;
        return memcmp(&candidate, running_config, sizeof(candidate)) == 0;
}

/* The slow parts of a reload, run on a helper thread while the main thread
 * keeps the watchdog (service_run_watched). */
struct reload_work {
        struct run_context *context;
        struct host_config *next;
        const int *kept_from;           /* per plugin of `next` */
        const bool *needs_inspection;   /* per plugin of `next` */
        const struct running *previous; /* phase 2: what ran before */
        const bool *is_kept;            /* phase 2: per plugin of `previous` */
        int result;
        struct ph_error error;
};

/* Phase 1, with the old set still polling: every new or changed plugin must
 * be a component of our world. Also fills the compiled-code cache, so
 * phase 2's plugin_new does not compile. */
static void inspect_new_plugins(void *data) {
        struct reload_work *work = data;
        for (size_t j = 0; j < work->next->plugin_count; j++) {
                if (!work->needs_inspection[j])
                        continue;
                const struct plugin_config *wanted = &work->next->plugins[j];
                struct plugin_interfaces interfaces;
                work->result = plugin_inspect_file(work->context->engine, wanted->path, &interfaces,
                                                   &work->error);
                if (work->result < 0) {
                        ph_error_prefix(&work->error, "[plugin %s]", wanted->name);
                        return;
                }
        }
}

/* Phase 2, with polling stopped: unloads what goes, loads what comes (in
 * the config's order) into `running`. */
static void swap_plugins(void *data) {
        struct reload_work *work = data;
        for (size_t i = 0; i < work->previous->count; i++)
                if (!work->is_kept[i]) {
                        log_write(LOG_LEVEL_INFO, plugin_name(work->previous->plugins[i]),
                                  "unloaded (SIGHUP)");
                        plugin_free(work->previous->plugins[i]);
                }
        running.count = 0;
        for (size_t j = 0; j < config.plugin_count; j++) {
                if (work->kept_from[j] < 0) {
                        load_plugin(work->context, &config.plugins[j]);
                        continue;
                }
                running.plugins[running.count] = work->previous->plugins[work->kept_from[j]];
                running.intervals[running.count] = config.plugins[j].interval_s;
                running.count++;
        }
}

/* SIGHUP. Live: [host] log_level, stop_timeout_s, stall_timeout_s, and the
 * [plugin NAME] sections: added, removed or changed plugins (a changed one
 * is unloaded, writing its state, and loaded anew, restoring it). Only a
 * restart applies the rest (see keep_restart_only_settings). A config that
 * does not parse or validate, or a new or changed plugin whose file is not
 * a component of the sensor-plugin world, refuses the whole reload: the
 * running configuration stays. */
static void reload_config(struct run_context *context, struct service_watchdog *watchdog) {
        static struct host_config next; /* large: off the stack */
        struct ph_error error = {0};
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        char reloading[96];
        snprintf(reloading, sizeof(reloading), "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)now.tv_sec * 1000000ULL +
                         (unsigned long long)now.tv_nsec / 1000ULL);
        service_tell(reloading);
        log_write(LOG_LEVEL_INFO, "host", "SIGHUP: re-reading %s",
                  context->config_path != NULL ? context->config_path : "(no config file)");

        /* For each plugin of `next`: the running plugin it keeps, or -1. */
        int kept_from[CONFIG_MAX_PLUGINS];
        bool needs_inspection[CONFIG_MAX_PLUGINS] = {0};
        bool is_set_changed = false;
        struct reload_work work = {.context = context,
                                   .next = &next,
                                   .kept_from = kept_from,
                                   .needs_inspection = needs_inspection};
        if (read_config(context, &next, &error) < 0)
                goto refuse;
        keep_restart_only_settings(&next);
        for (size_t j = 0; j < next.plugin_count; j++) {
                const struct plugin_config *wanted = &next.plugins[j];
                const struct plugin_config *before = find_plugin_config(&config, wanted->name);
                kept_from[j] = -1;
                for (size_t i = 0; i < running.count; i++)
                        if (before != NULL &&
                            strcmp(plugin_name(running.plugins[i]), wanted->name) == 0 &&
                            is_same_plugin(before, wanted))
                                kept_from[j] = (int)i;
                if (kept_from[j] >= 0) {
                        if (running.intervals[kept_from[j]] != wanted->interval_s)
                                is_set_changed = true;
                        continue;
                }
                is_set_changed = true;
                if (before != NULL && is_same_plugin(before, wanted))
                        continue; /* did not load before either: try again, not a refusal */
                /* New or changed: it must at least be a component of our
                 * world before anything running is touched. */
                needs_inspection[j] = true;
        }
        if (next.plugin_count != running.count)
                is_set_changed = true;
        service_run_watched(inspect_new_plugins, &work, watchdog, &running.liveness);
        if (work.result < 0) {
                error = work.error;
                goto refuse;
        }

        /* Accepted. The live [host] values first. */
        config.log_level = next.log_level;
        config.stop_timeout_s = next.stop_timeout_s;
        config.stall_timeout_s = next.stall_timeout_s;
        log_set_level(config.log_level);
        if (!is_set_changed) {
                set_allowances();
                log_write(LOG_LEVEL_INFO, "host",
                          "SIGHUP: applied; the plugins run on as they were");
                service_tell("READY=1");
                return;
        }

        struct stop_guard no_guard = {0};
        stop_running(&no_guard);
        /* No plugin thread runs now: nothing to watch but the swap itself. */
        liveness_init(&running.liveness);
        struct running previous = running;
        bool is_kept[CONFIG_MAX_PLUGINS] = {0};
        size_t kept = 0;
        for (size_t j = 0; j < next.plugin_count; j++)
                if (kept_from[j] >= 0) {
                        is_kept[kept_from[j]] = true;
                        kept++;
                }
        config = next; /* nothing reads it now: the scheduler and server are stopped */
        work.previous = &previous;
        work.is_kept = is_kept;
        service_run_watched(swap_plugins, &work, watchdog, &running.liveness);
        if (start_running(context, &error) < 0)
                log_write(LOG_LEVEL_ERROR, "host", "SIGHUP: cannot start polling again: %s",
                          error.message);
        log_write(LOG_LEVEL_INFO, "host",
                  "SIGHUP: applied; %zu plugins polled (%zu kept running, %zu loaded anew)",
                  running.count, kept, running.count - kept);
        service_tell("READY=1");
        return;
refuse:
        log_write(LOG_LEVEL_ERROR, "host",
                  "SIGHUP: new configuration refused: %s; the running one stays", error.message);
        service_tell("READY=1");
}

/* Serves until SIGINT or SIGTERM, which it returns. Meanwhile: SIGHUP
 * reloads the config, SIGUSR1 lifts every quarantine (the operator's
 * reset), and between signals the watchdog is checked. */
static int serve(struct run_context *context, const sigset_t *signals) {
        struct service_watchdog watchdog;
        struct ph_error error = {0};
        if (service_watchdog_init(&watchdog, liveness_now_ms(), &error) < 0)
                log_write(LOG_LEVEL_WARNING, "service", "%s: no watchdog pings", error.message);
        for (;;) {
                service_watchdog_check(&watchdog, &running.liveness, liveness_now_ms());
                int64_t wait_ms = service_watchdog_wait_ms(&watchdog, liveness_now_ms());
                struct timespec timeout = {.tv_sec = (time_t)(wait_ms / 1000),
                                           .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
                int signal_number = sigtimedwait(signals, NULL, &timeout);
                if (signal_number < 0)
                        continue; /* EAGAIN: time for a check; EINTR */
                if (signal_number == SIGHUP) {
                        reload_config(context, &watchdog);
                } else if (signal_number == SIGUSR1) {
                        log_write(LOG_LEVEL_INFO, "host", "SIGUSR1: lifting quarantines");
                        for (size_t i = 0; i < running.count; i++)
                                plugin_reset(running.plugins[i]);
                } else {
                        return signal_number;
                }
        }
}

int cmd_run(int argc, char **argv) {
        static const struct option long_options[] = {{"config", required_argument, NULL, 'c'},
                                                     {"interval", required_argument, NULL, 'i'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        struct run_context context = {0};
        int option;
        while ((option = getopt_long(argc, argv, "c:i:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        context.config_path = optarg;
                        break;
                case 'i':
                        if (cli_parse_seconds(optarg, &context.interval_s) < 0) {
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
        if (cli_load_config(context.config_path, &config) < 0)
                return 2;
        struct ph_error error = {0};
        context.files = argv + optind;
        context.file_count = (size_t)(argc - optind);
        for (size_t i = 0; i < context.file_count; i++) {
                if (config_add_plugin_file(&config, context.files[i], &error) < 0) {
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

        /* Signals go to sigwait on this thread only: block them before any
         * thread starts, so every thread inherits the mask. */
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGUSR1);
        sigaddset(&signals, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &signals, NULL);

        int exit_code = 1;
        struct stop_guard guard = {0};
        context.options = (struct plugin_host_options){.state_dir = config.state_dir,
                                                       .state_write_interval_s =
                                                               config.state_write_interval_s};
        context.engine = plugin_engine_new(config.cache_dir, &error);
        if (context.engine == NULL)
                goto fail;
        plugin_engine_set_python_runtime(context.engine, config.python_runtime);
        context.board = hw_board_new(&config.board, &error);
        if (context.board == NULL)
                goto fail;
        log_write(LOG_LEVEL_INFO, "host", "board: %s; compiled-code cache: %s",
                  context.board->ops->name, config.cache_dir[0] != '\0' ? config.cache_dir : "off");

        for (size_t i = 0; i < config.plugin_count; i++) {
                if (context.interval_s > 0)
                        config.plugins[i].interval_s = context.interval_s;
                load_plugin(&context, &config.plugins[i]);
        }
        if (running.count == 0) {
                snprintf(error.message, sizeof(error.message), "no plugin could be loaded");
                goto fail;
        }
        if (start_recorders(&config, &error) < 0)
                goto fail;
        if (start_running(&context, &error) < 0)
                goto fail;
        char ready[96];
        snprintf(ready, sizeof(ready), "READY=1\nSTATUS=polling %zu plugins", running.count);
        service_tell(ready);

        int signal_number = serve(&context, &signals);
        log_write(LOG_LEVEL_INFO, "host", "%s: stopping", strsignal(signal_number));
        service_tell("STOPPING=1");
        exit_code = 0;
        /* A poll stuck where its budget cannot reach (a host call blocked in
         * the kernel) must not hold the stop forever: past stop_timeout_s
         * the guard flushes the history and exits 1. */
        if (stop_guard_start(&guard, config.stop_timeout_s, 1, stop_recorders_on_timeout, NULL,
                             &error) < 0)
                log_write(LOG_LEVEL_WARNING, "host", "%s: the stop is not bounded", error.message);
        goto done;
fail:
        log_write(LOG_LEVEL_ERROR, "host", "%s", error.message);
done:
        stop_running(&guard);
        stop_guard_set_stage(&guard, "flushing the history");
        stop_recorders();
        stop_guard_set_stage(&guard, "unloading the plugins");
        for (size_t i = 0; i < running.count; i++)
                plugin_free(running.plugins[i]);
        running.count = 0;
        hw_board_free(context.board);
        plugin_engine_free(context.engine);
        stop_guard_finish(&guard);
        return exit_code;
}
