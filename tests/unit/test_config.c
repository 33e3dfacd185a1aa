/* Unit tests of src/core/config.c: parsing, defaults and clear errors. */
#include <errno.h>
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
#include "core/settings.h"

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
        assert_true(load("[zigbee]\nhost = x\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[zigbee]"));
        assert_true(load("[board]\nbackend = fpga\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "backend"));
}

static void test_history_and_mqtt_sections_are_parsed(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        int result = load("[history]\npath = /var/lib/pyhost/history.db\nsynchronous = full\n"
                          "batch_rows = 10\nbatch_ms = 250\nqueue_rows = 20\n"
                          "max_age_days = 7.5\nmax_rows = 5000\n"
                          "[mqtt]\nenabled = yes\nhost = broker.lan\nport = 8883\n"
                          "device = shed-1\ntopic_prefix = farm/pyhost\ndiscovery_prefix =\n"
                          "username = u\npassword = p\ntls = yes\ntls_ca_file = /ca.pem\n"
                          "qos = 0\nqueue_messages = 50\nreconnect_min_ms = 100\n"
                          "reconnect_max_ms = 2000\n",
                          &config, &error);
        assert_int_equal(result, 0);
        assert_string_equal(config.history.path, "/var/lib/pyhost/history.db");
        assert_true(config.history.is_sync_full);
        assert_int_equal(config.history.batch_rows, 10);
        assert_int_equal(config.history.batch_ms, 250);
        assert_int_equal(config.history.queue_rows, 20);
        assert_true(config.history.max_age_days == 7.5);
        assert_int_equal(config.history.max_rows, 5000);
        assert_true(config.mqtt.is_enabled);
        assert_string_equal(config.mqtt.host, "broker.lan");
        assert_int_equal(config.mqtt.port, 8883);
        assert_string_equal(config.mqtt.device, "shed-1");
        assert_string_equal(config.mqtt.topic_prefix, "farm/pyhost");
        assert_string_equal(config.mqtt.discovery_prefix, "");
        assert_true(config.mqtt.has_tls);
        assert_int_equal(config.mqtt.qos, 0);
        assert_int_equal(config.mqtt.queue_messages, 50);
}

static void test_history_and_mqtt_are_off_by_default(void **state) {
        (void)state;
        struct host_config config;
        config_set_defaults(&config);
        assert_string_equal(config.history.path, "");
        assert_false(config.mqtt.is_enabled);
        assert_string_equal(config.mqtt.discovery_prefix, "homeassistant");
}

static void test_bad_history_and_mqtt_values_name_the_key(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[history]\nsynchronous = off\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[history] synchronous"));
        assert_true(load("[history]\nbatch_rows = 0\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "batch_rows"));
        assert_true(load("[history]\nbatch_rows = 50\nqueue_rows = 10\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "queue_rows"));
        assert_true(load("[mqtt]\nqos = 2\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[mqtt] qos"));
        assert_true(load("[mqtt]\ntopic_prefix = a/#\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "topic_prefix"));
        assert_true(load("[mqtt]\ndevice = has space\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "device"));
        assert_true(load("[mqtt]\nreconnect_min_ms = 5000\nreconnect_max_ms = 100\n", &config,
                         &error) < 0);
        assert_non_null(strstr(error.message, "reconnect_min_ms"));
        assert_true(load("[mqtt]\ntls_cert_file = /c.pem\ntls = yes\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "tls_key_file"));
        assert_true(load("[mqtt]\nbroker = x\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "unknown key 'broker'"));
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

static void test_invalid_values_say_what_is_expected(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[http]\ntoken = short\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "[http] token: invalid value 'short': expected 16 "
                                              "to 127 printable ASCII characters"));
        assert_true(load("[plugin a]\nfile = a\nled_safe_state = blue, off\n", &config, &error) <
                    0);
        assert_non_null(strstr(error.message, "expected two of off, green, yellow, red"));
}

static void test_leds_have_one_owner(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load("[plugin a]\nfile = a.wasm\ngrants = led-controller\n"
                         "[plugin b]\nfile = b.wasm\ngrants = logging, led-controller\n",
                         &config, &error) < 0);
        assert_non_null(strstr(error.message, "already granted to plugin a"));
}

static void test_grants_pins_and_safe_state_are_parsed(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[plugin a]\nfile = a.wasm\ngrants = gpio-provider, logging\n"
                              "dht22_pins = 4, 17\ndht22_min_interval_ms = 500\n"
                              "led_safe_state = red, off\ndata_dir = /srv/data\n",
                              &config, &error),
                         0);
        const struct plugin_grants *grants = &config.plugins[0].grants;
        assert_true(grants->gpio_provider && grants->logging && !grants->led_controller);
        assert_int_equal(grants->dht22_pin_count, 2);
        assert_int_equal(grants->dht22_pins[1], 17);
        assert_int_equal(grants->dht22_min_interval_ms, 500);
        assert_int_equal(grants->led_safe_state[0], 3);
        assert_int_equal(grants->led_safe_state[1], 0);
        assert_string_equal(grants->data_dir, "/srv/data");
        assert_false(grants->is_any_pin);
        assert_true(load("[plugin a]\nfile = a\ngrants = root-shell\n", &config, &error) < 0);
        assert_non_null(strstr(error.message, "grants"));
        assert_true(load("[plugin a]\nfile = a\nled_safe_state = red\n", &config, &error) < 0);
        assert_true(load("[plugin a]\nfile = a\ndht22_pins = 4, x\n", &config, &error) < 0);
}

static void test_hardware_grants_and_their_targets_are_parsed(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[plugin a]\nfile = a.wasm\ngrants = i2c, gpio, pwm, iio, onewire\n"
                              "i2c_devices = 1:0x76, 3:119\ngpio_inputs = 17\n"
                              "gpio_outputs = 27, 22:on\npwm_channels = 0\niio_devices = 2\n"
                              "onewire_ids = 28-000000000001\ni2c_max_per_s = 50\n",
                              &config, &error),
                         0);
        const struct plugin_grants *grants = &config.plugins[0].grants;
        assert_true(grants->i2c && grants->gpio && grants->pwm && grants->iio && grants->onewire);
        assert_int_equal(grants->i2c_device_count, 2);
        assert_int_equal(grants->i2c_devices[0].bus, 1);
        assert_int_equal(grants->i2c_devices[0].address, 0x76);
        assert_int_equal(grants->i2c_devices[1].bus, 3);
        assert_int_equal(grants->i2c_devices[1].address, 119);
        assert_int_equal(grants->gpio_inputs[0], 17);
        assert_int_equal(grants->gpio_output_count, 2);
        assert_false(grants->gpio_outputs[0].is_safe_active);
        assert_int_equal(grants->gpio_outputs[1].line, 22);
        assert_true(grants->gpio_outputs[1].is_safe_active);
        assert_int_equal(grants->iio_devices[0], 2);
        assert_string_equal(grants->onewire_ids[0], "28-000000000001");
        assert_true(grants->i2c_max_per_s == 50.0);
        static const char *const bad[] = {
                "i2c_devices = 1\n",         "i2c_devices = 1:0x80\n", "i2c_devices = 1:0x76:2\n",
                "gpio_outputs = 27:maybe\n", "onewire_ids = 28-XYZ\n", "pwm_channels = -1\n",
        };
        char text[256];
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(text, sizeof(text), "[plugin a]\nfile = a\n%s", bad[i]);
                assert_true(load(text, &config, &error) < 0);
        }
        /* An output has one owner among the plugins. */
        assert_true(load("[plugin a]\nfile = a\ngpio_outputs = 27\n"
                         "[plugin b]\nfile = b\ngpio_outputs = 22, 27:on\n",
                         &config, &error) < 0);
        assert_non_null(strstr(error.message, "line 27 is already owned by plugin a"));
        assert_true(load("[plugin a]\nfile = a\npwm_channels = 1\n"
                         "[plugin b]\nfile = b\npwm_channels = 1\n",
                         &config, &error) < 0);
        assert_non_null(strstr(error.message, "channel 1 is already owned by plugin a"));
}

static void test_config_plugins_are_granted_nothing_by_default(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[plugin a]\nfile = a.wasm\n", &config, &error), 0);
        const struct plugin_grants *grants = &config.plugins[0].grants;
        assert_false(grants->gpio_provider || grants->led_controller || grants->logging);
        assert_int_equal(grants->dht22_pin_count, 0);
        assert_false(grants->is_any_pin);
}

static const char *at_line(unsigned line);

/* Loads `text` and expects an error that starts with "PATH:LINE: " and
 * contains each of `needles` (NULL-ended). */
static void expect_error(const char *text, unsigned line, const char *const *needles) {
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load(text, &config, &error) < 0);
        if (strncmp(error.message, at_line(line), strlen(at_line(line))) != 0)
                fail_msg("'%s' does not start: %s", at_line(line), error.message);
        for (size_t i = 0; needles[i] != NULL; i++) {
                if (strstr(error.message, needles[i]) == NULL)
                        fail_msg("'%s' not in: %s", needles[i], error.message);
        }
}

/* "PATH:LINE: " of the last config written. */
static const char *at_line(unsigned line) {
        static char text[96];
        snprintf(text, sizeof(text), "%s:%u: ", config_path, line);
        return text;
}

static void test_long_comment_tail_is_never_read_as_a_setting(void **state) {
        (void)state;
        char text[512];
        char comment[251];
        memset(comment, 'c', sizeof(comment) - 1);
        comment[sizeof(comment) - 1] = '\0';
        snprintf(text, sizeof(text), "[plugin a]\nfile = a.wasm\n; %s interval_s = 0.03\n",
                 comment);
        struct host_config config;
        struct ph_error error = {0};
        assert_true(load(text, &config, &error) < 0);
        assert_non_null(strstr(error.message, at_line(3)));
        assert_non_null(strstr(error.message, "characters long"));
        assert_true(config.plugins[0].interval_s == 5.0);
}

static void test_lines_up_to_the_limit_are_read_whole(void **state) {
        (void)state;
        char text[600];
        char comment[198];
        memset(comment, 'c', sizeof(comment) - 1);
        comment[0] = ';';
        comment[sizeof(comment) - 1] = '\0';
        /* 197 + "x" = 198 characters: read whole; then an error on line 4 */
        snprintf(text, sizeof(text), "[board]\n%sx\nseed = 2\nperiod_reads = 1\n", comment);
        expect_error(text, 4, (const char *[]){"[board] period_reads", NULL});
        /* 199 characters: refused on its own line */
        snprintf(text, sizeof(text), "[board]\n%sxy\nseed = 2\n", comment);
        expect_error(text, 2, (const char *[]){"199 characters long", NULL});
}

static void test_errors_on_the_first_and_last_line_name_them(void **state) {
        (void)state;
        expect_error("[zigbee]\nhost = x\n", 1, (const char *[]){"[zigbee]", NULL});
        expect_error("[board]\nseed = 1\n\n; end\nseed2 = 3", 5,
                     (const char *[]){"[board]: unknown key 'seed2'", NULL});
        expect_error("\r\n[board]\r\nseed = x\r\n", 3,
                     (const char *[]){"[board] seed: invalid value 'x'", NULL});
}

static void test_value_error_names_file_line_section_and_key(void **state) {
        (void)state;
        expect_error("[plugin a]\nfile = x.wasm\ninterval_s = soon\n", 3,
                     (const char *[]){"[plugin a] interval_s: invalid value 'soon': expected a "
                                      "number from 0.01 to 86400",
                                      NULL});
        expect_error("[http]\nthreads = 0\n", 2,
                     (const char *[]){"expected a whole number from 1 to 64", NULL});
        expect_error("[board]\nled_driver = pwm\n", 2,
                     (const char *[]){"expected one of gpiod, ledclass, none", NULL});
}

static void test_repeated_section_is_refused_naming_both_lines(void **state) {
        (void)state;
        expect_error("[plugin x]\nfile = a.wasm\n[host]\nlog_level = info\n[plugin x]\n"
                     "interval_s = 0.03\n",
                     5, (const char *[]){"[plugin x]", "repeated", "line 1", NULL});
        /* even an empty first one */
        expect_error("[host]\n[board]\nseed = 1\n[host]\nlog_level = info\n", 4,
                     (const char *[]){"[host]", "line 1", NULL});
}

static void test_repeated_key_is_refused_naming_both_lines(void **state) {
        (void)state;
        expect_error("[plugin a]\nfile = a.wasm\ninterval_s = 5\n; later\ninterval_s = 0.03\n", 5,
                     (const char *[]){"[plugin a] interval_s", "repeated", "line 3", NULL});
}

static void test_plugin_settings_are_read_and_checked(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[plugin a]\nfile = a.wasm\nsetting.alarm_on_celsius = 30\n"
                              "setting.mode = eco fan\n",
                              &config, &error),
                         0);
        const struct config_settings *settings = &config.plugins[0].settings;
        assert_int_equal(settings->count, 2);
        assert_string_equal(config_settings_find(settings, "alarm_on_celsius"), "30");
        assert_string_equal(config_settings_find(settings, "mode"), "eco fan");
        assert_null(config_settings_find(settings, "missing"));
        expect_error("[plugin a]\nfile = a.wasm\nsetting.x = 1\nsetting.x = 2\n", 4,
                     (const char *[]){"[plugin a] setting.x", "repeated", NULL});
        expect_error("[plugin a]\nfile = a.wasm\nsetting.a/b = 1\n", 3,
                     (const char *[]){"[plugin a]", "setting 'a/b'", NULL});
        expect_error("[plugin a]\nfile = a.wasm\nsetting.x = \xff\xfe\n", 3,
                     (const char *[]){"setting 'x'", "not UTF-8", NULL});
        expect_error("[host]\nsetting.x = 1\n", 2, (const char *[]){"unknown key", NULL});
}

static void test_settings_update_is_all_or_nothing(void **state) {
        (void)state;
        struct config_settings initial = {.count = 0}, set = {.count = 0}, removed = {.count = 0};
        struct ph_error error = {0};
        assert_int_equal(config_settings_set(&initial, "a", "1", &error), 0);
        assert_int_equal(config_settings_set(&initial, "b", "2", &error), 0);
        struct settings_store store;
        settings_store_init(&store, &initial);
        assert_int_equal(config_settings_set(&set, "a", "10", &error), 0);
        assert_int_equal(config_settings_set(&removed, "b", "", &error), 0);
        /* a value with a control character fails the whole update */
        struct config_settings bad = set;
        memcpy(bad.items[0].value, "x\ty", 4);
        assert_int_equal(settings_store_update(&store, &bad, &removed, &error), -EINVAL);
        assert_non_null(strstr(error.message, "setting 'a'"));
        char value[CONFIG_SETTING_VALUE_MAX];
        assert_true(settings_store_get(&store, "a", value));
        assert_string_equal(value, "1");
        assert_true(settings_store_get(&store, "b", value));
        assert_int_equal(settings_store_update(&store, &set, &removed, &error), 0);
        assert_true(settings_store_get(&store, "a", value));
        assert_string_equal(value, "10");
        assert_false(settings_store_get(&store, "b", value));
        struct config_settings copy;
        settings_store_copy(&store, &copy);
        assert_int_equal(copy.count, 1);
        assert_false(config_settings_equal(&copy, &initial));
        settings_store_replace(&store, &initial);
        settings_store_copy(&store, &copy);
        assert_true(config_settings_equal(&copy, &initial));
        settings_store_destroy(&store);
}

static void test_indented_line_is_refused(void **state) {
        (void)state;
        /* inih would read the second line as more of `file`'s value */
        expect_error("[plugin a]\nfile = a.wasm\n  interval_s = 0.03\n", 3,
                     (const char *[]){"indented", NULL});
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(
                load("[plugin a]\n  ; an indented comment\nfile = a.wasm\n", &config, &error), 0);
}

static void test_section_headers_are_checked_where_they_are(void **state) {
        (void)state;
        expect_error("[host]\nlog_level = info\n[zigbee]\n", 3,
                     (const char *[]){"unknown section [zigbee]", NULL});
        expect_error("[plugin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nfile = a\n", 1,
                     (const char *[]){"at most 49 characters", NULL});
        expect_error("log_level = info\n[host]\n", 1,
                     (const char *[]){"before any [section]", NULL});
}

static void test_directory_as_config_is_refused(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        config_set_defaults(&config);
        assert_int_equal(config_load_file(&config, "/tmp", &error), -EISDIR);
        assert_non_null(strstr(error.message, "/tmp: is a directory"));
}

static void test_byte_order_mark_is_skipped(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("\xEF\xBB\xBF[board]\nseed = 9\n", &config, &error), 0);
        assert_int_equal(config.board.sim.seed, 9);
}

static void test_table_bounds_enums_and_lists(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[http]\nopen_reads = yes\nthreads = 64\n[history]\n"
                              "max_rows = 4294967295\nsynchronous = full\n[board]\n"
                              "led_driver = ledclass\ndht22_iio_devices = 4:0, 17:3\n",
                              &config, &error),
                         0);
        assert_int_equal(config.http.open_reads, 1);
        assert_int_equal(config.http.threads, 64);
        assert_true(config.history.max_rows == 4294967295u);
        assert_true(config.history.is_sync_full);
        assert_int_equal(config.board.linux_board.led_driver, CONFIG_LED_DRIVER_LEDCLASS);
        assert_int_equal(config.board.linux_board.dht22_count, 2);
        assert_int_equal(config.board.linux_board.dht22[1].iio_device, 3);
        assert_int_equal(load("[http]\nopen_reads = loopback\n", &config, &error), 0);
        assert_int_equal(config.http.open_reads, -1);
        assert_true(load("[http]\nthreads = 65\n", &config, &error) < 0);
        assert_true(load("[history]\nmax_rows = 4294967296\n", &config, &error) < 0);
        assert_true(load("[http]\nport = +80\n", &config, &error) < 0);
        assert_true(load("[http]\nport = 80x\n", &config, &error) < 0);
        assert_true(load("[board]\ndht22_iio_devices = 4\n", &config, &error) < 0);
        assert_true(load("[board]\nled_lines = 1, 2, 3\n", &config, &error) < 0);
}

