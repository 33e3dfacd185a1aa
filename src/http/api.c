#include "http/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/view.h"

/* How long an operator's reload shows as "reloading" when it brings no
 * lifecycle event (the file had not changed): the debounce plus a
 * compile of a new version. */
#define RELOAD_PENDING_MS 15000

static json_t *history(const struct app_plugin_status *status) {
        json_t *events = json_array();
        uint64_t first = status->history_count > APP_EVENT_HISTORY
                                 ? status->history_count - APP_EVENT_HISTORY
                                 : 0;
        for (uint64_t i = first; events != NULL && i < status->history_count; i++) {
                const struct app_event *event = &status->history[i % APP_EVENT_HISTORY];
                json_t *item = json_pack("{s:I, s:s, s:s, s:o}", "time_ms",
                                         (json_int_t)event->time_ms, "kind", event->kind, "version",
                                         event->version, "message", http_json_text(event->message));
                if (item == NULL || json_array_append_new(events, item) != 0) {
                        json_decref(events);
                        return NULL;
                }
        }
        return events;
}

static json_t *plugin_detail(const struct app_plugin_view *view) {
        const struct app_plugin_status *status = &view->status;
        json_t *detail = view_plugin_summary(view);
        struct reading_list readings = {.items = view->readings, .count = view->reading_count};
        json_t *more = json_pack(
                "{s:o, s:I, s:I, s:I, s:I, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:s}",
                "last_error", view_last_error(view, true), "instantiations",
                (json_int_t)status->instantiations, "reloads", (json_int_t)status->reloads,
                "rejected_reloads", (json_int_t)status->rejected_reloads, "rollbacks",
                (json_int_t)status->rollbacks, "consecutive_failures",
                (int)status->consecutive_failures, "probation_left", (int)status->probation_left,
                "has_lifecycle", status->has_lifecycle, "state_bytes",
                (json_int_t)status->state_bytes, "memory_bytes", (json_int_t)status->memory_bytes,
                "memory_limit_bytes", (json_int_t)status->memory_limit, "memory_high_water_bytes",
                (json_int_t)status->memory_high_water, "history", history(status), "readings",
                reading_list_to_json(&readings), "last_poll_failure", view->last_poll_failure);
        if (detail == NULL || more == NULL || json_object_update(detail, more) != 0) {
                json_decref(detail);
                detail = NULL;
        }
        json_decref(more);
        return detail;
}

/* The history's part of /api/health. */
static json_t *history_health(const struct history_stats *stats, bool with_details) {
        json_t *last_error = stats->last_error_ms > 0 ? json_pack("{s:I}", "time_ms",
                                                                  (json_int_t)stats->last_error_ms)
                                                      : json_null();
        if (with_details && json_is_object(last_error))
                json_object_set_new(last_error, "message", http_json_text(stats->last_error));
        json_t *last_recovery =
                stats->last_recovery_ms > 0
                        ? json_pack("{s:I}", "time_ms", (json_int_t)stats->last_recovery_ms)
                        : json_null();
        if (with_details && json_is_object(last_recovery))
                json_object_set_new(last_recovery, "moved_to", http_json_text(stats->last_aside));
        return json_pack(
                "{s:s, s:b, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "state",
                history_state_name(stats->state), "degraded", history_stats_is_degraded(stats),
                "queue_rows", (json_int_t)stats->queue_rows, "queue_capacity",
                (json_int_t)stats->queue_capacity, "queue_full", stats->is_queue_full, "written",
                (json_int_t)stats->written, "dropped_queue_full", (json_int_t)stats->dropped_full,
                "dropped_write_failed", (json_int_t)stats->dropped_failed, "write_errors",
                (json_int_t)stats->write_errors, "deleted", (json_int_t)stats->deleted,
                "recoveries", (json_int_t)stats->recoveries, "last_error", last_error,
                "last_recovery", last_recovery);
}

/* The consumers of the poll pipeline: each one's queue and losses. */
static json_t *consumers_health(const struct pipeline_stats *stats) {
        json_t *list = json_array();
        for (size_t i = 0; list != NULL && i < stats->count; i++) {
                const struct pipeline_subscriber_stats *consumer = &stats->subscribers[i];
                json_t *item = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", consumer->name,
                                         "queue_depth", (json_int_t)consumer->depth,
                                         "queue_high_water", (json_int_t)consumer->high_water,
                                         "queue_capacity", (json_int_t)consumer->capacity,
                                         "delivered", (json_int_t)consumer->delivered, "dropped",
                                         (json_int_t)consumer->dropped);
                if (item == NULL || json_array_append_new(list, item) != 0) {
                        json_decref(list);
                        return NULL;
                }
        }
        return list;
}

