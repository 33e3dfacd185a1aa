/* Unit tests of src/plugin/poll_result.c, on component values built by
 * hand (no engine): a poll's result becomes readings only when every
 * bound of the contract holds; a guest error keeps its message and
 * traceback; anything else is bad output that names what was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/poll_result.h"

static wasm_name_t name_of(const char *text) {
        return (wasm_name_t){.size = strlen(text), .data = (char *)(uintptr_t)text};
}

static wasmtime_component_val_t string_of(const char *text) {
        return (wasmtime_component_val_t){.kind = WASMTIME_COMPONENT_STRING,
                                          .of.string = name_of(text)};
}

static wasmtime_component_val_t enum_of(const char *text) {
        return (wasmtime_component_val_t){.kind = WASMTIME_COMPONENT_ENUM,
                                          .of.enumeration = name_of(text)};
}

/* A sensor-reading record; its fields are kept in `fields` (5 entries). */
struct reading_value {
        wasmtime_component_valrecord_entry_t fields[5];
};

static void reading_init(struct reading_value *reading, const char *sensor, const char *quantity,
                         double value, const char *unit, const char *status) {
        reading->fields[0] = (wasmtime_component_valrecord_entry_t){.name = name_of("sensor"),
                                                                    .val = string_of(sensor)};
        reading->fields[1] = (wasmtime_component_valrecord_entry_t){.name = name_of("quantity"),
                                                                    .val = enum_of(quantity)};
        reading->fields[2] = (wasmtime_component_valrecord_entry_t){
                .name = name_of("value"), .val = {.kind = WASMTIME_COMPONENT_F64, .of.f64 = value}};
        reading->fields[3] = (wasmtime_component_valrecord_entry_t){.name = name_of("unit"),
                                                                    .val = string_of(unit)};
        reading->fields[4] = (wasmtime_component_valrecord_entry_t){.name = name_of("status"),
                                                                    .val = enum_of(status)};
}

static wasmtime_component_val_t record_of(struct reading_value *reading, size_t field_count) {
        return (wasmtime_component_val_t){
                .kind = WASMTIME_COMPONENT_RECORD,
                .of.record = {.size = field_count, .data = reading->fields}};
}

/* ok(list) of `count` values. */
static wasmtime_component_val_t ok_list(wasmtime_component_val_t *list,
                                        wasmtime_component_val_t *items, size_t count) {
        *list = (wasmtime_component_val_t){.kind = WASMTIME_COMPONENT_LIST,
                                           .of.list = {.size = count, .data = items}};
        return (wasmtime_component_val_t){.kind = WASMTIME_COMPONENT_RESULT,
                                          .of.result = {.is_ok = true, .val = list}};
}

static struct plugin_failure *new_failure(void) {
        struct plugin_failure *failure = calloc(1, sizeof(*failure));
        assert_non_null(failure);
        return failure;
}

/* Converts one reading; returns the result, and the failure's message. */
static int convert_one(struct reading_value *reading, size_t field_count,
                       struct plugin_failure *failure) {
        wasmtime_component_val_t item = record_of(reading, field_count);
        wasmtime_component_val_t list;
        wasmtime_component_val_t result = ok_list(&list, &item, 1);
        struct reading_list readings = {0};
        int code = poll_result_convert(&result, &readings, failure);
        reading_list_clear(&readings);
        return code;
}

static void test_good_readings_are_converted(void **state) {
        (void)state;
        struct reading_value values[2];
        reading_init(&values[0], "air", "temperature", 21.5,
                     "\xc2\xb0"
                     "C",
                     "ok");
        reading_init(&values[1], "soil", "humidity", NAN, "%", "alarm");
        wasmtime_component_val_t items[2] = {record_of(&values[0], 5), record_of(&values[1], 5)};
        wasmtime_component_val_t list;
        wasmtime_component_val_t result = ok_list(&list, items, 2);
        struct reading_list readings = {0};
        struct plugin_failure *failure = new_failure();
        assert_int_equal(poll_result_convert(&result, &readings, failure), 0);
        assert_int_equal(readings.count, 2);
        assert_string_equal(readings.items[0].sensor, "air");
        assert_string_equal(readings.items[0].unit, "\xc2\xb0"
                                                    "C");
        assert_int_equal(readings.items[0].quantity, READING_TEMPERATURE);
        assert_int_equal(readings.items[0].status, READING_OK);
        assert_true(readings.items[0].value == 21.5);
        assert_true(readings.items[0].is_finite);
        assert_int_equal(readings.items[1].quantity, READING_HUMIDITY);
        assert_int_equal(readings.items[1].status, READING_ALARM);
        /* NaN is kept, flagged. */
        assert_false(readings.items[1].is_finite);
        reading_list_clear(&readings);
        free(failure);
}

