/* host.c - making, serving and freeing the host (host.h). The SIGHUP
 * reload and the signal loop are in host_signals.c, the pipeline's own
 * consumers in host_outputs.c. */
#include "cli/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "cli/stop_watch.h"
#include "core/log.h"

/* The web server's queue: every poll's record, several seconds' worth. */
#define WEB_QUEUE_RECORDS 256

/* --- recorders ---------------------------------------------------------- */

static int start_recorders(struct host *host, struct ph_error *error) {
        const struct history_config *history = &host->config.history;
        if (history->path[0] != '\0') {
                struct history_options options = {
                        .path = history->path,
                        .sync = history->is_sync_full ? HISTORY_SYNC_FULL : HISTORY_SYNC_NORMAL,
                        .batch_rows = history->batch_rows,
                        .batch_ms = history->batch_ms,
                        .queue_rows = history->queue_rows,
                        .max_age_s = history->max_age_days * 86400.0,
                        .max_rows = history->max_rows,
                        .check_ms = HISTORY_CHECK_MS_DEFAULT};
                host->history = history_open(&options, error);
                if (host->history == NULL)
                        return -1;
                log_write(LOG_LEVEL_INFO, "history", "recording readings in %s", history->path);
        }
        if (host->config.mqtt.is_enabled) {
                host->mqtt = mqtt_start(&host->config.mqtt, error);
                if (host->mqtt == NULL)
                        return -1;
        }
        return 0;
}

/* After the last poll: commits the history's open batch, sends what MQTT
 * still holds. Called by the main thread, or by the stop guard's thread
 * when the stop overran; whoever comes first takes the recorders. */
