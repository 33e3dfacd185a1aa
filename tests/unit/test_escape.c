/* Unit tests of src/core/escape.c: what outside text looks like once it is
 * safe for a terminal, a log file and journald. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"

/* Escapes `text` (its strlen, or `size` when given) with room to spare. */
static const char *escaped_sized(const char *text, size_t size) {
        static char out[1024];
        size_t consumed = 0;
        size_t length = escape_text(out, sizeof(out) - 1, text, size, &consumed);
        assert_int_equal(consumed, size);
        out[length] = '\0';
        return out;
}

static const char *escaped(const char *text) {
        return escaped_sized(text, strlen(text));
}

static void test_plain_text_is_kept(void **state) {
        (void)state;
        assert_string_equal(escaped("temperature 21.5 ok"), "temperature 21.5 ok");
        assert_string_equal(escaped(""), "");
}

static void test_newlines_tabs_and_returns_have_short_names(void **state) {
        (void)state;
        assert_string_equal(escaped("a\nb\rc\td"), "a\\nb\\rc\\td");
}

static void test_other_c0_controls_and_del_are_hex(void **state) {
        (void)state;
        assert_string_equal(escaped("\x1b[2J\x07\x7f\x01"), "\\x1b[2J\\x07\\x7f\\x01");
        /* A NUL inside the text, too. */
        assert_string_equal(escaped_sized("a\0b", 3), "a\\x00b");
}

static void test_backslash_is_doubled_so_the_output_is_unambiguous(void **state) {
        (void)state;
        /* The literal text "\x1b" must not read like an escaped ESC. */
        assert_string_equal(escaped("C:\\x1b"), "C:\\\\x1b");
}

static void test_c1_controls_are_u_escapes(void **state) {
        (void)state;
        /* U+0085 (next line) and U+009B (8-bit CSI), as UTF-8. */
        assert_string_equal(escaped("a\xc2\x85z\xc2\x9b"), "a\\u0085z\\u009b");
        assert_string_equal(escaped("\xc2\x80\xc2\x9f"), "\\u0080\\u009f");
        /* U+00A0 and U+00B0 are not controls. */
        assert_string_equal(escaped("\xc2\xa0\xc2\xb0"), "\xc2\xa0\xc2\xb0");
}

