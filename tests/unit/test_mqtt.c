/* Unit tests of src/mqtt/mqtt.c without a broker (tests/e2e/test_mqtt.py
 * drives a real one): topic segments, one message per sensor per poll, the
 * bounded queue, and a stop that does not wait for an absent broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "mqtt/mqtt.h"

static void test_topic_segment_replaces_reserved_characters(void **state) {
        (void)state;
        char segment[32];
        mqtt_topic_segment("green house/a+b#c", segment, sizeof(segment));
        assert_string_equal(segment, "green_house_a_b_c");
        mqtt_topic_segment("ok-name_1", segment, sizeof(segment));
        assert_string_equal(segment, "ok-name_1");
        mqtt_topic_segment("truncated", segment, 5);
        assert_string_equal(segment, "trun");
}

/* A publisher whose broker never answers: port 1 on loopback refuses. */
static struct mqtt_publisher *start_without_broker(unsigned queue_messages) {
        struct mqtt_config config = {.is_enabled = true,
                                     .port = 1,
                                     .qos = 1,
                                     .keepalive_s = 30,
                                     .queue_messages = queue_messages,
                                     .reconnect_min_ms = 10,
                                     .reconnect_max_ms = 20};
        snprintf(config.host, sizeof(config.host), "127.0.0.1");
        snprintf(config.device, sizeof(config.device), "unit");
        snprintf(config.topic_prefix, sizeof(config.topic_prefix), "pyhost");
        struct ph_error error = {0};
        struct mqtt_publisher *publisher = mqtt_start(&config, &error);
        if (publisher == NULL)
                fail_msg("mqtt_start: %s", error.message);
        return publisher;
}

static struct reading reading_of(const char *sensor, enum reading_quantity quantity, double value) {
        struct reading reading = {.quantity = quantity, .value = value, .is_finite = true};
        snprintf(reading.sensor, sizeof(reading.sensor), "%s", sensor);
        return reading;
}

static void test_one_message_per_sensor_per_poll(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        struct mqtt_publisher *publisher = start_without_broker(10);
        struct reading readings[3] = {reading_of("greenhouse", READING_TEMPERATURE, 21.5),
                                      reading_of("greenhouse", READING_HUMIDITY, 60),
                                      reading_of("shed", READING_TEMPERATURE, 12)};
        struct reading_list list = {.items = readings, .count = 3};
        int result = mqtt_publish_readings(publisher, "p", 1000, &list);
        struct mqtt_stats stats;
        mqtt_get_stats(publisher, &stats);
        mqtt_stop(publisher);
        capture_stop(&capture);
        assert_int_equal(result, 0);
        assert_int_equal(stats.queued, 2);
        assert_int_equal(stats.dropped, 0);
        assert_false(stats.is_connected);
}

static void test_full_queue_drops_the_oldest_logs_once_and_counts(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        struct mqtt_publisher *publisher = start_without_broker(3);
        int results[6];
        for (int i = 0; i < 6; i++) {
                struct reading reading = reading_of("s", READING_TEMPERATURE, i);
                struct reading_list list = {.items = &reading, .count = 1};
                results[i] = mqtt_publish_readings(publisher, "p", 1000 + i, &list);
        }
        struct mqtt_stats stats;
        mqtt_get_stats(publisher, &stats);
        mqtt_stop(publisher);
        const char *log = capture_stop(&capture);
        assert_int_equal(results[2], 0);
        assert_int_equal(results[3], -ENOBUFS);
        assert_int_equal(results[5], -ENOBUFS);
        assert_int_equal(stats.queued, 6);
        assert_int_equal(stats.dropped, 3);
        assert_int_equal(count_occurrences(log, "queue of 3 messages is full"), 1);
}

static void test_stop_accepts_null_and_start_refuses_a_disabled_config(void **state) {
        (void)state;
        mqtt_stop(NULL);
        struct mqtt_config config = {.queue_messages = 1};
        struct ph_error error = {0};
        assert_null(mqtt_start(&config, &error));
        assert_int_equal(error.code, -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topic_segment_replaces_reserved_characters),
                cmocka_unit_test(test_one_message_per_sensor_per_poll),
                cmocka_unit_test(test_full_queue_drops_the_oldest_logs_once_and_counts),
                cmocka_unit_test(test_stop_accepts_null_and_start_refuses_a_disabled_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
