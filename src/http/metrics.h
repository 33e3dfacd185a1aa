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

#include "http/app_state.h"
#include "core/pipeline.h"
#include "mqtt/mqtt.h"
#include "core/error.h"
#include "store/history.h"
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
        ROUTE_PLUGIN_SETTINGS,
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

/* What the metrics show besides the app state; NULL members: not there. */
struct metrics_sources {
        size_t sse_streams;
        uint64_t sse_events;
        const struct history_stats *history;
        const struct mqtt_stats *mqtt;
        const struct pipeline_stats *pipeline;   /* its consumers' queues */
        const struct guard_figures *connections; /* the connection guard's */
};

/* Renders every metric; everything is borrowed. Returns a new text the
 * caller frees with free(), its length in *ret_size, or NULL when out of
 * memory. */

PH_MUST_USE char *metrics_render(struct metrics *metrics, struct app_state *state,
                                 const struct metrics_sources *sources, size_t *ret_size);

#endif
