/* guard.h - who may hold the web server's connections, and for how long.
 *
 * Owns a table of the open connections (client address, socket, when the
 * wait for its current request began, whether that request is in), the
 * connections admitted but not yet started (the pool's threads accept at
 * the same time; these count as open) and the request-rate buckets of
 * recent client addresses. It
 *   - refuses a connection over max_per_address from one address;
 *   - makes room under max_connections by closing the connection that has
 *     waited longest for its request (a connection that is being answered,
 *     an event stream included, is never closed for room; when all are, the
 *     new one is refused);
 *   - closes a connection whose request head and body are not in within
 *     deadline_s of its start (or of its previous response): a total
 *     deadline, which trickling one byte at a time does not extend;
 *   - refuses requests over max_requests_per_s from one address (the
 *     caller answers 429);
 * and counts each of these, and the requests the server refuses for their
 * Host or Origin, for /metrics. It closes a connection by
 * shutdown(2) on its socket, which libmicrohttpd sees at once as the
 * client's end and closes.
 *
 * Threads: the hooks (guard_accept, guard_connection_*, guard_request_*)
 * on libmicrohttpd's worker threads; a reaper thread of its own;
 * guard_figures from any thread. `lock` guards everything. shutdown(2) is
 * only called with `lock` held on a registered socket, and libmicrohttpd
 * unregisters a socket (guard_connection_closed, which takes `lock`)
 * before it closes it, so the fd shut down is never one reused by another. */
#ifndef PH_HTTP_GUARD_H
#define PH_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/error.h"

struct MHD_Connection;

struct guard_limits {
        unsigned max_connections;
        unsigned max_per_address;
        double deadline_s;           /* for a request's head and body */
        unsigned max_requests_per_s; /* per address; 0: no limit */
};

/* Why a connection or request was turned away; the labels of /metrics. */
enum guard_reason {
        GUARD_REFUSED_PER_ADDRESS, /* connection: too many from its address */
        GUARD_REFUSED_FULL,        /* connection: every slot busy answering */
        GUARD_REFUSED_RATE,        /* request: too many per second from its address */
        GUARD_REFUSED_HOST,        /* request: a Host that is not this server (origin.h) */
        GUARD_REFUSED_ORIGIN,      /* request: an Origin that is not this server's */
        GUARD_CLOSED_DEADLINE,     /* connection: its request was not in in time */
        GUARD_CLOSED_EVICTED,      /* connection: waited longest when room was needed */
        GUARD_REASON_COUNT
};

struct guard_figures {
        uint64_t connections;     /* open now */
        uint64_t connections_max; /* the most open at once */
        uint64_t counts[GUARD_REASON_COUNT];
};

struct guard;

/* Starts the reaper thread. The caller frees with guard_free after the web
 * server has stopped. */
PH_MUST_USE struct guard *guard_new(const struct guard_limits *limits, struct ph_error *error);
void guard_free(struct guard *guard); /* accepts NULL */

/* libmicrohttpd's accept policy: false refuses (it closes the socket).
 * May close another, older connection to make room. */
bool guard_accept(struct guard *guard, const struct sockaddr *address, socklen_t length);

/* libmicrohttpd's connection notifications: `*socket_context` is the
 * guard's record of the connection, set here and cleared at the close. */
void guard_connection_started(struct guard *guard, struct MHD_Connection *connection,
                              void **socket_context);
void guard_connection_closed(struct guard *guard, void **socket_context);

/* A request's head is in: false when its address is over the request
 * rate (the caller answers 429). */
bool guard_request_allowed(struct guard *guard, struct MHD_Connection *connection);

/* The request is in (head and body): the deadline stops for it. */
void guard_request_in(struct guard *guard, struct MHD_Connection *connection);

/* Its response is sent: the deadline starts for the next request. */
void guard_request_done(struct guard *guard, struct MHD_Connection *connection);

/* Counts a request the server turned away itself (host, origin). */
void guard_count(struct guard *guard, enum guard_reason reason);

void guard_figures(struct guard *guard, struct guard_figures *ret);

extern const char *const guard_reason_names[GUARD_REASON_COUNT];

#endif