static void test_bidi_controls_and_separators_are_u_escapes(void **state) {
        (void)state;
        assert_string_equal(escaped("\xe2\x80\xae"), "\\u202e"); /* right-to-left override */
        assert_string_equal(escaped("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"),
                            "\\u202a\\u202b\\u202c\\u202d");
        assert_string_equal(escaped("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9"),
                            "\\u2066\\u2067\\u2068\\u2069"); /* isolates */
        assert_string_equal(escaped("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"),
                            "\\u200e\\u200f\\u061c"); /* marks */
        assert_string_equal(escaped("\xe2\x80\xa8\xe2\x80\xa9"), "\\u2028\\u2029");
        /* Neighbours stay: U+2027, U+202F, U+2065, U+206A. */
        assert_string_equal(escaped("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa"),
                            "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
}

static void test_valid_multibyte_text_stays_readable(void **state) {
        (void)state;
        const char *text = "21.5 \xc2\xb0"
                           "C, 3 \xc2\xb5s, \xe6\xb8\xa9\xe5\xba\xa6, \xf0\x9f\x8c\xa1";
        assert_string_equal(escaped(text), text);
}

static void test_invalid_utf8_is_hex_per_byte(void **state) {
        (void)state;
        assert_string_equal(escaped("a\xff"
                                    "b"),
                            "a\\xffb");
        assert_string_equal(escaped("\x80"), "\\x80");                   /* stray continuation */
        assert_string_equal(escaped("\xc0\xaf"), "\\xc0\\xaf");          /* overlong "/" */
        assert_string_equal(escaped("\xe0\x80\xaf"), "\\xe0\\x80\\xaf"); /* overlong */
        assert_string_equal(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* surrogate */
        assert_string_equal(escaped("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
        /* A sequence cut short by the end of the text. */
        assert_string_equal(escaped("ok\xe2\x80"), "ok\\xe2\\x80");
        /* A lead byte followed by ASCII: the ASCII is kept. */
        assert_string_equal(escaped("\xc3("), "\\xc3(");
}

/* Every capacity from 0 up: the output is a prefix of the whole escape that
 * ends on a character boundary, and `consumed` matches it. */
static void test_a_cut_never_splits_an_escape_or_a_sequence(void **state) {
        (void)state;
        const char text[] = "\xc2\xb0\x1b\xe2\x80\xae\xe6\xb8\xa9\n\xff"
                            "a";
        size_t size = sizeof(text) - 1;
        /* The escapes of each character, in order, and what each consumes. */
        static const char *const pieces[] = {"\xc2\xb0", "\\x1b", "\\u202e", "\xe6\xb8\xa9",
                                             "\\n",      "\\xff", "a"};
        static const size_t used[] = {2, 1, 3, 3, 1, 1, 1};
        char whole[64];
        size_t whole_length = 0;
        for (size_t i = 0; i < 7; i++) {
                memcpy(whole + whole_length, pieces[i], strlen(pieces[i]));
                whole_length += strlen(pieces[i]);
        }
        for (size_t capacity = 0; capacity <= whole_length + 1; capacity++) {
                char out[64];
                memset(out, '#', sizeof(out));
                size_t consumed = 99;
                size_t length = escape_text(out, capacity, text, size, &consumed);
                assert_true(length <= capacity);
                assert_true(out[length] == '#' || length == capacity); /* stays in bounds */
                size_t expect_length = 0, expect_consumed = 0;
                for (size_t i = 0; i < 7; i++) {
                        if (expect_length + strlen(pieces[i]) > capacity)
                                break;
                        expect_length += strlen(pieces[i]);
                        expect_consumed += used[i];
                }
                assert_int_equal(length, expect_length);
                assert_int_equal(consumed, expect_consumed);
                assert_memory_equal(out, whole, length);
        }
}

/* Reads back what `write` put into a temporary stream. */
static const char *stream_text(FILE *file) {
        static char text[4096];
        fflush(file);
        rewind(file);
        size_t length = fread(text, 1, sizeof(text) - 1, file);
        text[length] = '\0';
        fclose(file);
        return text;
}

static void test_fwrite_escapes_long_text_whole(void **state) {
        (void)state;
        char text[1500];
        memset(text, '\n', sizeof(text));
        FILE *file = tmpfile();
        assert_non_null(file);
        assert_int_equal(escape_fwrite(file, text, sizeof(text)), 0);
        const char *out = stream_text(file);
        assert_int_equal(strlen(out), 2 * sizeof(text));
        assert_null(strchr(out, '\n'));
}

static void test_print_line_escapes_the_message_and_ends_the_line(void **state) {
        (void)state;
        FILE *file = tmpfile();
        assert_non_null(file);
        assert_int_equal(escape_print_line(file, "pyhost: %s", "bad\n\x1b[2Jname"), 0);
        assert_string_equal(stream_text(file), "pyhost: bad\\n\\x1b[2Jname\n");
}

static void test_print_line_keeps_long_messages_whole(void **state) {
        (void)state;
        char long_text[3000];
        memset(long_text, 'x', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        FILE *file = tmpfile();
        assert_non_null(file);
        assert_int_equal(escape_print_line(file, "%s!", long_text), 0);
        const char *out = stream_text(file);
        assert_int_equal(strlen(out), sizeof(long_text) + 1);
        assert_string_equal(out + sizeof(long_text) - 1, "!\n");
}

static void test_json_keeps_text_and_u_escapes_terminal_controls(void **state) {
        (void)state;
        const char json[] = "{\"sensor\":\"t\xe2\x80\xae\",\"unit\":\"\xc2\xb0"
                            "C\xc2\x9b\x7f\",\"note\":\"\xe6\xb8\xa9\\n\"}";
        FILE *file = tmpfile();
        assert_non_null(file);
        assert_int_equal(escape_json_fwrite(file, json, sizeof(json) - 1), 0);
        assert_string_equal(stream_text(file), "{\"sensor\":\"t\\u202e\",\"unit\":\"\xc2\xb0"
                                               "C\\u009b\\u007f\",\"note\":\"\xe6\xb8\xa9\\n\"}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_text_is_kept),
                cmocka_unit_test(test_newlines_tabs_and_returns_have_short_names),
                cmocka_unit_test(test_other_c0_controls_and_del_are_hex),
                cmocka_unit_test(test_backslash_is_doubled_so_the_output_is_unambiguous),
                cmocka_unit_test(test_c1_controls_are_u_escapes),
                cmocka_unit_test(test_bidi_controls_and_separators_are_u_escapes),
                cmocka_unit_test(test_valid_multibyte_text_stays_readable),
                cmocka_unit_test(test_invalid_utf8_is_hex_per_byte),
                cmocka_unit_test(test_a_cut_never_splits_an_escape_or_a_sequence),
                cmocka_unit_test(test_fwrite_escapes_long_text_whole),
                cmocka_unit_test(test_print_line_escapes_the_message_and_ends_the_line),
                cmocka_unit_test(test_print_line_keeps_long_messages_whole),
                cmocka_unit_test(test_json_keeps_text_and_u_escapes_terminal_controls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
