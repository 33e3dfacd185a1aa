/* Unit tests of src/plugin/wasm_error.c, on errors made with
 * wasmtime_error_new (no engine): a Wasmtime error becomes a ph_error with
 * its context, and a chain of causes is described by its innermost one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "plugin/internal.h"

static void test_an_error_is_taken_with_its_context_and_code(void **state) {
        (void)state;
        struct ph_error error = {0};
        int result = wasm_error_take(wasmtime_error_new("invalid magic"), -EINVAL, &error,
                                     "plugins/a.wasm");
        assert_int_equal(result, -EINVAL);
        assert_int_equal(error.code, -EINVAL);
        assert_string_equal(error.message, "plugins/a.wasm: invalid magic");
}

/* Describes an error made of `text`. */
static void describe(const char *text, char *cause, size_t cause_size, char *detail,
                     size_t detail_size) {
        wasm_error_describe(wasmtime_error_new(text), cause, cause_size, detail, detail_size);
}

static void test_the_innermost_cause_is_the_last_caused_by_line(void **state) {
        (void)state;
        const char *text = "error while executing at wasm backtrace:\n"
                           "    0: 0x1234 - poll\n"
                           "\n"
                           "Caused by:\n"
                           "    0: outer reason\n"
                           "    1: wasm trap: wasm `unreachable` instruction executed\n";
        char cause[256], detail[1024];
        describe(text, cause, sizeof(cause), detail, sizeof(detail));
        assert_string_equal(cause, "wasm trap: wasm `unreachable` instruction executed");
        /* The detail is the whole text, backtrace included. */
        assert_string_equal(detail, text);
}

static void test_a_single_cause_is_taken_without_numbering(void **state) {
        (void)state;
        char cause[256], detail[1024];
        describe("failed to call poll\n\nCaused by:\n    all fuel consumed", cause, sizeof(cause),
                 detail, sizeof(detail));
        assert_string_equal(cause, "all fuel consumed");
}

static void test_without_causes_the_first_line_is_the_cause(void **state) {
        (void)state;
        char cause[256], detail[1024];
        describe("out of bounds memory access\nmore detail", cause, sizeof(cause), detail,
                 sizeof(detail));
        assert_string_equal(cause, "out of bounds memory access");
        assert_string_equal(detail, "out of bounds memory access\nmore detail");
}

static void test_the_last_caused_by_section_wins(void **state) {
        (void)state;
        char cause[256], detail[1024];
        describe("a\nCaused by:\n    first\nnested\nCaused by:\n    0: second\n\n", cause,
                 sizeof(cause), detail, sizeof(detail));
        assert_string_equal(cause, "second");
}

static void test_descriptions_are_cut_to_their_buffers(void **state) {
        (void)state;
        char cause[8], detail[16];
        describe("a very long first line indeed", cause, sizeof(cause), detail, sizeof(detail));
        assert_string_equal(cause, "a very ");
        assert_string_equal(detail, "a very long fir");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_an_error_is_taken_with_its_context_and_code),
                cmocka_unit_test(test_the_innermost_cause_is_the_last_caused_by_line),
                cmocka_unit_test(test_a_single_cause_is_taken_without_numbering),
                cmocka_unit_test(test_without_causes_the_first_line_is_the_cause),
                cmocka_unit_test(test_the_last_caused_by_section_wins),
                cmocka_unit_test(test_descriptions_are_cut_to_their_buffers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
