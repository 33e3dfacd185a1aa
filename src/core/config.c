/* config.c - the key tables of each section, the value shapes that are not
 * plain numbers or strings, and the cross-field rules. Reading the file is
 * config_file.c. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_sections.h"

/* Set by the build (CMake) to where the runtime is built or installed. */
#ifndef PYHOST_DEFAULT_PYTHON_RUNTIME
#define PYHOST_DEFAULT_PYTHON_RUNTIME "/usr/share/pyhost/python-runtime.wasm"
#endif

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* In the order of enum hw_led_color and of the WIT enum led-color. */
const char *const config_led_color_names[CONFIG_LED_COLORS] = {"off", "green", "yellow", "red"};

/* The words of `grants`, and the flag each sets. */
static const struct {
        const char *word;
        size_t offset;
} grant_words[] = {
        {CONFIG_GRANT_GPIO_PROVIDER, offsetof(struct plugin_grants, gpio_provider)},
        {CONFIG_GRANT_LED_CONTROLLER, offsetof(struct plugin_grants, led_controller)},
        {CONFIG_GRANT_LOGGING, offsetof(struct plugin_grants, logging)},
        {CONFIG_GRANT_GPIO, offsetof(struct plugin_grants, gpio)},
        {CONFIG_GRANT_I2C, offsetof(struct plugin_grants, i2c)},
        {CONFIG_GRANT_PWM, offsetof(struct plugin_grants, pwm)},
        {CONFIG_GRANT_IIO, offsetof(struct plugin_grants, iio)},
        {CONFIG_GRANT_ONEWIRE, offsetof(struct plugin_grants, onewire)},
};

bool config_grants_allow(const struct plugin_grants *grants, const char *word) {
        for (size_t i = 0; i < COUNT(grant_words); i++)
                if (strcmp(grant_words[i].word, word) == 0)
                        return *(const bool *)((const char *)grants + grant_words[i].offset);
        return false;
}

bool config_is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
}

bool config_is_valid_name(const char *text, size_t length) {
        if (length == 0 || length >= CONFIG_NAME_MAX)
                return false;
        for (size_t i = 0; i < length; i++)
                if (!config_is_name_char(text[i]))
                        return false;
        return true;
}

/* --- value shapes ------------------------------------------------------- */

/* Splits a comma-separated list; calls `item` on each trimmed word. */
static int for_each_item(const char *text, int (*item)(const char *, size_t, void *), void *data) {
        const char *cursor = text;
        while (*cursor != '\0') {
                while (*cursor == ' ' || *cursor == '\t')
                        cursor++;
                size_t length = strcspn(cursor, ",");
                size_t trimmed = length;
                while (trimmed > 0 && (cursor[trimmed - 1] == ' ' || cursor[trimmed - 1] == '\t'))
                        trimmed--;
                if (trimmed > 0) {
                        int result = item(cursor, trimmed, data);
                        if (result < 0)
                                return result;
                }
                cursor += length;
                if (*cursor == ',')
                        cursor++;
        }
        return 0;
}

static bool word_is(const char *word, size_t length, const char *expected) {
        return strlen(expected) == length && memcmp(word, expected, length) == 0;
}

/* A list item as a whole number up to `max`. */
static int item_unsigned(const char *word, size_t length, unsigned long max, unsigned long *ret) {
        char number[16];
        if (length >= sizeof(number) || word[0] < '0' || word[0] > '9')
                return -EINVAL;
        memcpy(number, word, length);
        number[length] = '\0';
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(number, &end, 10);
        if (errno != 0 || *end != '\0' || value > max)
                return -EINVAL;
        *ret = value;
        return 0;
}

