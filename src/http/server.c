#include "http/server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/app_state.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/api.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/feed.h"
#include "http/guard.h"
#include "http/metrics.h"
#include "http/origin.h"
#include "http/reply.h"
#include "http/route.h"
#include "http/sse.h"
#include "plugin/scheduler.h"

/* Per-connection memory: request line, headers and buffers. A request
 * whose headers do not fit is refused by libmicrohttpd (431). */
#define CONNECTION_MEMORY_BYTES (32 * 1024)

struct http_server {
        struct http_config config;
        /* Where operator polls and resets go; NULL while the plugins are not
         * scheduled. Guarded by scheduler_lock, which is held only to hand a
         * request over (scheduler_request never waits for a plugin). */
        pthread_mutex_t scheduler_lock;
        struct scheduler *scheduler;
        /* The plugins served: `plugins` (the server's copy of the host's
         * array; the api and the feed borrow it), the app state's set and
         * the feed's. Read-held while a request is served and while a
         * record is fed; write-held only to swap the set (a SIGHUP), which
         * therefore never waits for a plugin. Before scheduler_lock and the
         * app state's and stream's locks (core/locks.h). */
        pthread_rwlock_t set_lock;
        bool has_set_lock;
        struct plugin **plugins;
        bool are_reads_open;
        struct MHD_Daemon *daemon;
        uint16_t port;
        struct app_state *state;
        struct sse *sse;
        struct feed *feed;
        struct metrics *metrics;
        struct guard *guard;
        struct origin_policy origin;
        struct auth auth;
        struct api api;
};

/* An operator's poll or reset on its way through the plugin's thread: the
 * connection is suspended meanwhile, so no server thread waits. */
struct pending_action {
        struct MHD_Connection *connection;
        enum api_action action;
        char name[CONFIG_NAME_MAX];
        struct http_reply reply;  /* written by the plugin's thread ... */
        _Atomic bool is_answered; /* ... before this is set and the connection resumed */
};

struct request {
        struct route route;
        struct pending_action *pending; /* NULL, or an action in flight */
        unsigned status;
        struct timespec started;
        bool is_rejected; /* answered before its body was read */
        bool is_too_large;
        size_t body_size;
        char body[]; /* max_body_bytes + 1 */
};

static const char json_content_type[] = "application/json";

/* --- responses ---------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *connection, struct request *request,
                                  struct http_reply *reply) {
        struct MHD_Response *response;
        if (reply->is_static) {
                response = MHD_create_response_from_buffer(reply->size, reply->body,
                                                           MHD_RESPMEM_PERSISTENT);
        } else {
                response = MHD_create_response_from_buffer(reply->size, reply->body,
                                                           MHD_RESPMEM_MUST_FREE);
                if (response != NULL)
                        reply->body = NULL; /* libmicrohttpd frees it */
        }
        http_reply_clear(reply);
        if (response == NULL)
                return MHD_NO;
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply->content_type != NULL ? reply->content_type
                                                            : json_content_type);
        MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(response, "X-Frame-Options", "DENY");
        MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                                reply->is_cacheable ? "no-cache" : "no-store");
        if (reply->etag != NULL)
                MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, reply->etag);
        if (reply->content_type != NULL && strncmp(reply->content_type, "text/html", 9) == 0)
                MHD_add_response_header(response, "Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; "
                                        "style-src 'self'; frame-ancestors 'none'");
        if (reply->allow != NULL)
                MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
        if (reply->wants_auth)
                MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        "Bearer realm=\"pyhost\"");
        if (reply->status == 429)
                MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        request->status = reply->status;
        enum MHD_Result result = MHD_queue_response(connection, reply->status, response);
        MHD_destroy_response(response);
        return result;
}

static enum MHD_Result send_error(struct MHD_Connection *connection, struct request *request,
                                  unsigned status, const char *message) {
        struct http_reply reply = {0};
        http_reply_error(&reply, status, "%s", message);
        return send_reply(connection, request, &reply);
}

/* Which requests need the token: actions and changes always; reads unless
 * open; the dashboard's files and the health check never. */
static bool needs_token(const struct http_server *server, enum metrics_route id,
                        enum method method) {
        if (route_is_action(id) || method == METHOD_PUT)
                return true;
        if (id == ROUTE_DASHBOARD || id == ROUTE_ASSET || id == ROUTE_HEALTH)
                return false;
        return !server->are_reads_open;
}

