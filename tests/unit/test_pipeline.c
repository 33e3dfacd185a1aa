/* Unit tests of src/core/pipeline.c: every subscriber gets every record in
 * order, a slow one delays neither the publisher nor the others, a full
 * queue drops and counts, unsubscribing drains, records are freed once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/pipeline.h"

/* A consumer that remembers what it saw and can be held inside deliver. */
struct consumer {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        bool is_held;   /* deliver waits while this is set */
        bool is_inside; /* deliver is waiting */
        size_t seen;
        int64_t last_started_ms;
        bool is_in_order;
        char last_plugin[POLL_RECORD_NAME_MAX];
};

static void consumer_init(struct consumer *consumer) {
        memset(consumer, 0, sizeof(*consumer));
        pthread_mutex_init(&consumer->lock, NULL);
        pthread_cond_init(&consumer->changed, NULL);
        consumer->is_in_order = true;
        consumer->last_started_ms = -1;
}

static void consumer_destroy(struct consumer *consumer) {
        pthread_cond_destroy(&consumer->changed);
        pthread_mutex_destroy(&consumer->lock);
}

static void deliver(const struct poll_record *record, void *data) {
        struct consumer *consumer = data;
        pthread_mutex_lock(&consumer->lock);
        consumer->is_inside = true;
        pthread_cond_broadcast(&consumer->changed);
        while (consumer->is_held)
                pthread_cond_wait(&consumer->changed, &consumer->lock);
        consumer->is_inside = false;
        if (record->started_ms <= consumer->last_started_ms)
                consumer->is_in_order = false;
        consumer->last_started_ms = record->started_ms;
        snprintf(consumer->last_plugin, sizeof(consumer->last_plugin), "%s", record->plugin);
        consumer->seen++;
        pthread_cond_broadcast(&consumer->changed);
        pthread_mutex_unlock(&consumer->lock);
}

static void hold(struct consumer *consumer, bool is_held) {
        pthread_mutex_lock(&consumer->lock);
        consumer->is_held = is_held;
        pthread_cond_broadcast(&consumer->changed);
        pthread_mutex_unlock(&consumer->lock);
}

/* Waits (bounded) until deliver is parked inside the consumer. */
static void wait_inside(struct consumer *consumer) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        pthread_mutex_lock(&consumer->lock);
        while (!consumer->is_inside)
                assert_int_not_equal(
                        pthread_cond_timedwait(&consumer->changed, &consumer->lock, &deadline),
                        ETIMEDOUT);
        pthread_mutex_unlock(&consumer->lock);
}

static size_t seen(struct consumer *consumer) {
        pthread_mutex_lock(&consumer->lock);
        size_t count = consumer->seen;
        pthread_mutex_unlock(&consumer->lock);
        return count;
}

static struct poll_record *make_record(int64_t started_ms) {
        struct poll_record *record = poll_record_new("plugin-a");
        assert_non_null(record);
        record->started_ms = started_ms;
        return record;
}

static unsigned subscribe(struct pipeline *pipeline, const char *name, size_t capacity,
                          struct consumer *consumer) {
        struct pipeline_subscriber_spec spec = {
                .name = name, .capacity = capacity, .deliver = deliver, .data = consumer};
        unsigned id = 99;
        assert_int_equal(pipeline_subscribe(pipeline, &spec, &id, NULL), 0);
        return id;
}