static void stop_recorders(struct host *host) {
        pthread_mutex_lock(&host->recorders_lock);
        struct history *history_taken = host->history;
        struct mqtt_publisher *mqtt_taken = host->mqtt;
        host->history = NULL;
        host->mqtt = NULL;
        pthread_mutex_unlock(&host->recorders_lock);
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

/* The recorders' figures for the web server's threads; false when there is
 * none (or no longer). */
static bool get_history_stats(struct history_stats *ret_stats, void *data) {
        struct host *host = data;
        pthread_mutex_lock(&host->recorders_lock);
        bool has_history = host->history != NULL;
        if (has_history)
                history_get_stats(host->history, ret_stats);
        pthread_mutex_unlock(&host->recorders_lock);
        return has_history;
}

static bool get_mqtt_stats(struct mqtt_stats *ret_stats, void *data) {
        struct host *host = data;
        pthread_mutex_lock(&host->recorders_lock);
        bool has_mqtt = host->mqtt != NULL;
        if (has_mqtt)
                mqtt_get_stats(host->mqtt, ret_stats);
        pthread_mutex_unlock(&host->recorders_lock);
        return has_mqtt;
}

static void stop_recorders_on_timeout(void *data) {
        stop_recorders(data);
}

/* --- the running set ---------------------------------------------------- */

const struct plugin_config *host_find_plugin_config(const struct host_config *config,
                                                    const char *name) {
        for (size_t i = 0; i < config->plugin_count; i++)
                if (strcmp(config->plugins[i].name, name) == 0)
                        return &config->plugins[i];
        return NULL;
}

/* How long a plugin's thread may go without finishing a poll before it
 * counts as stalled. */
static int64_t allowed_silence_ms(const struct plugin_config *plugin, double stall_timeout_s) {
        return (int64_t)((plugin->interval_s + stall_timeout_s) * 1000.0) +
               (int64_t)plugin->budget_ms;
}

void host_set_allowances(struct host *host) {
        struct host_running *running = &host->running;
        for (size_t i = 0; i < running->count; i++) {
                const struct plugin_config *plugin_config =
                        host_find_plugin_config(&host->config, plugin_name(running->plugins[i]));
                if (plugin_config != NULL)
                        running->liveness.workers[i].max_silence_ms =
                                allowed_silence_ms(plugin_config, host->config.stall_timeout_s);
        }
}

/* Loads a plugin of the config into the running set. One whose file does
 * not load joins it too, not loaded (plugin_open logs why): the API shows
 * it and it loads when its file is fixed. Only an error of the host
 * leaves it out. */
void host_load_plugin(struct host *host, const struct plugin_config *plugin_config) {
        struct ph_error error = {0};
        struct plugin *plugin =
                plugin_open(host->engine, plugin_config, &host->options, host->board, &error);
        if (plugin == NULL) {
                log_write(LOG_LEVEL_ERROR, plugin_config->name, "not loaded: %s", error.message);
                return;
        }
        if (plugin_is_loaded(plugin))
                log_write(LOG_LEVEL_INFO, plugin_config->name, "loaded %s, polling every %g s",
                          plugin_config->path, plugin_config->interval_s);
        struct host_running *running = &host->running;
        running->plugins[running->count] = plugin;
        running->intervals[running->count] = plugin_config->interval_s;
        running->count++;
}

/* What the web server serves of `host` now; `configs` (CONFIG_MAX_PLUGINS
 * entries) holds the plugins' configs it points to. */
static struct http_host web_view_of(struct host *host,
                                    const struct plugin_config *configs[CONFIG_MAX_PLUGINS]) {
        const struct host_config *config = &host->config;
        struct host_running *running = &host->running;
        for (size_t i = 0; i < running->count; i++)
                configs[i] = host_find_plugin_config(config, plugin_name(running->plugins[i]));
        return (struct http_host){.plugins = running->plugins,
                                  .plugin_configs = configs,
                                  .plugin_count = running->count,
                                  .reloader = running->reloader,
                                  .board = host->board,
                                  .state_dir = config->state_dir,
                                  .reload_debounce_ms = config->reload_debounce_ms,
                                  .get_history_stats = get_history_stats,
                                  .get_mqtt_stats = get_mqtt_stats,
                                  .stats_data = host,
                                  .pipeline = host->pipeline};
}

/* Starts the web server, or points the running one at the plugins now
 * running (after a SIGHUP: it kept serving meanwhile). At start-up a
 * server that cannot start (port in use, an unsafe token file) is an error
 * of the host: returns -1 with `error` set. Later it is logged and the
 * plugins run on. */
static int start_http(struct host *host, struct ph_error *error) {
        const struct host_config *config = &host->config;
        if (!config->http.is_enabled)
                return 0;
        const struct plugin_config *plugin_configs[CONFIG_MAX_PLUGINS] = {0};
        struct http_host http_host = web_view_of(host, plugin_configs);
        if (host->http != NULL) {
                struct ph_error set_error = {0};
                if (http_server_set_plugins(host->http, &http_host, &set_error) < 0)
                        log_write(LOG_LEVEL_ERROR, "http", "the web server shows old plugins: %s",
                                  set_error.message);
                return 0;
        }
        host->http = http_server_start(&config->http, &http_host, error);
        if (host->http == NULL) {
                if (!host->is_serving) {
                        ph_error_prefix(error, "web server not started");
                        return -1;
                }
                log_write(LOG_LEVEL_ERROR, "http", "web server not started: %s", error->message);
                return 0;
        }
        struct pipeline_subscriber_spec spec = {.name = "web",
                                                .capacity = WEB_QUEUE_RECORDS,
                                                .deliver = http_server_deliver,
                                                .data = host->http};
        struct ph_error subscribe_error = {0};
        host->web.is_subscribed =
                pipeline_subscribe(host->pipeline, &spec, &host->web.id, &subscribe_error) == 0;
        if (!host->web.is_subscribed)
                log_write(LOG_LEVEL_ERROR, "http", "the web state gets no polls: %s",
                          subscribe_error.message);
        return 0;
}

int host_start_running(struct host *host, struct ph_error *error) {
        struct host_running *running = &host->running;
        liveness_init(&running->liveness);
        int64_t now_ms = liveness_now_ms();
        for (size_t i = 0; i < running->count; i++) {
                size_t index = 0;
                if (liveness_add(&running->liveness, plugin_name(running->plugins[i]), 0, now_ms,
                                 &index, error) < 0)
                        return -1;
        }
        host_set_allowances(host);
        running->reloader = reloader_start(running->plugins, running->count,
                                           host->config.reload_debounce_ms, error);
        if (running->reloader == NULL)
                return -1;
        if (start_http(host, error) < 0)
                return -1;
        running->scheduler = scheduler_start(running->plugins, running->intervals, running->count,
                                             host->pipeline, error);
        if (running->scheduler == NULL)
                return -1;
        http_server_set_scheduler(host->http, running->scheduler);
        return 0;
}

void host_stop_running(struct host *host, struct stop_guard *guard, bool keeps_web) {
        struct host_running *running = &host->running;
        stop_guard_set_stage(guard, "waiting for the plugins' polls in progress");
        http_server_set_scheduler(host->http, NULL);
        scheduler_stop(running->scheduler);
        running->scheduler = NULL;
        stop_guard_set_stage(guard, "stopping the reloader");
        reloader_stop(running->reloader);
        running->reloader = NULL;
        /* No poll and no trial runs now: let the consumers take what is
         * queued, so the running set can change under none of them. */
        stop_guard_set_stage(guard, "handing the last polls to their consumers");
        if (pipeline_drain(host->pipeline, (int64_t)(host->config.stop_timeout_s * 1000.0)) < 0)
                log_write(LOG_LEVEL_WARNING, "host", "a consumer of polls did not catch up");
        if (keeps_web && host->http != NULL) {
                /* It serves on, detached from the plugins until
                 * host_start_running points it at the new ones. */
                http_server_detach_plugins(host->http);
                return;
        }
        stop_guard_set_stage(guard, "stopping the web server");
        if (host->web.is_subscribed)
                pipeline_unsubscribe(host->pipeline, host->web.id);
        host->web.is_subscribed = false;
        http_server_stop(host->http);
        host->http = NULL;
}

/* --- the host ----------------------------------------------------------- */

void host_abandon_compiles(void *engine) {
        plugin_engine_abandon_compiles(engine);
}

struct host *host_new(const struct host_arguments *arguments, const struct host_config *config,
                      struct ph_error *error) {
        struct host *host = calloc(1, sizeof(*host));
        if (host == NULL) {
                ph_error_set(error, -ENOMEM, "host: out of memory");
                return NULL;
        }
        host->arguments = *arguments;
        host->config = *config;
        pthread_mutex_init(&host->recorders_lock, NULL);
        pthread_mutex_init(&host->output_lock, NULL);
        host->pipeline = pipeline_new(error);
        if (host->pipeline == NULL)
                goto fail;
        host->options = (struct plugin_host_options){.state_dir = host->config.state_dir,
                                                     .state_write_interval_s =
                                                             host->config.state_write_interval_s,
                                                     .pipeline = host->pipeline};
        host->engine = plugin_engine_new(host->config.cache_dir, error);
        if (host->engine == NULL)
                goto fail;
        plugin_engine_set_python_runtime(host->engine, host->config.python_runtime);
        plugin_engine_set_precompiled_key(host->engine, host->config.precompiled_key);
        host->board = hw_board_new(&host->config.board, error);
        if (host->board == NULL)
                goto fail;
        log_write(LOG_LEVEL_INFO, "host", "board: %s; compiled-code cache: %s",
                  host->board->ops->name,
                  host->config.cache_dir[0] != '\0' ? host->config.cache_dir : "off");
        /* Loading may compile for seconds (minutes on a small board): a
         * SIGTERM meanwhile abandons the compile and stops the start. */
        struct stop_watch watch;
        stop_watch_start(&watch, host_abandon_compiles, host->engine);
        for (size_t i = 0; i < host->config.plugin_count; i++) {
                if (arguments->interval_s > 0)
                        host->config.plugins[i].interval_s = arguments->interval_s;
                host_load_plugin(host, &host->config.plugins[i]);
        }
        int stop_signal = stop_watch_finish(&watch);
        if (stop_signal != 0) {
                ph_error_set(error, -ECANCELED, "%s while loading the plugins: stopped",
                             strsignal(stop_signal));
                goto fail;
        }
        if (host->running.count == 0) {
                ph_error_set(error, -ENOENT, "no plugin could be loaded");
                goto fail;
        }
        if (start_recorders(host, error) < 0 || host_outputs_subscribe(host, error) < 0 ||
            host_start_running(host, error) < 0)
                goto fail;
        host->is_serving = true;
        return host;
fail:
        host_free(host, false);
        return NULL;
}

void host_free(struct host *host, bool is_bounded) {
        if (host == NULL)
                return;
        struct stop_guard guard = {0};
        struct ph_error error = {0};
        /* A poll stuck where its budget cannot reach (a host call blocked in
         * the kernel) must not hold the stop forever: past stop_timeout_s
         * the guard flushes the history and exits 1. */
        if (is_bounded && stop_guard_start(&guard, host->config.stop_timeout_s, 1,
                                           stop_recorders_on_timeout, host, &error) < 0)
                log_write(LOG_LEVEL_WARNING, "host", "%s: the stop is not bounded", error.message);
        host_stop_running(host, &guard, false);
        stop_guard_set_stage(&guard, "flushing the history");
        pipeline_free(host->pipeline); /* every consumer has drained and stopped */
        host->pipeline = NULL;
        stop_recorders(host);
        stop_guard_set_stage(&guard, "unloading the plugins");
        for (size_t i = 0; i < host->running.count; i++)
                plugin_free(host->running.plugins[i]);
        host->running.count = 0;
        hw_board_free(host->board);
        plugin_engine_free(host->engine);
        stop_guard_finish(&guard);
        pthread_mutex_destroy(&host->output_lock);
        pthread_mutex_destroy(&host->recorders_lock);
        free(host);
}
