/* Unit tests of src/store/history.c against a real SQLite file in a
 * temporary directory: batching, flush and close, retention, query filters,
 * and a write failure that is reported once, counted and recovered from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "store/history.h"

#define HOUR_MS INT64_C(3600000)

struct fixture {
        char directory[64];
        char path[128];
};

static int set_up(void **state) {
        struct fixture *fixture = calloc(1, sizeof(*fixture));
        if (fixture == NULL)
                return -1;
        snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/pyhost-test-history-XXXXXX");
        if (mkdtemp(fixture->directory) == NULL)
                return -1;
        snprintf(fixture->path, sizeof(fixture->path), "%s/history.db", fixture->directory);
        *state = fixture;
        return 0;
}

static int tear_down(void **state) {
        struct fixture *fixture = *state;
        const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < 4; i++) {
                char path[160];
                snprintf(path, sizeof(path), "%s%s", fixture->path, suffixes[i]);
                unlink(path);
        }
        rmdir(fixture->directory);
        free(fixture);
        return 0;
}

static int64_t now_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static struct history_options options_for(const struct fixture *fixture) {
        return (struct history_options){.path = fixture->path,
                                        .sync = HISTORY_SYNC_NORMAL,
                                        .batch_rows = 1000,
                                        .batch_ms = 3600000, /* only count, flush or close */
                                        .queue_rows = 10000};
}

static struct history *open_history(const struct history_options *options) {
        struct ph_error error = {0};
        struct history *history = history_open(options, &error);
        if (history == NULL)
                fail_msg("history_open: %s", error.message);
        return history;
}

/* Appends one reading of `sensor` with `value` at `time_ms`. */
static void append(struct history *history, const char *sensor, double value, int64_t time_ms) {
        struct reading reading = {.quantity = READING_TEMPERATURE,
                                  .value = value,
                                  .is_finite = isfinite(value),
                                  .status = READING_OK};
        snprintf(reading.sensor, sizeof(reading.sensor), "%s", sensor);
        snprintf(reading.unit, sizeof(reading.unit), "°C");
        struct reading_list list = {.items = &reading, .count = 1};
        assert_int_equal(history_append(history, "greenhouse", time_ms, &list), 0);
}

static json_t *query(const struct fixture *fixture, const char *sensor, int64_t since_ms,
                     size_t limit) {
        struct ph_error error = {0};
        struct history_query query = {.sensor = sensor, .since_ms = since_ms, .limit = limit};
        json_t *rows = history_query_json(fixture->path, &query, &error);
        if (rows == NULL)
                fail_msg("history_query_json: %s", error.message);
        return rows;
}

static size_t committed_rows(const struct fixture *fixture) {
        json_t *rows = query(fixture, NULL, 0, 0);
        size_t count = json_array_size(rows);
        json_decref(rows);
        return count;
}

static double value_at(json_t *rows, size_t index) {
        return json_real_value(json_object_get(json_array_get(rows, index), "value"));
}

/* Waits (without a deadline of its own: cmocka's caller and ctest's timeout
 * bound it) until `count` rows are committed. */
static void wait_for_committed_rows(const struct fixture *fixture, size_t count) {
        for (unsigned i = 0; i < 100000 && committed_rows(fixture) < count; i++)
                usleep(10000);
        assert_int_equal(committed_rows(fixture), count);
}

static void test_flushed_readings_are_queried_back_with_every_field(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        struct history *history = open_history(&options);
        int64_t time_ms = now_ms();
        append(history, "greenhouse", 23.5, time_ms);
        append(history, "greenhouse", NAN, time_ms + 1);
        struct ph_error error = {0};
        assert_int_equal(history_flush(history, &error), 0);

        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 2);
        json_t *first = json_array_get(rows, 0);
        assert_int_equal(json_integer_value(json_object_get(first, "time_ms")), time_ms);
        assert_string_equal(json_string_value(json_object_get(first, "plugin")), "greenhouse");
        assert_string_equal(json_string_value(json_object_get(first, "sensor")), "greenhouse");
        assert_string_equal(json_string_value(json_object_get(first, "quantity")), "temperature");
        assert_string_equal(json_string_value(json_object_get(first, "unit")), "°C");
        assert_string_equal(json_string_value(json_object_get(first, "status")), "ok");
        assert_true(value_at(rows, 0) == 23.5);
        json_t *second = json_array_get(rows, 1);
        assert_true(json_is_null(json_object_get(second, "value")));
        assert_true(json_is_false(json_object_get(second, "valid")));
        json_decref(rows);

        struct history_stats stats;
        history_get_stats(history, &stats);
        assert_int_equal(stats.appended, 2);
        assert_int_equal(stats.written, 2);
        history_close(history);
}