static json_t *mqtt_health(const struct mqtt_stats *stats) {
        return json_pack("{s:b, s:I, s:I, s:I, s:I}", "connected", stats->is_connected, "queued",
                         (json_int_t)stats->queued, "published", (json_int_t)stats->published,
                         "dropped", (json_int_t)stats->dropped, "connects",
                         (json_int_t)stats->connects);
}

void api_health(const struct api *api, bool with_details, struct http_reply *reply) {
        int64_t now_ms = clock_realtime_ms();
        /* Several KiB each: off the pool thread's stack. */
        struct history_stats *stats = calloc(1, sizeof(*stats));
        struct pipeline_stats *pipeline = calloc(1, sizeof(*pipeline));
        struct mqtt_stats mqtt;
        bool has_history = stats != NULL && api->get_history_stats != NULL &&
                           api->get_history_stats(stats, api->stats_data);
        bool has_mqtt = api->get_mqtt_stats != NULL && api->get_mqtt_stats(&mqtt, api->stats_data);
        if (pipeline != NULL)
                pipeline_get_stats(api->pipeline, pipeline);
        bool is_degraded = has_history && history_stats_is_degraded(stats);
        /* 200 either way: the host answers and polls. A monitoring system
         * alerts on "degraded" (or on /metrics); a load balancer or a
         * liveness probe that restarted the host on it would not help a
         * full disk. */
        int result = http_reply_json(
                reply, 200,
                json_pack("{s:s, s:I, s:i, s:o, s:o, s:o}", "status",
                          is_degraded ? "degraded" : "ok", "uptime_ms",
                          (json_int_t)(now_ms - api->started_ms), "plugins",
                          (int)app_state_plugin_count(api->state), "history",
                          has_history ? history_health(stats, with_details) : json_null(), "mqtt",
                          has_mqtt ? mqtt_health(&mqtt) : json_null(), "consumers",
                          pipeline != NULL ? consumers_health(pipeline) : json_null()));
        (void)result; /* an out-of-memory reply is set either way */
        free(stats);
        free(pipeline);
}

void api_readings(const struct api *api, struct http_reply *reply) {
        size_t size = 0;
        char *text = app_state_readings_json(api->state, &size);
        int result = http_reply_take(reply, 200, "application/json", text, size);
        (void)result;
}

void api_history(const struct api *api, struct http_reply *reply) {
        size_t size = 0;
        char *text = app_state_history_json(api->state, clock_realtime_ms(), &size);
        int result = http_reply_take(reply, 200, "application/json", text, size);
        (void)result;
}

void api_plugins(const struct api *api, struct http_reply *reply) {
        int64_t now_ms = clock_realtime_ms();
        json_t *list = json_array();
        char first[8], second[8];
        int64_t leds_ms = 0;
        app_state_get_leds(api->state, first, second, sizeof(first), &leds_ms);
        json_t *root = json_pack("{s:o, s:{s:s, s:s, s:o}}", "plugins", list, "leds", "first",
                                 first, "second", second, "changed_ms", view_time_or_null(leds_ms));
        size_t count = app_state_plugin_count(api->state);
        for (size_t i = 0; root != NULL && i < count; i++) {
                struct app_plugin_view view;
                if (app_state_get_plugin(api->state, i, now_ms, &view) < 0) {
                        json_decref(root);
                        root = NULL;
                        break;
                }
                json_t *item = view_plugin_summary(&view);
                app_plugin_view_clear(&view);
                if (item == NULL || json_array_append_new(list, item) != 0) {
                        json_decref(root);
                        root = NULL;
                }
        }
        int result = http_reply_json(reply, 200, root);
        (void)result;
}

static int find(const struct api *api, const char *name, size_t *ret_index,
                struct http_reply *reply) {
        if (app_state_find_plugin(api->state, name, ret_index) < 0)
                return http_reply_error(reply, 404, "no plugin named '%.64s'", name);
        return 0;
}

void api_plugin(const struct api *api, const char *name, struct http_reply *reply) {
        size_t index = 0;
        if (find(api, name, &index, reply) < 0)
                return;
        struct app_plugin_view view;
        if (app_state_get_plugin(api->state, index, clock_realtime_ms(), &view) < 0) {
                http_reply_error(reply, 500, "out of memory");
                return;
        }
        json_t *detail = plugin_detail(&view);
        if (detail != NULL)
                json_object_set_new(detail, "settings", api_settings_json(api, index));
        int result = http_reply_json(reply, 200, detail);
        (void)result;
        app_plugin_view_clear(&view);
}