static void test_printed_keys_are_the_defaults_and_read_back(void **state) {
        (void)state;
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        assert_non_null(out);
        config_print_keys(out);
        fclose(out);
        assert_non_null(strstr(text, "\ninterval_s = 5\n"));
        assert_non_null(strstr(text, "threads = 2\n"));
        struct host_config read_back;
        struct ph_error error = {0};
        write_config(text);
        free(text);
        config_set_defaults(&read_back);
        int result = config_load_file(&read_back, config_path, &error);
        unlink(config_path);
        if (result != 0)
                fail_msg("%s", error.message);
        struct host_config defaults;
        config_set_defaults(&defaults);
        /* Every section's values as printed equal the defaults. */
        assert_memory_equal(&read_back, &defaults, offsetof(struct host_config, plugins));
        assert_int_equal(read_back.plugin_count, 1);
        struct host_config with_plugin;
        config_set_defaults(&with_plugin);
        assert_int_equal(config_add_plugin_file(&with_plugin, "example.wasm", &error), 0);
        assert_true(read_back.plugins[0].interval_s == with_plugin.plugins[0].interval_s);
        assert_int_equal(read_back.plugins[0].budget_ms, with_plugin.plugins[0].budget_ms);
        assert_int_equal(read_back.plugins[0].grants.dht22_min_interval_ms, 2000);
}

