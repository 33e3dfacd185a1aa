/* Unit tests of src/plugin/scheduler.c, against fake plugins
 * (fake_plugin.c): every plugin is polled at once and on its interval, on
 * its own thread; an operator's request is answered exactly once (a poll
 * with its record, a reset with its result, or -ESHUTDOWN when the
 * scheduler stops first); a second request while one is pending is
 * -EBUSY, an unknown plugin -ENOENT, a stopping scheduler -ESHUTDOWN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/pipeline.h"
#include "fake_plugin.h"
#include "plugin/scheduler.h"

/* An operator's answers, as the scheduler gave them. */
struct answers {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        unsigned count;
        int last_result;
        bool had_record;
        enum poll_origin last_origin;
        enum poll_outcome last_outcome;
        char last_plugin[POLL_RECORD_NAME_MAX];
};

static void answers_init(struct answers *answers) {
        memset(answers, 0, sizeof(*answers));
        pthread_mutex_init(&answers->lock, NULL);
        clock_cond_init_monotonic(&answers->changed);
}

static void answers_destroy(struct answers *answers) {
        pthread_cond_destroy(&answers->changed);
        pthread_mutex_destroy(&answers->lock);
}

static void answer(const struct poll_record *record, int result, void *data) {
        struct answers *answers = data;
        pthread_mutex_lock(&answers->lock);
        answers->count++;
        answers->last_result = result;
        answers->had_record = record != NULL;
        if (record != NULL) {
                answers->last_origin = record->origin;
                answers->last_outcome = record->outcome;
                snprintf(answers->last_plugin, sizeof(answers->last_plugin), "%s", record->plugin);
        }
        pthread_cond_broadcast(&answers->changed);
        pthread_mutex_unlock(&answers->lock);
}

/* Waits up to 10 s for `count` answers; returns how many came. */
static unsigned wait_answers(struct answers *answers, unsigned count) {
        struct timespec deadline = clock_monotonic_after_ms(10000);
        pthread_mutex_lock(&answers->lock);
        int waited = 0;
        while (answers->count < count && waited != ETIMEDOUT)
                waited = pthread_cond_timedwait(&answers->changed, &answers->lock, &deadline);
        unsigned seen = answers->count;
        pthread_mutex_unlock(&answers->lock);
        return seen;
}

/* What the pipeline carried. */
struct published {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        unsigned count;
        unsigned by_origin[3];
        unsigned by_outcome[3];
        char last_kind[32];
        char last_message[64];
};

static void collect(const struct poll_record *record, void *data) {
        struct published *published = data;
        pthread_mutex_lock(&published->lock);
        published->count++;
        published->by_origin[record->origin]++;
        published->by_outcome[record->outcome]++;
        snprintf(published->last_kind, sizeof(published->last_kind), "%s",
                 record->failure_kind != NULL ? record->failure_kind : "");
        snprintf(published->last_message, sizeof(published->last_message), "%s",
                 record->message != NULL ? record->message : "");
        pthread_cond_broadcast(&published->changed);
        pthread_mutex_unlock(&published->lock);
}

/* Waits up to 10 s until `count` records were delivered (a poll is
 * published after the plugin returns); returns how many were. */
static unsigned wait_published(struct published *published, unsigned count) {
        struct timespec deadline = clock_monotonic_after_ms(10000);
        pthread_mutex_lock(&published->lock);
        int waited = 0;
        while (published->count < count && waited != ETIMEDOUT)
                waited = pthread_cond_timedwait(&published->changed, &published->lock, &deadline);
        unsigned seen = published->count;
        pthread_mutex_unlock(&published->lock);
        return seen;
}

/* Two fake plugins, "a" and "b", a pipeline that collects, and a
 * scheduler that polls them every `interval_s`. */
