/* server.c - the web server's life (server.h): start and stop of
 * libmicrohttpd, the guard, the app state, the event stream and the feed;
 * the set of plugins it serves, swapped on SIGHUP; the records fed to it.
 * Serving one request is request.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/server_private.h"

static enum MHD_Result on_accept(void *data, const struct sockaddr *address, socklen_t length) {
        struct http_server *server = data;
        return guard_accept(server->guard, address, length) ? MHD_YES : MHD_NO;
}

static void on_connection(void *data, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        struct http_server *server = data;
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                guard_connection_started(server->guard, connection, socket_context);
        else
                guard_connection_closed(server->guard, socket_context);
}

static void log_from_daemon(void *data, const char *format, va_list arguments) {
        (void)data;
        char message[512];
        vsnprintf(message, sizeof(message), format, arguments);
        size_t length = strlen(message);
        while (length > 0 && message[length - 1] == '\n')
                message[--length] = '\0';
        log_write(LOG_LEVEL_DEBUG, "http", "%s", message);
}

/* --- start and stop ----------------------------------------------------- */

static bool is_loopback(const char *address) {
        struct in_addr v4;
        struct in6_addr v6;
        if (inet_pton(AF_INET, address, &v4) == 1)
                return (ntohl(v4.s_addr) >> 24) == 127;
        return inet_pton(AF_INET6, address, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

static int start_daemon(struct http_server *server, struct ph_error *error) {
        const struct http_config *config = &server->config;
        struct sockaddr_storage address = {0};
        /* poll(2), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll
         * takes a short read for "no more data", so the end of a client
         * that sent part of a request and closed at once is never read, and
         * its connection held its slot until the idle timeout. poll is
         * level-triggered: the next round reads the end and closes. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG;
        struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
        if (inet_pton(AF_INET, config->address, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(config->port);
        } else if (inet_pton(AF_INET6, config->address, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(config->port);
                flags |= MHD_USE_IPv6;
        } else {
                return ph_error_set(error, -EINVAL, "http: '%s' is not an IP address",
                                    config->address);
        }
        /* The guard keeps max_connections; libmicrohttpd's own limit
         * leaves room for the connections the guard is closing to make
         * room (they go within a poll round), and is split among the
         * threads. */
        unsigned hard_limit =
                config->max_connections + config->max_connections / 2 + 2 * config->threads;
        server->daemon = MHD_start_daemon(
                flags, config->port, on_accept, server, http_request_handle, server,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE,
                (unsigned)config->threads, MHD_OPTION_CONNECTION_LIMIT, hard_limit,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config->timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)128, MHD_OPTION_NOTIFY_COMPLETED,
                http_request_completed, server, MHD_OPTION_NOTIFY_CONNECTION, on_connection, server,
                MHD_OPTION_EXTERNAL_LOGGER, log_from_daemon, NULL, MHD_OPTION_END);
        if (server->daemon == NULL)
                return ph_error_set(error, -EADDRNOTAVAIL,
                                    "http: cannot listen on %s port %u (in use, or not an "
                                    "address of this machine)",
                                    config->address, (unsigned)config->port);
        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
        server->port = info != NULL ? info->port : config->port;
        return 0;
}

/* The app state's description of `host`'s plugins; NULL when out of memory. */
static struct app_plugin_info *plugin_infos(const struct http_host *host) {
        struct app_plugin_info *infos = calloc(host->plugin_count + 1, sizeof(*infos));
        for (size_t i = 0; infos != NULL && i < host->plugin_count; i++)
                infos[i] = (struct app_plugin_info){
                        .name = plugin_name(host->plugins[i]),
                        .interval_s = host->plugin_configs[i]->interval_s,
                        .budget_ms = host->plugin_configs[i]->budget_ms,
                };
        return infos;
}

struct http_server *http_server_start(const struct http_config *config,
                                      const struct http_host *host, struct ph_error *error) {
        struct http_server *server = calloc(1, sizeof(*server));
        struct app_plugin_info *infos = plugin_infos(host);
        if (server == NULL || infos == NULL) {
                free(infos);
                free(server);
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        server->config = *config;
        pthread_mutex_init(&server->scheduler_lock, NULL);
        server->has_set_lock = pthread_rwlock_init(&server->set_lock, NULL) == 0;
        server->are_reads_open =
                config->open_reads < 0 ? is_loopback(config->address) : config->open_reads > 0;
        server->plugins = calloc(host->plugin_count + 1, sizeof(server->plugins[0]));
        if (server->plugins != NULL && host->plugin_count > 0)
                memcpy(server->plugins, host->plugins,
                       host->plugin_count * sizeof(server->plugins[0]));
        server->state = server->plugins != NULL && server->has_set_lock
                                ? app_state_new(infos, host->plugin_count, error)
                                : NULL;
        free(infos);
        if (server->state == NULL) {
                if (server->plugins == NULL || !server->has_set_lock)
                        ph_error_set(error, -ENOMEM, "http: out of memory");
                goto fail;
        }
        if (auth_init(&server->auth, config->token, host->state_dir, error) < 0)
                goto fail;
        /* Half the connections at most for streams: the API stays reachable. */
        server->sse =
                sse_new(config->max_connections / 2 > 0 ? config->max_connections / 2 : 1, error);
        if (server->sse == NULL)
                goto fail;
        server->metrics = metrics_new(error);
        if (server->metrics == NULL)
                goto fail;
        if (origin_policy_init(&server->origin, config->address, config->allowed_hosts, error) < 0)
                goto fail;
        struct guard_limits limits = {
                .max_connections = config->max_connections,
                .max_per_address = config->max_connections_per_address,
                .deadline_s = config->request_deadline_s,
                .max_requests_per_s = config->max_requests_per_s,
        };
        server->guard = guard_new(&limits, error);
        if (server->guard == NULL)
                goto fail;
        server->feed = feed_new(server->state, server->sse, server->plugins, host->plugin_count,
                                host->board, error);
        if (server->feed == NULL)
                goto fail;
        server->api = (struct api){
                .state = server->state,
                .plugins = server->plugins,
                .plugin_count = host->plugin_count,
                .reloader = host->reloader,
                .reload_debounce_ms = host->reload_debounce_ms,
                .started_ms = clock_realtime_ms(),
                .get_history_stats = host->get_history_stats,
                .get_mqtt_stats = host->get_mqtt_stats,
                .stats_data = host->stats_data,
                .pipeline = host->pipeline,
        };
        if (start_daemon(server, error) < 0)
                goto fail;
        log_write(LOG_LEVEL_INFO, "http",
                  "listening on http://%s%s%s:%u/ (%u threads, at most %u connections, %u "
                  "per address, %g s per request, %u s idle timeout, %zu-byte bodies); reads %s",
                  strchr(config->address, ':') != NULL ? "[" : "", config->address,
                  strchr(config->address, ':') != NULL ? "]" : "", (unsigned)server->port,
                  config->threads, config->max_connections, config->max_connections_per_address,
                  config->request_deadline_s, config->timeout_s, config->max_body_bytes,
                  server->are_reads_open ? "are open" : "need the API token");
        if (server->auth.is_generated)
                log_write(LOG_LEVEL_INFO, "http",
                          "generated an API token for mutating requests; it is in %s (mode "
                          "0600)",
                          server->auth.source);
        else
                log_write(LOG_LEVEL_INFO, "http", "API token for mutating requests: from %s",
                          server->auth.source);
        return server;
fail:
        http_server_stop(server);
        return NULL;
}

void http_server_stop(struct http_server *server) {
        if (server == NULL)
                return;
        /* Streams first: libmicrohttpd must not be stopped with suspended
         * connections. Then no request runs, then no listener. */
        sse_shutdown(server->sse);
        if (server->daemon != NULL)
                MHD_stop_daemon(server->daemon);
        guard_free(server->guard);
        feed_free(server->feed);
        sse_free(server->sse);
        metrics_free(server->metrics);
        app_state_free(server->state);
        free(server->plugins);
        if (server->has_set_lock)
                pthread_rwlock_destroy(&server->set_lock);
        pthread_mutex_destroy(&server->scheduler_lock);
        free(server);
}

void http_server_detach_plugins(struct http_server *server) {
        if (server == NULL)
                return;
        pthread_rwlock_wrlock(&server->set_lock);
        server->api.plugin_count = 0;
        server->api.reloader = NULL;
        feed_set_plugins(server->feed, NULL, 0);
        pthread_rwlock_unlock(&server->set_lock);
}

int http_server_set_plugins(struct http_server *server, const struct http_host *host,
                            struct ph_error *error) {
        if (server == NULL)
                return 0;
        struct app_plugin_info *infos = plugin_infos(host);
        struct plugin **plugins = calloc(host->plugin_count + 1, sizeof(plugins[0]));
        if (infos == NULL || plugins == NULL) {
                free(infos);
                free(plugins);
                infos = NULL;
                plugins = NULL;
                ph_error_set(error, -ENOMEM, "http: out of memory");
        }
        for (size_t i = 0; plugins != NULL && i < host->plugin_count; i++)
                plugins[i] = host->plugins[i];
        pthread_rwlock_wrlock(&server->set_lock);
        int result = infos != NULL ? app_state_set_plugins(server->state, infos, host->plugin_count,
                                                           error)
                                   : -ENOMEM;
        struct plugin **old = server->plugins;
        if (result == 0) {
                server->plugins = plugins;
                server->api.plugins = plugins;
                server->api.plugin_count = host->plugin_count;
                server->api.reloader = host->reloader;
                feed_set_plugins(server->feed, plugins, host->plugin_count);
        } else {
                old = plugins; /* detached, as it was */
        }
        pthread_rwlock_unlock(&server->set_lock);
        free(old);
        free(infos);
        if (result < 0)
                return result;
        /* Their statuses as they are now, as when the server started. */
        pthread_rwlock_rdlock(&server->set_lock);
        for (size_t i = 0; i < host->plugin_count; i++)
                feed_refresh_status(server->feed, i);
        pthread_rwlock_unlock(&server->set_lock);
        return 0;
}

void http_server_set_scheduler(struct http_server *server, struct scheduler *scheduler) {
        if (server == NULL)
                return;
        if (scheduler == NULL) {
                /* The reloader stops next: no reload request may reach it. */
                pthread_rwlock_wrlock(&server->set_lock);
                server->api.reloader = NULL;
                pthread_rwlock_unlock(&server->set_lock);
        }
        pthread_mutex_lock(&server->scheduler_lock);
        server->scheduler = scheduler;
        pthread_mutex_unlock(&server->scheduler_lock);
}

void http_server_deliver(const struct poll_record *record, void *data) {
        struct http_server *server = data;
        pthread_rwlock_rdlock(&server->set_lock);
        feed_note_poll(server->feed, record);
        pthread_rwlock_unlock(&server->set_lock);
}

uint16_t http_server_port(const struct http_server *server) {
        return server->port;
}
