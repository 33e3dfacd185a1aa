/* Unit tests of src/core/liveness.c: when a worker counts as stalled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "core/liveness.h"

static void test_workers_within_their_allowance_are_live(void **state) {
        (void)state;
        struct liveness liveness;
        liveness_init(&liveness);
        size_t index = 99;
        assert_int_equal(liveness_add(&liveness, "a", 1000, 0, &index, NULL), 0);
        assert_int_equal(index, 0);
        int64_t silence = -1;
        assert_int_equal(liveness_find_stalled(&liveness, 1000, &silence), -1);
}

static void test_a_silent_worker_is_stalled_until_it_beats(void **state) {
        (void)state;
        struct liveness liveness;
        liveness_init(&liveness);
        size_t fast = 0;
        size_t slow = 0;
        assert_int_equal(liveness_add(&liveness, "fast", 500, 0, &fast, NULL), 0);
        assert_int_equal(liveness_add(&liveness, "slow", 5000, 0, &slow, NULL), 0);
        liveness_beat(&liveness, slow, 400);
        int64_t silence = 0;
        assert_int_equal(liveness_find_stalled(&liveness, 900, &silence), (int)fast);
        assert_int_equal(silence, 900);
        liveness_beat(&liveness, fast, 900);
        assert_int_equal(liveness_find_stalled(&liveness, 1000, &silence), -1);
}

static void test_the_worst_overrun_is_named(void **state) {
        (void)state;
        struct liveness liveness;
        liveness_init(&liveness);
        size_t a = 0;
        size_t b = 0;
        assert_int_equal(liveness_add(&liveness, "a", 100, 0, &a, NULL), 0);
        assert_int_equal(liveness_add(&liveness, "b", 100, 0, &b, NULL), 0);
        liveness_beat(&liveness, a, 500);
        int64_t silence = 0;
        /* a: 700 - 500 = 200 ms silent; b: 700 ms. */
        assert_int_equal(liveness_find_stalled(&liveness, 700, &silence), (int)b);
        assert_int_equal(silence, 700);
        assert_string_equal(liveness.workers[b].name, "b");
}

static void test_the_table_is_bounded(void **state) {
        (void)state;
        struct liveness liveness;
        liveness_init(&liveness);
        size_t index = 0;
        for (int i = 0; i < LIVENESS_MAX_WORKERS; i++)
                assert_int_equal(liveness_add(&liveness, "w", 1, 0, &index, NULL), 0);
        struct ph_error error = {0};
        assert_int_equal(liveness_add(&liveness, "w", 1, 0, &index, &error), -E2BIG);
        assert_int_equal(liveness_add(&liveness, "w", -1, 0, &index, NULL) < 0, 1);
        /* An index out of range is ignored, not written. */
        liveness_beat(&liveness, LIVENESS_MAX_WORKERS + 3, 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_workers_within_their_allowance_are_live),
                cmocka_unit_test(test_a_silent_worker_is_stalled_until_it_beats),
                cmocka_unit_test(test_the_worst_overrun_is_named),
                cmocka_unit_test(test_the_table_is_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