/* Gathers what /metrics shows besides the app state. */
static char *render_metrics(struct http_server *server, size_t *ret_size) {
        const struct api *api = &server->api;
        /* Several KiB each: off the pool thread's stack. */
        struct history_stats *history = malloc(sizeof(*history));
        struct pipeline_stats *pipeline = malloc(sizeof(*pipeline));
        struct mqtt_stats mqtt;
        struct guard_figures connections;
        guard_figures(server->guard, &connections);
        bool has_history = history != NULL && api->get_history_stats != NULL &&
                           api->get_history_stats(history, api->stats_data);
        bool has_mqtt = api->get_mqtt_stats != NULL && api->get_mqtt_stats(&mqtt, api->stats_data);
        if (pipeline != NULL)
                pipeline_get_stats(api->pipeline, pipeline);
        struct metrics_sources sources = {
                .sse_streams = sse_stream_count(server->sse),
                .sse_events = sse_event_count(server->sse),
                .history = has_history ? history : NULL,
                .mqtt = has_mqtt ? &mqtt : NULL,
                .pipeline = api->pipeline != NULL ? pipeline : NULL,
                .connections = &connections,
        };
        char *text = metrics_render(server->metrics, server->state, &sources, ret_size);
        free(history);
        free(pipeline);
        return text;
}

/* On the plugin's thread: keeps the answer and wakes the connection. */
static void on_action_answer(const struct poll_record *record, int result, void *data) {
        struct pending_action *pending = data;
        api_action_answer(pending->action, pending->name, record, result, &pending->reply);
        atomic_store(&pending->is_answered, true);
        MHD_resume_connection(pending->connection);
}

/* Hands a poll or reset to the plugin's own thread and suspends the
 * connection until on_action_answer resumes it (on_request then sends the
 * reply). */
static enum MHD_Result start_action(struct http_server *server, struct MHD_Connection *connection,
                                    struct request *request, enum api_action action,
                                    const char *name) {
        struct pending_action *pending = calloc(1, sizeof(*pending));
        if (pending == NULL)
                return send_error(connection, request, 503, "out of memory; try again");
        pending->connection = connection;
        pending->action = action;
        snprintf(pending->name, sizeof(pending->name), "%s", name);
        request->pending = pending;
        /* Suspended before the request is handed over, so the answer can
         * never resume a connection that is not suspended yet. */
        MHD_suspend_connection(connection);
        pthread_mutex_lock(&server->scheduler_lock);
        int result =
                server->scheduler == NULL
                        ? -ESHUTDOWN
                        : scheduler_request(server->scheduler, name,
                                            action == API_ACTION_POLL ? SCHEDULER_REQUEST_POLL
                                                                      : SCHEDULER_REQUEST_RESET,
                                            on_action_answer, pending);
        pthread_mutex_unlock(&server->scheduler_lock);
        if (result < 0) {
                if (result == -EBUSY)
                        http_reply_error(&pending->reply, 409,
                                         "an operator action on '%s' is already in progress", name);
                else
                        api_action_answer(action, name, NULL,
                                          result == -ENOENT ? -ESHUTDOWN : result, &pending->reply);
                atomic_store(&pending->is_answered, true);
                MHD_resume_connection(connection);
        }
        return MHD_YES;
}