static void test_batch_is_committed_when_it_reaches_batch_rows(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.batch_rows = 3; /* batch_ms is an hour: only the count commits */
        struct history *history = open_history(&options);
        append(history, "a", 1, now_ms());
        append(history, "a", 2, now_ms());
        assert_int_equal(committed_rows(fixture), 0); /* the batch is still open */
        append(history, "a", 3, now_ms());
        wait_for_committed_rows(fixture, 3);
        append(history, "a", 4, now_ms());
        assert_int_equal(committed_rows(fixture), 3);
        history_close(history);
}

static void test_batch_is_committed_when_batch_ms_has_passed(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.batch_ms = 20; /* batch_rows is 1000: only the time commits */
        struct history *history = open_history(&options);
        append(history, "a", 1, now_ms());
        wait_for_committed_rows(fixture, 1);
        history_close(history);
}

static void test_close_commits_the_open_batch(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        struct history *history = open_history(&options);
        for (int i = 0; i < 10; i++)
                append(history, "a", i, now_ms());
        history_close(history);
        assert_int_equal(committed_rows(fixture), 10);
}

static void test_full_queue_drops_and_counts_readings(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.batch_rows = 4;
        options.queue_rows = 4;
        options.batch_ms = 3600000;
        struct history *history = open_history(&options);
        /* Five readings in one poll: the fifth does not fit the queue. */
        struct reading readings[5] = {0};
        for (int i = 0; i < 5; i++) {
                snprintf(readings[i].sensor, sizeof(readings[i].sensor), "s");
                readings[i].value = i;
                readings[i].is_finite = true;
        }
        struct reading_list list = {.items = readings, .count = 5};
        struct capture capture;
        capture_start(&capture);
        int result = history_append(history, "p", now_ms(), &list);
        const char *log = capture_stop(&capture);
        assert_int_equal(result, -ENOBUFS);
        assert_int_equal(count_occurrences(log, "queue of 4 readings is full"), 1);
        struct ph_error error = {0};
        assert_int_equal(history_flush(history, &error), 0);
        struct history_stats stats;
        history_get_stats(history, &stats);
        assert_int_equal(stats.appended, 4);
        assert_int_equal(stats.dropped_full, 1);
        assert_int_equal(committed_rows(fixture), 4);
        history_close(history);
}

static void test_retention_keeps_the_newest_max_rows(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.max_rows = 5;
        options.batch_rows = 4;
        struct history *history = open_history(&options);
        for (int i = 1; i <= 12; i++)
                append(history, "a", i, now_ms());
        struct ph_error error = {0};
        assert_int_equal(history_flush(history, &error), 0);
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 5);
        for (size_t i = 0; i < 5; i++)
                assert_true(value_at(rows, i) == (double)(8 + i));
        json_decref(rows);
        struct history_stats stats;
        history_get_stats(history, &stats);
        assert_int_equal(stats.deleted, 7);
        history_close(history);
}

static void test_retention_deletes_rows_older_than_max_age(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.max_age_s = 3600;
        struct history *history = open_history(&options);
        int64_t now = now_ms();
        append(history, "a", 1, now - 3 * HOUR_MS);
        append(history, "a", 2, now - 2 * HOUR_MS);
        append(history, "a", 3, now - HOUR_MS / 2);
        append(history, "a", 4, now);
        struct ph_error error = {0};
        assert_int_equal(history_flush(history, &error), 0);
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 2);
        assert_true(value_at(rows, 0) == 3);
        assert_true(value_at(rows, 1) == 4);
        json_decref(rows);
        history_close(history);
}

static void test_query_filters_by_sensor_since_and_limit(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        struct history *history = open_history(&options);
        int64_t base = now_ms() - 100000;
        for (int i = 0; i < 10; i++)
                append(history, i % 2 == 0 ? "even" : "odd", i, base + i * 1000);
        history_close(history);

        json_t *rows = query(fixture, "even", 0, 0);
        assert_int_equal(json_array_size(rows), 5);
        for (size_t i = 0; i < 5; i++)
                assert_true(value_at(rows, i) == (double)(2 * i));
        json_decref(rows);

        rows = query(fixture, NULL, base + 6000, 0); /* since is inclusive */
        assert_int_equal(json_array_size(rows), 4);
        assert_true(value_at(rows, 0) == 6);
        json_decref(rows);

        rows = query(fixture, NULL, 0, 3); /* the newest three, oldest first */
        assert_int_equal(json_array_size(rows), 3);
        assert_true(value_at(rows, 0) == 7);
        assert_true(value_at(rows, 2) == 9);
        json_decref(rows);

        rows = query(fixture, "odd", base + 2000, 2);
        assert_int_equal(json_array_size(rows), 2);
        assert_true(value_at(rows, 0) == 7);
        assert_true(value_at(rows, 1) == 9);
        json_decref(rows);

        rows = query(fixture, "nothing", 0, 0);
        assert_int_equal(json_array_size(rows), 0);
        json_decref(rows);
}

