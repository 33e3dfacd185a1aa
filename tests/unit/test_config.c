/* Unit tests of src/core/config.c: parsing, defaults and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char config_path[64];

static void write_config(const char *text) {
        snprintf(config_path, sizeof(config_path), "/tmp/pyhost-test-config-XXXXXX");
        int fd = mkstemp(config_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static int load(const char *text, struct host_config *config, struct ph_error *error) {
        write_config(text);
        config_set_defaults(config);
        int result = config_load_file(config, config_path, error);
        if (result == 0)
                result = config_validate(config, error);
        unlink(config_path);
        return result;
}

static void test_defaults_are_the_simulated_board_without_plugins(void **state) {
        (void)state;
        struct host_config config;
        config_set_defaults(&config);
        assert_string_equal(config.board.backend, "sim");
        assert_int_equal(config.board.sim.dht22_pin, 4);
        assert_int_equal(config.plugin_count, 0);
}

static void test_full_config_is_parsed(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        int result = load("[host]\nlog_level = debug\ncache_dir = /tmp/c\n"
                          "[board]\nbackend = sim\ndht22_pin = 17\nmin_celsius = 10\n"
                          "max_celsius = 40.5\nperiod_reads = 6\nerror_probability = 0.25\n"
                          "seed = 7\nscript_celsius = 20, 29.5,31\n"
                          "[plugin greenhouse]\nfile = a/b.wasm\ninterval_s = 0.5\n"
                          "budget_ms = 250\n"
                          "[plugin second]\nfile = c.wasm\n",
                          &config, &error);
        assert_int_equal(result, 0);
        assert_int_equal(config.log_level, LOG_LEVEL_DEBUG);
        assert_string_equal(config.cache_dir, "/tmp/c");
        assert_int_equal(config.board.sim.dht22_pin, 17);
        assert_true(config.board.sim.max_celsius == 40.5);
        assert_int_equal(config.board.sim.period_reads, 6);
        assert_true(config.board.sim.error_probability == 0.25);
        assert_int_equal(config.board.sim.seed, 7);
        assert_int_equal(config.board.sim.script_count, 3);
        assert_true(config.board.sim.script_celsius[1] == 29.5);
        assert_int_equal(config.plugin_count, 2);
        assert_string_equal(config.plugins[0].name, "greenhouse");
        assert_string_equal(config.plugins[0].path, "a/b.wasm");
        assert_true(config.plugins[0].interval_s == 0.5);
        assert_int_equal(config.plugins[0].budget_ms, 250);
        assert_int_equal(config.plugins[1].budget_ms, 100); /* default */
}

static void test_unknown_key_is_named_in_the_error(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[board]\nmin_celsuis = 3\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[board]"));
        assert_non_null(strstr(error.message, "min_celsuis"));
        assert_non_null(strstr(error.message, config_path));
}

static void test_bad_number_names_field_and_value(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[plugin a]\nfile = x.wasm\ninterval_s = soon\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "interval_s"));
        assert_non_null(strstr(error.message, "soon"));
}

static void test_out_of_range_values_are_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[board]\ndht22_pin = 300\n", &config, &error) < 0);
        assert_true(load("[board]\nerror_probability = 1.5\n", &config, &error) < 0);
        assert_true(load("[board]\ndht22_pin = -1\n", &config, &error) < 0);
        assert_true(load("[plugin a]\nfile = x\nbudget_ms = 0\n", &config, &error) < 0);
        assert_true(load("[board]\nmin_celsius = nan\n", &config, &error) < 0);
}

static void test_unknown_section_and_backend_are_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[mqtt]\nhost = x\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[mqtt]"));
        assert_true(load("[board]\nbackend = fpga\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "backend"));
}

static void test_plugin_without_file_is_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[plugin lonely]\ninterval_s = 2\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "lonely"));
        assert_non_null(strstr(error.message, "file"));
}

static void test_bad_plugin_name_is_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[plugin ../etc]\nfile = x\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "plugin names"));
}

static void test_min_above_max_is_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[board]\nmin_celsius = 30\nmax_celsius = 20\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "min_celsius"));
}

static void test_syntax_error_reports_its_line(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[board]\nseed = 1\nthis line has no equals sign\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, ":3: syntax error"));
}

static void test_missing_file_is_named(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        config_set_defaults(&config);
        assert_true(config_load_file(&config, "/nonexistent/pyhost.ini", &error) < 0);
        assert_non_null(strstr(error.message, "/nonexistent/pyhost.ini"));
}

static void test_plugin_file_gets_its_name_from_the_file(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        config_set_defaults(&config);
        assert_int_equal(config_add_plugin_file(&config, "build/plugins/sensor-logic.wasm", &error),
                         0);
        assert_string_equal(config.plugins[0].name, "sensor-logic");
        assert_string_equal(config.plugins[0].path, "build/plugins/sensor-logic.wasm");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_are_the_simulated_board_without_plugins),
                cmocka_unit_test(test_full_config_is_parsed),
                cmocka_unit_test(test_unknown_key_is_named_in_the_error),
                cmocka_unit_test(test_bad_number_names_field_and_value),
                cmocka_unit_test(test_out_of_range_values_are_refused),
                cmocka_unit_test(test_unknown_section_and_backend_are_refused),
                cmocka_unit_test(test_plugin_without_file_is_refused),
                cmocka_unit_test(test_bad_plugin_name_is_refused),
                cmocka_unit_test(test_min_above_max_is_refused),
                cmocka_unit_test(test_syntax_error_reports_its_line),
                cmocka_unit_test(test_missing_file_is_named),
                cmocka_unit_test(test_plugin_file_gets_its_name_from_the_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