/* GET /api/events: an event stream, kept open by sse.c. */
static enum MHD_Result open_stream(struct http_server *server, struct MHD_Connection *connection,
                                   struct request *request) {
        struct MHD_Response *response =
                sse_open(server->sse, connection,
                         MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Last-Event-ID"));
        if (response == NULL)
                return send_error(connection, request, 503,
                                  "too many event streams; try again later");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(response, "X-Accel-Buffering", "no");
        request->status = 200;
        enum MHD_Result result = MHD_queue_response(connection, 200, response);
        MHD_destroy_response(response);
        return result;
}

static enum MHD_Result serve_locked(struct http_server *server, struct MHD_Connection *connection,
                                    struct request *request, const struct route *route,
                                    bool is_settings_change);

/* Serves a complete request. */
static enum MHD_Result serve(struct http_server *server, struct MHD_Connection *connection,
                             struct request *request, const struct route *route,
                             enum method method) {
        struct http_reply reply = {0};
        bool is_read = method == METHOD_GET || method == METHOD_HEAD;
        if (route->id == ROUTE_OTHER)
                return send_error(connection, request, 404, "no such resource");
        bool is_settings_change = route->id == ROUTE_PLUGIN_SETTINGS && method == METHOD_PUT;
        if (route_is_action(route->id) ? method != METHOD_POST : !is_read && !is_settings_change) {
                http_reply_error(&reply, 405, "method not allowed");
                reply.allow = route_is_action(route->id)           ? "POST"
                              : route->id == ROUTE_PLUGIN_SETTINGS ? "GET, HEAD, PUT"
                                                                   : "GET, HEAD";
                return send_reply(connection, request, &reply);
        }
        if (needs_token(server, route->id, method) &&
            !auth_check(&server->auth,
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION))) {
                http_reply_error(&reply, 401, "a valid bearer token is required");
                reply.wants_auth = true;
                return send_reply(connection, request, &reply);
        }
        if (request->body_size > 0 &&
            !route_is_json_type(MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_CONTENT_TYPE)))
                return send_error(connection, request, 415, "the body must be application/json");
        if (request->body_size > 0 && !route_is_action(route->id) && !is_settings_change)
                return send_error(connection, request, 400, "this resource takes no body");

        if (route->id == ROUTE_EVENTS)
                return open_stream(server, connection, request);
        pthread_rwlock_rdlock(&server->set_lock);
        enum MHD_Result result =
                serve_locked(server, connection, request, route, is_settings_change);
        pthread_rwlock_unlock(&server->set_lock);
        return result;
}

/* serve's second half, with set_lock read-held. */
static enum MHD_Result serve_locked(struct http_server *server, struct MHD_Connection *connection,
                                    struct request *request, const struct route *route,
                                    bool is_settings_change) {
        const struct api *api = &server->api;
        struct http_reply reply = {0};
        switch (route->id) {
        case ROUTE_DASHBOARD:
        case ROUTE_ASSET: {
                const char *match = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                                MHD_HTTP_HEADER_IF_NONE_MATCH);
                bool is_fresh = match != NULL && strcmp(match, route->asset->etag) == 0;
                http_reply_static(&reply, is_fresh ? 304 : 200, route->asset->content_type,
                                  is_fresh ? "" : (const char *)route->asset->data,
                                  is_fresh ? 0 : route->asset->size);
                reply.etag = route->asset->etag;
                reply.is_cacheable = true;
                break;
        }
        case ROUTE_HEALTH: {
                /* Open to all; the history's words (paths, errors) only to
                 * those who may read. */
                bool may_read =
                        server->are_reads_open ||
                        auth_check(&server->auth,
                                   MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                               MHD_HTTP_HEADER_AUTHORIZATION));
                api_health(api, may_read, &reply);
                break;
        }
        case ROUTE_READINGS:
                api_readings(api, &reply);
                break;
        case ROUTE_HISTORY:
                api_history(api, &reply);
                break;
        case ROUTE_PLUGINS:
                api_plugins(api, &reply);
                break;
        case ROUTE_PLUGIN:
                api_plugin(api, route->name, &reply);
                break;
        case ROUTE_PLUGIN_SETTINGS:
                if (is_settings_change)
                        api_settings_change(api, route->name, request->body, request->body_size,
                                            &reply);
                else
                        api_settings(api, route->name, &reply);
                break;
        case ROUTE_PLUGIN_POLL:
        case ROUTE_PLUGIN_RELOAD:
        case ROUTE_PLUGIN_RESET: {
                enum api_action action = route->id == ROUTE_PLUGIN_POLL     ? API_ACTION_POLL
                                         : route->id == ROUTE_PLUGIN_RELOAD ? API_ACTION_RELOAD
                                                                            : API_ACTION_RESET;
                if (api_action_check(api, action, route->name, request->body, request->body_size,
                                     &reply) < 0)
                        break;
                if (action == API_ACTION_RELOAD) {
                        api_reload(api, route->name, &reply);
                        break;
                }
                return start_action(server, connection, request, action, route->name);
        }
        case ROUTE_METRICS: {
                size_t size = 0;
                char *text = render_metrics(server, &size);
                int result = http_reply_take(&reply, 200, "text/plain; version=0.0.4", text, size);
                (void)result;
                break;
        }
        default:
                return send_error(connection, request, 404, "no such resource");
        }
        return send_reply(connection, request, &reply);
}

/* Checks a request whose head is in, before its body is read: a Host or
 * Origin that is not this server's (DNS rebinding), or one over its
 * address's request rate, is answered at once. Returns true when answered. */