static void test_an_empty_list_is_no_readings(void **state) {
        (void)state;
        wasmtime_component_val_t list;
        wasmtime_component_val_t result = ok_list(&list, NULL, 0);
        struct reading_list readings = {0};
        struct plugin_failure *failure = new_failure();
        assert_int_equal(poll_result_convert(&result, &readings, failure), 0);
        assert_int_equal(readings.count, 0);
        reading_list_clear(&readings);
        free(failure);
}

static void test_a_guest_error_keeps_its_message_and_traceback(void **state) {
        (void)state;
        wasmtime_component_valrecord_entry_t fields[2] = {
                {.name = name_of("message"), .val = string_of("sensor offline")},
                {.name = name_of("traceback"), .val = string_of("File \"app.py\", line 9")}};
        wasmtime_component_val_t error = {.kind = WASMTIME_COMPONENT_RECORD,
                                          .of.record = {.size = 2, .data = fields}};
        wasmtime_component_val_t result = {.kind = WASMTIME_COMPONENT_RESULT,
                                           .of.result = {.is_ok = false, .val = &error}};
        struct reading_list readings = {0};
        struct plugin_failure *failure = new_failure();
        assert_int_equal(poll_result_convert(&result, &readings, failure), -ECANCELED);
        assert_int_equal(failure->kind, PLUGIN_FAILURE_GUEST_ERROR);
        assert_string_equal(failure->message, "sensor offline");
        assert_string_equal(failure->traceback, "File \"app.py\", line 9");
        assert_null(readings.items);
        free(failure);
}

static void test_a_guest_error_without_fields_still_says_so(void **state) {
        (void)state;
        wasmtime_component_val_t error = {.kind = WASMTIME_COMPONENT_RECORD,
                                          .of.record = {.size = 0, .data = NULL}};
        struct plugin_failure *failure = new_failure();
        snprintf(failure->traceback, sizeof(failure->traceback), "%s", "stale");
        assert_int_equal(poll_result_convert_error(&error, failure), -ECANCELED);
        assert_string_equal(failure->message, "plugin returned an error");
        assert_string_equal(failure->traceback, "");
        free(failure);
}

static void test_anything_but_a_result_of_a_list_is_bad_output(void **state) {
        (void)state;
        struct plugin_failure *failure = new_failure();
        struct reading_list readings = {0};
        wasmtime_component_val_t number = {.kind = WASMTIME_COMPONENT_F64, .of.f64 = 1};
        assert_int_equal(poll_result_convert(&number, &readings, failure), -EPROTO);
        assert_int_equal(failure->kind, PLUGIN_FAILURE_BAD_OUTPUT);
        wasmtime_component_val_t empty_ok = {.kind = WASMTIME_COMPONENT_RESULT,
                                             .of.result = {.is_ok = true, .val = NULL}};
        assert_int_equal(poll_result_convert(&empty_ok, &readings, failure), -EPROTO);
        wasmtime_component_val_t ok_number = {.kind = WASMTIME_COMPONENT_RESULT,
                                              .of.result = {.is_ok = true, .val = &number}};
        assert_int_equal(poll_result_convert(&ok_number, &readings, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "list"));
        assert_null(readings.items);
        free(failure);
}

static void test_more_readings_than_the_limit_are_refused(void **state) {
        (void)state;
        size_t count = READING_LIST_MAX + 1;
        struct reading_value value;
        reading_init(&value, "air", "temperature", 1, "C", "ok");
        wasmtime_component_val_t *items = calloc(count, sizeof(*items));
        assert_non_null(items);
        for (size_t i = 0; i < count; i++)
                items[i] = record_of(&value, 5);
        wasmtime_component_val_t list;
        wasmtime_component_val_t result = ok_list(&list, items, count);
        struct reading_list readings = {0};
        struct plugin_failure *failure = new_failure();
        assert_int_equal(poll_result_convert(&result, &readings, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "257 readings"));
        /* Exactly the limit is fine. */
        list.of.list.size = READING_LIST_MAX;
        assert_int_equal(poll_result_convert(&result, &readings, failure), 0);
        assert_int_equal(readings.count, READING_LIST_MAX);
        reading_list_clear(&readings);
        free(items);
        free(failure);
}

