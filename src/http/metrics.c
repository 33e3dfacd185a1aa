#include "http/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Status codes counted by name; any other falls in the last slot. */
static const unsigned counted_statuses[] = {200, 202, 204, 304, 400, 401, 403, 404, 405,
                                            409, 413, 415, 421, 429, 500, 502, 503};
#define STATUS_SLOTS (sizeof(counted_statuses) / sizeof(counted_statuses[0]) + 1)

static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
#define LATENCY_BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]) + 1)

static const char *const route_names[ROUTE_COUNT] = {
        "/",
        "/assets",
        "/api/health",
        "/api/readings",
        "/api/history",
        "/api/plugins",
        "/api/plugins/{name}",
        "/api/plugins/{name}/poll",
        "/api/plugins/{name}/reload",
        "/api/plugins/{name}/reset",
        "/api/plugins/{name}/settings",
        "/api/events",
        "/metrics",
        "other",
};

struct route_counters {
        atomic_uint_fast64_t by_status[STATUS_SLOTS];
        atomic_uint_fast64_t latency_buckets[LATENCY_BUCKETS]; /* not cumulative */
        atomic_uint_fast64_t latency_sum_us;
};

struct metrics {
        struct route_counters routes[ROUTE_COUNT];
        time_t started_at;
};

struct metrics *metrics_new(struct ph_error *error) {
        struct metrics *metrics = calloc(1, sizeof(*metrics));
        if (metrics == NULL) {
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        metrics->started_at = time(NULL);
        return metrics;
}

void metrics_free(struct metrics *metrics) {
        free(metrics);
}

void metrics_count_request(struct metrics *metrics, enum metrics_route route, unsigned status,
                           double seconds) {
        if ((unsigned)route >= ROUTE_COUNT)
                route = ROUTE_OTHER;
        struct route_counters *counters = &metrics->routes[route];
        size_t slot = 0;
        while (slot < STATUS_SLOTS - 1 && counted_statuses[slot] != status)
                slot++;
        atomic_fetch_add_explicit(&counters->by_status[slot], 1, memory_order_relaxed);
        size_t bucket = 0;
        while (bucket < LATENCY_BUCKETS - 1 && seconds > latency_bounds[bucket])
                bucket++;
        atomic_fetch_add_explicit(&counters->latency_buckets[bucket], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&counters->latency_sum_us, (uint_fast64_t)(seconds * 1e6),
                                  memory_order_relaxed);
}

/* --- a growing text buffer ---------------------------------------------- */

struct text {
        char *data;
        size_t size;
        size_t capacity;
        bool is_broken; /* out of memory: everything after is dropped */
};

static void append(struct text *text, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void append(struct text *text, const char *format, ...) {
        if (text->is_broken)
                return;
        if (text->data == NULL) {
                text->data = malloc(16384);
                text->capacity = 16384;
                text->is_broken = text->data == NULL;
                if (text->is_broken)
                        return;
        }
        for (;;) {
                va_list arguments;
                va_start(arguments, format);
                int needed = vsnprintf(text->data + text->size, text->capacity - text->size, format,
                                       arguments);
                va_end(arguments);
                if (needed < 0) {
                        text->is_broken = true;
                        return;
                }
                if ((size_t)needed < text->capacity - text->size) {
                        text->size += (size_t)needed;
                        return;
                }
                size_t capacity = (text->capacity + (size_t)needed + 1) * 2;
                char *grown = realloc(text->data, capacity);
                if (grown == NULL) {
                        text->is_broken = true;
                        return;
                }
                text->data = grown;
                text->capacity = capacity;
        }
}

/* --- the figures -------------------------------------------------------- */

static void render_http(struct metrics *metrics, struct text *out) {
        append(out, "# HELP pyhost_http_requests_total HTTP requests served, by route and "
                    "status code.\n# TYPE pyhost_http_requests_total counter\n");
        for (size_t r = 0; r < ROUTE_COUNT; r++) {
                for (size_t s = 0; s < STATUS_SLOTS; s++) {
                        uint64_t count = atomic_load_explicit(&metrics->routes[r].by_status[s],
                                                              memory_order_relaxed);
                        if (count == 0)
                                continue;
                        if (s < STATUS_SLOTS - 1)
                                append(out,
                                       "pyhost_http_requests_total{route=\"%s\",code=\"%u\"} "
                                       "%llu\n",
                                       route_names[r], counted_statuses[s],
                                       (unsigned long long)count);
                        else
                                append(out,
                                       "pyhost_http_requests_total{route=\"%s\",code=\"other\"} "
                                       "%llu\n",
                                       route_names[r], (unsigned long long)count);
                }
        }
        append(out, "# HELP pyhost_http_request_duration_seconds Time from a request's "
                    "headers to its last byte sent (event streams excluded).\n"
                    "# TYPE pyhost_http_request_duration_seconds histogram\n");
        for (size_t r = 0; r < ROUTE_COUNT; r++) {
                if (r == ROUTE_EVENTS)
                        continue;
                struct route_counters *counters = &metrics->routes[r];
                uint64_t cumulative = 0;
                for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
                        cumulative += atomic_load_explicit(&counters->latency_buckets[b],
                                                           memory_order_relaxed);
                        if (b < LATENCY_BUCKETS - 1)
                                append(out,
                                       "pyhost_http_request_duration_seconds_bucket{route=\"%s\","
                                       "le=\"%g\"} %llu\n",
                                       route_names[r], latency_bounds[b],
                                       (unsigned long long)cumulative);
                        else
                                append(out,
                                       "pyhost_http_request_duration_seconds_bucket{route=\"%s\","
                                       "le=\"+Inf\"} %llu\n",
                                       route_names[r], (unsigned long long)cumulative);
                }
                uint64_t sum_us =
                        atomic_load_explicit(&counters->latency_sum_us, memory_order_relaxed);
                append(out, "pyhost_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                       route_names[r], (double)sum_us / 1e6);
                append(out, "pyhost_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       route_names[r], (unsigned long long)cumulative);
        }
}

static void help(struct text *out, const char *name, const char *type, const char *text) {
        append(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void render_connections(const struct guard_figures *figures, struct text *out) {
        static const struct {
                const char *name;
                const char *help;
                enum guard_reason first, last;
        } families[] = {
                {"pyhost_http_connections_refused_total",
                 "Connections closed as they were accepted: too many from one address, or "
                 "every slot busy answering.",
                 GUARD_REFUSED_PER_ADDRESS, GUARD_REFUSED_FULL},
                {"pyhost_http_requests_refused_total",
                 "Requests answered at once with 429 (rate), 421 (Host) or 403 (Origin).",
                 GUARD_REFUSED_RATE, GUARD_REFUSED_ORIGIN},
                {"pyhost_http_connections_closed_total",
                 "Connections closed by the server: request not in by request_deadline_s, or "
                 "waited longest when room was needed.",
                 GUARD_CLOSED_DEADLINE, GUARD_CLOSED_EVICTED},
        };
        help(out, "pyhost_http_connections", "gauge", "Open connections, event streams included.");
        append(out, "pyhost_http_connections %llu\n", (unsigned long long)figures->connections);
        help(out, "pyhost_http_connections_high_water", "gauge",
             "The most connections open at once.");
        append(out, "pyhost_http_connections_high_water %llu\n",
               (unsigned long long)figures->connections_max);
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
                help(out, families[f].name, "counter", families[f].help);
                for (unsigned r = families[f].first; r <= families[f].last; r++)
                        append(out, "%s{reason=\"%s\"} %llu\n", families[f].name,
                               guard_reason_names[r], (unsigned long long)figures->counts[r]);
        }
}

static const char *const plugin_states[] = {"running", "failed", "quarantined", "load-failed",
                                            "reloading"};

static void render_plugins(struct app_state *state, struct text *out) {
        static const double bounds_ms[] = APP_DURATION_BOUNDS;
        size_t count = app_state_plugin_count(state);
        struct app_plugin_view *views = calloc(count > 0 ? count : 1, sizeof(*views));
        if (views == NULL) {
                out->is_broken = true;
                return;
        }
        size_t viewed = 0;
        for (; viewed < count; viewed++)
                if (app_state_get_plugin(state, viewed, 0, &views[viewed]) < 0)
                        break;
        if (viewed < count)
                out->is_broken = true;

        help(out, "pyhost_plugin_poll_duration_seconds", "histogram",
             "Duration of each poll, good or failed.");
        for (size_t i = 0; i < viewed; i++) {
                const struct app_plugin_view *view = &views[i];
                uint64_t cumulative = 0;
                for (size_t b = 0; b < APP_DURATION_BUCKETS; b++) {
                        cumulative += view->duration_buckets[b];
                        if (b < APP_DURATION_BUCKETS - 1)
                                append(out,
                                       "pyhost_plugin_poll_duration_seconds_bucket{plugin=\"%s\","
                                       "le=\"%g\"} %llu\n",
                                       view->name, bounds_ms[b] / 1000.0,
                                       (unsigned long long)cumulative);
                        else
                                append(out,
                                       "pyhost_plugin_poll_duration_seconds_bucket{plugin=\"%s\","
                                       "le=\"+Inf\"} %llu\n",
                                       view->name, (unsigned long long)cumulative);
                }
                append(out, "pyhost_plugin_poll_duration_seconds_sum{plugin=\"%s\"} %.6f\n",
                       view->name, view->duration_sum_ms / 1000.0);
                append(out, "pyhost_plugin_poll_duration_seconds_count{plugin=\"%s\"} %llu\n",
                       view->name, (unsigned long long)view->poll_count);
        }
        help(out, "pyhost_plugin_poll_failures_total", "counter",
             "Polls that failed, by kind (guest-error, trap, budget-exceeded, ...).");
        for (size_t i = 0; i < viewed; i++)
                for (size_t k = 0; k < views[i].failure_kind_count; k++)
                        append(out,
                               "pyhost_plugin_poll_failures_total{plugin=\"%s\",kind=\"%s\"} "
                               "%llu\n",
                               views[i].name, views[i].failures[k].kind,
                               (unsigned long long)views[i].failures[k].count);

        struct {
                const char *name;
                const char *help;
        } counters[] = {
                {"pyhost_plugin_polls_total", "Polls the plugin itself counts."},
                {"pyhost_plugin_reloads_total", "New versions swapped in."},
                {"pyhost_plugin_rejected_reloads_total", "New versions refused."},
                {"pyhost_plugin_rollbacks_total", "Versions rolled back during probation."},
                {"pyhost_plugin_instantiations_total", "Instances made (starts and restarts)."},
                {"pyhost_plugin_denied_calls_total", "Calls outside its grants, refused."},
                {"pyhost_plugin_dropped_log_lines_total", "Log lines over its log budget."},
        };
        for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
                help(out, counters[c].name, "counter", counters[c].help);
                for (size_t i = 0; i < viewed; i++) {
                        const struct app_plugin_status *status = &views[i].status;
                        uint64_t values[] = {status->polls,
                                             status->reloads,
                                             status->rejected_reloads,
                                             status->rollbacks,
                                             status->instantiations,
                                             status->denied_calls,
                                             status->dropped_log_lines};
                        append(out, "%s{plugin=\"%s\"} %llu\n", counters[c].name, views[i].name,
                               (unsigned long long)values[c]);
                }
        }
        help(out, "pyhost_plugin_memory_bytes", "gauge",
             "Linear memory of the plugin's live instance.");
        for (size_t i = 0; i < viewed; i++)
                append(out, "pyhost_plugin_memory_bytes{plugin=\"%s\"} %zu\n", views[i].name,
                       views[i].status.memory_bytes);
        help(out, "pyhost_plugin_memory_high_water_bytes", "gauge",
             "The most linear memory the plugin's instance has had at once.");
        for (size_t i = 0; i < viewed; i++)
                append(out, "pyhost_plugin_memory_high_water_bytes{plugin=\"%s\"} %zu\n",
                       views[i].name, views[i].status.memory_high_water);
        help(out, "pyhost_plugin_state", "gauge", "1 for the state the plugin is in.");
        for (size_t i = 0; i < viewed; i++) {
                const char *current =
                        views[i].is_reload_pending ? "reloading" : views[i].status.state;
                for (size_t s = 0; s < sizeof(plugin_states) / sizeof(plugin_states[0]); s++)
                        append(out, "pyhost_plugin_state{plugin=\"%s\",state=\"%s\"} %d\n",
                               views[i].name, plugin_states[s],
                               strcmp(current, plugin_states[s]) == 0);
        }
        help(out, "pyhost_plugin_last_poll_timestamp_seconds", "gauge",
             "When the plugin's last poll ended.");
        for (size_t i = 0; i < viewed; i++)
                append(out, "pyhost_plugin_last_poll_timestamp_seconds{plugin=\"%s\"} %.3f\n",
                       views[i].name, (double)views[i].last_poll_ms / 1000.0);
        for (size_t i = 0; i < viewed; i++)
                app_plugin_view_clear(&views[i]);
        free(views);
}

/* VmRSS and VmHWM of /proc/self/status, in bytes; 0 when unknown. */
static void read_process_memory(uint64_t *ret_rss, uint64_t *ret_peak) {
        *ret_rss = 0;
        *ret_peak = 0;
        FILE *file = fopen("/proc/self/status", "re");
        if (file == NULL)
                return;
        char line[256];
        while (fgets(line, sizeof(line), file) != NULL) {
                unsigned long long kib = 0;
                if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
                        *ret_rss = kib * 1024;
                else if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
                        *ret_peak = kib * 1024;
        }
        fclose(file);
}

static const enum history_state history_states[] = {HISTORY_STATE_OK, HISTORY_STATE_DISK_FULL,
                                                    HISTORY_STATE_READ_ONLY, HISTORY_STATE_FAILING};

static void render_history(const struct history_stats *stats, struct text *out) {
        help(out, "pyhost_history_state", "gauge",
             "1 for the state of the history database's writes.");
        for (size_t s = 0; s < sizeof(history_states) / sizeof(history_states[0]); s++)
                append(out, "pyhost_history_state{state=\"%s\"} %d\n",
                       history_state_name(history_states[s]), stats->state == history_states[s]);
        help(out, "pyhost_history_degraded", "gauge",
             "1 when the history is not writing, drops readings with its queue full, or "
             "moved a damaged database aside since the start.");
        append(out, "pyhost_history_degraded %d\n", history_stats_is_degraded(stats));
        help(out, "pyhost_history_recoveries_total", "counter",
             "Damaged databases moved aside (kept) and replaced by a fresh one.");
        append(out, "pyhost_history_recoveries_total %llu\n",
               (unsigned long long)stats->recoveries);
        help(out, "pyhost_history_queue_rows", "gauge", "Readings waiting for the writer.");
        append(out, "pyhost_history_queue_rows %zu\n", stats->queue_rows);
        help(out, "pyhost_history_queue_capacity_rows", "gauge",
             "Readings that may wait; more are dropped.");
        append(out, "pyhost_history_queue_capacity_rows %zu\n", stats->queue_capacity);
        help(out, "pyhost_history_written_total", "counter", "Readings committed.");
        append(out, "pyhost_history_written_total %llu\n", (unsigned long long)stats->written);
        help(out, "pyhost_history_dropped_total", "counter",
             "Readings lost: refused with the queue full, or in a batch that failed.");
        append(out, "pyhost_history_dropped_total{reason=\"queue-full\"} %llu\n",
               (unsigned long long)stats->dropped_full);
        append(out, "pyhost_history_dropped_total{reason=\"write-failed\"} %llu\n",
               (unsigned long long)stats->dropped_failed);
        help(out, "pyhost_history_write_errors_total", "counter", "Batches that failed.");
        append(out, "pyhost_history_write_errors_total %llu\n",
               (unsigned long long)stats->write_errors);
        help(out, "pyhost_history_deleted_total", "counter", "Rows removed by retention.");
        append(out, "pyhost_history_deleted_total %llu\n", (unsigned long long)stats->deleted);
        help(out, "pyhost_history_last_error_timestamp_seconds", "gauge",
             "When the history last failed (0: never).");
        append(out, "pyhost_history_last_error_timestamp_seconds %.3f\n",
               (double)stats->last_error_ms / 1000.0);
        help(out, "pyhost_history_last_recovery_timestamp_seconds", "gauge",
             "When a damaged database was last moved aside (0: never).");
        append(out, "pyhost_history_last_recovery_timestamp_seconds %.3f\n",
               (double)stats->last_recovery_ms / 1000.0);
}

static void render_mqtt(const struct mqtt_stats *stats, struct text *out) {
        help(out, "pyhost_mqtt_connected", "gauge", "1 while connected to the broker.");
        append(out, "pyhost_mqtt_connected %d\n", stats->is_connected ? 1 : 0);
        help(out, "pyhost_mqtt_queued_total", "counter", "Sensor messages accepted.");
        append(out, "pyhost_mqtt_queued_total %llu\n", (unsigned long long)stats->queued);
        help(out, "pyhost_mqtt_published_total", "counter", "Messages the broker acknowledged.");
        append(out, "pyhost_mqtt_published_total %llu\n", (unsigned long long)stats->published);
        help(out, "pyhost_mqtt_dropped_total", "counter",
             "Sensor messages dropped with the queue full.");
        append(out, "pyhost_mqtt_dropped_total %llu\n", (unsigned long long)stats->dropped);
        help(out, "pyhost_mqtt_connects_total", "counter", "Successful connections.");
        append(out, "pyhost_mqtt_connects_total %llu\n", (unsigned long long)stats->connects);
}

/* The poll pipeline: one queue per consumer (stdout, history, mqtt, web,
 * liveness). */
static void render_pipeline(const struct pipeline_stats *stats, struct text *out) {
        help(out, "pyhost_pipeline_records_total", "counter",
             "Poll and lifecycle records published.");
        append(out, "pyhost_pipeline_records_total %llu\n", (unsigned long long)stats->published);
        help(out, "pyhost_pipeline_records_lost_total", "counter",
             "Records that could not be made (out of memory).");
        append(out, "pyhost_pipeline_records_lost_total %llu\n", (unsigned long long)stats->lost);
        struct {
                const char *name, *type, *help;
        } series[] = {
                {"pyhost_consumer_queue_depth", "gauge", "Records waiting for the consumer."},
                {"pyhost_consumer_queue_high_water", "gauge", "The most that ever waited."},
                {"pyhost_consumer_queue_capacity", "gauge", "Records its queue holds."},
                {"pyhost_consumer_delivered_total", "counter", "Records the consumer took."},
                {"pyhost_consumer_dropped_total", "counter",
                 "Records the consumer lost to its full queue."},
        };
        for (size_t k = 0; k < sizeof(series) / sizeof(series[0]); k++) {
                help(out, series[k].name, series[k].type, series[k].help);
                for (size_t i = 0; i < stats->count; i++) {
                        const struct pipeline_subscriber_stats *consumer = &stats->subscribers[i];
                        unsigned long long values[] = {consumer->depth, consumer->high_water,
                                                       consumer->capacity, consumer->delivered,
                                                       consumer->dropped};
                        append(out, "%s{consumer=\"%s\"} %llu\n", series[k].name, consumer->name,
                               values[k]);
                }
        }
}

char *metrics_render(struct metrics *metrics, struct app_state *state,
                     const struct metrics_sources *sources, size_t *ret_size) {
        struct text out = {0};
        render_plugins(state, &out);
        render_http(metrics, &out);
        if (sources->connections != NULL)
                render_connections(sources->connections, &out);
        if (sources->history != NULL)
                render_history(sources->history, &out);
        if (sources->mqtt != NULL)
                render_mqtt(sources->mqtt, &out);
        if (sources->pipeline != NULL)
                render_pipeline(sources->pipeline, &out);
        help(&out, "pyhost_sse_streams", "gauge", "Open /api/events streams.");
        append(&out, "pyhost_sse_streams %zu\n", sources->sse_streams);
        help(&out, "pyhost_sse_events_total", "counter", "Events published to the streams.");
        append(&out, "pyhost_sse_events_total %llu\n", (unsigned long long)sources->sse_events);
        uint64_t rss = 0, peak = 0;
        read_process_memory(&rss, &peak);
        help(&out, "pyhost_process_resident_memory_bytes", "gauge", "Resident set size.");
        append(&out, "pyhost_process_resident_memory_bytes %llu\n", (unsigned long long)rss);
        help(&out, "pyhost_process_resident_memory_max_bytes", "gauge",
             "The most resident memory the process has had.");
        append(&out, "pyhost_process_resident_memory_max_bytes %llu\n", (unsigned long long)peak);
        help(&out, "pyhost_process_start_time_seconds", "gauge", "When the host started.");
        append(&out, "pyhost_process_start_time_seconds %lld\n", (long long)metrics->started_at);
        if (out.is_broken || out.data == NULL) {
                free(out.data);
                return NULL;
        }
        *ret_size = out.size;
        return out.data;
}