struct fixture {
        struct plugin plugins[2];
        struct pipeline *pipeline;
        struct published published;
        struct answers answers;
        struct answers other; /* a second operator's */
        struct scheduler *scheduler;
        pthread_t stopper; /* a thread running scheduler_stop, if has_stopper */
        bool has_stopper;
};

/* cmocka runs the teardown even when a test fails, so no thread is left
 * running into the next test. */
static int setup(void **state) {
        struct fixture *fixture = calloc(1, sizeof(*fixture));
        assert_non_null(fixture);
        fake_plugin_init(&fixture->plugins[0], "a");
        fake_plugin_init(&fixture->plugins[1], "b");
        pthread_mutex_init(&fixture->published.lock, NULL);
        clock_cond_init_monotonic(&fixture->published.changed);
        answers_init(&fixture->answers);
        answers_init(&fixture->other);
        struct ph_error error = {0};
        fixture->pipeline = pipeline_new(&error);
        assert_non_null(fixture->pipeline);
        struct pipeline_subscriber_spec spec = {
                .name = "test", .capacity = 1024, .deliver = collect, .data = &fixture->published};
        unsigned id = 0;
        assert_int_equal(pipeline_subscribe(fixture->pipeline, &spec, &id, &error), 0);
        *state = fixture;
        return 0;
}

static void fixture_start(struct fixture *fixture, double interval_s) {
        struct plugin *plugins[2] = {&fixture->plugins[0], &fixture->plugins[1]};
        double intervals[2] = {interval_s, interval_s};
        struct ph_error error = {0};
        fixture->scheduler = scheduler_start(plugins, intervals, 2, fixture->pipeline, &error);
        assert_non_null(fixture->scheduler);
}

/* Stops what is still running and frees everything. */
static int teardown(void **state) {
        struct fixture *fixture = *state;
        fake_plugin_hold(&fixture->plugins[0], false);
        fake_plugin_hold(&fixture->plugins[1], false);
        if (fixture->has_stopper)
                pthread_join(fixture->stopper, NULL);
        else
                scheduler_stop(fixture->scheduler);
        pipeline_free(fixture->pipeline);
        answers_destroy(&fixture->answers);
        answers_destroy(&fixture->other);
        pthread_cond_destroy(&fixture->published.changed);
        pthread_mutex_destroy(&fixture->published.lock);
        fake_plugin_destroy(&fixture->plugins[0]);
        fake_plugin_destroy(&fixture->plugins[1]);
        free(fixture);
        return 0;
}

static void test_every_plugin_is_polled_at_once_and_published(void **state) {
        struct fixture *fixture = *state;
        fixture_start(fixture, 3600);
        assert_int_equal(wait_published(&fixture->published, 2), 2);
        assert_int_equal(fixture->published.by_origin[POLL_ORIGIN_SCHEDULED], 2);
        assert_int_equal(fixture->published.by_outcome[POLL_OUTCOME_OK], 2);
}

static void test_polls_repeat_at_the_interval(void **state) {
        struct fixture *fixture = *state;
        fixture_start(fixture, 0.02);
        assert_true(fake_plugin_wait_polls(&fixture->plugins[0], 4));
}

static void test_a_stuck_plugin_delays_no_other(void **state) {
        struct fixture *fixture = *state;
        fake_plugin_hold(&fixture->plugins[0], true);
        fixture_start(fixture, 0.02);
        assert_true(fake_plugin_wait_inside(&fixture->plugins[0]));
        assert_true(fake_plugin_wait_polls(&fixture->plugins[1], 4));
        assert_int_equal(fake_plugin_polls(&fixture->plugins[0]), 0);
}

static void test_a_failed_poll_is_published_with_its_kind_and_message(void **state) {
        struct fixture *fixture = *state;
        fixture->plugins[0].failure = PLUGIN_FAILURE_TRAP;
        fixture->plugins[1].failure = PLUGIN_FAILURE_TRAP;
        fixture_start(fixture, 3600);
        assert_int_equal(wait_published(&fixture->published, 2), 2);
        assert_int_equal(fixture->published.by_outcome[POLL_OUTCOME_FAILED], 2);
        assert_string_equal(fixture->published.last_kind, "trap");
        assert_non_null(strstr(fixture->published.last_message, " failed"));
}

