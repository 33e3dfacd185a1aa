/* sse.h - the Server-Sent Events stream of GET /api/events.
 *
 * Owns a ring of the latest events (each already in its wire form, with an
 * id) and the list of streams reading it. A stream with nothing to send is
 * suspended in libmicrohttpd, so it holds no worker thread; sse_publish
 * resumes the waiting streams. A stream that falls further behind than the
 * ring holds (a client that stopped reading) is closed. A keep-alive
 * comment goes out every SSE_KEEPALIVE_S so dead clients are noticed.
 *
 * Threads: sse_publish from any thread (plugin threads, a plugin's
 * lifecycle listener with that plugin's lock held: it never blocks on
 * anything but `lock`); sse_open and the streams' reader callbacks from the
 * server's worker threads; a keep-alive thread of its own. `lock` guards
 * the ring and the streams. */
#ifndef PH_HTTP_SSE_H
#define PH_HTTP_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SSE_RING_EVENTS 512
#define SSE_KEEPALIVE_S 15
#define SSE_EVENT_MAX 16384 /* bytes of one event's data */

struct sse;
struct MHD_Connection;
struct MHD_Response;

/* Makes the hub and starts its keep-alive thread; at most `max_streams`
 * streams at once. The caller frees it with sse_free. */
PH_MUST_USE struct sse *sse_new(size_t max_streams, struct ph_error *error);

/* Ends every stream and refuses new ones; call before MHD_stop_daemon
 * (which must not find suspended connections). */
void sse_shutdown(struct sse *sse);

/* Stops the keep-alive thread and frees the hub, after the server has
 * stopped. Accepts NULL. */
void sse_free(struct sse *sse);

/* Queues event `name` with `json` (one line of JSON; copied) for every
 * stream. Drops it (returning -EMSGSIZE) when larger than SSE_EVENT_MAX. */
int sse_publish(struct sse *sse, const char *name, const char *json);

/* Makes the response of a new stream for `connection` (borrowed, it must be
 * the connection being served). `last_event_id` (the Last-Event-ID header,
 * or NULL) resumes after that event when the ring still has it. Returns
 * NULL when there are already max_streams streams, or when shutting down or
 * out of memory. The response is freed by libmicrohttpd as usual. */
struct MHD_Response *sse_open(struct sse *sse, struct MHD_Connection *connection,
                              const char *last_event_id);

size_t sse_stream_count(struct sse *sse);
uint64_t sse_event_count(struct sse *sse);

#endif
