/* Unit tests of src/http/app_state.c: what the web server reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/app_state.h"

static const struct app_plugin_info two_plugins[] = {
        {.name = "alpha", .interval_s = 1.0, .budget_ms = 100},
        {.name = "beta", .interval_s = 5.0, .budget_ms = 50},
};

static struct reading make_reading(const char *sensor, enum reading_quantity quantity,
                                   double value) {
        struct reading reading = {.quantity = quantity, .value = value, .is_finite = true};
        snprintf(reading.sensor, sizeof(reading.sensor), "%s", sensor);
        snprintf(reading.unit, sizeof(reading.unit), "%s",
                 quantity == READING_TEMPERATURE ? "°C" : "%");
        return reading;
}

static struct app_state *new_state(void) {
        struct ph_error error = {0};
        struct app_state *state = app_state_new(two_plugins, 2, &error);
        assert_non_null(state);
        return state;
}

static json_t *load(char *text) {
        assert_non_null(text);
        json_t *json = json_loads(text, 0, NULL);
        free(text);
        assert_non_null(json);
        return json;
}

static void record(struct app_state *state, size_t index, int64_t time_ms, double value) {
        struct reading items[2] = {make_reading("greenhouse", READING_TEMPERATURE, value),
                                   make_reading("greenhouse", READING_HUMIDITY, value + 40)};
        struct reading_list readings = {.items = items, .count = 2};
        struct app_poll poll = {.time_ms = time_ms, .duration_ms = 0.3, .readings = &readings};
        assert_int_equal(app_state_record_poll(state, index, &poll), 0);
}

static void test_plugins_are_found_by_name(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        size_t index = 99;
        assert_int_equal(app_state_find_plugin(state, "beta", &index), 0);
        assert_int_equal(index, 1);
        assert_int_equal(app_state_find_plugin(state, "gamma", &index), -ENOENT);
        assert_int_equal(app_state_find_plugin(state, "alph", &index), -ENOENT);
        app_state_free(state);
}

static void test_readings_document_starts_empty_then_holds_the_latest(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        size_t size = 0;
        json_t *before = load(app_state_readings_json(state, &size));
        assert_true(json_is_null(json_object_get(
                json_object_get(json_object_get(before, "plugins"), "alpha"), "time_ms")));
        json_decref(before);

        record(state, 0, 1000, 21.0);
        record(state, 0, 2000, 22.5);
        json_t *after = load(app_state_readings_json(state, &size));
        json_t *alpha = json_object_get(json_object_get(after, "plugins"), "alpha");
        assert_int_equal(json_integer_value(json_object_get(alpha, "time_ms")), 2000);
        json_t *readings = json_object_get(alpha, "readings");
        assert_int_equal(json_array_size(readings), 2);
        assert_true(json_real_value(json_object_get(json_array_get(readings, 0), "value")) == 22.5);
        json_decref(after);
        app_state_free(state);
}

static void test_failed_poll_keeps_last_good_readings_and_counts_the_kind(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        record(state, 1, 1000, 20.0);
        struct app_poll failed = {.time_ms = 2000, .duration_ms = 100.5, .failure_kind = "trap"};
        assert_int_equal(app_state_record_poll(state, 1, &failed), 0);
        assert_int_equal(app_state_record_poll(state, 1, &failed), 0);

        struct app_plugin_view view;
        assert_int_equal(app_state_get_plugin(state, 1, 3000, &view), 0);
        assert_int_equal(view.reading_count, 2);
        assert_int_equal(view.readings_ms, 1000);
        assert_int_equal(view.last_poll_ms, 2000);
        assert_string_equal(view.last_poll_failure, "trap");
        assert_int_equal(view.poll_count, 3);
        assert_int_equal(view.failure_kind_count, 1);
        assert_string_equal(view.failures[0].kind, "trap");
        assert_int_equal(view.failures[0].count, 2);
        app_plugin_view_clear(&view);
        app_state_free(state);
}

static void test_poll_durations_fall_in_their_buckets(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        const double bounds[] = APP_DURATION_BOUNDS;
        double durations[] = {0.01, 0.3, 99.0, 100.0, 100.1, 999999.0};
        for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
                struct app_poll poll = {
                        .time_ms = 1, .duration_ms = durations[i], .failure_kind = "guest-error"};
                assert_int_equal(app_state_record_poll(state, 0, &poll), 0);
        }
        struct app_plugin_view view;
        assert_int_equal(app_state_get_plugin(state, 0, 1, &view), 0);
        size_t at_100 = 0;
        while (bounds[at_100] != 100)
                at_100++;
        assert_int_equal(view.duration_buckets[0], 1);                        /* 0.01 <= 0.05 */
        assert_int_equal(view.duration_buckets[at_100], 2);                   /* 99 and 100 */
        assert_int_equal(view.duration_buckets[at_100 + 1], 1);               /* 100.1 */
        assert_int_equal(view.duration_buckets[APP_DURATION_BUCKETS - 1], 1); /* +Inf */
        uint64_t total = 0;
        for (size_t i = 0; i < APP_DURATION_BUCKETS; i++)
                total += view.duration_buckets[i];
        assert_int_equal(total, 6);
        app_plugin_view_clear(&view);
        app_state_free(state);
}