/* Parses an action's body into `reason` ("" when none). Sets a 400 or 413
 * reply and returns a negative code when it is not acceptable. */
static int parse_action_body(const char *body, size_t size, char *reason,
                             struct http_reply *reply) {
        reason[0] = '\0';
        if (size == 0)
                return 0;
        json_error_t json_error;
        json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &json_error);
        if (root == NULL)
                return http_reply_error(reply, 400, "malformed JSON body: %s at line %d",
                                        json_error.text, json_error.line);
        int result = 0;
        const char *key;
        json_t *value;
        if (!json_is_object(root)) {
                result = http_reply_error(reply, 400, "the body must be a JSON object");
                goto done;
        }
        json_object_foreach(root, key, value) {
                if (strcmp(key, "reason") != 0) {
                        result = http_reply_error(reply, 400, "unknown field '%.64s'", key);
                        goto done;
                }
                if (!json_is_string(value) || json_string_length(value) >= API_REASON_MAX) {
                        result = http_reply_error(reply, 400,
                                                  "'reason' must be a string of at most %d "
                                                  "bytes",
                                                  API_REASON_MAX - 1);
                        goto done;
                }
                snprintf(reason, API_REASON_MAX, "%s", json_string_value(value));
        }
done:
        json_decref(root);
        return result;
}

/* The answer to an operator's poll: 200 with the readings; 409 when the
 * plugin's state forbids a poll for now (quarantine, backoff); 502 with the
 * guest's traceback when the plugin failed (the API worked, what is behind
 * it did not). */
static void answer_poll(const struct poll_record *record, struct http_reply *reply) {
        int result = 0;
        if (record->outcome == POLL_OUTCOME_OK) {
                result = http_reply_json(reply, 200, view_poll_record(record, false));
        } else if (record->outcome == POLL_OUTCOME_SKIPPED) {
                http_reply_error(reply, 409, "%s: %s", record->failure_kind,
                                 record->message != NULL ? record->message : "");
        } else {
                result = http_reply_json(reply, 502,
                                         json_pack("{s:{s:i, s:s, s:o, s:o}, s:f}", "error",
                                                   "status", 502, "kind", record->failure_kind,
                                                   "message", http_json_text(record->message),
                                                   "traceback", http_json_text(record->traceback),
                                                   "duration_ms", record->duration_ms));
        }
        (void)result;
}

void api_action_answer(enum api_action action, const char *name, const struct poll_record *record,
                       int result, struct http_reply *reply) {
        if (action == API_ACTION_POLL && record != NULL) {
                answer_poll(record, reply);
                return;
        }
        if (action == API_ACTION_POLL || result == -ESHUTDOWN) {
                http_reply_error(reply, 503, "the host is stopping or reloading; try again");
                return;
        }
        if (result == -EALREADY) {
                http_reply_error(reply, 409, "plugin '%s' is not quarantined", name);
                return;
        }
        if (result < 0) {
                http_reply_error(reply, 500, "reset of '%s' failed: %s", name, strerror(-result));
                return;
        }
        result = http_reply_json(reply, 200,
                                 json_pack("{s:s, s:b}", "plugin", name, "quarantine_lifted", 1));
        (void)result;
}

int api_action_check(const struct api *api, enum api_action action, const char *name,
                     const char *body, size_t body_size, struct http_reply *reply) {
        size_t index = 0;
        char reason[API_REASON_MAX];
        if (find(api, name, &index, reply) < 0 ||
            parse_action_body(body, body_size, reason, reply) < 0)
                return -EINVAL;
        static const char *const verbs[] = {"poll", "reload", "reset"};
        log_write(LOG_LEVEL_INFO, name, "%s requested over HTTP%s%s%s", verbs[action],
                  reason[0] != '\0' ? " (reason: " : "", reason, reason[0] != '\0' ? ")" : "");
        return 0;
}

void api_reload(const struct api *api, const char *name, struct http_reply *reply) {
        size_t index = 0;
        if (find(api, name, &index, reply) < 0)
                return;
        if (index >= api->plugin_count || api->reloader == NULL) {
                http_reply_error(reply, 503, "the host is reloading its plugins; try again");
                return;
        }
        struct plugin *plugin = api->plugins[index];
        app_state_note_reload_request(api->state, index, clock_realtime_ms(),
                                      (int64_t)api->reload_debounce_ms + RELOAD_PENDING_MS);
        reloader_request(api->reloader, plugin);
        int result = http_reply_json(
                reply, 202,
                json_pack("{s:s, s:b}", "plugin", plugin_name(plugin), "reload_requested", 1));
        (void)result;
}