static void test_name_grant_and_colour_helpers(void **state) {
        (void)state;
        assert_true(config_is_valid_name("sensor-logic_2", 14));
        assert_false(config_is_valid_name("../etc", 6));
        assert_false(config_is_valid_name("", 0));
        struct plugin_grants grants = {.led_controller = true};
        assert_true(config_grants_allow(&grants, CONFIG_GRANT_LED_CONTROLLER));
        assert_false(config_grants_allow(&grants, CONFIG_GRANT_LOGGING));
        assert_false(config_grants_allow(&grants, "root-shell"));
        assert_string_equal(config_led_color_names[3], "red");
}

/* The typed diff behind SIGHUP. */
struct changes {
        char names[8][64];
        size_t count;
};

static void note_change(const char *section, const char *key, void *data) {
        struct changes *changes = data;
        if (changes->count < 8)
                snprintf(changes->names[changes->count++], 64, "[%s] %s", section, key);
}

static void test_the_diff_names_changed_keys_and_ignores_bytes_after_a_string(void **state) {
        (void)state;
        static struct host_config a, b;
        struct ph_error error = {0};
        assert_int_equal(
                load("[mqtt]\nhost = broker.example\n[plugin p]\nfile = p.wasm\n", &a, &error), 0);
        assert_int_equal(
                load("[mqtt]\nhost = broker.example\n[plugin p]\nfile = p.wasm\n", &b, &error), 0);
        /* Same text, other bytes after its NUL: not a change (memcmp said it was). */
        memset(b.mqtt.host + strlen(b.mqtt.host) + 1, 'x', 8);
        memset(b.plugins[0].path + strlen(b.plugins[0].path) + 1, 'y', 8);
        struct changes changes = {0};
        assert_int_equal(config_diff(&a, &b, note_change, &changes), 0);
        assert_int_equal(config_diff_plugin(&a.plugins[0], &b.plugins[0], NULL, NULL, NULL), 0);
        /* Real changes are named, each once. */
        b.http.port = 9090;
        snprintf(b.mqtt.host, sizeof(b.mqtt.host), "other");
        b.stop_timeout_s = 3;
        assert_int_equal(config_diff(&a, &b, note_change, &changes), 3);
        assert_string_equal(changes.names[0], "[host] stop_timeout_s");
        assert_string_equal(changes.names[1], "[http] port");
        assert_string_equal(changes.names[2], "[mqtt] host");
        /* A plugin's interval may be left out of its diff. */
        b.plugins[0].interval_s = a.plugins[0].interval_s + 1;
        assert_int_equal(config_diff_plugin(&a.plugins[0], &b.plugins[0], "interval_s", NULL, NULL),
                         0);
        assert_int_equal(config_diff_plugin(&a.plugins[0], &b.plugins[0], NULL, NULL, NULL), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_are_the_simulated_board_without_plugins),
                cmocka_unit_test(test_full_config_is_parsed),
                cmocka_unit_test(test_hardware_grants_and_their_targets_are_parsed),
                cmocka_unit_test(test_the_diff_names_changed_keys_and_ignores_bytes_after_a_string),
                cmocka_unit_test(test_unknown_key_is_named_in_the_error),
                cmocka_unit_test(test_bad_number_names_field_and_value),
                cmocka_unit_test(test_out_of_range_values_are_refused),
                cmocka_unit_test(test_unknown_section_and_backend_are_refused),
                cmocka_unit_test(test_history_and_mqtt_sections_are_parsed),
                cmocka_unit_test(test_history_and_mqtt_are_off_by_default),
                cmocka_unit_test(test_bad_history_and_mqtt_values_name_the_key),
                cmocka_unit_test(test_plugin_without_file_is_refused),
                cmocka_unit_test(test_bad_plugin_name_is_refused),
                cmocka_unit_test(test_min_above_max_is_refused),
                cmocka_unit_test(test_syntax_error_reports_its_line),
                cmocka_unit_test(test_missing_file_is_named),
                cmocka_unit_test(test_plugin_file_gets_its_name_from_the_file),
                cmocka_unit_test(test_leds_have_one_owner),
                cmocka_unit_test(test_invalid_values_say_what_is_expected),
                cmocka_unit_test(test_grants_pins_and_safe_state_are_parsed),
                cmocka_unit_test(test_config_plugins_are_granted_nothing_by_default),
                cmocka_unit_test(test_long_comment_tail_is_never_read_as_a_setting),
                cmocka_unit_test(test_lines_up_to_the_limit_are_read_whole),
                cmocka_unit_test(test_errors_on_the_first_and_last_line_name_them),
                cmocka_unit_test(test_value_error_names_file_line_section_and_key),
                cmocka_unit_test(test_repeated_section_is_refused_naming_both_lines),
                cmocka_unit_test(test_repeated_key_is_refused_naming_both_lines),
                cmocka_unit_test(test_plugin_settings_are_read_and_checked),
                cmocka_unit_test(test_settings_update_is_all_or_nothing),
                cmocka_unit_test(test_indented_line_is_refused),
                cmocka_unit_test(test_section_headers_are_checked_where_they_are),
                cmocka_unit_test(test_directory_as_config_is_refused),
                cmocka_unit_test(test_byte_order_mark_is_skipped),
                cmocka_unit_test(test_table_bounds_enums_and_lists),
                cmocka_unit_test(test_printed_keys_are_the_defaults_and_read_back),
                cmocka_unit_test(test_name_grant_and_colour_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