static void test_text_over_its_bound_is_refused(void **state) {
        (void)state;
        char sensor[READING_SENSOR_MAX + 1];
        memset(sensor, 's', sizeof(sensor) - 1);
        sensor[sizeof(sensor) - 1] = '\0';
        struct reading_value value;
        struct plugin_failure *failure = new_failure();
        reading_init(&value, sensor, "temperature", 1, "C", "ok");
        assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "sensor is 64 bytes"));
        /* One byte less fits, with its NUL. */
        sensor[READING_SENSOR_MAX - 1] = '\0';
        reading_init(&value, sensor, "temperature", 1, "C", "ok");
        assert_int_equal(convert_one(&value, 5, failure), 0);
        reading_init(&value, "air", "temperature", 1, "degrees celsius!", "ok");
        assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "unit"));
        free(failure);
}

static void test_control_characters_are_refused(void **state) {
        (void)state;
        const char *bad[] = {"a\nb", "a\rb", "\x1b[2J", "a\x7f", "tab\t"};
        struct plugin_failure *failure = new_failure();
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct reading_value value;
                reading_init(&value, bad[i], "temperature", 1, "C", "ok");
                assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
                assert_non_null(strstr(failure->message, "control characters"));
                reading_init(&value, "air", "temperature", 1, bad[i], "ok");
                assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        }
        free(failure);
}

static void test_unknown_enum_names_and_wrong_types_are_refused(void **state) {
        (void)state;
        struct plugin_failure *failure = new_failure();
        struct reading_value value;
        reading_init(&value, "air", "pressure", 1, "hPa", "ok");
        assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "bad quantity"));
        reading_init(&value, "air", "temperature", 1, "C", "fine");
        assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "bad status"));
        reading_init(&value, "air", "temperature", 1, "C", "ok");
        value.fields[2].val =
                (wasmtime_component_val_t){.kind = WASMTIME_COMPONENT_F32, .of.f32 = 1};
        assert_int_equal(convert_one(&value, 5, failure), -EPROTO);
        assert_non_null(strstr(failure->message, "f64"));
        /* The last field (status) missing. */
        reading_init(&value, "air", "temperature", 1, "C", "ok");
        assert_int_equal(convert_one(&value, 4, failure), -EPROTO);
        assert_int_equal(failure->kind, PLUGIN_FAILURE_BAD_OUTPUT);
        free(failure);
}

static void test_a_bad_reading_after_good_ones_gives_no_readings(void **state) {
        (void)state;
        struct reading_value values[3];
        reading_init(&values[0], "a", "temperature", 1, "C", "ok");
        reading_init(&values[1], "b", "temperature", 2, "C", "ok");
        reading_init(&values[2], "c", "temperature", 3, "C", "broken");
        wasmtime_component_val_t items[3] = {record_of(&values[0], 5), record_of(&values[1], 5),
                                             record_of(&values[2], 5)};
        wasmtime_component_val_t list;
        wasmtime_component_val_t result = ok_list(&list, items, 3);
        struct reading_list readings = {0};
        struct plugin_failure *failure = new_failure();
        assert_int_equal(poll_result_convert(&result, &readings, failure), -EPROTO);
        /* It names the reading, and hands back none of the good ones (run
         * under valgrind or LeakSanitizer, a leak of them shows). */
        assert_non_null(strstr(failure->message, "reading 2"));
        assert_null(readings.items);
        assert_int_equal(readings.count, 0);
        free(failure);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_readings_are_converted),
                cmocka_unit_test(test_an_empty_list_is_no_readings),
                cmocka_unit_test(test_a_guest_error_keeps_its_message_and_traceback),
                cmocka_unit_test(test_a_guest_error_without_fields_still_says_so),
                cmocka_unit_test(test_anything_but_a_result_of_a_list_is_bad_output),
                cmocka_unit_test(test_more_readings_than_the_limit_are_refused),
                cmocka_unit_test(test_text_over_its_bound_is_refused),
                cmocka_unit_test(test_control_characters_are_refused),
                cmocka_unit_test(test_unknown_enum_names_and_wrong_types_are_refused),
                cmocka_unit_test(test_a_bad_reading_after_good_ones_gives_no_readings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