static void test_history_keeps_only_the_last_hour_per_series(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        int64_t now = 10 * APP_HISTORY_MS;
        record(state, 0, now - APP_HISTORY_MS - 1, 10.0); /* too old */
        record(state, 0, now - 1000, 11.0);
        record(state, 0, now, 12.0);
        size_t size = 0;
        json_t *series = load(app_state_history_json(state, now, &size));
        assert_int_equal(json_array_size(series), 2); /* temperature and humidity */
        json_t *temperature = json_array_get(series, 0);
        assert_string_equal(json_string_value(json_object_get(temperature, "plugin")), "alpha");
        assert_string_equal(json_string_value(json_object_get(temperature, "quantity")),
                            "temperature");
        json_t *values = json_object_get(temperature, "values");
        assert_int_equal(json_array_size(values), 2);
        assert_true(json_real_value(json_array_get(values, 0)) == 11.0);
        assert_int_equal(json_array_size(json_object_get(temperature, "time_ms")), 2);
        json_decref(series);
        app_state_free(state);
}

static void test_history_ring_drops_the_oldest_samples(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        /* Two samples per poll: the ring holds APP_HISTORY_SAMPLES / 2 polls. */
        size_t polls = APP_HISTORY_SAMPLES / 2 + 10;
        for (size_t i = 0; i < polls; i++)
                record(state, 0, 1000 + (int64_t)i, (double)i);
        size_t size = 0;
        json_t *series = load(app_state_history_json(state, 1000 + (int64_t)polls, &size));
        json_t *values = json_object_get(json_array_get(series, 0), "values");
        assert_int_equal(json_array_size(values), APP_HISTORY_SAMPLES / 2);
        assert_true(json_real_value(json_array_get(values, 0)) == 10.0);
        json_decref(series);
        app_state_free(state);
}

static void test_leds_report_a_change_only_once(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        assert_true(app_state_set_leds(state, "green", "red", 5));
        assert_false(app_state_set_leds(state, "green", "red", 6));
        assert_true(app_state_set_leds(state, "green", "yellow", 7));
        char first[8], second[8];
        int64_t changed = 0;
        app_state_get_leds(state, first, second, sizeof(first), &changed);
        assert_string_equal(first, "green");
        assert_string_equal(second, "yellow");
        assert_int_equal(changed, 7);
        app_state_free(state);
}

static void test_reload_request_shows_until_an_event_or_its_timeout(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        struct app_plugin_view view;
        app_state_note_reload_request(state, 0, 1000, 500);
        assert_int_equal(app_state_get_plugin(state, 0, 1200, &view), 0);
        assert_true(view.is_reload_pending);
        assert_int_equal(app_state_get_plugin(state, 0, 1600, &view), 0);
        assert_false(view.is_reload_pending); /* timed out: nothing new was found */

        app_state_note_reload_request(state, 0, 2000, 500);
        struct app_event event = {.time_ms = 2100, .kind = "reloaded", .version = "abc"};
        app_state_add_event(state, 0, &event);
        assert_int_equal(app_state_get_plugin(state, 0, 2200, &view), 0);
        assert_false(view.is_reload_pending);
        assert_int_equal(view.status.history_count, 1);
        assert_string_equal(view.status.history[0].kind, "reloaded");
        app_state_free(state);
}

