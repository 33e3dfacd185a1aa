/* Unit tests of src/cli/host_outputs.c: which records each of `pyhost
 * run`'s own consumers takes, driven through a real pipeline with a
 * test-made struct host (fake plugins, fake_plugin.c; a real history in a
 * temporary directory; no MQTT broker, so no MQTT publisher):
 *   stdout   one JSON line per good scheduled or operator poll
 *   log      one error line (and the traceback) per failed poll, nothing
 *            for a skipped one
 *   history  readings of scheduled and operator polls only
 *   liveness a beat for every scheduled or operator poll, failed or not */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "cli/host.h"
#include "core/clock.h"
#include "fake_plugin.h"

struct fixture {
        struct host *host;
        struct plugin plugin;
        char directory[64];
        char path[128];
};

static int setup(void **state) {
        struct fixture *fixture = calloc(1, sizeof(*fixture));
        assert_non_null(fixture);
        fake_plugin_init(&fixture->plugin, "greenhouse");
        struct host *host = calloc(1, sizeof(*host));
        assert_non_null(host);
        pthread_mutex_init(&host->output_lock, NULL);
        pthread_mutex_init(&host->recorders_lock, NULL);
        struct ph_error error = {0};
        host->pipeline = pipeline_new(&error);
        assert_non_null(host->pipeline);
        host->running.plugins[0] = &fixture->plugin;
        host->running.count = 1;
        liveness_init(&host->running.liveness);
        size_t index = 0;
        assert_int_equal(
                liveness_add(&host->running.liveness, "greenhouse", 60000, 0, &index, &error), 0);
        snprintf(fixture->directory, sizeof(fixture->directory), "%s",
                 "/tmp/pyhost-test-outputs-XXXXXX");
        assert_non_null(mkdtemp(fixture->directory));
        snprintf(fixture->path, sizeof(fixture->path), "%s/history.db", fixture->directory);
        struct history_options options = {.path = fixture->path,
                                          .sync = HISTORY_SYNC_NORMAL,
                                          .batch_rows = 1000,
                                          .batch_ms = 3600000,
                                          .queue_rows = 1000};
        host->history = history_open(&options, &error);
        if (host->history == NULL)
                fail_msg("history_open: %s", error.message);
        fixture->host = host;
        *state = fixture;
        return 0;
}

static int teardown(void **state) {
        struct fixture *fixture = *state;
        struct host *host = fixture->host;
        pipeline_free(host->pipeline);
        history_close(host->history);
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
        pthread_mutex_destroy(&host->output_lock);
        pthread_mutex_destroy(&host->recorders_lock);
        free(host);
        fake_plugin_destroy(&fixture->plugin);
        free(fixture);
        return 0;
}

static struct poll_record *record_of(enum poll_origin origin, enum poll_outcome outcome) {
        struct poll_record *record = poll_record_new("greenhouse");
        assert_non_null(record);
        record->origin = origin;
        record->finished_ms = poll_record_now_ms();
        record->duration_ms = 2;
        if (outcome == POLL_OUTCOME_OK) {
                struct reading *item = calloc(1, sizeof(*item));
                assert_non_null(item);
                snprintf(item->sensor, sizeof(item->sensor), "%s", "air\xe2\x80\xae");
                snprintf(item->unit, sizeof(item->unit), "%s", "C");
                item->value = 20.5;
                item->is_finite = true;
                record->readings = (struct reading_list){.items = item, .count = 1};
        } else {
                assert_int_equal(poll_record_set_failure(record, outcome,
                                                         outcome == POLL_OUTCOME_SKIPPED
                                                                 ? "quarantined"
                                                                 : "guest-error",
                                                         "ValueError: bad", "Traceback: line 7"),
                                 0);
        }
        return record;
}

/* What the consumers wrote to stdout and stderr while `count` records were
 * published and delivered. */
struct outputs {
        char out[8192];
        struct capture err;
};

static void publish_all(struct host *host, struct poll_record **records, size_t count,
                        struct outputs *ret) {
        fflush(stdout);
        FILE *file = tmpfile();
        assert_non_null(file);
        int saved = dup(STDOUT_FILENO);
        dup2(fileno(file), STDOUT_FILENO);
        capture_start(&ret->err);
        for (size_t i = 0; i < count; i++)
                pipeline_publish(host->pipeline, records[i]);
        assert_int_equal(pipeline_drain(host->pipeline, 10000), 0);
        capture_stop(&ret->err);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        rewind(file);
        size_t length = fread(ret->out, 1, sizeof(ret->out) - 1, file);
        ret->out[length] = '\0';
        fclose(file);
}

static uint64_t history_appended(struct host *host) {
        struct history_stats *stats = calloc(1, sizeof(*stats));
        assert_non_null(stats);
        history_get_stats(host->history, stats);
        uint64_t appended = stats->appended;
        free(stats);
        return appended;
}

