/* request.c - serves one request of the web server (server_private.h):
 * early refusals (Host, Origin, rate), the body, the token, routing to
 * api.c, sse.c, metrics.c and the assets, and operator actions handed to
 * the plugin's own thread while the connection is suspended.
 *
 * Threads: libmicrohttpd's pool threads; on_action_answer on a plugin's
 * thread. A request is served with the server's set_lock read-held (never
 * across a wait for a plugin). Owns each request's record (struct request),
 * freed at its completion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/assets.h"
#include "http/server_private.h"
#include "plugin/scheduler.h"

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
 * connection until on_action_answer resumes it (http_request_handle then sends the
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
enum MHD_Result http_request_handle(void *data, struct MHD_Connection *connection, const char *url,
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

void http_request_completed(void *data, struct MHD_Connection *connection, void **connection_data,
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
