/* Unit tests of src/http/view.c: the JSON of a poll record (ok, failed,
 * skipped) and of a plugin's summary with the counters the sandbox keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/view.h"

static struct poll_record *ok_record(void) {
        struct poll_record *record = poll_record_new("greenhouse");
        assert_non_null(record);
        snprintf(record->version, sizeof(record->version), "%s", "0123456789ab");
        record->origin = POLL_ORIGIN_OPERATOR;
        record->started_ms = 1700000000000;
        record->finished_ms = 1700000000012;
        record->duration_ms = 12.5;
        struct reading *item = calloc(1, sizeof(*item));
        assert_non_null(item);
        snprintf(item->sensor, sizeof(item->sensor), "%s", "air");
        snprintf(item->unit, sizeof(item->unit), "%s", "%");
        item->quantity = READING_HUMIDITY;
        item->value = 55.25;
        item->is_finite = true;
        item->status = READING_WARNING;
        record->readings = (struct reading_list){.items = item, .count = 1};
        return record;
}

static struct poll_record *failed_record(enum poll_outcome outcome, const char *kind,
                                         const char *message) {
        struct poll_record *record = poll_record_new("greenhouse");
        assert_non_null(record);
        record->origin = POLL_ORIGIN_SCHEDULED;
        record->finished_ms = 1700000000100;
        record->duration_ms = 3;
        assert_int_equal(poll_record_set_failure(record, outcome, kind, message,
                                                 "Traceback (most recent call last)"),
                         0);
        return record;
}

static const char *text_of(json_t *json, const char *key) {
        return json_string_value(json_object_get(json, key));
}

static void test_a_good_poll_shows_its_readings(void **state) {
        (void)state;
        struct poll_record *record = ok_record();
        json_t *json = view_poll_record(record, true);
        assert_non_null(json);
        assert_string_equal(text_of(json, "plugin"), "greenhouse");
        assert_string_equal(text_of(json, "origin"), "operator");
        assert_string_equal(text_of(json, "version"), "0123456789ab");
        assert_int_equal(json_integer_value(json_object_get(json, "time_ms")), 1700000000012);
        assert_true(json_real_value(json_object_get(json, "duration_ms")) == 12.5);
        json_t *readings = json_object_get(json, "readings");
        assert_int_equal(json_array_size(readings), 1);
        json_t *first = json_array_get(readings, 0);
        assert_string_equal(text_of(first, "sensor"), "air");
        assert_string_equal(text_of(first, "quantity"), "humidity");
        assert_string_equal(text_of(first, "status"), "warning");
        assert_true(json_real_value(json_object_get(first, "value")) == 55.25);
        /* No failure fields on a good poll. */
        assert_null(json_object_get(json, "kind"));
        assert_null(json_object_get(json, "message"));
        assert_null(json_object_get(json, "traceback"));
        json_decref(json);
        poll_record_unref(record);
}

static void test_a_failed_poll_shows_kind_and_message_not_readings(void **state) {
        (void)state;
        struct poll_record *record = failed_record(POLL_OUTCOME_FAILED, "trap", "unreachable");
        json_t *json = view_poll_record(record, false);
        assert_non_null(json);
        assert_string_equal(text_of(json, "origin"), "scheduled");
        assert_string_equal(text_of(json, "kind"), "trap");
        assert_string_equal(text_of(json, "message"), "unreachable");
        assert_null(json_object_get(json, "readings"));
        /* Not asked for. */
        assert_null(json_object_get(json, "traceback"));
        json_decref(json);
        json = view_poll_record(record, true);
        assert_string_equal(text_of(json, "traceback"), "Traceback (most recent call last)");
        json_decref(json);
        poll_record_unref(record);
}

static void test_a_skipped_poll_shows_why(void **state) {
        (void)state;
        struct poll_record *record =
                failed_record(POLL_OUTCOME_SKIPPED, "quarantined", "after 5 failures");
        json_t *json = view_poll_record(record, false);
        assert_non_null(json);
        assert_string_equal(text_of(json, "kind"), "quarantined");
        assert_string_equal(text_of(json, "message"), "after 5 failures");
        assert_null(json_object_get(json, "readings"));
        json_decref(json);
        poll_record_unref(record);
}

static void test_a_message_cut_mid_character_stays_a_string(void **state) {
        (void)state;
        struct poll_record *record =
                failed_record(POLL_OUTCOME_FAILED, "guest-error", "bad \xe2\x82 byte");
        json_t *json = view_poll_record(record, false);
        assert_non_null(json);
        assert_string_equal(text_of(json, "message"), "bad ?? byte");
        char *text = json_dumps(json, 0);
        assert_non_null(text);
        json_t *back = json_loads(text, 0, NULL);
        assert_non_null(back);
        json_decref(back);
        free(text);
        json_decref(json);
        poll_record_unref(record);
}

static struct app_plugin_view *new_view(void) {
        struct app_plugin_view *view = calloc(1, sizeof(*view));
        assert_non_null(view);
        snprintf(view->name, sizeof(view->name), "%s", "greenhouse");
        view->interval_s = 2;
        view->budget_ms = 250;
        return view;
}