static int add_grant(const char *word, size_t length, void *data) {
        for (size_t i = 0; i < COUNT(grant_words); i++) {
                if (word_is(word, length, grant_words[i].word)) {
                        *(bool *)((char *)data + grant_words[i].offset) = true;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_grants(const char *text, void *field) {
        struct plugin_grants *grants = field;
        for (size_t i = 0; i < COUNT(grant_words); i++)
                *(bool *)((char *)grants + grant_words[i].offset) = false;
        return for_each_item(text, add_grant, grants);
}

static int add_pin(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        unsigned long pin = 0;
        if (grants->dht22_pin_count == CONFIG_MAX_PINS ||
            item_unsigned(word, length, UINT8_MAX, &pin) < 0)
                return -EINVAL;
        grants->dht22_pins[grants->dht22_pin_count++] = (uint8_t)pin;
        return 0;
}

static int parse_pins(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->dht22_pin_count = 0;
        return for_each_item(text, add_pin, grants);
}

/* "N" or "N:WORD" split at the colon; *ret_rest is NULL without one. */
static int item_number_and_rest(const char *word, size_t length, unsigned long max, int base,
                                unsigned long *ret, const char **ret_rest,
                                size_t *ret_rest_length) {
        const char *colon = memchr(word, ':', length);
        size_t number_length = colon != NULL ? (size_t)(colon - word) : length;
        char number[16];
        if (number_length == 0 || number_length >= sizeof(number) || word[0] < '0' || word[0] > '9')
                return -EINVAL;
        memcpy(number, word, number_length);
        number[number_length] = '\0';
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(number, &end, base);
        if (errno != 0 || *end != '\0' || value > max)
                return -EINVAL;
        *ret = value;
        *ret_rest = colon != NULL ? colon + 1 : NULL;
        *ret_rest_length = colon != NULL ? length - number_length - 1 : 0;
        return 0;
}

/* "BUS:ADDRESS", the address 7-bit in decimal or 0x hex. */
static int add_i2c_device(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        unsigned long bus = 0, address = 0;
        const char *rest = NULL;
        size_t rest_length = 0;
        if (grants->i2c_device_count == CONFIG_MAX_HW_TARGETS ||
            item_number_and_rest(word, length, UINT16_MAX, 10, &bus, &rest, &rest_length) < 0 ||
            rest == NULL ||
            item_number_and_rest(rest, rest_length, 0x7f, 0, &address, &rest, &rest_length) < 0 ||
            rest != NULL)
                return -EINVAL;
        grants->i2c_devices[grants->i2c_device_count].bus = (uint16_t)bus;
        grants->i2c_devices[grants->i2c_device_count++].address = (uint8_t)address;
        return 0;
}

static int parse_i2c_devices(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->i2c_device_count = 0;
        return for_each_item(text, add_i2c_device, grants);
}

/* A list of numbers up to 65535 into a uint16_t array of
 * CONFIG_MAX_HW_TARGETS. */
struct number_list {
        uint16_t *items;
        size_t *count;
};

static int add_number(const char *word, size_t length, void *data) {
        struct number_list *list = data;
        unsigned long number = 0;
        if (*list->count == CONFIG_MAX_HW_TARGETS ||
            item_unsigned(word, length, UINT16_MAX, &number) < 0)
                return -EINVAL;
        list->items[(*list->count)++] = (uint16_t)number;
        return 0;
}

static int parse_gpio_inputs(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->gpio_input_count = 0;
        struct number_list list = {grants->gpio_inputs, &grants->gpio_input_count};
        return for_each_item(text, add_number, &list);
}

static int parse_pwm_channels(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->pwm_channel_count = 0;
        struct number_list list = {grants->pwm_channels, &grants->pwm_channel_count};
        return for_each_item(text, add_number, &list);
}

static int parse_iio_devices(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->iio_device_count = 0;
        struct number_list list = {grants->iio_devices, &grants->iio_device_count};
        return for_each_item(text, add_number, &list);
}

/* "LINE", "LINE:off" or "LINE:on". */
static int add_gpio_output(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        unsigned long line = 0;
        const char *rest = NULL;
        size_t rest_length = 0;
        if (grants->gpio_output_count == CONFIG_MAX_HW_TARGETS ||
            item_number_and_rest(word, length, UINT16_MAX, 10, &line, &rest, &rest_length) < 0)
                return -EINVAL;
        bool is_on = rest != NULL && word_is(rest, rest_length, "on");
        if (rest != NULL && !is_on && !word_is(rest, rest_length, "off"))
                return -EINVAL;
        grants->gpio_outputs[grants->gpio_output_count].line = (uint16_t)line;
        grants->gpio_outputs[grants->gpio_output_count++].is_safe_active = is_on;
        return 0;
}

static int parse_gpio_outputs(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->gpio_output_count = 0;
        return for_each_item(text, add_gpio_output, grants);
}

/* A w1 id: "FF-" and 12 lower-case hex digits. */
static int add_onewire_id(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        if (grants->onewire_id_count == CONFIG_MAX_HW_TARGETS || length != 15 || word[2] != '-')
                return -EINVAL;
        for (size_t i = 0; i < length; i++)
                if (i != 2 &&
                    !((word[i] >= '0' && word[i] <= '9') || (word[i] >= 'a' && word[i] <= 'f')))
                        return -EINVAL;
        memcpy(grants->onewire_ids[grants->onewire_id_count], word, length);
        grants->onewire_ids[grants->onewire_id_count++][length] = '\0';
        return 0;
}

static int parse_onewire_ids(const char *text, void *field) {
        struct plugin_grants *grants = field;
        grants->onewire_id_count = 0;
        return for_each_item(text, add_onewire_id, grants);
}

struct led_pair {
        uint8_t *colors;
        size_t count;
};

static int add_led_color(const char *word, size_t length, void *data) {
        struct led_pair *pair = data;
        if (pair->count == 2)
                return -EINVAL;
        for (uint8_t i = 0; i < CONFIG_LED_COLORS; i++) {
                if (word_is(word, length, config_led_color_names[i])) {
                        pair->colors[pair->count++] = i;
                        return 0;
                }
        }
        return -EINVAL;
}

/* "off, red" -> {off, red} */
static int parse_led_pair(const char *text, void *field) {
        struct led_pair pair = {.colors = field, .count = 0};
        int result = for_each_item(text, add_led_color, &pair);
        return result == 0 && pair.count == 2 ? 0 : -EINVAL;
}

/* "20, 26.5,30" -> {20, 26.5, 30} */
static int parse_script(const char *text, void *field) {
        struct sim_board_config *sim = field;
        sim->script_count = 0;
        const char *cursor = text;
        while (*cursor != '\0') {
                if (sim->script_count == CONFIG_MAX_SCRIPT)
                        return -E2BIG;
                char *end = NULL;
                errno = 0;
                double value = strtod(cursor, &end);
                if (errno != 0 || end == cursor || !isfinite(value))
                        return -EINVAL;
                sim->script_celsius[sim->script_count++] = value;
                while (*end == ' ' || *end == '\t')
                        end++;
                if (*end == ',')
                        end++;
                else if (*end != '\0')
                        return -EINVAL;
                cursor = end;
        }
        return sim->script_count > 0 ? 0 : -EINVAL;
}

static int add_button_press(const char *word, size_t length, void *data) {
        struct sim_board_config *sim = data;
        unsigned long ms = 0;
        if (sim->button_press_count == CONFIG_MAX_SCRIPT ||
            item_unsigned(word, length, 86400000, &ms) < 0)
                return -EINVAL;
        if (sim->button_press_count > 0 &&
            ms <= sim->button_presses_ms[sim->button_press_count - 1])
                return -EINVAL; /* in order: the script is a timeline */
        sim->button_presses_ms[sim->button_press_count++] = (uint32_t)ms;
        return 0;
}

/* "500, 3000" -> presses at 0.5 s and 3 s after start */
static int parse_button_presses(const char *text, void *field) {
        struct sim_board_config *sim = field;
        sim->button_press_count = 0;
        return for_each_item(text, add_button_press, sim);
}

/* A w1 id: "28-" and 12 lower-case hex digits (family, serial). */
static bool is_w1_id(const char *text) {
        if (strlen(text) != 15 || text[2] != '-')
                return false;
        for (size_t i = 0; i < 15; i++)
                if (i != 2 && strchr("0123456789abcdef", text[i]) == NULL)
                        return false;
        return true;
}

/* One "PIN:N" of dht22_iio_devices: GPIO pin PIN is iio:deviceN. */
static int add_dht22_device(const char *word, size_t length, void *data) {
        struct linux_board_config *board = data;
        const char *colon = memchr(word, ':', length);
        unsigned long pin = 0, device = 0;
        if (colon == NULL || board->dht22_count == CONFIG_MAX_DHT22 ||
            item_unsigned(word, (size_t)(colon - word), UINT8_MAX, &pin) < 0 ||
            item_unsigned(colon + 1, length - (size_t)(colon - word) - 1, 1000000, &device) < 0)
                return -EINVAL;
        board->dht22[board->dht22_count].pin = (uint8_t)pin;
        board->dht22[board->dht22_count].iio_device = (unsigned)device;
        board->dht22_count++;
        return 0;
}

static int parse_dht22_devices(const char *text, void *field) {
        struct linux_board_config *board = field;
        board->dht22_count = 0;
        int result = for_each_item(text, add_dht22_device, board);
        return result == 0 && board->dht22_count == 0 ? -EINVAL : result;
}

static int add_led_line(const char *word, size_t length, void *data) {
        struct linux_board_config *board = data;
        unsigned long offset = 0;
        if (board->led_line_count == CONFIG_LED_LINES ||
            item_unsigned(word, length, 65535, &offset) < 0)
                return -EINVAL;
        board->led_lines[board->led_line_count++] = (unsigned)offset;
        return 0;
}

static int parse_led_lines(const char *text, void *field) {
        struct linux_board_config *board = field;
        board->led_line_count = 0;
        int result = for_each_item(text, add_led_line, board);
        return result == 0 && board->led_line_count != CONFIG_LED_LINES ? -EINVAL : result;
}

/* A name under /sys/class/leds: one path component. */
static int add_led_class_name(const char *word, size_t length, void *data) {
        struct linux_board_config *board = data;
        if (length >= CONFIG_NAME_MAX || board->led_class_name_count == CONFIG_LED_LINES ||
            memchr(word, '/', length) != NULL || word_is(word, length, ".") ||
            word_is(word, length, ".."))
                return -EINVAL;
        char *name = board->led_class_names[board->led_class_name_count++];
        memcpy(name, word, length);
        name[length] = '\0';
        return 0;
}

static int parse_led_class_names(const char *text, void *field) {
        struct linux_board_config *board = field;
        board->led_class_name_count = 0;
        int result = for_each_item(text, add_led_class_name, board);
        return result == 0 && board->led_class_name_count != CONFIG_LED_LINES ? -EINVAL : result;
}

static int parse_log_level(const char *text, void *field) {
        return log_level_parse(text, field);
}

static bool is_absolute(const char *text) {
        return text[0] == '/';
}

static bool is_ip_address(const char *text) {
        unsigned char address[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, text, address) == 1 || inet_pton(AF_INET6, text, address) == 1;
}

/* Printable ASCII without spaces, so it fits a header. */
static bool is_token(const char *text) {
        size_t length = strlen(text);
        for (size_t i = 0; i < length; i++)
                if (text[i] <= ' ' || text[i] > '~')
                        return false;
        return length >= 16;
}

/* One name of `allowed_hosts`: *, a host name or IPv4 address, or [IPv6]. */
static int check_host_name(const char *word, size_t length, void *data) {
        (void)data;
        if (length == 1 && word[0] == '*')
                return 0;
        if (length > 2 && word[0] == '[' && word[length - 1] == ']') {
                char text[INET6_ADDRSTRLEN];
                unsigned char address[sizeof(struct in6_addr)];
                if (length - 2 >= sizeof(text))
                        return -EINVAL;
                memcpy(text, word + 1, length - 2);
                text[length - 2] = '\0';
                return inet_pton(AF_INET6, text, address) == 1 ? 0 : -EINVAL;
        }
        if (length > 253)
                return -EINVAL;
        for (size_t i = 0; i < length; i++) {
                char c = word[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_'))
                        return -EINVAL;
        }
        return 0;
}

static bool is_host_list(const char *text) {
        return for_each_item(text, check_host_name, NULL) == 0;
}

static bool is_name(const char *text) {
        return config_is_valid_name(text, strlen(text));
}

/* A topic prefix: levels separated by '/', no wildcards, no empty level. */
static bool is_topic_prefix(const char *text) {
        size_t length = strlen(text);
        return length > 0 && text[0] != '/' && text[length - 1] != '/' &&
               strstr(text, "//") == NULL && strpbrk(text, "+#") == NULL;
}

/* --- the tables: one line per key ---------------------------------------- */

static const struct config_word led_driver_words[] = {
        {"gpiod", CONFIG_LED_DRIVER_GPIOD},
        {"ledclass", CONFIG_LED_DRIVER_LEDCLASS},
        {"none", CONFIG_LED_DRIVER_NONE},
        {NULL, 0},
};
static const struct config_word backend_words[] = {{"sim", 0}, {"linux", 0}, {NULL, 0}};
static const struct config_word synchronous_words[] = {{"normal", 0}, {"full", 1}, {NULL, 0}};
static const struct config_word open_reads_words[] = {
        {"loopback", -1}, {"true", 1}, {"yes", 1}, {"1", 1},
        {"false", 0},     {"no", 0},   {"0", 0},   {NULL, 0},
};

#define H struct host_config
static const struct config_key host_keys[] = {
        CONFIG_CUSTOM("log_level", H, log_level, parse_log_level, "info",
                      "debug, info, warning or error"),
        CONFIG_STRING("cache_dir", H, cache_dir, NULL, CONFIG_MAY_BE_EMPTY, NULL,
                      "compiled-component cache; empty: none (default: ~/.cache/pyhost-compiled)"),
        CONFIG_STRING("python_runtime", H, python_runtime, NULL, 0, PYHOST_DEFAULT_PYTHON_RUNTIME,
                      "the shared runtime of .py plugins"),
        CONFIG_STRING("precompiled_key", H, precompiled_key, NULL, CONFIG_MAY_BE_EMPTY, NULL,
                      "Ed25519 public key (PEM) precompiled artifacts must be signed with; "
                      "empty: unsigned ones load"),
        CONFIG_STRING("state_dir", H, state_dir, NULL, CONFIG_MAY_BE_EMPTY, NULL,
                      "saved plugin states; empty: not kept on disk"),
        CONFIG_DOUBLE("state_write_interval_s", H, state_write_interval_s, 0, 86400, "30",
                      "at most one state write per plugin per this many seconds"),
        CONFIG_UNSIGNED("reload_debounce_ms", H, reload_debounce_ms, 0, 60000, "250",
                        "a changed plugin file must stay unchanged this long"),
        CONFIG_DOUBLE("stop_timeout_s", H, stop_timeout_s, 0.1, 600, "10",
                      "SIGTERM: seconds for the whole stop, then exit regardless"),
        CONFIG_DOUBLE("stall_timeout_s", H, stall_timeout_s, 1, 86400, "60",
                      "a poll late by this much more stops the watchdog pings"),
};
#undef H

static const struct config_word bme280_address_words[] = {
        {"0x76", 0x76},
        {"0x77", 0x77},
        {NULL, 0},
};

#define B struct board_config
static const struct config_key board_keys[] = {
        CONFIG_WORDS("backend", B, backend, backend_words, "sim", "the board: sim or linux"),
        CONFIG_UNSIGNED("dht22_pin", B, sim.dht22_pin, 0, 255, "4", "sim: the DHT22's pin"),
        CONFIG_DOUBLE("min_celsius", B, sim.min_celsius, -40, 80, "22", "sim: wave minimum"),
        CONFIG_DOUBLE("max_celsius", B, sim.max_celsius, -40, 80, "33", "sim: wave maximum"),
        CONFIG_UNSIGNED("period_reads", B, sim.period_reads, 2, 1000000, "12",
                        "sim: reads per wave period"),
        CONFIG_DOUBLE("min_humidity", B, sim.min_humidity, 0, 100, "45", "sim: humidity minimum"),
        CONFIG_DOUBLE("max_humidity", B, sim.max_humidity, 0, 100, "85", "sim: humidity maximum"),
        CONFIG_DOUBLE("error_probability", B, sim.error_probability, 0, 1, "0",
                      "sim: chance that a read fails"),
        CONFIG_UNSIGNED("read_delay_ms", B, sim.read_delay_ms, 0, 60000, "0",
                        "sim: each read takes this long"),
        CONFIG_UNSIGNED("seed", B, sim.seed, 0, UINT32_MAX, "1", "sim: error injection seed"),
        CONFIG_CUSTOM("script_celsius", B, sim, parse_script, NULL,
                      "sim: a list of temperatures read in turn (\"20, 29.9, 30\")"),
        CONFIG_UNSIGNED("i2c_bus", B, sim.i2c_bus, 0, 255, "1", "sim: the BME280's I2C bus"),
        CONFIG_ENUM("bme280_address", B, sim.bme280_address, bme280_address_words, "0x76",
                    "sim: the BME280's address"),
        CONFIG_DOUBLE("bme280_celsius", B, sim.bme280_celsius, -40, 85, "22.5",
                      "sim: BME280 temperature"),
        CONFIG_DOUBLE("bme280_hpa", B, sim.bme280_hpa, 300, 1100, "1013.25",
                      "sim: BME280 pressure"),
        CONFIG_DOUBLE("bme280_humidity", B, sim.bme280_humidity, 0, 100, "45",
                      "sim: BME280 relative humidity"),
        CONFIG_DOUBLE("bme280_noise", B, sim.bme280_noise, 0, 10, "0",
                      "sim: each BME280 measurement varies by up to +- this (C, hPa, %), seeded"),
        CONFIG_STRING("ds18b20_id", B, sim.ds18b20_id, is_w1_id, 0, "28-000000000001",
                      "sim: the DS18B20's w1 id, 28- and 12 lower-case hex digits"),
        CONFIG_DOUBLE("ds18b20_celsius", B, sim.ds18b20_celsius, -55, 125, "21.5",
                      "sim: DS18B20 temperature (read in 1/16 C steps)"),
        CONFIG_UNSIGNED("button_line", B, sim.button_line, 0, 63, "17",
                        "sim: the push button's GPIO line (active low)"),
        CONFIG_CUSTOM("button_presses_ms", B, sim, parse_button_presses, NULL,
                      "sim: rising list of press times in ms after start (\"500, 3000\")"),
        CONFIG_UNSIGNED("button_repeat_ms", B, sim.button_repeat_ms, 0, 86400000, "0",
                        "sim: the presses repeat with this period; 0: once"),
        CONFIG_UNSIGNED("button_hold_ms", B, sim.button_hold_ms, 1, 60000, "150",
                        "sim: how long each press lasts"),
        CONFIG_UNSIGNED("button_bounces", B, sim.button_bounces, 0, 16, "3",
                        "sim: extra edge pairs at each press and release"),
        CONFIG_UNSIGNED("button_bounce_us", B, sim.button_bounce_us, 0, 100000, "2000",
                        "sim: the bounces fall within this time"),
        CONFIG_UNSIGNED("relay_line", B, sim.relay_line, 0, 63, "27",
                        "sim: the relay's GPIO line (an output, changes logged)"),
        CONFIG_STRING("sysfs_root", B, linux_board.sysfs_root, is_absolute, 0, "/sys",
                      "linux: an absolute path where sysfs is mounted"),
        CONFIG_STRING("dev_root", B, linux_board.dev_root, is_absolute, 0, "/dev",
                      "linux: an absolute path holding the i2c-N device files"),
        CONFIG_UNSIGNED("pwm_chip", B, linux_board.pwm_chip, 0, 1024, "0",
                        "linux: PWM channels are those of <sysfs_root>/class/pwm/pwmchipN"),
        CONFIG_CUSTOM("dht22_iio_devices", B, linux_board, parse_dht22_devices, NULL,
                      "linux: PIN:N pairs, pin PIN read from iio:deviceN (\"4:0, 17:1\")"),
        CONFIG_UNSIGNED("dht22_read_retries", B, linux_board.read_retries, 0, 10, "2",
                        "linux: more attempts after EIO/ETIMEDOUT"),
        CONFIG_UNSIGNED("dht22_retry_delay_ms", B, linux_board.retry_delay_ms, 0, 2000, "100",
                        "linux: wait before each further attempt"),
        CONFIG_ENUM("led_driver", B, linux_board.led_driver, led_driver_words, "gpiod",
                    "linux: how the LEDs are driven"),
        CONFIG_STRING("gpio_chip", B, linux_board.gpio_chip, NULL, 0, "gpiochip0",
                      "linux, gpiod: chip name, path, label or number"),
        CONFIG_CUSTOM("led_lines", B, linux_board, parse_led_lines, NULL,
                      "linux, gpiod: 4 line offsets (first red, first green, second red, "
                      "second green)"),
        CONFIG_BOOL("led_active_low", B, linux_board.is_led_active_low, "false",
                    "linux, gpiod: a line driven low lights its LED"),
        CONFIG_CUSTOM("led_class_names", B, linux_board, parse_led_class_names, NULL,
                      "linux, ledclass: 4 LED class names, same order as led_lines"),
};
#undef B

#define T struct http_config
static const struct config_key http_keys[] = {
        CONFIG_BOOL("enabled", T, is_enabled, "true", "serve the API and dashboard"),
        CONFIG_STRING("address", T, address, is_ip_address, 0, "127.0.0.1",
                      "a numeric IPv4 or IPv6 address to listen on"),
        CONFIG_UNSIGNED("port", T, port, 0, 65535, "8080", "0: any free port"),
        CONFIG_STRING("token", T, token, is_token, 0, NULL,
                      "16 to 127 printable ASCII characters without spaces"),
        CONFIG_ENUM("open_reads", T, open_reads, open_reads_words, "loopback",
                    "reads need no token: yes, no, or loopback (only from 127.0.0.1/::1)"),
        CONFIG_UNSIGNED("threads", T, threads, 1, 64, "2", "the server's thread pool"),
        CONFIG_UNSIGNED("max_connections", T, max_connections, 1, 10000, "64",
                        "connections at once, event streams included"),
        CONFIG_UNSIGNED("timeout_s", T, timeout_s, 1, 3600, "10", "idle connections close"),
        CONFIG_UNSIGNED("max_body_bytes", T, max_body_bytes, 0, 1048576, "4096",
                        "of a request's body"),
        CONFIG_UNSIGNED("max_connections_per_address", T, max_connections_per_address, 1, 10000,
                        "16", "connections at once from one client address; more are closed"),
        CONFIG_DOUBLE("request_deadline_s", T, request_deadline_s, 0.1, 3600, "10",
                      "a request's head and body in all, from the connection's start"),
        CONFIG_UNSIGNED("max_requests_per_s_per_address", T, max_requests_per_s, 0, 1000000, "0",
                        "over it: 429 with Retry-After; 0: no limit"),
        CONFIG_STRING("allowed_hosts", T, allowed_hosts, is_host_list, CONFIG_MAY_BE_EMPTY, NULL,
                      "names the server answers to besides its address: host names, IPv4, "
                      "[IPv6] or *"),
};
#undef T

#define T struct history_config
static const struct config_key history_keys[] = {
        CONFIG_STRING("path", T, path, NULL, CONFIG_MAY_BE_EMPTY, NULL,
                      "the SQLite file; empty: no history"),
        CONFIG_ENUM("synchronous", T, is_sync_full, synchronous_words, "normal",
                    "full: one fsync per batch"),
        CONFIG_UNSIGNED("batch_rows", T, batch_rows, 1, 100000, "100",
                        "commit every this many readings ..."),
        CONFIG_UNSIGNED("batch_ms", T, batch_ms, 1, 3600000, "1000",
                        "... or this long after the first of them"),
        CONFIG_UNSIGNED("queue_rows", T, queue_rows, 1, 10000000, "10000",
                        "readings waiting for the writer; more are dropped"),
        CONFIG_DOUBLE("max_age_days", T, max_age_days, 0, 36500, "30",
                      "older rows are deleted; 0: no age limit"),
        CONFIG_UNSIGNED("max_rows", T, max_rows, 0, UINT32_MAX, "1000000",
                        "only the newest rows are kept; 0: no limit"),
};
#undef T

#define T struct mqtt_config
static const struct config_key mqtt_keys[] = {
        CONFIG_BOOL("enabled", T, is_enabled, "false", "publish readings to a broker"),
        CONFIG_STRING("host", T, host, NULL, 0, "localhost", "the broker"),
        CONFIG_UNSIGNED("port", T, port, 1, 65535, "1883", "the broker's port"),
        CONFIG_STRING("client_id", T, client_id, NULL, 0, NULL, "default: pyhost-DEVICE"),
        CONFIG_STRING("device", T, device, is_name, 0, NULL,
                      "1-63 letters, digits, '-' or '_': topic segment; default: host name"),
        CONFIG_STRING("topic_prefix", T, topic_prefix, is_topic_prefix, 0, "pyhost",
                      "topic levels separated by '/', no wildcards, no empty level"),
        CONFIG_STRING("discovery_prefix", T, discovery_prefix, is_topic_prefix, CONFIG_MAY_BE_EMPTY,
                      "homeassistant",
                      "Home Assistant's topic prefix; empty: no discovery messages"),
        CONFIG_STRING("username", T, username, NULL, 0, NULL, "default: none"),
        CONFIG_STRING("password", T, password, NULL, 0, NULL, "needs username"),
        CONFIG_BOOL("tls", T, has_tls, "false", "connect with TLS"),
        CONFIG_STRING("tls_ca_file", T, tls_ca_file, NULL, 0, NULL, "default: the system's CAs"),
        CONFIG_STRING("tls_cert_file", T, tls_cert_file, NULL, 0, NULL,
                      "client certificate, with tls_key_file"),
        CONFIG_STRING("tls_key_file", T, tls_key_file, NULL, 0, NULL, "its key"),
        CONFIG_BOOL("tls_insecure", T, is_tls_insecure, "false",
                    "do not check the broker's name (tests only)"),
        CONFIG_UNSIGNED("qos", T, qos, 0, 1, "1", "of the readings"),
        CONFIG_UNSIGNED("keepalive_s", T, keepalive_s, 5, 3600, "30", "MQTT keepalive"),
        CONFIG_UNSIGNED("queue_messages", T, queue_messages, 1, 1000000, "1000",
                        "waiting for the broker; the oldest are dropped"),
        CONFIG_UNSIGNED("reconnect_min_ms", T, reconnect_min_ms, 1, 3600000, "500",
                        "first wait after a failed connection, doubling ..."),
        CONFIG_UNSIGNED("reconnect_max_ms", T, reconnect_max_ms, 1, 3600000, "30000",
                        "... up to this"),
};
#undef T

#define P struct plugin_config
static const struct config_key plugin_keys[] = {
        CONFIG_STRING("file", P, path, NULL, 0, NULL, "the component (.wasm) or .py (required)"),
        CONFIG_DOUBLE("interval_s", P, interval_s, 0.01, 86400, "5",
                      "seconds between the starts of two polls"),
        CONFIG_UNSIGNED("budget_ms", P, budget_ms, 1, 60000, "100",
                        "CPU deadline of one call into the plugin"),
        CONFIG_UNSIGNED("memory_limit_mib", P, memory_limit_mib, 0, 65536, "64",
                        "all its linear memories together; 0: none"),
        CONFIG_CUSTOM("grants", P, grants, parse_grants, NULL,
                      "a list of " CONFIG_GRANT_GPIO_PROVIDER ", " CONFIG_GRANT_LED_CONTROLLER
                      ", " CONFIG_GRANT_LOGGING ", " CONFIG_GRANT_GPIO ", " CONFIG_GRANT_I2C
                      ", " CONFIG_GRANT_PWM ", " CONFIG_GRANT_IIO ", " CONFIG_GRANT_ONEWIRE
                      " (default: none)"),
        CONFIG_CUSTOM("dht22_pins", P, grants, parse_pins, NULL,
                      "a list of pin numbers 0-255 (\"4, 17\") it may read"),
        CONFIG_UNSIGNED("dht22_min_interval_ms", P, grants.dht22_min_interval_ms, 0, 3600000,
                        "2000", "between two reads of one pin"),
        CONFIG_CUSTOM("led_safe_state", P, grants.led_safe_state, parse_led_pair, "off, off",
                      "two of off, green, yellow, red (\"yellow, off\"): the LEDs on failure"),
        CONFIG_CUSTOM("i2c_devices", P, grants, parse_i2c_devices, NULL,
                      "I2C devices it may address, BUS:ADDRESS (\"1:0x76\")"),
        CONFIG_DOUBLE("i2c_max_per_s", P, grants.i2c_max_per_s, 0.1, 100000, "200",
                      "I2C transactions a second (bursts as many)"),
        CONFIG_CUSTOM("gpio_inputs", P, grants, parse_gpio_inputs, NULL,
                      "GPIO lines it may claim as inputs (\"17\")"),
        CONFIG_CUSTOM("gpio_outputs", P, grants, parse_gpio_outputs, NULL,
                      "GPIO lines it owns as outputs, LINE[:off|on] with the safe state (\"27\")"),
        CONFIG_CUSTOM("pwm_channels", P, grants, parse_pwm_channels, NULL,
                      "PWM channels it owns (\"0\"); disabled on failure"),
        CONFIG_CUSTOM("iio_devices", P, grants, parse_iio_devices, NULL,
                      "IIO devices N of iio:deviceN it may read (\"0\")"),
        CONFIG_DOUBLE("iio_max_per_s", P, grants.iio_max_per_s, 0.01, 10000, "20",
                      "IIO reads a second (bursts as many)"),
        CONFIG_CUSTOM("onewire_ids", P, grants, parse_onewire_ids, NULL,
                      "1-Wire sensors it may read (\"28-000000000001\")"),
        CONFIG_DOUBLE("onewire_max_per_s", P, grants.onewire_max_per_s, 0.01, 100, "2",
                      "1-Wire reads a second (bursts as many)"),
        CONFIG_STRING("data_dir", P, grants.data_dir, NULL, 0, NULL,
                      "a directory it may read as /data"),
        CONFIG_UNSIGNED("probation_polls", P, probation_polls, 0, 1000000, "3",
                        "a new version failing within this many polls is rolled back"),
        CONFIG_UNSIGNED("max_failures", P, max_failures, 1, 1000000, "5",
                        "consecutive crashes before quarantine"),
        CONFIG_UNSIGNED("restart_backoff_ms", P, restart_backoff_ms, 0, 60000, "1000",
                        "first wait before a restart, doubling up to 60 s"),
        CONFIG_UNSIGNED("restart_after_polls", P, restart_after_polls, 0, UINT32_MAX, "0",
                        "planned restart after this many polls; 0: never"),
        CONFIG_UNSIGNED("restart_above_mib", P, restart_above_mib, 0, 65536, "0",
                        "planned restart above this much linear memory; 0: never"),
        CONFIG_DOUBLE("checkpoint_interval_s", P, checkpoint_interval_s, 0, 86400, "60",
                      "most seconds between two state checkpoints; a crash loses at most "
                      "this much; 0: after every poll"),
};
#undef P

_Static_assert(COUNT(host_keys) <= CONFIG_MAX_SECTION_KEYS, "[host] has too many keys");
_Static_assert(COUNT(board_keys) <= CONFIG_MAX_SECTION_KEYS, "[board] has too many keys");
_Static_assert(COUNT(http_keys) <= CONFIG_MAX_SECTION_KEYS, "[http] has too many keys");
_Static_assert(COUNT(history_keys) <= CONFIG_MAX_SECTION_KEYS, "[history] has too many keys");
_Static_assert(COUNT(mqtt_keys) <= CONFIG_MAX_SECTION_KEYS, "[mqtt] has too many keys");
_Static_assert(COUNT(plugin_keys) <= CONFIG_MAX_SECTION_KEYS, "[plugin] has too many keys");

#define SECTION(NAME, KEYS, MEMBER)                                                                \
        { NAME, KEYS, COUNT(KEYS), offsetof(struct host_config, MEMBER) }
const struct config_section config_sections[] = {
        {"host", host_keys, COUNT(host_keys), 0}, SECTION("board", board_keys, board),
        SECTION("http", http_keys, http),         SECTION("history", history_keys, history),
        SECTION("mqtt", mqtt_keys, mqtt),
};
const size_t config_section_count = COUNT(config_sections);
const struct config_section config_plugin_section = {"plugin NAME", plugin_keys, COUNT(plugin_keys),
                                                     0};

/* --- defaults, docs ----------------------------------------------------- */

/* A default that does not parse is a bug in a table above, caught by the
 * first test that runs: not an input error. */
static void set_defaults_or_abort(const struct config_section *section, void *base) {
        struct ph_error error = {0};
        if (config_table_set_defaults(section->keys, section->key_count, base, &error) < 0) {
                fprintf(stderr, "pyhost: config table [%s]: %s\n", section->name, error.message);
                abort();
        }
}

void config_set_defaults(struct host_config *config) {
        memset(config, 0, sizeof(*config));
        for (size_t i = 0; i < config_section_count; i++)
                set_defaults_or_abort(&config_sections[i],
                                      (char *)config + config_sections[i].offset);
}

void config_plugin_set_defaults(struct plugin_config *plugin) {
        memset(plugin, 0, sizeof(*plugin));
        set_defaults_or_abort(&config_plugin_section, plugin);
}

void config_print_keys(FILE *out) {
        fprintf(out, "; Every key pyhost reads, with its default (`pyhost check-config "
                     "--keys`).\n; A commented-out key has no default.\n");
        for (size_t i = 0; i <= config_section_count; i++) {
                const struct config_section *section =
                        i < config_section_count ? &config_sections[i] : &config_plugin_section;
                fprintf(out, "\n[%s]\n",
                        i < config_section_count ? section->name : "plugin example");
                config_table_print(section->keys, section->key_count, out);
        }
        fprintf(out,
                "; setting.KEY = VALUE   ; any number up to %d: the plugin's settings, read "
                "through wasi:config/store\n",
                CONFIG_MAX_SETTINGS);
}

int config_add_plugin_file(struct host_config *config, const char *path, struct ph_error *error) {
        if (config->plugin_count == CONFIG_MAX_PLUGINS)
                return ph_error_set(error, -E2BIG, "at most %d plugins", CONFIG_MAX_PLUGINS);
        struct plugin_config *plugin = &config->plugins[config->plugin_count];
        config_plugin_set_defaults(plugin);
        /* A plugin given on the command line is being developed: it may use
         * every capability, every pin, as often as it likes. */
        plugin->grants.gpio_provider = true;
        plugin->grants.led_controller = true;
        plugin->grants.logging = true;
        plugin->grants.is_any_pin = true;
        plugin->grants.dht22_min_interval_ms = 0;
        /* The hardware interfaces too, every target (is_any_pin); an
         * output it claims goes off on failure. */
        plugin->grants.gpio = true;
        plugin->grants.i2c = true;
        plugin->grants.pwm = true;
        plugin->grants.iio = true;
        plugin->grants.onewire = true;
        plugin->grants.i2c_max_per_s = 1e9; /* as often as it likes */
        plugin->grants.iio_max_per_s = 1e9;
        plugin->grants.onewire_max_per_s = 1e9;
        size_t path_length = strlen(path);
        if (path_length == 0 || path_length >= sizeof(plugin->path))
                return ph_error_set(error, -EINVAL, "plugin path is empty or too long");
        memcpy(plugin->path, path, path_length + 1);
        const char *base = strrchr(path, '/');
        base = base != NULL ? base + 1 : path;
        size_t length = strcspn(base, ".");
        if (length == 0 || length >= sizeof(plugin->name))
                length = 0;
        snprintf(plugin->name, sizeof(plugin->name), "%.*s", (int)length,
                 length > 0 ? base : "plugin");
        config->plugin_count++;
        return 0;
}

/* --- typed diff --------------------------------------------------------- */

static size_t diff_section(const struct config_section *section, const void *a, const void *b,
                           const char *except, config_change_fn changed, void *data) {
        size_t count = 0;
        for (size_t k = 0; k < section->key_count; k++) {
                const struct config_key *key = &section->keys[k];
                if ((except != NULL && strcmp(key->name, except) == 0) ||
                    config_table_equal(key, a, b))
                        continue;
                count++;
                if (changed != NULL)
                        changed(section->name, key->name, data);
        }
        return count;
}

size_t config_diff(const struct host_config *a, const struct host_config *b,
                   config_change_fn changed, void *data) {
        size_t count = 0;
        for (size_t i = 0; i < config_section_count; i++) {
                const struct config_section *section = &config_sections[i];
                count += diff_section(section, (const char *)a + section->offset,
                                      (const char *)b + section->offset, NULL, changed, data);
        }
        return count;
}

size_t config_diff_plugin(const struct plugin_config *a, const struct plugin_config *b,
                          const char *except, config_change_fn changed, void *data) {
        return diff_section(&config_plugin_section, a, b, except, changed, data);
}
