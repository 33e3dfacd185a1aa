/* metrics.h - GET /metrics: the Prometheus text exposition format.
 *
 * Owns the HTTP request counters and latency histograms (lock-free
 * atomics, updated by the server's worker threads as requests complete)
 * and renders them with the plugins' poll statistics, which it copies out
 * of the app state (its read lock only), and the process's memory. Any
 * thread may call any function. */
#ifndef PH_HTTP_METRICS_H
#define PH_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/app_state.h"
#include "core/error.h"
#include "http/guard.h"

/* The routes requests are counted by; fixed, so a client cannot grow the
 * label set. */
enum metrics_route {
        ROUTE_DASHBOARD,
        ROUTE_ASSET,
        ROUTE_HEALTH,
        ROUTE_READINGS,
        ROUTE_HISTORY,
        ROUTE_PLUGINS,
        ROUTE_PLUGIN,
        ROUTE_PLUGIN_POLL,
        ROUTE_PLUGIN_RELOAD,
        ROUTE_PLUGIN_RESET,
        ROUTE_EVENTS,
        ROUTE_METRICS,
        ROUTE_OTHER,
        ROUTE_COUNT
};

struct metrics;

/* The caller frees it with metrics_free. */
PH_MUST_USE struct metrics *metrics_new(struct ph_error *error);
void metrics_free(struct metrics *metrics); /* accepts NULL */

/* Counts one finished request. */
void metrics_count_request(struct metrics *metrics, enum metrics_route route, unsigned status,
                           double seconds);

/* Renders every metric. `state` and `connections` (the guard's figures)
 * are borrowed; `sse_streams` and `sse_events` are the event stream's
 * figures. Returns a new text the caller frees with
 * free(), its length in *ret_size, or NULL when out of memory. */
PH_MUST_USE char *metrics_render(struct metrics *metrics, struct app_state *state,
                                 size_t sse_streams, uint64_t sse_events,
                                 const struct guard_figures *connections, size_t *ret_size);

#endif
