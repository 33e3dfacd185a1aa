/* Unit tests of src/http/reply.c: an error reply is valid JSON whatever
 * bytes its message quotes, text becomes a JSON string even when it is not
 * valid UTF-8, and out of memory still leaves a 500 reply to send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"

/* Parses the reply's body; fails the test when it is not JSON. */
static json_t *body_of(const struct http_reply *reply) {
        json_error_t error;
        json_t *json = json_loadb(reply->body, reply->size, 0, &error);
        if (json == NULL)
                fail_msg("reply body is not JSON (%s): %.*s", error.text, (int)reply->size,
                         reply->body);
        return json;
}

static const char *message_of(json_t *body) {
        return json_string_value(json_object_get(json_object_get(body, "error"), "message"));
}

static void test_an_error_reply_has_status_and_message(void **state) {
        (void)state;
        struct http_reply reply = {0};
        assert_int_equal(http_reply_error(&reply, 404, "no plugin '%s'", "x"), -404);
        assert_int_equal(reply.status, 404);
        assert_string_equal(reply.content_type, "application/json");
        json_t *body = body_of(&reply);
        json_t *error = json_object_get(body, "error");
        assert_int_equal(json_integer_value(json_object_get(error, "status")), 404);
        assert_string_equal(message_of(body), "no plugin 'x'");
        json_decref(body);
        http_reply_clear(&reply);
}

static void test_a_status_below_400_returns_zero(void **state) {
        (void)state;
        struct http_reply reply = {0};
        assert_int_equal(http_reply_error(&reply, 202, "%s", "accepted"), 0);
        assert_int_equal(reply.status, 202);
        http_reply_clear(&reply);
}

static void test_an_error_quoting_any_bytes_stays_valid_json(void **state) {
        (void)state;
        /* Every byte value but NUL, quotes and backslashes among them, and
         * UTF-8 cut in the middle of a character. */
        char quoted[256];
        for (int i = 1; i < 256; i++)
                quoted[i - 1] = (char)i;
        quoted[255] = '\0';
        const char *cases[] = {quoted,     "\"}{\\",    "\xc3",     "\xe2\x82",
                               "\xff\xfe", "a\nb\r\tc", "\xc2\xb0", "\xed\xa0\x80"};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct http_reply reply = {0};
                assert_int_equal(http_reply_error(&reply, 400, "bad path '%s'", cases[i]), -400);
                json_t *body = body_of(&reply);
                const char *message = message_of(body);
                assert_non_null(message);
                /* Printable ASCII only: nothing can act on a log or terminal. */
                for (const char *c = message; *c != '\0'; c++)
                        assert_true(*c >= 0x20 && *c <= 0x7e);
                assert_true(strncmp(message, "bad path '", 10) == 0);
                json_decref(body);
                http_reply_clear(&reply);
        }
}

static void test_quotes_and_backslashes_survive_in_the_message(void **state) {
        (void)state;
        struct http_reply reply = {0};
        (void)http_reply_error(&reply, 400, "%s", "a \"quoted\" \\ path");
        json_t *body = body_of(&reply);
        assert_string_equal(message_of(body), "a \"quoted\" \\ path");
        json_decref(body);
        http_reply_clear(&reply);
}

static void test_a_long_message_is_cut_but_stays_json(void **state) {
        (void)state;
        char long_text[4096];
        memset(long_text, '"', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        struct http_reply reply = {0};
        (void)http_reply_error(&reply, 413, "%s", long_text);
        json_t *body = body_of(&reply);
        assert_true(strlen(message_of(body)) < 512);
        assert_true(strlen(message_of(body)) > 100);
        json_decref(body);
        http_reply_clear(&reply);
}

static void test_json_text_replaces_invalid_utf8(void **state) {
        (void)state;
        json_t *text = http_json_text("ok \xc3 cut");
        assert_non_null(text);
        assert_string_equal(json_string_value(text), "ok ? cut");
        json_decref(text);
        /* Valid UTF-8 is kept. */
        text = http_json_text("21 \xc2\xb0"
                              "C");
        assert_string_equal(json_string_value(text), "21 \xc2\xb0"
                                                     "C");
        json_decref(text);
        text = http_json_text(NULL);
        assert_string_equal(json_string_value(text), "");
        json_decref(text);
}

static void test_no_json_becomes_a_500_reply(void **state) {
        (void)state;
        struct http_reply reply = {0};
        assert_int_equal(http_reply_json(&reply, 200, NULL), -ENOMEM);
        assert_int_equal(reply.status, 500);
        json_t *body = body_of(&reply);
        assert_string_equal(message_of(body), "out of memory");
        json_decref(body);
        http_reply_clear(&reply);
        assert_int_equal(http_reply_take(&reply, 200, "text/plain", NULL, 5), -ENOMEM);
        assert_int_equal(reply.status, 500);
        http_reply_clear(&reply);
}

static void test_a_reply_is_reusable_and_frees_only_what_it_owns(void **state) {
        (void)state;
        static const char page[] = "<html></html>";
        struct http_reply reply = {0};
        http_reply_static(&reply, 200, "text/html", page, sizeof(page) - 1);
        assert_true(reply.is_static);
        /* Replacing a static body must not free it; replacing an owned one
         * must (the sanitizer build sees either mistake). */
        assert_int_equal(http_reply_json(&reply, 201, json_pack("{s:i}", "n", 1)), 0);
        assert_false(reply.is_static);
        assert_int_equal(reply.status, 201);
        assert_int_equal(reply.size, strlen("{\"n\":1}"));
        assert_memory_equal(reply.body, "{\"n\":1}", reply.size);
        http_reply_static(&reply, 200, "text/html", page, sizeof(page) - 1);
        assert_ptr_equal(reply.body, page);
        http_reply_clear(&reply);
        assert_null(reply.body);
        assert_int_equal(reply.size, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_an_error_reply_has_status_and_message),
                cmocka_unit_test(test_a_status_below_400_returns_zero),
                cmocka_unit_test(test_an_error_quoting_any_bytes_stays_valid_json),
                cmocka_unit_test(test_quotes_and_backslashes_survive_in_the_message),
                cmocka_unit_test(test_a_long_message_is_cut_but_stays_json),
                cmocka_unit_test(test_json_text_replaces_invalid_utf8),
                cmocka_unit_test(test_no_json_becomes_a_500_reply),
                cmocka_unit_test(test_a_reply_is_reusable_and_frees_only_what_it_owns),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
