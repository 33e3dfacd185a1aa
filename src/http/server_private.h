/* server_private.h - what server.c (the server's life: start, stop, the
 * set of plugins it serves) and request.c (serving one request) share: the
 * server object and a request's own record. Not for other modules.
 *
 * Locks: see struct http_server and src/core/locks.h (http.set_lock,
 * http.scheduler_lock). */
#ifndef PH_HTTP_SERVER_PRIVATE_H
#define PH_HTTP_SERVER_PRIVATE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "http/api.h"
#include "http/app_state.h"
#include "http/auth.h"
#include "http/feed.h"
#include "http/guard.h"
#include "http/metrics.h"
#include "http/origin.h"
#include "http/reply.h"
#include "http/route.h"
#include "http/server.h"
#include "http/sse.h"

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

/* libmicrohttpd's access handler (request.c): called once with the
 * headers, then for each piece of the body, then once more with nothing. */
enum MHD_Result http_request_handle(void *data, struct MHD_Connection *connection, const char *url,
                                    const char *method_name, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **connection_data);

/* libmicrohttpd's completion notice (request.c): counts the request in the
 * metrics and frees its record. */
void http_request_completed(void *data, struct MHD_Connection *connection, void **connection_data,
                            enum MHD_RequestTerminationCode code);

#endif
