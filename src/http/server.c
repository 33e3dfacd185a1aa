#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/app_state.h"
#include "core/log.h"
#include "http/api.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/feed.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "http/sse.h"

/* Per-connection memory: request line, headers and buffers. A request
 * whose headers do not fit is refused by libmicrohttpd (431). */
#define CONNECTION_MEMORY_BYTES (32 * 1024)

struct http_server {
        struct http_config config;
        bool are_reads_open;
        struct MHD_Daemon *daemon;
        uint16_t port;
        struct app_state *state;
        struct sse *sse;
        struct feed *feed;
        struct metrics *metrics;
        struct auth auth;
        struct api api;
};

enum method { METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_OTHER };

/* One request, from its headers to its completion. */
struct route {
        enum metrics_route id;
        char name[CONFIG_NAME_MAX]; /* a plugin's, from the path */
        const struct asset *asset;
};

struct request {
        struct route route;
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

/* --- routing ------------------------------------------------------------ */

/* Maps a path (already percent-decoded by libmicrohttpd) to a route.
 * Static files are only those of the embedded table, by exact path, so no
 * path can name anything else ("..", encoded or not, finds nothing). */
static void find_route(const char *path, struct route *route) {
        static const struct {
                const char *path;
                enum metrics_route id;
        } fixed[] = {
                {"/api/health", ROUTE_HEALTH},   {"/api/readings", ROUTE_READINGS},
                {"/api/history", ROUTE_HISTORY}, {"/api/plugins", ROUTE_PLUGINS},
                {"/api/events", ROUTE_EVENTS},   {"/metrics", ROUTE_METRICS},
        };
        memset(route, 0, sizeof(*route));
        route->id = ROUTE_OTHER;
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                if (strcmp(path, fixed[i].path) == 0) {
                        route->id = fixed[i].id;
                        return;
                }
        }
        route->asset = assets_find(path);
        if (route->asset != NULL) {
                route->id = strcmp(path, "/") == 0 ? ROUTE_DASHBOARD : ROUTE_ASSET;
                return;
        }
        static const char prefix[] = "/api/plugins/";
        if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return;
        const char *name = path + sizeof(prefix) - 1;
        const char *slash = strchr(name, '/');
        size_t length = slash != NULL ? (size_t)(slash - name) : strlen(name);
        if (!config_is_valid_name(name, length))
                return;
        memcpy(route->name, name, length);
        route->name[length] = '\0';
        if (slash == NULL)
                route->id = ROUTE_PLUGIN;
        else if (strcmp(slash, "/poll") == 0)
                route->id = ROUTE_PLUGIN_POLL;
        else if (strcmp(slash, "/reload") == 0)
                route->id = ROUTE_PLUGIN_RELOAD;
        else if (strcmp(slash, "/reset") == 0)
                route->id = ROUTE_PLUGIN_RESET;
}

static bool is_action(enum metrics_route id) {
        return id == ROUTE_PLUGIN_POLL || id == ROUTE_PLUGIN_RELOAD || id == ROUTE_PLUGIN_RESET;
}

static enum method parse_method(const char *method) {
        if (strcmp(method, "GET") == 0)
                return METHOD_GET;
        if (strcmp(method, "HEAD") == 0)
                return METHOD_HEAD;
        if (strcmp(method, "POST") == 0)
                return METHOD_POST;
        return METHOD_OTHER;
}

/* Which routes need the token: actions always; reads unless open; the
 * dashboard's files and the health check never. */
static bool needs_token(const struct http_server *server, enum metrics_route id) {
        if (is_action(id))
                return true;
        if (id == ROUTE_DASHBOARD || id == ROUTE_ASSET || id == ROUTE_HEALTH)
                return false;
        return !server->are_reads_open;
}

static bool is_json_type(const char *content_type) {
        if (content_type == NULL)
                return false;
        static const char json[] = "application/json";
        size_t length = sizeof(json) - 1;
        return strncasecmp(content_type, json, length) == 0 &&
               (content_type[length] == '\0' || content_type[length] == ';' ||
                content_type[length] == ' ');
}

