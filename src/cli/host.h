/* host.h - the running host: one object that owns the engine, the board,
 * the plugins and their scheduler, the reloader, the poll pipeline and its
 * consumers (stdout and the log, history, MQTT, the web server, liveness).
 * `pyhost run` parses its arguments, makes a host, serves signals with it
 * and frees it; nothing of the host lives in globals.
 *
 * Data: every poll becomes one record on the pipeline (core/pipeline.h);
 * each consumer is a subscriber with its own queue and thread, subscribed
 * here and nowhere else (host_outputs.c holds their delivers).
 *
 * Threads: the main thread makes, reloads, serves and frees the host; the
 * stop guard's thread may take the recorders (history, MQTT) when a stop
 * overruns. Lock order: see core/locks.h. */
#ifndef PH_CLI_HOST_H
#define PH_CLI_HOST_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "cli/service.h"
#include "core/config.h"
#include "core/liveness.h"
#include "core/pipeline.h"
#include "hw/hw.h"
#include "http/server.h"
#include "mqtt/mqtt.h"
#include "plugin/plugin.h"
#include "plugin/reloader.h"
#include "plugin/scheduler.h"
#include "store/history.h"

/* What `pyhost run` was given besides the config, kept for SIGHUP. */
struct host_arguments {
        const char *config_path; /* NULL: defaults only */
        char **files;            /* PLUGIN.wasm arguments, borrowed from argv */
        size_t file_count;
        double interval_s; /* --interval; 0: each plugin's own */
};

/* The plugins being polled. Changed only by the main thread with the
 * scheduler stopped and the pipeline drained. */
struct host_running {
        struct plugin *plugins[CONFIG_MAX_PLUGINS];
        double intervals[CONFIG_MAX_PLUGINS];
        size_t count;
        struct scheduler *scheduler;
        struct reloader *reloader;
        struct liveness liveness; /* worker i is plugins[i]'s poll thread */
};

/* A subscription of the pipeline; id is valid while is_subscribed. */
struct host_subscription {
        unsigned id;
        bool is_subscribed;
};

struct host {
        struct host_arguments arguments;
        struct host_config config; /* in force */
        struct plugin_engine *engine;
        struct hw_board *board;
        struct plugin_host_options options;
        struct pipeline *pipeline;
        struct host_running running;
        struct http_server *http; /* NULL when disabled or not started */
        bool is_serving;          /* made: later failures are logged, not fatal */
        int stop_signal;          /* taken during a SIGHUP's checks: stop after it */

        /* The recorders, taken (set to NULL) under recorders_lock by
         * whoever stops them first: the main thread or the stop guard. */
        pthread_mutex_t recorders_lock;
        struct history *history;
        struct mqtt_publisher *mqtt;

        pthread_mutex_t output_lock; /* serialises stdout */
        struct host_subscription console, history_feed, mqtt_feed, liveness, web;
};

/* Makes the host from `config` (taken by copy): engine, board, pipeline
 * and its consumers, every plugin (one that does not load is listed as not
 * loaded), then starts polling. Returns NULL with `error` set when the host
 * itself cannot run, or with -ECANCELED when SIGINT or SIGTERM came while
 * it loaded the plugins (the compile in progress is abandoned). Free with
 * host_free. */
PH_MUST_USE struct host *host_new(const struct host_arguments *arguments,
                                  const struct host_config *config, struct ph_error *error);

/* Serves until SIGINT or SIGTERM (returned): SIGHUP re-reads the config,
 * SIGUSR1 lifts quarantines, and the watchdog is checked in between.
 * `signals` must be blocked in every thread. */
int host_serve(struct host *host, const sigset_t *signals);

/* Stops polling, flushes the recorders and frees everything; the stop is
 * bounded by the config's stop_timeout_s when `is_bounded`. Accepts NULL. */
void host_free(struct host *host, bool is_bounded);

/* A stop signal while the main thread loads or checks plugins (a
 * stop_watch's on_stop; `engine` is the host's plugin_engine). */
void host_abandon_compiles(void *engine);

/* Shared by host.c and host_signals.c. */
void host_load_plugin(struct host *host, const struct plugin_config *plugin_config);
/* Starts polling the plugins of host->running (reloader, scheduler) and
 * the web server, or points a running web server at them. */
PH_MUST_USE int host_start_running(struct host *host, struct ph_error *error);
/* Stops polling and hands the last polls to their consumers. The web
 * server stops too, unless `keeps_web` (a SIGHUP that changes the plugins):
 * then it serves on, detached from the plugins. */
void host_stop_running(struct host *host, struct stop_guard *guard, bool keeps_web);
const struct plugin_config *host_find_plugin_config(const struct host_config *config,
                                                    const char *name);
void host_set_allowances(struct host *host);

/* The consumers (host_outputs.c): subscribe the ones that do not depend
 * on the running set (stdout/log, history and MQTT, liveness). */
PH_MUST_USE int host_outputs_subscribe(struct host *host, struct ph_error *error);

#endif
