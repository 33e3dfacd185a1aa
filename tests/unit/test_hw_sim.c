/* Unit tests of the simulated board (src/hw/hw_sim.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "capture.h"
#include "hw/hw_sim.h"

static struct hw_board *new_board(const struct sim_board_config *sim) {
        struct board_config config = {.backend = "sim", .sim = *sim};
        struct ph_error error = {0};
        struct hw_board *board = hw_board_new(&config, &error);
        assert_non_null(board);
        return board;
}

static struct sim_board_config default_sim(void) {
        struct host_config config;
        config_set_defaults(&config);
        return config.board.sim;
}

static void test_curve_is_a_triangle_between_min_and_max(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim(); /* 22..33 over 12 reads */
        assert_true(fabs(hw_sim_curve_celsius(&sim, 0) - 22.0) < 1e-9);
        assert_true(fabs(hw_sim_curve_celsius(&sim, 6) - 33.0) < 1e-9);
        assert_true(fabs(hw_sim_curve_celsius(&sim, 12) - 22.0) < 1e-9);
        assert_true(hw_sim_curve_celsius(&sim, 3) > 22.0 && hw_sim_curve_celsius(&sim, 3) < 33.0);
        assert_true(fabs(hw_sim_curve_celsius(&sim, 3) - hw_sim_curve_celsius(&sim, 9)) < 1e-9);
}

static void test_reads_follow_the_curve_and_cross_the_alarm_thresholds(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        double highest = -100, lowest = 100;
        for (int i = 0; i < 12; i++) {
                struct hw_dht22_reading reading;
                assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
                assert_true(fabs(reading.temperature_celsius -
                                 hw_sim_curve_celsius(&sim, (uint64_t)i)) < 1e-4);
                assert_true(reading.humidity_percent >= 45.0f && reading.humidity_percent <= 85.0f);
                highest = fmax(highest, reading.temperature_celsius);
                lowest = fmin(lowest, reading.temperature_celsius);
        }
        assert_true(highest >= 30.0 && lowest <= 27.0);
        hw_board_free(board);
}

static void test_script_replaces_the_curve_and_repeats(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.script_count = 3;
        sim.script_celsius[0] = 20;
        sim.script_celsius[1] = 31;
        sim.script_celsius[2] = 26.5;
        struct hw_board *board = new_board(&sim);
        const float expected[] = {20, 31, 26.5f, 20, 31};
        for (size_t i = 0; i < 5; i++) {
                struct hw_dht22_reading reading;
                assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
                assert_true(reading.temperature_celsius == expected[i]);
        }
        hw_board_free(board);
}

static void test_unknown_pin_is_no_such_pin(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 5, &reading), HW_SENSOR_NO_SUCH_PIN);
        hw_board_free(board);
}

static int count_errors(uint32_t seed, double probability, int reads) {
        struct sim_board_config sim = default_sim();
        sim.error_probability = probability;
        sim.seed = seed;
        struct hw_board *board = new_board(&sim);
        int errors = 0;
        for (int i = 0; i < reads; i++) {
                struct hw_dht22_reading reading;
                enum hw_sensor_status status = hw_read_dht22(board, 4, &reading);
                if (status != HW_SENSOR_OK) {
                        assert_true(status == HW_SENSOR_TIMEOUT || status == HW_SENSOR_CHECKSUM);
                        errors++;
                }
        }
        hw_board_free(board);
        return errors;
}

static void test_error_injection_follows_probability_and_seed(void **state) {
        (void)state;
        assert_int_equal(count_errors(1, 0.0, 1000), 0);
        assert_int_equal(count_errors(1, 1.0, 1000), 1000);
        int errors = count_errors(1, 0.2, 5000);
        assert_true(errors > 800 && errors < 1200);
        /* The same seed gives the same run; another seed another run. */
        assert_int_equal(count_errors(42, 0.2, 5000), count_errors(42, 0.2, 5000));
}

static void test_led_changes_are_recorded_and_logged(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        struct capture capture;
        capture_start(&capture);
        assert_int_equal(hw_set_leds(board, HW_LED_GREEN, HW_LED_RED), 0);
        assert_int_equal(hw_set_leds(board, HW_LED_GREEN, HW_LED_RED), 0); /* no change */
        assert_int_equal(hw_set_leds(board, HW_LED_YELLOW, HW_LED_RED), 0);
        const char *log = capture_stop(&capture);
        assert_int_equal(hw_sim_led_change_count(board), 2);
        enum hw_led_color first, second;
        hw_get_leds(board, &first, &second);
        assert_int_equal(first, HW_LED_YELLOW);
        assert_int_equal(second, HW_LED_RED);
        assert_non_null(strstr(log, "LEDs off/off -> green/red"));
        assert_non_null(strstr(log, "LEDs green/red -> yellow/red"));
        assert_int_equal(count_occurrences(log, "LEDs "), 2);
        hw_board_free(board);
}

static void test_unknown_backend_is_refused(void **state) {
        (void)state;
        struct board_config config = {.backend = "fpga"};
        struct ph_error error = {0};
        assert_null(hw_board_new(&config, &error));
        assert_non_null(strstr(error.message, "fpga"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_curve_is_a_triangle_between_min_and_max),
                cmocka_unit_test(test_reads_follow_the_curve_and_cross_the_alarm_thresholds),
                cmocka_unit_test(test_script_replaces_the_curve_and_repeats),
                cmocka_unit_test(test_unknown_pin_is_no_such_pin),
                cmocka_unit_test(test_error_injection_follows_probability_and_seed),
                cmocka_unit_test(test_led_changes_are_recorded_and_logged),
                cmocka_unit_test(test_unknown_backend_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
