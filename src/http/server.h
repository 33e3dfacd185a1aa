/* server.h - the web server: the JSON API, the event stream, the metrics
 * and the dashboard, on libmicrohttpd's own thread pool.
 *
 * Owns the daemon, the app state, the event stream, the feed from the
 * plugins and the API token. Each request is routed here, authenticated
 * here, and answered by api.c, sse.c, metrics.c or the embedded assets.
 * Limits: connections at once, request body size, per-connection memory
 * (headers) and an idle/stalled-connection timeout, all from [http].
 *
 * Threads: start and stop from the main thread; http_server_deliver on its
 * pipeline subscriber's thread; requests on the pool's threads. No request
 * ever waits for a plugin: polls and resets run on the plugin's own thread
 * while the connection is suspended. */
#ifndef PH_HTTP_SERVER_H
#define PH_HTTP_SERVER_H

#include "core/config.h"
#include "hw/hw.h"
#include "plugin/plugin.h"
#include "plugin/reloader.h"
#include "plugin/scheduler.h"
#include "mqtt/mqtt.h"
#include "store/history.h"

/* What the server serves; all borrowed, and must outlive the server. */
struct http_host {
        struct plugin *const *plugins;
        const struct plugin_config *const *plugin_configs; /* plugins[i]'s */
        size_t plugin_count;
        struct reloader *reloader;
        struct hw_board *board;
        const char *state_dir; /* where a generated API token is kept; "": XDG */
        unsigned reload_debounce_ms;
        /* Copies the history's figures and returns true; false when there
         * is no history. Called from request threads; NULL: no history. */
        bool (*get_history_stats)(struct history_stats *ret_stats, void *data);
        /* The same for MQTT; NULL: no MQTT. */
        bool (*get_mqtt_stats)(struct mqtt_stats *ret_stats, void *data);
        void *stats_data; /* handed to both */
        /* The poll pipeline, for its consumers' queues (depth, drops). */
        struct pipeline *pipeline;
};

struct http_server;

/* Starts listening on config->address:port (copied). Logs where, and
 * where the API token comes from. The caller stops it with
 * http_server_stop, before the plugins and the reloader go. */
PH_MUST_USE struct http_server *http_server_start(const struct http_config *config,
                                                  const struct http_host *host,
                                                  struct ph_error *error);

/* Ends the event streams, stops the daemon (waiting for requests in
 * progress), detaches from the plugins and frees everything. Accepts NULL. */
void http_server_stop(struct http_server *server);

/* Detaches the server from the plugins, before they are stopped and
 * unloaded (a SIGHUP that changes them): it serves on, showing what it
 * recorded of them; actions on them get 503 and their records are not
 * fed, until http_server_set_plugins. Waits only for requests being served
 * (never for a plugin). */
void http_server_detach_plugins(struct http_server *server);

/* Serves another set of plugins: `host`'s plugins, plugin_configs,
 * plugin_count and reloader are taken (the rest stays as at the start).
 * What was recorded of a plugin that stays (chart history, statistics,
 * events) is kept; the others start afresh and those gone are forgotten.
 * The port, the event streams and the counters stay. Returns 0, or
 * -ENOMEM with `error` set (the server then stays detached). */
PH_MUST_USE int http_server_set_plugins(struct http_server *server, const struct http_host *host,
                                        struct ph_error *error);

/* Where operator polls and resets go (NULL: nowhere, they get 503). Set
 * after the scheduler starts and to NULL before it and the reloader stop:
 * NULL also cuts off reload requests, until http_server_set_plugins hands
 * over the next reloader. */
void http_server_set_scheduler(struct http_server *server, struct scheduler *scheduler);

/* The pipeline's deliver (core/pipeline.h) of the web state, its event
 * stream and the metrics; `data` is the server. Runs on its subscriber
 * thread; never waits for a plugin's call. */
void http_server_deliver(const struct poll_record *record, void *data);

/* The port it listens on (useful with port 0). */
uint16_t http_server_port(const struct http_server *server);

#endif
