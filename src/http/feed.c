#include "http/feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/clock.h"
#include "http/reply.h"
#include "http/view.h"
#include "http/reply.h"

struct feed {
        struct app_state *state;
        struct sse *sse;
        struct hw_board *board;
        size_t count;
        struct plugin *const *plugins; /* borrowed */
};

static int find_index(const struct feed *feed, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < feed->count; i++) {
                if (strcmp(plugin_name(feed->plugins[i]), name) == 0) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOENT;
}

/* Publishes `json` (taken) as event `name`. */
static void publish(struct feed *feed, const char *name, json_t *json) {
        char *text = json != NULL ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(json);
        if (text == NULL)
                return; /* out of memory: the stream misses one event */
        int result = sse_publish(feed->sse, name, text);
        (void)result; /* too large: dropped, the API still has it */
        free(text);
}

static void convert_event(const struct plugin_event *from, struct app_event *to) {
        to->time_ms = (int64_t)from->time * 1000;
        snprintf(to->kind, sizeof(to->kind), "%s", from->kind);
        snprintf(to->version, sizeof(to->version), "%s", from->version);
        snprintf(to->message, sizeof(to->message), "%s", from->message);
}

/* A lifecycle record: into the plugin's history at once, and the stream. */
static void note_lifecycle(struct feed *feed, size_t index, const struct poll_record *record) {
        struct app_event event = {.time_ms = record->finished_ms};
        snprintf(event.kind, sizeof(event.kind), "%s", record->event);
        snprintf(event.version, sizeof(event.version), "%s", record->version);
        snprintf(event.message, sizeof(event.message), "%s",
                 record->message != NULL ? record->message : "");
        app_state_add_event(feed->state, index, &event);
        publish(feed, "lifecycle",
                json_pack("{s:s, s:I, s:s, s:s, s:o}", "plugin", record->plugin, "time_ms",
                          (json_int_t)event.time_ms, "kind", event.kind, "version", event.version,
                          "message", http_json_text(event.message)));
}

void feed_refresh_status(struct feed *feed, size_t index) {
        if (feed == NULL || index >= feed->count)
                return;
        /* Large (tracebacks and history): keep it off the stack. */
        struct plugin_status *status = malloc(sizeof(*status));
        struct app_plugin_status *copy = calloc(1, sizeof(*copy));
        if (status == NULL || copy == NULL)
                goto done;
        plugin_get_status(feed->plugins[index], status);
        snprintf(copy->state, sizeof(copy->state), "%s", plugin_state_name(status->state));
        snprintf(copy->version, sizeof(copy->version), "%s", status->version);
        copy->loaded_at_ms = (int64_t)status->loaded_at * 1000;
        copy->polls = status->polls;
        copy->failures = status->failures;
        copy->instantiations = status->instantiations;
        copy->reloads = status->reloads;
        copy->rejected_reloads = status->rejected_reloads;
        copy->rollbacks = status->rollbacks;
        copy->consecutive_failures = status->consecutive_failures;
        copy->probation_left = status->probation_left;
        copy->has_lifecycle = status->has_lifecycle;
        copy->state_bytes = status->state_bytes;
        copy->memory_bytes = status->memory_bytes;
        copy->memory_high_water = status->memory_high_water;
        copy->memory_limit = status->memory_limit;
        copy->denied_calls = status->denied_calls;
        copy->dropped_log_lines = status->dropped_log_lines;
        snprintf(copy->last_error, sizeof(copy->last_error), "%s", status->last_error);
        snprintf(copy->last_traceback, sizeof(copy->last_traceback), "%s", status->last_traceback);
        copy->last_error_ms = (int64_t)status->last_error_time * 1000;
        for (size_t i = 0; i < PLUGIN_HISTORY_MAX && i < APP_EVENT_HISTORY; i++)
                convert_event(&status->history[i], &copy->history[i]);
        copy->history_count = status->history_count;
        app_state_set_status(feed->state, index, copy);
done:
        free(status);
        free(copy);
}

struct feed *feed_new(struct app_state *state, struct sse *sse, struct plugin *const *plugins,
                      size_t count, struct hw_board *board, struct ph_error *error) {
        struct feed *feed = calloc(1, sizeof(*feed));
        if (feed == NULL) {
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        feed->state = state;
        feed->sse = sse;
        feed->board = board;
        feed->count = count;
        feed->plugins = plugins;
        for (size_t i = 0; i < count; i++)
                feed_refresh_status(feed, i);
        return feed;
}

void feed_set_plugins(struct feed *feed, struct plugin *const *plugins, size_t count) {
        if (feed == NULL)
                return;
        feed->plugins = plugins;
        feed->count = count;
}

void feed_free(struct feed *feed) {
        if (feed == NULL)
                return;
        free(feed);
}

static void note_leds(struct feed *feed, int64_t now_ms) {
        enum hw_led_color first = HW_LED_OFF, second = HW_LED_OFF;
        hw_get_leds(feed->board, &first, &second);
        if (!app_state_set_leds(feed->state, hw_led_color_name(first), hw_led_color_name(second),
                                now_ms))
                return;
        publish(feed, "leds",
                json_pack("{s:s, s:s, s:I}", "first", hw_led_color_name(first), "second",
                          hw_led_color_name(second), "time_ms", (json_int_t)now_ms));
}

void feed_note_poll(struct feed *feed, const struct poll_record *record) {
        size_t index = 0;
        if (feed == NULL || find_index(feed, record->plugin, &index) < 0)
                return;
        int64_t now_ms = record->finished_ms;
        if (record->kind == RECORD_LIFECYCLE) {
                note_lifecycle(feed, index, record);
                return;
        }
        if (record->origin == POLL_ORIGIN_TRIAL) {
                /* A new version's trial: news for the stream, not the state. */
                publish(feed, "trial", view_poll_record(record, false));
                return;
        }
        /* A poll skipped for quarantine or a restart wait is no news. */
        bool is_skipped = record->outcome == POLL_OUTCOME_SKIPPED;
        if (!is_skipped) {
                struct app_poll poll = {
                        .time_ms = now_ms,
                        .duration_ms = record->duration_ms,
                        .readings = record->outcome == POLL_OUTCOME_OK ? &record->readings : NULL,
                        .failure_kind =
                                record->outcome == POLL_OUTCOME_OK ? NULL : record->failure_kind,
                };
                if (app_state_record_poll(feed->state, index, &poll) < 0)
                        log_write(LOG_LEVEL_WARNING, record->plugin,
                                  "web state: out of memory copying readings");
        }
        feed_refresh_status(feed, index);
        if (record->outcome == POLL_OUTCOME_OK) {
                publish(feed, "reading",
                        json_pack("{s:s, s:I, s:f, s:o}", "plugin", record->plugin, "time_ms",
                                  (json_int_t)now_ms, "duration_ms", record->duration_ms,
                                  "readings", reading_list_to_json(&record->readings)));
        } else if (!is_skipped) {
                publish(feed, "poll-failed",
                        json_pack("{s:s, s:I, s:s, s:o}", "plugin", record->plugin, "time_ms",
                                  (json_int_t)now_ms, "kind", record->failure_kind, "message",
                                  http_json_text(record->message)));
        }
        note_leds(feed, now_ms);
        struct app_plugin_view view;
        if (app_state_get_plugin(feed->state, index, now_ms, &view) == 0) {
                publish(feed, "plugin", view_plugin_summary(&view));
                app_plugin_view_clear(&view);
        }
}
