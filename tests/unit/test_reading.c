/* Unit tests of src/core/reading.c and src/core/file.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "core/file.h"
#include "core/reading.h"

static void test_readings_become_json_objects(void **state) {
        (void)state;
        struct reading items[2] = {
                {.sensor = "greenhouse",
                 .quantity = READING_TEMPERATURE,
                 .value = 21.5,
                 .is_finite = true,
                 .unit = "°C",
                 .status = READING_ALARM},
                {.sensor = "greenhouse",
                 .quantity = READING_HUMIDITY,
                 .value = NAN,
                 .is_finite = false,
                 .unit = "%",
                 .status = READING_OK},
        };
        struct reading_list list = {.items = items, .count = 2};
        json_t *json = reading_list_to_json(&list);
        assert_non_null(json);
        char *text = json_dumps(json, JSON_COMPACT);
        assert_string_equal(
                text, "[{\"sensor\":\"greenhouse\",\"quantity\":\"temperature\",\"value\":21.5,"
                      "\"unit\":\"°C\",\"status\":\"alarm\",\"valid\":true},"
                      "{\"sensor\":\"greenhouse\",\"quantity\":\"humidity\",\"value\":null,"
                      "\"unit\":\"%\",\"status\":\"ok\",\"valid\":false}]");
        free(text);
        json_decref(json);
}

static void test_enum_names_parse_exactly(void **state) {
        (void)state;
        enum reading_quantity quantity;
        enum reading_status status;
        assert_int_equal(reading_quantity_parse("humidity", 8, &quantity), 0);
        assert_int_equal(quantity, READING_HUMIDITY);
        assert_true(reading_quantity_parse("humid", 5, &quantity) < 0);
        assert_int_equal(reading_status_parse("warning", 7, &status), 0);
        assert_int_equal(status, READING_WARNING);
        assert_true(reading_status_parse("warnings", 8, &status) < 0);
}

static void test_file_is_read_whole(void **state) {
        (void)state;
        char path[] = "/tmp/pyhost-test-file-XXXXXX";
        int fd = mkstemp(path);
        assert_int_equal(write(fd, "abcdef", 6), 6);
        close(fd);
        uint8_t *data = NULL;
        size_t size = 0;
        assert_int_equal(file_read_all(path, 100, &data, &size, NULL), 0);
        assert_int_equal(size, 6);
        assert_memory_equal(data, "abcdef", 6);
        free(data);
        struct ph_error error = {0};
        assert_int_equal(file_read_all(path, 5, &data, &size, &error), -EFBIG);
        assert_non_null(strstr(error.message, path));
        unlink(path);
}

static void test_devices_and_missing_files_are_refused(void **state) {
        (void)state;
        uint8_t *data = NULL;
        size_t size = 0;
        struct ph_error error = {0};
        assert_int_equal(file_read_all("/dev/zero", 1 << 20, &data, &size, &error), -EINVAL);
        assert_non_null(strstr(error.message, "not a regular file"));
        assert_true(file_read_all("/nonexistent", 10, &data, &size, &error) < 0);
        assert_non_null(strstr(error.message, "/nonexistent"));
}

static void test_error_prefix_keeps_both_parts(void **state) {
        (void)state;
        struct ph_error error = {0};
        assert_int_equal(ph_error_set(&error, -EINVAL, "not a component"), -EINVAL);
        ph_error_prefix(&error, "%s", "plugins/a.wasm");
        assert_string_equal(error.message, "plugins/a.wasm: not a component");
        char long_prefix[2000];
        memset(long_prefix, 'p', sizeof(long_prefix) - 1);
        long_prefix[sizeof(long_prefix) - 1] = '\0';
        ph_error_prefix(&error, "%s", long_prefix);
        assert_int_equal(strlen(error.message), PH_ERROR_MESSAGE_MAX - 1);
}

static void test_directories_are_made_with_their_parents(void **state) {
        (void)state;
        char base[] = "/tmp/pyhost-test-dirs-XXXXXX";
        assert_non_null(mkdtemp(base));
        char deep[128];
        snprintf(deep, sizeof(deep), "%s/a/b/c", base);
        assert_int_equal(file_make_directories(deep, 0700, NULL), 0);
        assert_int_equal(file_make_directories(deep, 0700, NULL), 0); /* exists: fine */
        char file_path[160];
        snprintf(file_path, sizeof(file_path), "%s/a/plain", base);
        FILE *file = fopen(file_path, "w");
        fclose(file);
        struct ph_error error = {0};
        char under_file[192];
        snprintf(under_file, sizeof(under_file), "%s/sub", file_path);
        assert_true(file_make_directories(under_file, 0700, &error) < 0);
        assert_non_null(strstr(error.message, file_path));
        char command[200];
        snprintf(command, sizeof(command), "rm -rf %s", base);
        assert_int_equal(system(command), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_readings_become_json_objects),
                cmocka_unit_test(test_enum_names_parse_exactly),
                cmocka_unit_test(test_file_is_read_whole),
                cmocka_unit_test(test_devices_and_missing_files_are_refused),
                cmocka_unit_test(test_error_prefix_keeps_both_parts),
                cmocka_unit_test(test_directories_are_made_with_their_parents),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