static void test_every_subscriber_gets_every_record_in_order(void **state) {
        (void)state;
        struct pipeline *pipeline = pipeline_new(NULL);
        assert_non_null(pipeline);
        struct consumer first, second;
        consumer_init(&first);
        consumer_init(&second);
        subscribe(pipeline, "first", 1000, &first);
        subscribe(pipeline, "second", 1000, &second);
        for (int64_t i = 0; i < 500; i++)
                pipeline_publish(pipeline, make_record(i));
        assert_int_equal(pipeline_drain(pipeline, 10000), 0);
        assert_int_equal(seen(&first), 500);
        assert_int_equal(seen(&second), 500);
        assert_true(first.is_in_order);
        assert_true(second.is_in_order);
        assert_string_equal(first.last_plugin, "plugin-a");
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        assert_int_equal(stats.published, 500);
        assert_int_equal(stats.count, 2);
        assert_int_equal(stats.subscribers[0].delivered, 500);
        assert_int_equal(stats.subscribers[0].dropped, 0);
        assert_int_equal(stats.subscribers[1].depth, 0);
        pipeline_free(pipeline);
        consumer_destroy(&first);
        consumer_destroy(&second);
}

static void test_a_stuck_subscriber_drops_and_counts_and_delays_nobody(void **state) {
        (void)state;
        struct pipeline *pipeline = pipeline_new(NULL);
        struct consumer stuck, healthy;
        consumer_init(&stuck);
        consumer_init(&healthy);
        hold(&stuck, true);
        subscribe(pipeline, "stuck", 4, &stuck);
        subscribe(pipeline, "healthy", 100, &healthy);
        pipeline_publish(pipeline, make_record(0));
        wait_inside(&stuck); /* the first record is being delivered, and stays */
        /* The publisher never waits: 50 more go out at once. */
        for (int64_t i = 1; i <= 50; i++)
                pipeline_publish(pipeline, make_record(i));
        /* The healthy one takes all of them while the other is stuck. */
        struct timespec deadline = clock_monotonic_after_ms(10000);
        while (seen(&healthy) < 51) {
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                assert_true(clock_seconds_between(&now, &deadline) > 0);
                sched_yield();
        }
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        assert_int_equal(stats.subscribers[0].depth, 4);
        assert_int_equal(stats.subscribers[0].high_water, 4);
        assert_int_equal(stats.subscribers[0].dropped, 50 - 4);
        assert_int_equal(stats.subscribers[1].dropped, 0);
        assert_int_equal(pipeline_drain(pipeline, 50), -ETIMEDOUT);
        hold(&stuck, false);
        assert_int_equal(pipeline_drain(pipeline, 10000), 0);
        assert_int_equal(seen(&stuck), 1 + 4);
        assert_true(stuck.is_in_order);
        pipeline_free(pipeline);
        consumer_destroy(&stuck);
        consumer_destroy(&healthy);
}

static void test_unsubscribing_delivers_what_was_queued_then_nothing(void **state) {
        (void)state;
        struct pipeline *pipeline = pipeline_new(NULL);
        struct consumer consumer;
        consumer_init(&consumer);
        hold(&consumer, true);
        unsigned id = subscribe(pipeline, "c", 10, &consumer);
        for (int64_t i = 0; i < 5; i++)
                pipeline_publish(pipeline, make_record(i));
        wait_inside(&consumer);
        hold(&consumer, false);
        pipeline_unsubscribe(pipeline, id);
        assert_int_equal(seen(&consumer), 5);
        pipeline_publish(pipeline, make_record(9));
        assert_int_equal(pipeline_drain(pipeline, 1000), 0);
        assert_int_equal(seen(&consumer), 5);
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        assert_int_equal(stats.count, 0);
        assert_int_equal(stats.published, 6);
        pipeline_free(pipeline);
        consumer_destroy(&consumer);
}

static void test_records_keep_their_failure_and_are_freed_once(void **state) {
        (void)state;
        struct poll_record *record = poll_record_new("a-name-that-is-much-longer-than-the-record-"
                                                     "keeps-for-a-plugin-name-by-far");
        assert_non_null(record);
        assert_int_equal(strlen(record->plugin), POLL_RECORD_NAME_MAX - 1);
        assert_int_equal(poll_record_set_failure(record, POLL_OUTCOME_FAILED, "trap", "boom", NULL),
                         0);
        assert_string_equal(record->message, "boom");
        assert_string_equal(record->traceback, "");
        assert_int_equal(record->outcome, POLL_OUTCOME_FAILED);
        poll_record_ref(record);
        poll_record_unref(record);
        poll_record_unref(record); /* ASan: freed exactly here, once */
        /* A lost record is counted, not dereferenced. */
        struct pipeline *pipeline = pipeline_new(NULL);
        pipeline_publish(pipeline, NULL);
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        assert_int_equal(stats.lost, 1);
        pipeline_free(pipeline);
}

