/* Unit tests of src/store/history.c against a real SQLite file in a
 * temporary directory: batching, flush and close, retention, query filters,
 * a write failure that is reported once, counted and recovered from, and
 * damaged databases moved aside (src/store/history_file.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "store/history.h"
#include "store/history_file.h"

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
        /* The database, its -wal and -shm, and whatever was moved aside. */
        DIR *directory = opendir(fixture->directory);
        struct dirent *entry;
        while (directory != NULL && (entry = readdir(directory)) != NULL) {
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s", fixture->directory, entry->d_name);
                if (entry->d_name[0] != '.')
                        unlink(path);
        }
        if (directory != NULL)
                closedir(directory);
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

/* --- damaged databases ----------------------------------------------------- */

#define PAGE_BYTES 4096

static void write_text(const char *path, const char *text) {
        FILE *file = fopen(path, "w");
        assert_non_null(file);
        assert_int_equal(fputs(text, file) >= 0, 1);
        assert_int_equal(fclose(file), 0);
}

/* The whole file (NUL-terminated); the caller frees it. */
static char *read_all(const char *path, size_t *ret_size) {
        FILE *file = fopen(path, "rb");
        if (file == NULL)
                fail_msg("%s: %s", path, strerror(errno));
        assert_int_equal(fseek(file, 0, SEEK_END), 0);
        long size = ftell(file);
        assert_true(size >= 0);
        rewind(file);
        char *bytes = malloc((size_t)size + 1);
        assert_non_null(bytes);
        assert_int_equal(fread(bytes, 1, (size_t)size, file), (size_t)size);
        bytes[size] = '\0';
        fclose(file);
        *ret_size = (size_t)size;
        return bytes;
}

static void assert_file_holds(const char *path, const char *bytes, size_t size) {
        size_t actual_size = 0;
        char *actual = read_all(path, &actual_size);
        assert_int_equal(actual_size, size);
        assert_memory_equal(actual, bytes, size);
        free(actual);
}

static bool exists(const char *path, const char *suffix) {
        char name[PATH_MAX + 8];
        snprintf(name, sizeof(name), "%s%s", path, suffix);
        return access(name, F_OK) == 0;
}

/* `count` rows of sensor "a" at `time_ms`, committed through the history. */
static void fill(const struct fixture *fixture, size_t count, int64_t time_ms) {
        struct history_options options = options_for(fixture);
        struct history *history = open_history(&options);
        struct ph_error error = {0};
        for (size_t i = 0; i < count; i++) {
                append(history, "a", (double)i, time_ms);
                if ((i + 1) % options.queue_rows == 0)
                        assert_int_equal(history_flush(history, &error), 0);
        }
        history_close(history);
}

/* Writes garbage over `count` pages in the middle of the file. */
static void damage_middle(const char *path, size_t count) {
        struct stat info;
        assert_int_equal(stat(path, &info), 0);
        size_t pages = (size_t)info.st_size / PAGE_BYTES;
        assert_true(pages > 4 * count);
        char garbage[PAGE_BYTES];
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (char)(i * 7 + 13);
        FILE *file = fopen(path, "r+b");
        assert_non_null(file);
        assert_int_equal(fseek(file, (long)(pages / 2 * PAGE_BYTES), SEEK_SET), 0);
        for (size_t i = 0; i < count; i++)
                assert_int_equal(fwrite(garbage, 1, sizeof(garbage), file), sizeof(garbage));
        assert_int_equal(fclose(file), 0);
}