static void test_a_good_poll_is_one_escaped_json_line_and_history(void **state) {
        struct fixture *fixture = *state;
        struct ph_error error = {0};
        assert_int_equal(host_outputs_subscribe(fixture->host, &error), 0);
        struct poll_record *records[] = {record_of(POLL_ORIGIN_SCHEDULED, POLL_OUTCOME_OK),
                                         record_of(POLL_ORIGIN_OPERATOR, POLL_OUTCOME_OK)};
        struct outputs outputs;
        publish_all(fixture->host, records, 2, &outputs);
        assert_int_equal(count_occurrences(outputs.out, "\n"), 2);
        assert_int_equal(count_occurrences(outputs.out, "\"origin\":\"scheduled\""), 1);
        assert_int_equal(count_occurrences(outputs.out, "\"origin\":\"operator\""), 1);
        /* The plugin's bidi control leaves escaped. */
        assert_null(strstr(outputs.out, "\xe2\x80\xae"));
        assert_int_equal(count_occurrences(outputs.out, "air\\u202e"), 2);
        json_t *line = json_loads(outputs.out, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(line);
        assert_string_equal(json_string_value(json_object_get(line, "plugin")), "greenhouse");
        json_decref(line);
        assert_int_equal(history_appended(fixture->host), 2);
}

static void test_a_failed_poll_is_logged_with_its_traceback_not_printed(void **state) {
        struct fixture *fixture = *state;
        struct ph_error error = {0};
        assert_int_equal(host_outputs_subscribe(fixture->host, &error), 0);
        struct poll_record *records[] = {record_of(POLL_ORIGIN_OPERATOR, POLL_OUTCOME_FAILED)};
        struct outputs outputs;
        publish_all(fixture->host, records, 1, &outputs);
        assert_string_equal(outputs.out, "");
        const char *log = outputs.err.text;
        assert_int_equal(count_occurrences(log, "poll failed (guest-error)"), 1);
        assert_int_equal(count_occurrences(log, "(asked by an operator)"), 1);
        assert_int_equal(count_occurrences(log, "ValueError: bad"), 1);
        assert_int_equal(count_occurrences(log, "Traceback: line 7"), 1);
        assert_int_equal(history_appended(fixture->host), 0);
}

static void test_skipped_and_trial_polls_say_nothing_and_record_nothing(void **state) {
        struct fixture *fixture = *state;
        struct ph_error error = {0};
        assert_int_equal(host_outputs_subscribe(fixture->host, &error), 0);
        struct poll_record *lifecycle = poll_record_new_lifecycle(
                "greenhouse", "reloaded", "0123456789ab", poll_record_now_ms(), "new version");
        assert_non_null(lifecycle);
        struct poll_record *records[] = {record_of(POLL_ORIGIN_SCHEDULED, POLL_OUTCOME_SKIPPED),
                                         record_of(POLL_ORIGIN_TRIAL, POLL_OUTCOME_OK),
                                         record_of(POLL_ORIGIN_TRIAL, POLL_OUTCOME_FAILED),
                                         lifecycle};
        struct outputs outputs;
        publish_all(fixture->host, records, 4, &outputs);
        assert_string_equal(outputs.out, "");
        assert_null(strstr(outputs.err.text, "poll failed"));
        assert_int_equal(history_appended(fixture->host), 0);
}

static int64_t last_beat(struct host *host) {
        return host->running.liveness.workers[0].last_beat_ms;
}

static void test_every_real_poll_beats_liveness_and_a_trial_does_not(void **state) {
        struct fixture *fixture = *state;
        struct ph_error error = {0};
        assert_int_equal(host_outputs_subscribe(fixture->host, &error), 0);
        struct poll_record *trial[] = {record_of(POLL_ORIGIN_TRIAL, POLL_OUTCOME_OK)};
        struct outputs outputs;
        publish_all(fixture->host, trial, 1, &outputs);
        assert_int_equal(last_beat(fixture->host), 0);
        struct poll_record *skipped[] = {record_of(POLL_ORIGIN_SCHEDULED, POLL_OUTCOME_SKIPPED)};
        int64_t before = clock_monotonic_ms();
        publish_all(fixture->host, skipped, 1, &outputs);
        assert_true(last_beat(fixture->host) >= before);
}

static void test_only_the_recorders_that_exist_are_subscribed(void **state) {
        struct fixture *fixture = *state;
        struct ph_error error = {0};
        assert_int_equal(host_outputs_subscribe(fixture->host, &error), 0);
        struct pipeline_stats stats;
        pipeline_get_stats(fixture->host->pipeline, &stats);
        /* stdout, liveness and history; no MQTT publisher, no MQTT feed. */
        assert_int_equal(stats.count, 3);
        for (size_t i = 0; i < stats.count; i++)
                assert_string_not_equal(stats.subscribers[i].name, "mqtt");
        assert_true(fixture->host->console.is_subscribed);
        assert_true(fixture->host->history_feed.is_subscribed);
        assert_false(fixture->host->mqtt_feed.is_subscribed);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_a_good_poll_is_one_escaped_json_line_and_history, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_failed_poll_is_logged_with_its_traceback_not_printed, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_skipped_and_trial_polls_say_nothing_and_record_nothing, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_every_real_poll_beats_liveness_and_a_trial_does_not, setup, teardown),
                cmocka_unit_test_setup_teardown(test_only_the_recorders_that_exist_are_subscribed,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