static void test_a_poll_not_attempted_is_published_as_skipped(void **state) {
        struct fixture *fixture = *state;
        fixture->plugins[0].failure = PLUGIN_FAILURE_QUARANTINED;
        fixture->plugins[1].failure = PLUGIN_FAILURE_NOT_LOADED;
        fixture_start(fixture, 3600);
        assert_int_equal(wait_published(&fixture->published, 2), 2);
        assert_int_equal(fixture->published.by_outcome[POLL_OUTCOME_SKIPPED], 2);
        assert_int_equal(fixture->published.by_outcome[POLL_OUTCOME_FAILED], 0);
}

static void test_an_operator_poll_is_answered_once_with_its_record(void **state) {
        struct fixture *fixture = *state;
        fixture_start(fixture, 3600);
        assert_true(fake_plugin_wait_polls(&fixture->plugins[1], 1));
        assert_int_equal(scheduler_request(fixture->scheduler, "b", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->answers),
                         0);
        assert_int_equal(wait_answers(&fixture->answers, 1), 1);
        assert_int_equal(fixture->answers.last_result, 0);
        assert_true(fixture->answers.had_record);
        assert_int_equal(fixture->answers.last_origin, POLL_ORIGIN_OPERATOR);
        assert_int_equal(fixture->answers.last_outcome, POLL_OUTCOME_OK);
        assert_string_equal(fixture->answers.last_plugin, "b");
        /* The poll was made (on b's thread) and published like any other. */
        assert_int_equal(fake_plugin_polls(&fixture->plugins[1]), 2);
        assert_int_equal(pipeline_drain(fixture->pipeline, 10000), 0);
        assert_int_equal(fixture->published.by_origin[POLL_ORIGIN_OPERATOR], 1);
        /* After the stop no thread is left to answer twice. */
        scheduler_stop(fixture->scheduler);
        fixture->scheduler = NULL;
        assert_int_equal(fixture->answers.count, 1);
}

static void test_a_reset_request_answers_with_the_reset_result(void **state) {
        struct fixture *fixture = *state;
        fixture->plugins[0].reset_result = -EALREADY;
        fixture_start(fixture, 3600);
        assert_int_equal(scheduler_request(fixture->scheduler, "a", SCHEDULER_REQUEST_RESET, answer,
                                           &fixture->answers),
                         0);
        assert_int_equal(wait_answers(&fixture->answers, 1), 1);
        assert_int_equal(fixture->answers.last_result, -EALREADY);
        assert_false(fixture->answers.had_record);
        assert_int_equal(fixture->plugins[0].resets, 1);
}

static void test_a_second_request_while_one_is_pending_is_busy(void **state) {
        struct fixture *fixture = *state;
        fake_plugin_hold(&fixture->plugins[0], true);
        fixture_start(fixture, 3600);
        assert_true(fake_plugin_wait_inside(&fixture->plugins[0]));
        assert_int_equal(scheduler_request(fixture->scheduler, "a", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->answers),
                         0);
        assert_int_equal(scheduler_request(fixture->scheduler, "a", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->other),
                         -EBUSY);
        /* Another plugin's request is not held up by a's. */
        assert_int_equal(scheduler_request(fixture->scheduler, "b", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->other),
                         0);
        assert_int_equal(wait_answers(&fixture->other, 1), 1);
        fake_plugin_hold(&fixture->plugins[0], false);
        assert_int_equal(wait_answers(&fixture->answers, 1), 1);
        assert_int_equal(fixture->answers.last_result, 0);
        /* Answered: a new request is taken again. */
        assert_int_equal(scheduler_request(fixture->scheduler, "a", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->answers),
                         0);
        assert_int_equal(wait_answers(&fixture->answers, 2), 2);
        assert_int_equal(fixture->other.count, 1);
        answers_destroy(&fixture->other);
}

