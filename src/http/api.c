#include "http/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* How long an operator's reload shows as "reloading" when it brings no
 * lifecycle event (the file had not changed): the debounce plus a
 * compile of a new version. */
#define RELOAD_PENDING_MS 15000

static json_t *time_or_null(int64_t time_ms) {
        return time_ms > 0 ? json_integer((json_int_t)time_ms) : json_null();
}

static const char *state_of(const struct app_plugin_view *view) {
        if (view->is_reload_pending)
                return "reloading";
        return view->has_status ? view->status.state : "running";
}

static json_t *last_error(const struct app_plugin_view *view, bool with_traceback) {
        if (view->status.last_error[0] == '\0')
                return json_null();
        json_t *error = json_pack("{s:o, s:o}", "message", http_json_text(view->status.last_error),
                                  "time_ms", time_or_null(view->status.last_error_ms));
        if (error != NULL && with_traceback)
                json_object_set_new(error, "traceback",
                                    http_json_text(view->status.last_traceback));
        return error;
}

json_t *api_plugin_summary(const struct app_plugin_view *view) {
        const struct app_plugin_status *status = &view->status;
        return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:f, s:o, s:f, s:i, s:I, s:o}",
                         "name", view->name, "state", state_of(view), "version", status->version,
                         "loaded_at_ms", time_or_null(status->loaded_at_ms), "polls",
                         (json_int_t)status->polls, "failures", (json_int_t)status->failures,
                         "last_poll_ms", time_or_null(view->last_poll_ms), "last_poll_duration_ms",
                         view->last_poll_duration_ms, "last_error", last_error(view, false),
                         "interval_s", view->interval_s, "budget_ms", (int)view->budget_ms,
                         "memory_high_water_bytes", (json_int_t)status->memory_high_water,
                         "readings_ms", time_or_null(view->readings_ms));
}

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
        json_t *detail = api_plugin_summary(view);
        struct reading_list readings = {.items = view->readings, .count = view->reading_count};
        json_t *more = json_pack(
                "{s:o, s:I, s:I, s:I, s:I, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:s}",
                "last_error", last_error(view, true), "instantiations",
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

void api_health(const struct api *api, struct http_reply *reply) {
        int64_t now_ms = feed_now_ms();
        int result = http_reply_json(reply, 200,
                                     json_pack("{s:s, s:I, s:i}", "status", "ok", "uptime_ms",
                                               (json_int_t)(now_ms - api->started_ms), "plugins",
                                               (int)api->plugin_count));
        (void)result; /* an out-of-memory reply is set either way */
}

void api_readings(const struct api *api, struct http_reply *reply) {
        size_t size = 0;
        char *text = app_state_readings_json(api->state, &size);
        int result = http_reply_take(reply, 200, "application/json", text, size);
        (void)result;
}

void api_history(const struct api *api, struct http_reply *reply) {
        size_t size = 0;
        char *text = app_state_history_json(api->state, feed_now_ms(), &size);
        int result = http_reply_take(reply, 200, "application/json", text, size);
        (void)result;
}

void api_plugins(const struct api *api, struct http_reply *reply) {
        int64_t now_ms = feed_now_ms();
        json_t *list = json_array();
        char first[8], second[8];
        int64_t leds_ms = 0;
        app_state_get_leds(api->state, first, second, sizeof(first), &leds_ms);
        json_t *root = json_pack("{s:o, s:{s:s, s:s, s:o}}", "plugins", list, "leds", "first",
                                 first, "second", second, "changed_ms", time_or_null(leds_ms));
        for (size_t i = 0; root != NULL && i < api->plugin_count; i++) {
                struct app_plugin_view view;
                if (app_state_get_plugin(api->state, i, now_ms, &view) < 0) {
                        json_decref(root);
                        root = NULL;
                        break;
                }
                json_t *item = api_plugin_summary(&view);
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
        if (app_state_get_plugin(api->state, index, feed_now_ms(), &view) < 0) {
                http_reply_error(reply, 500, "out of memory");
                return;
        }
        int result = http_reply_json(reply, 200, plugin_detail(&view));
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

static void poll_now(const struct api *api, size_t index, struct http_reply *reply) {
        struct plugin *plugin = api->plugins[index];
        struct reading_list readings = {0};
        struct plugin_failure *failure = calloc(1, sizeof(*failure));
        if (failure == NULL) {
                http_reply_error(reply, 500, "out of memory");
                return;
        }
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        int result = plugin_poll(plugin, &readings, failure);
        clock_gettime(CLOCK_MONOTONIC, &end);
        double duration_ms = (double)(end.tv_sec - start.tv_sec) * 1e3 +
                             (double)(end.tv_nsec - start.tv_nsec) / 1e6;
        feed_note_poll(api->feed, plugin, &readings, result < 0 ? failure : NULL, duration_ms);
        if (result == 0) {
                result = http_reply_json(reply, 200,
                                         json_pack("{s:s, s:f, s:o}", "plugin", plugin_name(plugin),
                                                   "duration_ms", duration_ms, "readings",
                                                   reading_list_to_json(&readings)));
        } else if (plugin_failure_is_skipped(failure->kind)) {
                /* Not polled: the plugin's state forbids it for now. */
                http_reply_error(reply, 409, "%s: %s", plugin_failure_kind_name(failure->kind),
                                 failure->message);
        } else {
                /* The plugin failed: the API worked, what is behind it did
                 * not. The body says how, with the guest's traceback. */
                result = http_reply_json(
                        reply, 502,
                        json_pack("{s:{s:i, s:s, s:o, s:o}, s:f}", "error", "status", 502, "kind",
                                  plugin_failure_kind_name(failure->kind), "message",
                                  http_json_text(failure->message), "traceback",
                                  http_json_text(failure->traceback), "duration_ms", duration_ms));
        }
        (void)result;
        reading_list_clear(&readings);
        free(failure);
}

void api_action(const struct api *api, enum api_action action, const char *name, const char *body,
                size_t body_size, struct http_reply *reply) {
        size_t index = 0;
        char reason[API_REASON_MAX];
        if (find(api, name, &index, reply) < 0 ||
            parse_action_body(body, body_size, reason, reply) < 0)
                return;
        struct plugin *plugin = api->plugins[index];
        static const char *const verbs[] = {"poll", "reload", "reset"};
        log_write(LOG_LEVEL_INFO, plugin_name(plugin), "%s requested over HTTP%s%s%s",
                  verbs[action], reason[0] != '\0' ? " (reason: " : "", reason,
                  reason[0] != '\0' ? ")" : "");
        int result = 0;
        switch (action) {
        case API_ACTION_POLL:
                poll_now(api, index, reply);
                return;
        case API_ACTION_RELOAD:
                app_state_note_reload_request(api->state, index, feed_now_ms(),
                                              (int64_t)api->reload_debounce_ms + RELOAD_PENDING_MS);
                reloader_request(api->reloader, plugin);
                result = http_reply_json(reply, 202,
                                         json_pack("{s:s, s:b}", "plugin", plugin_name(plugin),
                                                   "reload_requested", 1));
                break;
        case API_ACTION_RESET:
                if (plugin_reset(plugin) < 0) {
                        http_reply_error(reply, 409, "plugin '%s' is not quarantined",
                                         plugin_name(plugin));
                        return;
                }
                feed_refresh_status(api->feed, index);
                result = http_reply_json(reply, 200,
                                         json_pack("{s:s, s:b}", "plugin", plugin_name(plugin),
                                                   "quarantine_lifted", 1));
                break;
        }
        (void)result;
}
