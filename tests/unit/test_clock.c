/* Unit tests of src/core/clock.c: deadlines and sums stay right where long
 * and time_t are 32 bits (`make test-32bit`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "core/clock.h"

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
                cmocka_unit_test(test_a_minute_later_is_sixty_seconds_on),
                cmocka_unit_test(test_a_day_later_keeps_its_nanoseconds_in_range),
                cmocka_unit_test(test_negative_counts_as_now),
                cmocka_unit_test(test_adding_a_day_and_a_half_second),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