static void test_subscribers_are_bounded_and_checked(void **state) {
        (void)state;
        struct pipeline *pipeline = pipeline_new(NULL);
        struct consumer consumer;
        consumer_init(&consumer);
        struct pipeline_subscriber_spec spec = {
                .name = "nothing", .capacity = 1, .deliver = NULL, .data = &consumer};
        unsigned id = 0;
        struct ph_error error = {0};
        assert_int_equal(pipeline_subscribe(pipeline, &spec, &id, &error), -EINVAL);
        assert_non_null(strstr(error.message, "nothing"));
        spec.deliver = deliver;
        spec.capacity = 1;
        for (int i = 0; i < PIPELINE_MAX_SUBSCRIBERS; i++)
                assert_int_equal(pipeline_subscribe(pipeline, &spec, &id, NULL), 0);
        assert_int_equal(pipeline_subscribe(pipeline, &spec, &id, &error), -E2BIG);
        pipeline_free(pipeline);
        consumer_destroy(&consumer);
}

/* An inline subscriber runs on the publisher's thread: delivered before
 * pipeline_publish returns, with no thread of its own. */
static _Thread_local bool is_publisher_thread;

static void deliver_inline(const struct poll_record *record, void *data) {
        (void)record;
        struct consumer *consumer = data;
        consumer->is_in_order = consumer->is_in_order && is_publisher_thread;
        consumer->seen++;
}

static void test_an_inline_subscriber_is_delivered_before_publish_returns(void **state) {
        (void)state;
        struct pipeline *pipeline = pipeline_new(NULL);
        struct consumer inline_consumer, queued;
        consumer_init(&inline_consumer);
        consumer_init(&queued);
        struct pipeline_subscriber_spec spec = {.name = "inline",
                                                .capacity = 0,
                                                .deliver = deliver_inline,
                                                .data = &inline_consumer};
        unsigned id = 0;
        assert_int_equal(pipeline_subscribe(pipeline, &spec, &id, NULL), 0);
        subscribe(pipeline, "queued", 10, &queued);
        is_publisher_thread = true;
        for (int64_t i = 0; i < 3; i++) {
                pipeline_publish(pipeline, make_record(i));
                assert_int_equal(inline_consumer.seen, (size_t)i + 1);
        }
        assert_true(inline_consumer.is_in_order); /* every call on this thread */
        assert_int_equal(pipeline_drain(pipeline, 10000), 0);
        assert_int_equal(seen(&queued), 3);
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        assert_int_equal(stats.subscribers[0].capacity, 0);
        assert_int_equal(stats.subscribers[0].delivered, 3);
        pipeline_unsubscribe(pipeline, id);
        pipeline_publish(pipeline, make_record(9));
        assert_int_equal(inline_consumer.seen, 3);
        pipeline_free(pipeline);
        consumer_destroy(&inline_consumer);
        consumer_destroy(&queued);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_subscriber_gets_every_record_in_order),
                cmocka_unit_test(test_a_stuck_subscriber_drops_and_counts_and_delays_nobody),
                cmocka_unit_test(test_unsubscribing_delivers_what_was_queued_then_nothing),
                cmocka_unit_test(test_records_keep_their_failure_and_are_freed_once),
                cmocka_unit_test(test_subscribers_are_bounded_and_checked),
                cmocka_unit_test(test_an_inline_subscriber_is_delivered_before_publish_returns),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
