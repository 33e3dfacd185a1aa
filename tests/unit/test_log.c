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
        assert_non_null(strstr(log, "p: two\\x1b[31mred\\rthree\n"));
        assert_null(strchr(log, '\x1b'));
}

/* What a hostile plugin or request puts in a message's arguments: a line
 * that would look like the host's, a screen clear, a right-to-left
 * override, a C1 CSI and a byte that is not UTF-8. */
static const char hostile[] = "x\n2026-01-01T00:00:00.000Z info    host: forged\x1b[2J"
                              "\xe2\x80\xae\xc2\x9b\xff";
static const char hostile_escaped[] = "x\\n2026-01-01T00:00:00.000Z info    host: forged"
                                      "\\x1b[2J\\u202e\\u009b\\xff";

static void assert_one_clean_line(const char *log) {
        assert_int_equal(count_occurrences(log, "\n"), 1);
        assert_null(strchr(log, '\r'));
        assert_null(strchr(log, '\x1b'));
        assert_null(strstr(log, "\xe2\x80\xae"));
        assert_null(strstr(log, "\xc2\x9b"));
        assert_null(strchr(log, '\xff'));
}

static void test_message_arguments_cannot_forge_lines_or_escape_codes(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        log_write(LOG_LEVEL_INFO, "p", "poll failed: %s", hostile);
        const char *log = capture_stop(&capture);
        assert_one_clean_line(log);
        char expected[256];
        snprintf(expected, sizeof(expected), "info    p: poll failed: %s\n", hostile_escaped);
        assert_non_null(strstr(log, expected));
}

static void test_text_lines_are_escaped_one_by_one(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        log_write_text(LOG_LEVEL_ERROR, "p", hostile + 2, sizeof(hostile) - 3);
        const char *log = capture_stop(&capture);
        assert_one_clean_line(log);
        assert_non_null(strstr(log, "error   p: 2026-01-01T00:00:00.000Z info    host: forged"
                                    "\\x1b[2J\\u202e\\u009b\\xff\n"));
}

static void test_tags_are_escaped(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        log_write(LOG_LEVEL_INFO, "bad\nname", "hello");
        const char *log = capture_stop(&capture);
        assert_int_equal(count_occurrences(log, "\n"), 1);
        assert_non_null(strstr(log, "info    bad\\nname: hello\n"));
}

static void test_multibyte_text_stays_readable_in_the_log(void **state) {
        (void)state;
        struct capture capture;
        capture_start(&capture);
        log_write(LOG_LEVEL_INFO, "p", "%s",
                  "21.5 \xc2\xb0"
                  "C in 3 \xc2\xb5s \xe6\xb8\xa9\xe5\xba\xa6");
        const char *log = capture_stop(&capture);
        assert_non_null(strstr(log, "p: 21.5 \xc2\xb0"
                                    "C in 3 \xc2\xb5s \xe6\xb8\xa9\xe5\xba\xa6\n"));
}

/* A message longer than a line is cut on a character boundary: never in
 * the middle of an escape or of a UTF-8 sequence. */
static void test_long_lines_are_cut_between_characters(void **state) {
        (void)state;
        for (size_t shift = 0; shift < 6; shift++) {
                char text[4000];
                memset(text, 'a', shift);
                for (size_t i = shift; i + 3 <= sizeof(text) - 1; i += 3)
                        memcpy(text + i, i % 2 == 0 ? "\xe6\xb8\xa9" : "\xe2\x80\xae", 3);
                text[sizeof(text) - 1] = '\0';
                struct capture capture;
                capture_start(&capture);
                log_write(LOG_LEVEL_INFO, "p", "%s", text);
                log_write_text(LOG_LEVEL_INFO, "p", text, strlen(text));
                const char *log = capture_stop(&capture);
                assert_int_equal(count_occurrences(log, "\n"), 2);
                for (const char *line = log; *line != '\0'; line = strchr(line, '\n') + 1) {
                        const char *end = strchr(line, '\n');
                        assert_true(end - line <= 2048);
                        /* The line ends on a whole character: "\u202e" or U+6E29. */
                        assert_true(end - line > 6);
                        assert_true(memcmp(end - 6, "\\u202e", 6) == 0 ||
                                    memcmp(end - 3, "\xe6\xb8\xa9", 3) == 0);
                }
        }
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
                cmocka_unit_test(test_message_arguments_cannot_forge_lines_or_escape_codes),
                cmocka_unit_test(test_text_lines_are_escaped_one_by_one),
                cmocka_unit_test(test_tags_are_escaped),
                cmocka_unit_test(test_multibyte_text_stays_readable_in_the_log),
                cmocka_unit_test(test_long_lines_are_cut_between_characters),
                cmocka_unit_test(test_level_names_round_trip),
                cmocka_unit_test(test_guest_output_joins_pieces_into_lines),
                cmocka_unit_test(test_guest_output_cuts_overlong_lines),
                cmocka_unit_test(test_log_budget_drops_a_flood_and_says_so),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