static void test_status_is_replaced_whole(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        struct app_plugin_status *status = calloc(1, sizeof(*status));
        assert_non_null(status);
        snprintf(status->state, sizeof(status->state), "quarantined");
        status->failures = 7;
        snprintf(status->last_traceback, sizeof(status->last_traceback), "Traceback: ...");
        app_state_set_status(state, 1, status);
        free(status);
        struct app_plugin_view view;
        assert_int_equal(app_state_get_plugin(state, 1, 0, &view), 0);
        assert_true(view.has_status);
        assert_string_equal(view.status.state, "quarantined");
        assert_int_equal(view.status.failures, 7);
        assert_string_equal(view.status.last_traceback, "Traceback: ...");
        assert_int_equal(app_state_get_plugin(state, 2, 0, &view), -EINVAL);
        app_state_free(state);
}

/* Readers and a writer at once: every document a reader sees is whole
 * (parses, and its two readings come from the same poll). The readers run
 * until the writer stops, and the writer goes on until every reader has
 * seen at least MIN_VALUES_SEEN different polls, so the reads really
 * overlapped the writes (a reader that ran wholly before or after the
 * writer sees at most one). Torn documents are what this test catches
 * itself; a missing or misplaced lock that happens not to tear one is
 * ThreadSanitizer's to report: `make test-tsan-host` runs it in the TSan
 * build. */
#define READERS 3
#define MIN_VALUES_SEEN 3
#define MAX_WRITES 1000000

struct race {
        struct app_state *state;
        bool is_writing_done;  /* atomic */
        int failures;          /* atomic */
        int readers_satisfied; /* atomic: readers that saw MIN_VALUES_SEEN polls */
};

static void *read_repeatedly(void *argument) {
        struct race *race = argument;
        int values_seen = 0;
        double last = -1;
        while (!__atomic_load_n(&race->is_writing_done, __ATOMIC_ACQUIRE)) {
                size_t size = 0;
                char *text = app_state_readings_json(race->state, &size);
                json_t *json = text != NULL ? json_loads(text, 0, NULL) : NULL;
                free(text);
                json_t *readings = json_object_get(
                        json_object_get(json_object_get(json, "plugins"), "alpha"), "readings");
                if (json_array_size(readings) == 2) {
                        double t = json_real_value(
                                json_object_get(json_array_get(readings, 0), "value"));
                        double h = json_real_value(
                                json_object_get(json_array_get(readings, 1), "value"));
                        if (h != t + 40)
                                __atomic_add_fetch(&race->failures, 1, __ATOMIC_RELAXED);
                        if (t != last && ++values_seen == MIN_VALUES_SEEN)
                                __atomic_add_fetch(&race->readers_satisfied, 1, __ATOMIC_RELAXED);
                        last = t;
                } else if (json == NULL) {
                        __atomic_add_fetch(&race->failures, 1, __ATOMIC_RELAXED);
                }
                json_decref(json);
        }
        return NULL;
}

static void test_readers_never_see_a_half_written_poll(void **unused) {
        (void)unused;
        struct race race = {.state = new_state()};
        pthread_t readers[READERS];
        for (size_t i = 0; i < READERS; i++)
                assert_int_equal(pthread_create(&readers[i], NULL, read_repeatedly, &race), 0);
        int writes = 0;
        while (__atomic_load_n(&race.readers_satisfied, __ATOMIC_RELAXED) < READERS &&
               writes < MAX_WRITES) {
                record(race.state, 0, writes, (double)writes);
                writes++;
        }
        __atomic_store_n(&race.is_writing_done, true, __ATOMIC_RELEASE);
        for (size_t i = 0; i < READERS; i++)
                pthread_join(readers[i], NULL);
        assert_int_equal(race.failures, 0);
        /* The reads overlapped the writes. */
        assert_int_equal(race.readers_satisfied, READERS);
        app_state_free(race.state);
}

