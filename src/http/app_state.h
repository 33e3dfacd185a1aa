/* app_state.h - what the web server shows, kept apart from the plugins: the
 * latest readings of each plugin with their times, the last hour of
 * readings for the charts, the two LEDs, each plugin's status and its poll
 * statistics.
 *
 * Owns copies of all of it, in core terms: it includes nothing from
 * plugin/ or the rest of http/ (feed.c converts plugin statuses into a
 * struct app_plugin_status), so it builds and is unit-tested without
 * Wasmtime. The writer is the web server's pipeline consumer (feed.c, after
 * each poll and lifecycle record) and HTTP threads noting an operator's
 * reload; readers are the HTTP threads. One reader-writer lock guards everything. Writers
 * hold it only to copy in, readers only to copy out, so serving a read never
 * waits for a poll and never takes a plugin's lock. Every function is
 * thread-safe. */
#ifndef PH_APP_STATE_H
#define PH_APP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "core/reading.h"

/* The last hour is kept for the charts. */
#define APP_HISTORY_MS (3600 * 1000LL)
/* Samples kept per plugin (one per reading per poll): an hour of two
 * readings at a 1 s interval. */
#define APP_HISTORY_SAMPLES 7200
/* Distinct (sensor, quantity) series per plugin in the history. */
#define APP_HISTORY_SERIES 8

/* Upper bounds (ms) of the poll-duration histogram's buckets; a last
 * bucket (+Inf) follows. */
#define APP_DURATION_BOUNDS                                                                        \
        { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 }
#define APP_DURATION_BUCKETS 18 /* the bounds above, then +Inf */
#define APP_FAILURE_KINDS 8

#define APP_EVENT_HISTORY 16
#define APP_TRACEBACK_MAX 8192

struct app_event {
        int64_t time_ms;
        char kind[16]; /* loaded, reloaded, rejected, rolled-back, quarantined, ... */
        char version[13];
        char message[256];
};

/* A plugin's status as the plugin layer reports it. */
struct app_plugin_status {
        char state[16]; /* running, failed, quarantined, load-failed */
        char version[65];
        int64_t loaded_at_ms;
        uint64_t polls;
        uint64_t failures;
        uint64_t instantiations;
        uint64_t reloads;
        uint64_t rejected_reloads;
        uint64_t rollbacks;
        unsigned consecutive_failures;
        unsigned probation_left;
        bool has_lifecycle;
        size_t state_bytes;
        size_t memory_bytes;        /* linear memory of the live instance now */
        size_t memory_high_water;   /* the most it has had at once */
        size_t memory_limit;        /* 0: none */
        uint64_t denied_calls;      /* calls outside its grants, refused */
        uint64_t dropped_log_lines; /* over its log budget */
        char last_error[PH_ERROR_MESSAGE_MAX];
        char last_traceback[APP_TRACEBACK_MAX];
        int64_t last_error_ms;                       /* 0: never */
        struct app_event history[APP_EVENT_HISTORY]; /* a ring */
        uint64_t history_count;
};

struct app_plugin_info {
        const char *name; /* copied */
        double interval_s;
        uint32_t budget_ms;
};

/* One poll's outcome, for app_state_record_poll. */
struct app_poll {
        int64_t time_ms; /* wall clock, when the poll ended */
        double duration_ms;
        const struct reading_list *readings; /* borrowed; NULL when it failed */
        const char *failure_kind;            /* NULL when it succeeded */
};

struct app_failure_count {
        char kind[16];
        uint64_t count;
};

/* A copy of one plugin's part of the state. The caller clears it with
 * app_plugin_view_clear. */
struct app_plugin_view {
        char name[CONFIG_NAME_MAX];
        double interval_s;
        uint32_t budget_ms;
        bool has_status;
        struct app_plugin_status status;
        bool is_reload_pending;   /* an operator asked; no lifecycle event since */
        struct reading *readings; /* the last good poll's, owned by the view */
        size_t reading_count;
        int64_t readings_ms; /* when they were read; 0: never */
        int64_t last_poll_ms;
        double last_poll_duration_ms;
        char last_poll_failure[16]; /* "" when the last poll succeeded */
        uint64_t poll_count;        /* polls seen (good or failed) */
        double duration_sum_ms;
        uint64_t duration_buckets[APP_DURATION_BUCKETS]; /* not cumulative */
        struct app_failure_count failures[APP_FAILURE_KINDS];
        size_t failure_kind_count;
};

