/* Unit tests of src/core/clock.c: timespec sums carry nanoseconds into
 * seconds, differences borrow, and deadlines lie ahead of now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <time.h>

#include "core/clock.h"

static void test_adding_a_fraction_carries_nanoseconds_into_seconds(void **state) {
        (void)state;
        struct timespec time = {.tv_sec = 10, .tv_nsec = 900000000L};
        clock_add_seconds(&time, 0.25);
        assert_int_equal(time.tv_sec, 11);
        /* 0.25 s is exact in binary: no rounding slack needed. */
        assert_int_equal(time.tv_nsec, 150000000L);
}

static void test_adding_to_the_last_nanosecond_carries_exactly_once(void **state) {
        (void)state;
        struct timespec time = {.tv_sec = 0, .tv_nsec = 999999999L};
        clock_add_seconds(&time, 1.5);
        assert_int_equal(time.tv_sec, 2);
        assert_int_equal(time.tv_nsec, 499999999L);
}

static void test_adding_whole_seconds_keeps_the_nanoseconds(void **state) {
        (void)state;
        struct timespec time = {.tv_sec = 5, .tv_nsec = 123L};
        clock_add_seconds(&time, 3.0);
        assert_int_equal(time.tv_sec, 8);
        assert_int_equal(time.tv_nsec, 123L);
}

static void test_adding_nothing_negative_or_nan_changes_nothing(void **state) {
        (void)state;
        const double ignored[] = {0.0, -1.0, -0.5, NAN};
        for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
                struct timespec time = {.tv_sec = 7, .tv_nsec = 999999999L};
                clock_add_seconds(&time, ignored[i]);
                assert_int_equal(time.tv_sec, 7);
                assert_int_equal(time.tv_nsec, 999999999L);
        }
}

static void test_the_sum_always_has_nanoseconds_in_range(void **state) {
        (void)state;
        for (long start = 0; start < 1000000000L; start += 99999989L) {
                for (double add = 0.001; add < 3.0; add += 0.137) {
                        struct timespec time = {.tv_sec = 100, .tv_nsec = start};
                        clock_add_seconds(&time, add);
                        assert_true(time.tv_nsec >= 0 && time.tv_nsec < 1000000000L);
                        double expected = 100.0 + (double)start / 1e9 + add;
                        double actual = (double)time.tv_sec + (double)time.tv_nsec / 1e9;
                        assert_true(fabs(actual - expected) < 1e-6);
                }
        }
}

static void test_between_borrows_across_a_second(void **state) {
        (void)state;
        struct timespec from = {.tv_sec = 10, .tv_nsec = 900000000L};
        struct timespec to = {.tv_sec = 11, .tv_nsec = 100000000L};
        assert_true(fabs(clock_seconds_between(&from, &to) - 0.2) < 1e-9);
        assert_true(fabs(clock_ms_between(&from, &to) - 200.0) < 1e-6);
}

static void test_between_is_negative_when_to_is_earlier(void **state) {
        (void)state;
        struct timespec from = {.tv_sec = 11, .tv_nsec = 100000000L};
        struct timespec to = {.tv_sec = 10, .tv_nsec = 900000000L};
        assert_true(fabs(clock_seconds_between(&from, &to) + 0.2) < 1e-9);
        assert_true(fabs(clock_ms_between(&from, &to) + 200.0) < 1e-6);
        assert_true(clock_seconds_between(&from, &from) == 0.0);
}

static double seconds_of(const struct timespec *time) {
        return (double)time->tv_sec + (double)time->tv_nsec / 1e9;
}

static void test_a_deadline_lies_ms_after_now(void **state) {
        (void)state;
        /* Every remainder of milliseconds, so some of them carry whatever
         * the clock's nanoseconds are now. */
        for (int64_t ms = 1; ms <= 2000; ms += 7) {
                struct timespec before, after;
                clock_gettime(CLOCK_MONOTONIC, &before);
                struct timespec deadline = clock_monotonic_after_ms(ms);
                clock_gettime(CLOCK_MONOTONIC, &after);
                assert_true(deadline.tv_nsec >= 0 && deadline.tv_nsec < 1000000000L);
                double lead = clock_ms_between(&before, &deadline);
                double lag = clock_ms_between(&after, &deadline);
                assert_true(lead >= (double)ms);
                assert_true(lag <= (double)ms);
        }
}