static void test_a_new_plugin_set_keeps_what_was_recorded_of_the_plugins_that_stay(void **unused) {
        (void)unused;
        struct app_state *state = new_state();
        int64_t now_ms = 1700000000000;
        record(state, 0, now_ms - 2000, 20.0); /* alpha */
        record(state, 1, now_ms - 1000, 30.0); /* beta */
        struct app_event event = {.time_ms = now_ms - 500, .kind = "loaded"};
        app_state_add_event(state, 1, &event);

        /* beta stays (now first, with a new interval), alpha goes, gamma comes. */
        const struct app_plugin_info next[] = {
                {.name = "beta", .interval_s = 2.0, .budget_ms = 70},
                {.name = "gamma", .interval_s = 1.0, .budget_ms = 100},
        };
        struct ph_error error = {0};
        assert_int_equal(app_state_set_plugins(state, next, 2, &error), 0);
        assert_int_equal(app_state_plugin_count(state), 2);
        size_t index = 99;
        assert_int_equal(app_state_find_plugin(state, "alpha", &index), -ENOENT);
        assert_int_equal(app_state_find_plugin(state, "gamma", &index), 0);
        assert_int_equal(index, 1);
        assert_int_equal(app_state_find_plugin(state, "beta", &index), 0);
        assert_int_equal(index, 0);

        struct app_plugin_view view;
        assert_int_equal(app_state_get_plugin(state, 0, now_ms, &view), 0);
        assert_string_equal(view.name, "beta");
        assert_true(view.interval_s == 2.0);
        assert_int_equal(view.budget_ms, 70);
        assert_int_equal(view.poll_count, 1);
        assert_int_equal(view.reading_count, 2);
        assert_true(view.readings[0].value == 30.0);
        assert_int_equal(view.status.history_count, 1);
        assert_string_equal(view.status.history[0].kind, "loaded");
        app_plugin_view_clear(&view);
        assert_int_equal(app_state_get_plugin(state, 1, now_ms, &view), 0);
        assert_string_equal(view.name, "gamma");
        assert_int_equal(view.poll_count, 0);
        assert_int_equal(view.reading_count, 0);
        app_plugin_view_clear(&view);
        assert_int_equal(app_state_get_plugin(state, 2, now_ms, &view), -EINVAL);

        /* The chart history and the readings document: beta's, not alpha's. */
        json_t *history = load(app_state_history_json(state, now_ms, &(size_t){0}));
        size_t i;
        json_t *series;
        json_array_foreach(history, i, series) {
                assert_string_equal(json_string_value(json_object_get(series, "plugin")), "beta");
        }
        assert_int_equal(json_array_size(history), 2);
        json_decref(history);
        json_t *readings = load(app_state_readings_json(state, &(size_t){0}));
        json_t *plugins = json_object_get(readings, "plugins");
        assert_null(json_object_get(plugins, "alpha"));
        assert_non_null(json_object_get(plugins, "beta"));
        assert_non_null(json_object_get(plugins, "gamma"));
        json_decref(readings);
        app_state_free(state);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plugins_are_found_by_name),
                cmocka_unit_test(test_readings_document_starts_empty_then_holds_the_latest),
                cmocka_unit_test(test_failed_poll_keeps_last_good_readings_and_counts_the_kind),
                cmocka_unit_test(test_poll_durations_fall_in_their_buckets),
                cmocka_unit_test(test_history_keeps_only_the_last_hour_per_series),
                cmocka_unit_test(test_history_ring_drops_the_oldest_samples),
                cmocka_unit_test(test_leds_report_a_change_only_once),
                cmocka_unit_test(test_reload_request_shows_until_an_event_or_its_timeout),
                cmocka_unit_test(test_status_is_replaced_whole),
                cmocka_unit_test(test_readers_never_see_a_half_written_poll),
                cmocka_unit_test(
                        test_a_new_plugin_set_keeps_what_was_recorded_of_the_plugins_that_stay),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