struct app_state;

/* Makes the state for `count` plugins (names copied). The caller frees it
 * with app_state_free. */
PH_MUST_USE struct app_state *app_state_new(const struct app_plugin_info *plugins, size_t count,
                                            struct ph_error *error);

/* Accepts NULL. */
void app_state_free(struct app_state *state);

size_t app_state_plugin_count(struct app_state *state);

/* Replaces the set of plugins (a SIGHUP changed it): a plugin of the new
 * set that was in the old one keeps everything recorded of it (statistics,
 * readings, chart history, events); the others start empty; those gone are
 * forgotten. Indices change: the caller (the server) keeps anyone from
 * using an index across the change. Returns 0, or -ENOMEM with `error` set
 * and the state as it was. */
PH_MUST_USE int app_state_set_plugins(struct app_state *state,
                                      const struct app_plugin_info *plugins, size_t count,
                                      struct ph_error *error);

/* Finds plugin `name`; returns 0 and its index, or -ENOENT. */
PH_MUST_USE int app_state_find_plugin(struct app_state *state, const char *name, size_t *ret_index);

/* Records a poll: its statistics, and for a good one its readings (copied)
 * as the latest and in the history. Returns -ENOMEM when the readings
 * could not be copied (the statistics are recorded anyway), -EINVAL for a
 * bad index. */
PH_MUST_USE int app_state_record_poll(struct app_state *state, size_t index,
                                      const struct app_poll *poll);

/* Replaces the plugin's status (copied). */
void app_state_set_status(struct app_state *state, size_t index,
                          const struct app_plugin_status *status);

/* Adds a lifecycle event to the plugin's history at once, before the next
 * status arrives, and ends a pending operator reload. */
void app_state_add_event(struct app_state *state, size_t index, const struct app_event *event);

/* Notes that an operator asked for a reload; the plugin shows as reloading
 * until its next lifecycle event or `timeout_ms` (the reload found nothing
 * new). */
void app_state_note_reload_request(struct app_state *state, size_t index, int64_t now_ms,
                                   int64_t timeout_ms);

/* Sets the LEDs' colour names ("off", "green", ...; copied). Returns true
 * when they changed. */
bool app_state_set_leds(struct app_state *state, const char *first, const char *second,
                        int64_t time_ms);

/* Copies the LEDs' colour names (buffers of `size` bytes) and when they
 * last changed (0: never set). */
void app_state_get_leds(struct app_state *state, char *ret_first, char *ret_second, size_t size,
                        int64_t *ret_changed_ms);

/* Copies plugin `index` into *ret_view at `now_ms`. Returns 0, -EINVAL for
 * a bad index or -ENOMEM. */
PH_MUST_USE int app_state_get_plugin(struct app_state *state, size_t index, int64_t now_ms,
                                     struct app_plugin_view *ret_view);

/* Frees what a view owns. Accepts a zeroed view. */
void app_plugin_view_clear(struct app_plugin_view *view);

/* The GET /api/readings document, kept ready-made and rebuilt at each good
 * poll: {"plugins": {NAME: {"time_ms", "readings": [...]}, ...}}. Returns
 * a copy the caller frees with free(), its length in *ret_size; NULL when
 * out of memory. */
PH_MUST_USE char *app_state_readings_json(struct app_state *state, size_t *ret_size);

/* The last hour of readings (from `now_ms`) as a JSON array of series,
 * columnar for charts: [{"plugin", "sensor", "quantity", "unit",
 * "time_ms": [...], "values": [...]}]. The caller frees the text with
 * free(); NULL when out of memory. */
PH_MUST_USE char *app_state_history_json(struct app_state *state, int64_t now_ms, size_t *ret_size);

#endif