static void test_move_aside_names_the_utc_time_and_never_replaces_a_file(void **state) {
        struct fixture *fixture = *state;
        char wal[PATH_MAX], shm[PATH_MAX];
        snprintf(wal, sizeof(wal), "%s-wal", fixture->path);
        snprintf(shm, sizeof(shm), "%s-shm", fixture->path);
        write_text(fixture->path, "database");
        write_text(wal, "log");
        write_text(shm, "shared memory");
        time_t when = 1764000000; /* 2025-11-24 16:00:00 UTC */
        char aside[PATH_MAX], expected[PATH_MAX + 32];
        struct ph_error error = {0};
        assert_int_equal(history_file_move_aside(fixture->path, when, aside, sizeof(aside), &error),
                         0);
        snprintf(expected, sizeof(expected), "%s.corrupt-20251124T160000Z", fixture->path);
        assert_string_equal(aside, expected);
        assert_file_holds(aside, "database", 8);
        char moved[PATH_MAX + 8];
        snprintf(moved, sizeof(moved), "%s-wal", aside);
        assert_file_holds(moved, "log", 3);
        snprintf(moved, sizeof(moved), "%s-shm", aside);
        assert_file_holds(moved, "shared memory", 13);
        assert_false(exists(fixture->path, ""));
        assert_false(exists(fixture->path, "-wal"));
        assert_false(exists(fixture->path, "-shm"));

        /* The same second again (a database alone): a counter, nothing
         * replaced. */
        write_text(fixture->path, "second");
        assert_int_equal(history_file_move_aside(fixture->path, when, aside, sizeof(aside), &error),
                         0);
        snprintf(expected, sizeof(expected), "%s.corrupt-20251124T160000Z.1", fixture->path);
        assert_string_equal(aside, expected);
        assert_file_holds(aside, "second", 6);
        assert_false(exists(aside, "-wal"));
        snprintf(expected, sizeof(expected), "%s.corrupt-20251124T160000Z", fixture->path);
        assert_file_holds(expected, "database", 8);

        /* A name whose -shm alone is taken is not used either. */
        snprintf(expected, sizeof(expected), "%s.corrupt-20251124T160000Z.2-shm", fixture->path);
        write_text(expected, "someone else's");
        write_text(fixture->path, "third");
        assert_int_equal(history_file_move_aside(fixture->path, when, aside, sizeof(aside), &error),
                         0);
        snprintf(expected, sizeof(expected), "%s.corrupt-20251124T160000Z.3", fixture->path);
        assert_string_equal(aside, expected);
        assert_file_holds(aside, "third", 5);

        /* Nothing to move: an error naming the file. */
        assert_int_equal(history_file_move_aside(fixture->path, when, aside, sizeof(aside), &error),
                         -ENOENT);
        assert_non_null(strstr(error.message, fixture->path));
}

static void test_file_that_is_not_a_database_is_moved_aside_and_recording_goes_on(void **state) {
        struct fixture *fixture = *state;
        const char *text = "these are not the pages you are looking for\n";
        write_text(fixture->path, text);
        struct history_options options = options_for(fixture);
        options.check_ms = 10000;
        struct capture capture;
        capture_start(&capture);
        struct history *history = open_history(&options);
        append(history, "a", 42, now_ms());
        struct ph_error error = {0};
        int flushed = history_flush(history, &error);
        struct history_stats stats;
        history_get_stats(history, &stats);
        history_close(history);
        const char *log = capture_stop(&capture);

        assert_int_equal(flushed, 0);
        assert_int_equal(stats.recoveries, 1);
        assert_int_equal(stats.written, 1);
        assert_false(stats.is_failing);
        assert_int_equal(stats.state, HISTORY_STATE_OK);
        assert_true(stats.last_recovery_ms > 0);
        assert_true(history_stats_is_degraded(&stats));
        assert_non_null(strstr(stats.last_error, "not a database"));
        assert_non_null(strstr(stats.last_aside, ".corrupt-"));
        assert_file_holds(stats.last_aside, text, strlen(text));
        assert_non_null(strstr(log, "DAMAGED DATABASE"));
        assert_non_null(strstr(log, stats.last_aside));
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 1);
        assert_true(value_at(rows, 0) == 42);
        json_decref(rows);
}

static void test_quick_check_at_start_moves_a_database_with_damaged_pages_aside(void **state) {
        struct fixture *fixture = *state;
        fill(fixture, 20000, now_ms());
        damage_middle(fixture->path, 8);
        size_t size = 0;
        char *damaged = read_all(fixture->path, &size);

        struct history_options options = options_for(fixture);
        options.check_ms = 10000;
        struct capture capture;
        capture_start(&capture);
        struct history *history = open_history(&options);
        append(history, "a", 7, now_ms());
        struct ph_error error = {0};
        int flushed = history_flush(history, &error);
        struct history_stats stats;
        history_get_stats(history, &stats);
        history_close(history);
        const char *log = capture_stop(&capture);

        assert_int_equal(flushed, 0);
        assert_int_equal(stats.recoveries, 1);
        assert_non_null(strstr(stats.last_error, "quick_check"));
        assert_non_null(strstr(log, "DAMAGED DATABASE"));
        /* Kept as it was: the check reads, and the close does not
         * checkpoint into it. */
        assert_file_holds(stats.last_aside, damaged, size);
        free(damaged);
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 1);
        assert_true(value_at(rows, 0) == 7);
        json_decref(rows);
}

/* Commits a row of `sensor` that stays in the write-ahead log: the
 * connection closes without a checkpoint. */