static void test_a_deadline_of_zero_or_less_is_now(void **state) {
        (void)state;
        const int64_t values[] = {0, -1, -5000, INT64_MIN};
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                struct timespec before, after;
                clock_gettime(CLOCK_MONOTONIC, &before);
                struct timespec deadline = clock_monotonic_after_ms(values[i]);
                clock_gettime(CLOCK_MONOTONIC, &after);
                assert_true(seconds_of(&deadline) >= seconds_of(&before));
                assert_true(seconds_of(&deadline) <= seconds_of(&after));
        }
}

static void test_monotonic_and_wall_milliseconds_advance(void **state) {
        (void)state;
        int64_t first = clock_monotonic_ms();
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t wall = clock_realtime_ms();
        /* The wall clock is in milliseconds since the epoch, not seconds. */
        assert_true(wall >= (int64_t)now.tv_sec * 1000);
        assert_true(wall < ((int64_t)now.tv_sec + 60) * 1000);
        assert_true(clock_monotonic_ms() >= first);
}

/* Deadlines far ahead: the sums must not overflow where long is 32 bits
 * (`make test-32bit`). */
static int64_t ms_of(const struct timespec *time) {
        return (int64_t)time->tv_sec * 1000 + time->tv_nsec / 1000000;
}

/* The longest reload debounce (60000 ms) is 6e10 ns: more than a 32-bit
 * long holds, so the deadline must not be computed in nanoseconds. */
static void test_a_minute_later_is_sixty_seconds_on(void **state) {
        (void)state;
        struct timespec before;
        clock_gettime(CLOCK_MONOTONIC, &before);
        struct timespec deadline = clock_monotonic_after_ms(60000);
        struct timespec after;
        clock_gettime(CLOCK_MONOTONIC, &after);
        assert_in_range(deadline.tv_nsec, 0, 999999999);
        assert_in_range(ms_of(&deadline), ms_of(&before) + 60000, ms_of(&after) + 60000);
}

static void test_a_day_later_keeps_its_nanoseconds_in_range(void **state) {
        (void)state;
        struct timespec deadline = clock_monotonic_after_ms(INT64_C(86400000) + 999);
        assert_in_range(deadline.tv_nsec, 0, 999999999);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(ms_of(&deadline) - ms_of(&now) > INT64_C(86400000));
}

static void test_negative_counts_as_now(void **state) {
        (void)state;
        struct timespec before;
        clock_gettime(CLOCK_MONOTONIC, &before);
        struct timespec deadline = clock_monotonic_after_ms(-5000);
        assert_true(ms_of(&deadline) >= ms_of(&before));
}

/* The longest poll interval (86400 s) plus a fraction. */
static void test_adding_a_day_and_a_half_second(void **state) {
        (void)state;
        struct timespec time = {.tv_sec = 100, .tv_nsec = 700000000L};
        clock_add_seconds(&time, 86400.5);
        assert_int_equal(time.tv_sec, 100 + 86400 + 1);
        assert_in_range(time.tv_nsec, 199999000L, 200001000L);
        assert_true(clock_seconds_between(&(struct timespec){.tv_sec = 100, .tv_nsec = 700000000L},
                                          &time) > 86400.49);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_adding_a_fraction_carries_nanoseconds_into_seconds),
                cmocka_unit_test(test_adding_to_the_last_nanosecond_carries_exactly_once),
                cmocka_unit_test(test_adding_whole_seconds_keeps_the_nanoseconds),
                cmocka_unit_test(test_adding_nothing_negative_or_nan_changes_nothing),
                cmocka_unit_test(test_the_sum_always_has_nanoseconds_in_range),
                cmocka_unit_test(test_between_borrows_across_a_second),
                cmocka_unit_test(test_between_is_negative_when_to_is_earlier),
                cmocka_unit_test(test_a_deadline_lies_ms_after_now),
                cmocka_unit_test(test_a_deadline_of_zero_or_less_is_now),
                cmocka_unit_test(test_monotonic_and_wall_milliseconds_advance),
                cmocka_unit_test(test_a_minute_later_is_sixty_seconds_on),
                cmocka_unit_test(test_a_day_later_keeps_its_nanoseconds_in_range),
                cmocka_unit_test(test_negative_counts_as_now),
                cmocka_unit_test(test_adding_a_day_and_a_half_second),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