/* Serves a complete request. */
static enum MHD_Result serve(struct http_server *server, struct MHD_Connection *connection,
                             struct request *request, const struct route *route,
                             enum method method) {
        struct http_reply reply = {0};
        const struct api *api = &server->api;
        bool is_read = method == METHOD_GET || method == METHOD_HEAD;
        if (route->id == ROUTE_OTHER)
                return send_error(connection, request, 404, "no such resource");
        if (is_action(route->id) ? method != METHOD_POST : !is_read) {
                http_reply_error(&reply, 405, "method not allowed");
                reply.allow = is_action(route->id) ? "POST" : "GET, HEAD";
                return send_reply(connection, request, &reply);
        }
        if (needs_token(server, route->id) &&
            !auth_check(&server->auth,
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION))) {
                http_reply_error(&reply, 401, "a valid bearer token is required");
                reply.wants_auth = true;
                return send_reply(connection, request, &reply);
        }
        if (request->body_size > 0 &&
            !is_json_type(MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_TYPE)))
                return send_error(connection, request, 415, "the body must be application/json");
        if (request->body_size > 0 && !is_action(route->id))
                return send_error(connection, request, 400, "this resource takes no body");

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
        case ROUTE_HEALTH:
                api_health(api, &reply);
                break;
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
        case ROUTE_PLUGIN_POLL:
        case ROUTE_PLUGIN_RELOAD:
        case ROUTE_PLUGIN_RESET: {
                enum api_action action = route->id == ROUTE_PLUGIN_POLL     ? API_ACTION_POLL
                                         : route->id == ROUTE_PLUGIN_RELOAD ? API_ACTION_RELOAD
                                                                            : API_ACTION_RESET;
                api_action(api, action, route->name, request->body, request->body_size, &reply);
                break;
        }
        case ROUTE_METRICS: {
                size_t size = 0;
                char *text = metrics_render(server->metrics, server->state,
                                            sse_stream_count(server->sse),
                                            sse_event_count(server->sse), &size);
                int result = http_reply_take(&reply, 200, "text/plain; version=0.0.4", text, size);
                (void)result;
                break;
        }
        case ROUTE_EVENTS: {
                struct MHD_Response *response = sse_open(
                        server->sse, connection,
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Last-Event-ID"));
                if (response == NULL)
                        return send_error(connection, request, 503,
                                          "too many event streams; try again later");
                MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        "text/event-stream");
                MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
                MHD_add_response_header(response, "X-Accel-Buffering", "no");
                request->status = 200;
                enum MHD_Result result = MHD_queue_response(connection, 200, response);
                MHD_destroy_response(response);
                return result;
        }
        default:
                return send_error(connection, request, 404, "no such resource");
        }
        return send_reply(connection, request, &reply);
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
                find_route(url, &request->route);
                clock_gettime(CLOCK_MONOTONIC, &request->started);
                *connection_data = request;
                /* Refuse a declared oversized body before reading it. */
                const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                char *end = NULL;
                unsigned long long declared = length != NULL ? strtoull(length, &end, 10) : 0;
                if (length != NULL &&
                    (end == length || *end != '\0' || declared > server->config.max_body_bytes)) {
                        request->is_rejected = true;
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
        return serve(server, connection, request, &request->route, parse_method(method_name));
}

static void on_completed(void *data, struct MHD_Connection *connection, void **connection_data,
                         enum MHD_RequestTerminationCode code) {
        (void)connection;
        (void)code;
        struct http_server *server = data;
        struct request *request = *connection_data;
        if (request == NULL)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double seconds = (double)(now.tv_sec - request->started.tv_sec) +
                         (double)(now.tv_nsec - request->started.tv_nsec) / 1e9;
        if (request->status != 0)
                metrics_count_request(server->metrics, request->route.id, request->status, seconds);
        free(request);
        *connection_data = NULL;
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
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
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
        server->daemon = MHD_start_daemon(
                flags, config->port, NULL, NULL, on_request, server, MHD_OPTION_SOCK_ADDR,
                (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)config->threads,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)config->max_connections,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config->timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)128, MHD_OPTION_NOTIFY_COMPLETED,
                on_completed, server, MHD_OPTION_EXTERNAL_LOGGER, log_from_daemon, NULL,
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

struct http_server *http_server_start(const struct http_config *config,
                                      const struct http_host *host, struct ph_error *error) {
        struct http_server *server = calloc(1, sizeof(*server));
        struct app_plugin_info *infos = calloc(host->plugin_count + 1, sizeof(*infos));
        if (server == NULL || infos == NULL) {
                free(infos);
                free(server);
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        server->config = *config;
        server->are_reads_open =
                config->open_reads < 0 ? is_loopback(config->address) : config->open_reads > 0;
        for (size_t i = 0; i < host->plugin_count; i++)
                infos[i] = (struct app_plugin_info){
                        .name = plugin_name(host->plugins[i]),
                        .interval_s = host->plugin_configs[i]->interval_s,
                        .budget_ms = host->plugin_configs[i]->budget_ms,
                };
        server->state = app_state_new(infos, host->plugin_count, error);
        free(infos);
        if (server->state == NULL)
                goto fail;
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
        server->feed = feed_new(server->state, server->sse, host->plugins, host->plugin_count,
                                host->board, error);
        if (server->feed == NULL)
                goto fail;
        server->api = (struct api){
                .state = server->state,
                .feed = server->feed,
                .plugins = host->plugins,
                .plugin_count = host->plugin_count,
                .reloader = host->reloader,
                .reload_debounce_ms = host->reload_debounce_ms,
                .started_ms = feed_now_ms(),
        };
        if (start_daemon(server, error) < 0)
                goto fail;
        log_write(LOG_LEVEL_INFO, "http",
                  "listening on http://%s%s%s:%u/ (%u threads, at most %u connections, %u s "
                  "timeout, %zu-byte bodies); reads %s",
                  strchr(config->address, ':') != NULL ? "[" : "", config->address,
                  strchr(config->address, ':') != NULL ? "]" : "", (unsigned)server->port,
                  config->threads, config->max_connections, config->timeout_s,
                  config->max_body_bytes,
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
        feed_free(server->feed);
        sse_free(server->sse);
        metrics_free(server->metrics);
        app_state_free(server->state);
        free(server);
}

void http_server_note_poll(struct http_server *server, struct plugin *plugin,
                           const struct reading_list *readings,
                           const struct plugin_failure *failure, double duration_ms) {
        if (server != NULL)
                feed_note_poll(server->feed, plugin, readings, failure, duration_ms);
}

uint16_t http_server_port(const struct http_server *server) {
        return server->port;
}