static uint64_t count_of(json_t *json, const char *key) {
        json_t *value = json_object_get(json, key);
        if (!json_is_integer(value))
                fail_msg("'%s' is not an integer", key);
        return (uint64_t)json_integer_value(value);
}

static void test_a_summary_counts_what_the_sandbox_refused(void **state) {
        (void)state;
        struct app_plugin_view *view = new_view();
        view->has_status = true;
        snprintf(view->status.state, sizeof(view->status.state), "%s", "failed");
        view->status.polls = 40;
        view->status.failures = 7;
        view->status.denied_calls = 3;
        view->status.dropped_log_lines = 120;
        view->status.instantiations = 4;
        view->status.memory_high_water = 1u << 20;
        view->failure_kind_count = 2;
        snprintf(view->failures[0].kind, sizeof(view->failures[0].kind), "%s", "trap");
        view->failures[0].count = 2;
        snprintf(view->failures[1].kind, sizeof(view->failures[1].kind), "%s", "budget-exceeded");
        view->failures[1].count = 5;
        json_t *json = view_plugin_summary(view);
        assert_non_null(json);
        assert_string_equal(text_of(json, "name"), "greenhouse");
        assert_string_equal(text_of(json, "state"), "failed");
        assert_int_equal(count_of(json, "polls"), 40);
        assert_int_equal(count_of(json, "failures"), 7);
        assert_int_equal(count_of(json, "denied_calls"), 3);
        assert_int_equal(count_of(json, "dropped_log_lines"), 120);
        assert_int_equal(count_of(json, "budget_hits"), 5);
        /* The first instance is no restart. */
        assert_int_equal(count_of(json, "restarts"), 3);
        assert_int_equal(count_of(json, "memory_high_water_bytes"), 1u << 20);
        assert_int_equal(count_of(json, "budget_ms"), 250);
        json_decref(json);
        free(view);
}

static void test_a_fresh_summary_has_zero_counts_and_null_times(void **state) {
        (void)state;
        struct app_plugin_view *view = new_view();
        json_t *json = view_plugin_summary(view);
        assert_non_null(json);
        /* No status yet: running until told otherwise. */
        assert_string_equal(text_of(json, "state"), "running");
        assert_int_equal(count_of(json, "restarts"), 0);
        assert_int_equal(count_of(json, "budget_hits"), 0);
        assert_true(json_is_null(json_object_get(json, "loaded_at_ms")));
        assert_true(json_is_null(json_object_get(json, "last_poll_ms")));
        assert_true(json_is_null(json_object_get(json, "readings_ms")));
        assert_true(json_is_null(json_object_get(json, "last_error")));
        json_decref(json);
        free(view);
}

static void test_a_pending_reload_shows_as_reloading(void **state) {
        (void)state;
        struct app_plugin_view *view = new_view();
        view->has_status = true;
        snprintf(view->status.state, sizeof(view->status.state), "%s", "quarantined");
        view->is_reload_pending = true;
        json_t *json = view_plugin_summary(view);
        assert_string_equal(text_of(json, "state"), "reloading");
        json_decref(json);
        free(view);
}

static void test_the_last_error_has_its_time_and_traceback_on_request(void **state) {
        (void)state;
        struct app_plugin_view *view = new_view();
        snprintf(view->status.last_error, sizeof(view->status.last_error), "%s", "boom");
        snprintf(view->status.last_traceback, sizeof(view->status.last_traceback), "%s", "tb");
        view->status.last_error_ms = 1700000000999;
        json_t *error = view_last_error(view, false);
        assert_string_equal(text_of(error, "message"), "boom");
        assert_int_equal(json_integer_value(json_object_get(error, "time_ms")), 1700000000999);
        assert_null(json_object_get(error, "traceback"));
        json_decref(error);
        error = view_last_error(view, true);
        assert_string_equal(text_of(error, "traceback"), "tb");
        json_decref(error);
        free(view);
}

static void test_a_time_of_zero_is_null(void **state) {
        (void)state;
        json_t *json = view_time_or_null(0);
        assert_true(json_is_null(json));
        json_decref(json);
        json = view_time_or_null(-5);
        assert_true(json_is_null(json));
        json_decref(json);
        json = view_time_or_null(12);
        assert_int_equal(json_integer_value(json), 12);
        json_decref(json);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_good_poll_shows_its_readings),
                cmocka_unit_test(test_a_failed_poll_shows_kind_and_message_not_readings),
                cmocka_unit_test(test_a_skipped_poll_shows_why),
                cmocka_unit_test(test_a_message_cut_mid_character_stays_a_string),
                cmocka_unit_test(test_a_summary_counts_what_the_sandbox_refused),
                cmocka_unit_test(test_a_fresh_summary_has_zero_counts_and_null_times),
                cmocka_unit_test(test_a_pending_reload_shows_as_reloading),
                cmocka_unit_test(test_the_last_error_has_its_time_and_traceback_on_request),
                cmocka_unit_test(test_a_time_of_zero_is_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