static void test_an_unknown_plugin_is_not_found(void **state) {
        struct fixture *fixture = *state;
        fixture_start(fixture, 3600);
        assert_int_equal(scheduler_request(fixture->scheduler, "c", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->answers),
                         -ENOENT);
        assert_int_equal(scheduler_request(fixture->scheduler, "", SCHEDULER_REQUEST_RESET, answer,
                                           &fixture->answers),
                         -ENOENT);
        assert_int_equal(fixture->answers.count, 0);
}

static void test_no_scheduler_is_shut_down(void **state) {
        (void)state;
        struct answers answers;
        answers_init(&answers);
        assert_int_equal(scheduler_request(NULL, "a", SCHEDULER_REQUEST_POLL, answer, &answers),
                         -ESHUTDOWN);
        scheduler_stop(NULL);
        assert_int_equal(answers.count, 0);
        answers_destroy(&answers);
}

static void *run_stop(void *argument) {
        scheduler_stop(argument);
        return NULL;
}

/* Requests of plugin `name` until the scheduler refuses with -ESHUTDOWN
 * (it is stopping), for up to 10 s; returns the last result. */
static int request_until_shutdown(struct scheduler *scheduler, const char *name,
                                  struct answers *answers) {
        int64_t deadline = clock_monotonic_ms() + 10000;
        int result = 0;
        do {
                result =
                        scheduler_request(scheduler, name, SCHEDULER_REQUEST_POLL, answer, answers);
        } while (result != -ESHUTDOWN && clock_monotonic_ms() < deadline);
        return result;
}

static void test_stop_answers_a_pending_request_with_shutdown(void **state) {
        struct fixture *fixture = *state;
        fake_plugin_hold(&fixture->plugins[0], true);
        fixture_start(fixture, 3600);
        assert_true(fake_plugin_wait_inside(&fixture->plugins[0]));
        assert_int_equal(scheduler_request(fixture->scheduler, "a", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->answers),
                         0);
        /* The stop waits for a's poll; meanwhile a refuses new requests. */
        assert_int_equal(pthread_create(&fixture->stopper, NULL, run_stop, fixture->scheduler), 0);
        fixture->has_stopper = true;
        assert_int_equal(request_until_shutdown(fixture->scheduler, "a", &fixture->other),
                         -ESHUTDOWN);
        assert_int_equal(scheduler_request(fixture->scheduler, "b", SCHEDULER_REQUEST_POLL, answer,
                                           &fixture->other),
                         -ESHUTDOWN);
        fake_plugin_hold(&fixture->plugins[0], false);
        assert_int_equal(pthread_join(fixture->stopper, NULL), 0);
        fixture->has_stopper = false;
        fixture->scheduler = NULL;
        assert_int_equal(fixture->answers.count, 1);
        assert_int_equal(fixture->answers.last_result, -ESHUTDOWN);
        assert_false(fixture->answers.had_record);
        /* The pending poll was never made. */
        assert_int_equal(fake_plugin_polls(&fixture->plugins[0]), 1);
        assert_int_equal(fixture->other.count, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_every_plugin_is_polled_at_once_and_published,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_polls_repeat_at_the_interval, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_stuck_plugin_delays_no_other, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_failed_poll_is_published_with_its_kind_and_message, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_poll_not_attempted_is_published_as_skipped,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_an_operator_poll_is_answered_once_with_its_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_reset_request_answers_with_the_reset_result,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_second_request_while_one_is_pending_is_busy,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_an_unknown_plugin_is_not_found, setup,
                                                teardown),
                cmocka_unit_test(test_no_scheduler_is_shut_down),
                cmocka_unit_test_setup_teardown(test_stop_answers_a_pending_request_with_shutdown,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
