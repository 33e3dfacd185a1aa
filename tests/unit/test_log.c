/* Unit tests of src/core/log.c and src/plugin/guest_output.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"
#include "core/log.h"
#include "plugin/guest_output.h"

static void test_line_has_level_and_tag(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        log_write(LOG_LEVEL_WARNING, "greenhouse", "value %d", 42);
        const char *log = capture_stop(&capture);
        assert_non_null(strstr(log, "warning greenhouse: value 42\n"));
        assert_int_equal(count_occurrences(log, "\n"), 1);
}

static void test_lines_below_the_level_are_dropped(void **state) {
        (void)state;
        struct capture capture;
        log_set_level(LOG_LEVEL_WARNING);
        capture_start(&capture);
        log_write(LOG_LEVEL_INFO, "t", "hidden");
        log_write(LOG_LEVEL_ERROR, "t", "shown");
        const char *log = capture_stop(&capture);
        log_set_level(LOG_LEVEL_INFO);
        assert_null(strstr(log, "hidden"));
        assert_non_null(strstr(log, "shown"));
}

static void test_plugin_text_cannot_forge_lines_or_escape_codes(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        const char text[] = "one\ntwo\x1b[31mred\rthree";
        log_write_text(LOG_LEVEL_INFO, "p", text, sizeof(text) - 1);
        const char *log = capture_stop(&capture);
        assert_int_equal(count_occurrences(log, "\n"), 2);
        assert_non_null(strstr(log, "p: one\n"));
        assert_non_null(strstr(log, "p: two\\x1b[31mred\\x0dthree\n"));
        assert_null(strchr(log, '\x1b'));
}

static void test_level_names_round_trip(void **state) {
        (void)state;
        enum log_level level;
        assert_int_equal(log_level_parse("error", &level), 0);
        assert_int_equal(level, LOG_LEVEL_ERROR);
        assert_string_equal(log_level_name(level), "error");
        assert_true(log_level_parse("loud", &level) < 0);
}

static void test_guest_output_joins_pieces_into_lines(void **state) {
        (void)state;
        struct guest_output output;
        guest_output_init(&output, "plug", LOG_LEVEL_WARNING, NULL);
        struct capture capture;
        capture_start(&capture);
        guest_output_write(&output, "Runtime", 7);
        guest_output_write(&output, "Error: ", 7);
        guest_output_write(&output, "boom\nnext", 9);
        guest_output_flush(&output);
        const char *log = capture_stop(&capture);
        assert_non_null(strstr(log, "warning plug: RuntimeError: boom\n"));
        assert_non_null(strstr(log, "warning plug: next\n"));
        assert_int_equal(count_occurrences(log, "\n"), 2);
}

static void test_guest_output_cuts_overlong_lines(void **state) {
        (void)state;
        struct guest_output output;
        guest_output_init(&output, "plug", LOG_LEVEL_INFO, NULL);
        char big[GUEST_OUTPUT_LINE_MAX * 2 + 10];
        memset(big, 'x', sizeof(big));
        struct capture capture;
        capture_start(&capture);
        guest_output_write(&output, big, sizeof(big));
        guest_output_flush(&output);
        const char *log = capture_stop(&capture);
        assert_int_equal(count_occurrences(log, "\n"), 3);
}

static void test_log_budget_drops_a_flood_and_says_so(void **state) {
        (void)state;
        struct log_budget budget;
        log_budget_init(&budget, 10.0, 5.0);
        struct guest_output output;
        guest_output_init(&output, "chatty", LOG_LEVEL_INFO, &budget);
        struct capture capture;
        capture_start(&capture);
        for (int i = 0; i < 1000; i++)
                guest_output_write(&output, "spam\n", 5);
        const char *log = capture_stop(&capture);
        /* The burst of 5 gets through (a line or so more may refill while
         * the loop runs), the rest is counted, not written. */
        size_t written = count_occurrences(log, "chatty: spam");
        assert_true(written >= 5 && written <= 7);
        assert_int_equal(budget.dropped_total, 1000 - written);
        assert_int_equal(count_occurrences(log, "log rate limit reached"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_has_level_and_tag),
                cmocka_unit_test(test_lines_below_the_level_are_dropped),
                cmocka_unit_test(test_plugin_text_cannot_forge_lines_or_escape_codes),
                cmocka_unit_test(test_level_names_round_trip),
                cmocka_unit_test(test_guest_output_joins_pieces_into_lines),
                cmocka_unit_test(test_guest_output_cuts_overlong_lines),
                cmocka_unit_test(test_log_budget_drops_a_flood_and_says_so),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