static void test_failed_write_is_logged_once_counted_and_recovered(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        struct history *history = open_history(&options);
        struct ph_error error = {0};
        append(history, "a", 1, now_ms());
        assert_int_equal(history_flush(history, &error), 0);

        /* No file of this process may grow beyond the database's size any
         * more: commits cannot append to the write-ahead log, nor can a
         * checkpoint grow the database (EFBIG, a full disk for this
         * process). */
        struct stat info;
        assert_int_equal(stat(fixture->path, &info), 0);
        struct rlimit saved;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
        struct rlimit limit = {.rlim_cur = (rlim_t)info.st_size, .rlim_max = saved.rlim_max};
        void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);

        struct capture capture;
        capture_start(&capture);
        int results[3];
        for (int batch = 0; batch < 3; batch++) {
                for (int i = 0; i < 5; i++)
                        append(history, "a", 100 + i, now_ms());
                results[batch] = history_flush(history, &error);
        }
        const char *log = capture_stop(&capture);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        signal(SIGXFSZ, saved_handler);
        for (int batch = 0; batch < 3; batch++)
                assert_int_equal(results[batch], -EIO);

        assert_non_null(strstr(error.message, fixture->path));
        assert_int_equal(count_occurrences(log, "dropped (and counted)"), 1);
        struct history_stats stats;
        history_get_stats(history, &stats);
        assert_true(stats.is_failing);
        assert_int_equal(stats.write_errors, 3);
        assert_int_equal(stats.dropped_failed, 15);

        /* The disk has room again: the next batch is written. */
        append(history, "a", 2, now_ms());
        assert_int_equal(history_flush(history, &error), 0);
        history_get_stats(history, &stats);
        assert_false(stats.is_failing);
        assert_int_equal(stats.written, 2);
        history_close(history);
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 2);
        assert_true(value_at(rows, 1) == 2);
        json_decref(rows);
}

static void test_missing_directory_is_an_error_naming_the_path(void **state) {
        (void)state;
        struct history_options options = {.path = "/nonexistent-pyhost/history.db",
                                          .batch_rows = 1,
                                          .batch_ms = 1,
                                          .queue_rows = 1};
        struct ph_error error = {0};
        assert_null(history_open(&options, &error));
        assert_non_null(strstr(error.message, "/nonexistent-pyhost"));
}

static void test_invalid_options_are_refused(void **state) {
        struct fixture *fixture = *state;
        struct history_options options = options_for(fixture);
        options.queue_rows = options.batch_rows - 1;
        struct ph_error error = {0};
        assert_null(history_open(&options, &error));
        assert_non_null(strstr(error.message, "queue_rows"));
        options = options_for(fixture);
        options.batch_rows = 0;
        assert_null(history_open(&options, &error));
        assert_non_null(strstr(error.message, "batch_rows"));
        history_close(NULL);
}

static void test_since_accepts_milliseconds_and_durations(void **state) {
        (void)state;
        int64_t since = 0;
        assert_int_equal(history_parse_since("1764000000000", 0, &since), 0);
        assert_int_equal(since, INT64_C(1764000000000));
        assert_int_equal(history_parse_since("15m", 1000000, &since), 0);
        assert_int_equal(since, 100000);
        assert_int_equal(history_parse_since("2h", 10 * HOUR_MS, &since), 0);
        assert_int_equal(since, 8 * HOUR_MS);
        assert_int_equal(history_parse_since("1d", 48 * HOUR_MS, &since), 0);
        assert_int_equal(since, 24 * HOUR_MS);
        assert_int_equal(history_parse_since("-5", 0, &since), -EINVAL);
        assert_int_equal(history_parse_since("5x", 0, &since), -EINVAL);
        assert_int_equal(history_parse_since("5mm", 0, &since), -EINVAL);
        assert_int_equal(history_parse_since("", 0, &since), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_flushed_readings_are_queried_back_with_every_field, set_up, tear_down),
                cmocka_unit_test_setup_teardown(test_batch_is_committed_when_it_reaches_batch_rows,
                                                set_up, tear_down),
                cmocka_unit_test_setup_teardown(test_batch_is_committed_when_batch_ms_has_passed,
                                                set_up, tear_down),
                cmocka_unit_test_setup_teardown(test_close_commits_the_open_batch, set_up,
                                                tear_down),
                cmocka_unit_test_setup_teardown(test_full_queue_drops_and_counts_readings, set_up,
                                                tear_down),
                cmocka_unit_test_setup_teardown(test_retention_keeps_the_newest_max_rows, set_up,
                                                tear_down),
                cmocka_unit_test_setup_teardown(test_retention_deletes_rows_older_than_max_age,
                                                set_up, tear_down),
                cmocka_unit_test_setup_teardown(test_query_filters_by_sensor_since_and_limit,
                                                set_up, tear_down),
                cmocka_unit_test_setup_teardown(
                        test_failed_write_is_logged_once_counted_and_recovered, set_up, tear_down),
                cmocka_unit_test(test_missing_directory_is_an_error_naming_the_path),
                cmocka_unit_test_setup_teardown(test_invalid_options_are_refused, set_up,
                                                tear_down),
                cmocka_unit_test(test_since_accepts_milliseconds_and_durations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
