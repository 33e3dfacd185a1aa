/* Unit tests of src/cli/common.c: the bounds of a number of seconds on the
 * command line, and JSON lines that carry plugin text to a terminal
 * without letting it drive the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void test_seconds_in_range_are_parsed(void **state) {
        (void)state;
        double seconds = 0;
        assert_int_equal(cli_parse_seconds("1", &seconds), 0);
        assert_true(seconds == 1.0);
        assert_int_equal(cli_parse_seconds("0.25", &seconds), 0);
        assert_true(seconds == 0.25);
        assert_int_equal(cli_parse_seconds("86400", &seconds), 0);
        assert_true(seconds == 86400.0);
        assert_int_equal(cli_parse_seconds("1e-3", &seconds), 0);
        assert_true(seconds == 1e-3);
}

static void test_seconds_out_of_range_or_malformed_are_refused(void **state) {
        (void)state;
        const char *refused[] = {"0",      "-1",  "-0.5", "86400.5", "86401", "1e400",
                                 "1e-400", "nan", "inf",  "",        "5s",    "1,5",
                                 "0x",     "--1", "1 ",   "+inf",    "-0"};
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                double seconds = 42;
                if (cli_parse_seconds(refused[i], &seconds) != -1)
                        fail_msg("'%s' was accepted", refused[i]);
                /* Nothing is written on refusal. */
                assert_true(seconds == 42);
        }
}

/* What cli_print_json_line writes for `value`. */
static char *printed(json_t *value, int *ret_result) {
        char *text = NULL;
        size_t size = 0;
        FILE *stream = open_memstream(&text, &size);
        assert_non_null(stream);
        *ret_result = cli_print_json_line(stream, value);
        assert_int_equal(fclose(stream), 0);
        return text;
}

static void test_a_json_line_is_one_compact_line(void **state) {
        (void)state;
        int result = -1;
        char *text = printed(json_pack("{s:s, s:i}", "plugin", "a\nb", "n", 3), &result);
        assert_int_equal(result, 0);
        assert_string_equal(text, "{\"plugin\":\"a\\nb\",\"n\":3}\n");
        free(text);
}

static void test_terminal_controls_leave_as_json_escapes(void **state) {
        (void)state;
        /* U+202E (right-to-left override), U+0085 (C1 next line), U+2028
         * (line separator), ESC: none may reach the terminal raw. */
        const char *sensor = "x\xe2\x80\xae"
                             "y\xc2\x85z\xe2\x80\xa8w\x1b[2J";
        int result = -1;
        char *text = printed(json_pack("{s:s}", "sensor", sensor), &result);
        assert_int_equal(result, 0);
        assert_null(strstr(text, "\xe2\x80\xae"));
        assert_null(strstr(text, "\xc2\x85"));
        assert_null(strstr(text, "\xe2\x80\xa8"));
        assert_null(strchr(text, '\x1b'));
        assert_non_null(strstr(text, "\\u202e"));
        assert_non_null(strstr(text, "\\u0085"));
        /* Exactly one newline, at the end. */
        assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
        /* Still the same JSON value. */
        json_error_t error;
        json_t *back = json_loads(text, 0, &error);
        assert_non_null(back);
        assert_string_equal(json_string_value(json_object_get(back, "sensor")), sensor);
        json_decref(back);
        free(text);
}

static void test_readable_text_is_kept_as_it_is(void **state) {
        (void)state;
        int result = -1;
        char *text = printed(json_pack("{s:s}", "unit",
                                       "\xc2\xb0"
                                       "C"),
                             &result);
        assert_int_equal(result, 0);
        assert_string_equal(text, "{\"unit\":\"\xc2\xb0"
                                  "C\"}\n");
        free(text);
}

static void test_no_value_or_a_failed_write_is_an_error(void **state) {
        (void)state;
        int result = 0;
        char *text = printed(NULL, &result);
        assert_int_equal(result, -ENOMEM);
        free(text);
        FILE *full = fopen("/dev/full", "w");
        if (full == NULL)
                skip();
        setvbuf(full, NULL, _IONBF, 0);
        assert_int_equal(cli_print_json_line(full, json_pack("{s:i}", "n", 1)), -EIO);
        fclose(full);
}

static void test_a_failure_is_described_by_its_kind_name(void **state) {
        (void)state;
        struct plugin_failure *failure = calloc(1, sizeof(*failure));
        assert_non_null(failure);
        failure->kind = PLUGIN_FAILURE_BUDGET;
        snprintf(failure->message, sizeof(failure->message), "%s", "too slow");
        snprintf(failure->traceback, sizeof(failure->traceback), "%s", "line 3");
        json_t *json = cli_failure_to_json(failure);
        assert_non_null(json);
        json_t *error = json_object_get(json, "error");
        assert_string_equal(json_string_value(json_object_get(error, "kind")), "budget-exceeded");
        assert_string_equal(json_string_value(json_object_get(error, "message")), "too slow");
        assert_string_equal(json_string_value(json_object_get(error, "traceback")), "line 3");
        json_decref(json);
        free(failure);
}

static void test_the_default_cache_prefers_xdg_then_home(void **state) {
        (void)state;
        char out[256];
        setenv("XDG_CACHE_HOME", "/x/cache", 1);
        setenv("HOME", "/home/u", 1);
        cli_default_cache_dir(out, sizeof(out));
        assert_string_equal(out, "/x/cache/pyhost-compiled");
        /* A relative XDG_CACHE_HOME is ignored, as the spec says. */
        setenv("XDG_CACHE_HOME", "relative", 1);
        cli_default_cache_dir(out, sizeof(out));
        assert_string_equal(out, "/home/u/.cache/pyhost-compiled");
        unsetenv("XDG_CACHE_HOME");
        unsetenv("HOME");
        cli_default_cache_dir(out, sizeof(out));
        assert_string_equal(out, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_seconds_in_range_are_parsed),
                cmocka_unit_test(test_seconds_out_of_range_or_malformed_are_refused),
                cmocka_unit_test(test_a_json_line_is_one_compact_line),
                cmocka_unit_test(test_terminal_controls_leave_as_json_escapes),
                cmocka_unit_test(test_readable_text_is_kept_as_it_is),
                cmocka_unit_test(test_no_value_or_a_failed_write_is_an_error),
                cmocka_unit_test(test_a_failure_is_described_by_its_kind_name),
                cmocka_unit_test(test_the_default_cache_prefers_xdg_then_home),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
