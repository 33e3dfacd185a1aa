#include "http/view.h"

#include <string.h>

#include "http/reply.h"

json_t *view_time_or_null(int64_t time_ms) {
        return time_ms > 0 ? json_integer((json_int_t)time_ms) : json_null();
}

static const char *state_of(const struct app_plugin_view *view) {
        if (view->is_reload_pending)
                return "reloading";
        return view->has_status ? view->status.state : "running";
}

json_t *view_last_error(const struct app_plugin_view *view, bool with_traceback) {
        if (view->status.last_error[0] == '\0')
                return json_null();
        json_t *error = json_pack("{s:o, s:o}", "message", http_json_text(view->status.last_error),
                                  "time_ms", view_time_or_null(view->status.last_error_ms));
        if (error != NULL && with_traceback)
                json_object_set_new(error, "traceback",
                                    http_json_text(view->status.last_traceback));
        return error;
}

/* Polls stopped by the CPU budget, from the failure counts by kind. */
static uint64_t budget_hits(const struct app_plugin_view *view) {
        for (size_t k = 0; k < view->failure_kind_count; k++)
                if (strcmp(view->failures[k].kind, "budget-exceeded") == 0)
                        return view->failures[k].count;
        return 0;
}

json_t *view_plugin_summary(const struct app_plugin_view *view) {
        const struct app_plugin_status *status = &view->status;
        json_t *summary = json_pack(
                "{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:f, s:o, s:f, s:i, s:I, s:o}", "name",
                view->name, "state", state_of(view), "version", status->version, "loaded_at_ms",
                view_time_or_null(status->loaded_at_ms), "polls", (json_int_t)status->polls,
                "failures", (json_int_t)status->failures, "last_poll_ms",
                view_time_or_null(view->last_poll_ms), "last_poll_duration_ms",
                view->last_poll_duration_ms, "last_error", view_last_error(view, false),
                "interval_s", view->interval_s, "budget_ms", (int)view->budget_ms,
                "memory_high_water_bytes", (json_int_t)status->memory_high_water, "readings_ms",
                view_time_or_null(view->readings_ms));
        /* What the sandbox counted: every loss and refusal is visible. */
        json_t *counted = json_pack(
                "{s:I, s:I, s:I, s:I}", "denied_calls", (json_int_t)status->denied_calls,
                "dropped_log_lines", (json_int_t)status->dropped_log_lines, "budget_hits",
                (json_int_t)budget_hits(view), "restarts",
                (json_int_t)(status->instantiations > 0 ? status->instantiations - 1 : 0));
        if (summary == NULL || counted == NULL || json_object_update(summary, counted) != 0) {
                json_decref(summary);
                summary = NULL;
        }
        json_decref(counted);
        return summary;
}

json_t *view_poll_record(const struct poll_record *record, bool with_traceback) {
        json_t *json =
                json_pack("{s:s, s:s, s:s, s:I, s:f}", "plugin", record->plugin, "origin",
                          poll_origin_name(record->origin), "version", record->version, "time_ms",
                          (json_int_t)record->finished_ms, "duration_ms", record->duration_ms);
        if (json == NULL)
                return NULL;
        int result = 0;
        if (record->outcome == POLL_OUTCOME_OK) {
                result = json_object_set_new(json, "readings",
                                             reading_list_to_json(&record->readings));
        } else {
                result = json_object_set_new(json, "kind", json_string(record->failure_kind));
                result |= json_object_set_new(json, "message", http_json_text(record->message));
                if (with_traceback)
                        result |= json_object_set_new(json, "traceback",
                                                      http_json_text(record->traceback));
        }
        if (result != 0) {
                json_decref(json);
                return NULL;
        }
        return json;
}