static void commit_into_the_log_only(const char *path, const char *sensor) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO readings (time_ms, plugin, sensor, quantity, value, unit, status)"
                 " VALUES (%lld, 'greenhouse', '%s', 'temperature', 1, 'C', 'ok')",
                 (long long)now_ms(), sensor);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_damage_met_while_writing_moves_the_database_and_its_wal_aside(void **state) {
        struct fixture *fixture = *state;
        fill(fixture, 20000, now_ms() - 2 * HOUR_MS);
        commit_into_the_log_only(fixture->path, "in-the-log");
        damage_middle(fixture->path, 8);
        size_t size = 0, wal_size = 0;
        char *damaged = read_all(fixture->path, &size);
        char wal[PATH_MAX];
        snprintf(wal, sizeof(wal), "%s-wal", fixture->path);
        char *log_bytes = read_all(wal, &wal_size);
        assert_true(wal_size > 32);

        /* No check at start: the damage is met by the first batch, whose
         * retention deletes every old row. */
        struct history_options options = options_for(fixture);
        options.max_age_s = 3600;
        struct history *history = open_history(&options);
        struct capture capture;
        capture_start(&capture);
        append(history, "new", 1, now_ms());
        struct ph_error error = {0};
        int flushed = history_flush(history, &error);
        /* The queue and the writer go on: a second batch, same database. */
        append(history, "new", 2, now_ms());
        int flushed_again = history_flush(history, &error);
        const char *log = capture_stop(&capture);
        struct history_stats stats;
        history_get_stats(history, &stats);
        history_close(history);

        assert_int_equal(flushed, 0);
        assert_int_equal(flushed_again, 0);
        assert_int_equal(stats.recoveries, 1);
        assert_int_equal(stats.written, 2);
        assert_int_equal(stats.dropped_failed, 0);
        assert_non_null(strstr(stats.last_error, "malformed"));
        assert_int_equal(count_occurrences(log, "DAMAGED DATABASE"), 1);
        assert_file_holds(stats.last_aside, damaged, size);
        free(damaged);
        /* Its log went with it (the same log: its header is unchanged) ... */
        char moved_wal[PATH_MAX + 8];
        snprintf(moved_wal, sizeof(moved_wal), "%s-wal", stats.last_aside);
        size_t moved_size = 0;
        char *moved = read_all(moved_wal, &moved_size);
        assert_true(moved_size >= 32);
        assert_memory_equal(moved, log_bytes, 32);
        free(moved);
        free(log_bytes);
        /* ... and none of it reached the fresh database. */
        json_t *rows = query(fixture, NULL, 0, 0);
        assert_int_equal(json_array_size(rows), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "sensor")),
                            "new");
        json_decref(rows);
}

static void test_quick_check_gives_up_when_its_time_is_up(void **state) {
        struct fixture *fixture = *state;
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(fixture->path, &db), SQLITE_OK);
        /* About 20 MB: quick_check takes tens of milliseconds. */
        assert_int_equal(sqlite3_exec(db,
                                      "CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT);"
                                      "CREATE INDEX t_by_text ON t(text);"
                                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                                      " FROM n WHERE i < 200000)"
                                      " INSERT INTO t SELECT i, printf('%040d', i * 7919) FROM n;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        struct ph_error error = {0};
        assert_int_equal(history_file_check(db, fixture->path, 0, &error),
                         HISTORY_CHECK_UNFINISHED);
        assert_int_equal(history_file_check(db, fixture->path, 60000, &error), HISTORY_CHECK_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
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
                cmocka_unit_test_setup_teardown(
                        test_move_aside_names_the_utc_time_and_never_replaces_a_file, set_up,
                        tear_down),
                cmocka_unit_test_setup_teardown(
                        test_file_that_is_not_a_database_is_moved_aside_and_recording_goes_on,
                        set_up, tear_down),
                cmocka_unit_test_setup_teardown(
                        test_quick_check_at_start_moves_a_database_with_damaged_pages_aside, set_up,
                        tear_down),
                cmocka_unit_test_setup_teardown(
                        test_damage_met_while_writing_moves_the_database_and_its_wal_aside, set_up,
                        tear_down),
                cmocka_unit_test_setup_teardown(test_quick_check_gives_up_when_its_time_is_up,
                                                set_up, tear_down),
                cmocka_unit_test(test_missing_directory_is_an_error_naming_the_path),
                cmocka_unit_test_setup_teardown(test_invalid_options_are_refused, set_up,
                                                tear_down),
                cmocka_unit_test(test_since_accepts_milliseconds_and_durations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