static bool refuse_early(struct http_server *server, struct MHD_Connection *connection,
                         struct request *request, enum MHD_Result *ret_result) {
        const char *host =
                MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        const char *origin =
                MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
        unsigned status = 0;
        const char *message = NULL;
        if (!origin_host_is_allowed(&server->origin, host)) {
                guard_count(server->guard, GUARD_REFUSED_HOST);
                status = 421;
                message = "this server does not answer to that Host; a name it should answer "
                          "to goes in [http] allowed_hosts";
        } else if (origin != NULL && !origin_is_allowed(&server->origin, origin)) {
                guard_count(server->guard, GUARD_REFUSED_ORIGIN);
                status = 403;
                message = "requests from pages of other origins are refused";
        } else if (!guard_request_allowed(server->guard, connection)) {
                status = 429;
                message = "too many requests from this address; try again in a second";
        }
        if (status == 0)
                return false;
        request->is_rejected = true;
        guard_request_in(server->guard, connection);
        *ret_result = send_error(connection, request, status, message);
        return true;
}

/* libmicrohttpd's access handler: called once with the headers, then for
 * each piece of the body, then once more with nothing. */
static enum MHD_Result on_request(void *data, struct MHD_Connection *connection, const char *url,
                                  const char *method_name, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **connection_data) {
        (void)version;
        struct http_server *server = data;
        struct request *request = *connection_data;
        if (request == NULL) {
                request = calloc(1, sizeof(*request) + server->config.max_body_bytes + 1);
                if (request == NULL)
                        return MHD_NO;
                route_find(url, &request->route);
                clock_gettime(CLOCK_MONOTONIC, &request->started);
                *connection_data = request;
                enum MHD_Result refused = MHD_NO;
                if (refuse_early(server, connection, request, &refused))
                        return refused;
                /* Refuse a declared oversized body before reading it. */
                const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                char *end = NULL;
                unsigned long long declared = length != NULL ? strtoull(length, &end, 10) : 0;
                if (length != NULL &&
                    (end == length || *end != '\0' || declared > server->config.max_body_bytes)) {
                        request->is_rejected = true;
                        guard_request_in(server->guard, connection);
                        return send_error(connection, request, 413, "request body too large");
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t size = *upload_data_size;
                *upload_data_size = 0;
                if (request->is_rejected)
                        return MHD_YES;
                if (size > server->config.max_body_bytes - request->body_size) {
                        /* A chunked body that grew too large: drop the
                         * connection rather than read on. */
                        request->is_too_large = true;
                        return MHD_NO;
                }
                memcpy(request->body + request->body_size, upload_data, size);
                request->body_size += size;
                return MHD_YES;
        }
        if (request->is_rejected)
                return MHD_YES;
        /* Head and body are in: the request deadline no longer runs (an
         * event stream lives on). */
        guard_request_in(server->guard, connection);
        if (request->pending != NULL) {
                /* Resumed: the plugin's thread has answered. */
                if (!atomic_load(&request->pending->is_answered) ||
                    request->pending->reply.status == 0)
                        return MHD_YES;
                return send_reply(connection, request, &request->pending->reply);
        }
        return serve(server, connection, request, &request->route, route_parse_method(method_name));
}

static void on_completed(void *data, struct MHD_Connection *connection, void **connection_data,
                         enum MHD_RequestTerminationCode code) {
        (void)code;
        struct http_server *server = data;
        struct request *request = *connection_data;
        guard_request_done(server->guard, connection);
        if (request == NULL)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double seconds = (double)(now.tv_sec - request->started.tv_sec) +
                         (double)(now.tv_nsec - request->started.tv_nsec) / 1e9;
        if (request->status != 0)
                metrics_count_request(server->metrics, request->route.id, request->status, seconds);
        if (request->pending != NULL) {
                http_reply_clear(&request->pending->reply);
                free(request->pending);
        }
        free(request);
        *connection_data = NULL;
}

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
                flags, config->port, on_accept, server, on_request, server, MHD_OPTION_SOCK_ADDR,
                (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)config->threads,
                MHD_OPTION_CONNECTION_LIMIT, hard_limit, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned)config->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                (size_t)CONNECTION_MEMORY_BYTES, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)128,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_NOTIFY_CONNECTION,
                on_connection, server, MHD_OPTION_EXTERNAL_LOGGER, log_from_daemon, NULL,
                MHD_OPTION_END);
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
