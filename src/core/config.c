#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the build (CMake) to where the runtime is built or installed. */
#ifndef PYHOST_DEFAULT_PYTHON_RUNTIME
#define PYHOST_DEFAULT_PYTHON_RUNTIME "/usr/share/pyhost/python-runtime.wasm"
#endif

#define DEFAULT_INTERVAL_S 5.0
#define DEFAULT_BUDGET_MS 100

void config_set_defaults(struct host_config *config) {
        memset(config, 0, sizeof(*config));
        snprintf(config->python_runtime, sizeof(config->python_runtime), "%s",
                 PYHOST_DEFAULT_PYTHON_RUNTIME);
        config->log_level = LOG_LEVEL_INFO;
        config->state_write_interval_s = 30.0;
        config->reload_debounce_ms = 250;
        config->stop_timeout_s = 10.0;
        config->stall_timeout_s = 60.0;
        snprintf(config->board.backend, sizeof(config->board.backend), "sim");
        struct sim_board_config *sim = &config->board.sim;
        sim->dht22_pin = 4;
        sim->min_celsius = 22.0;
        sim->max_celsius = 33.0;
        sim->period_reads = 12;
        sim->min_humidity = 45.0;
        sim->max_humidity = 85.0;
        sim->error_probability = 0.0;
        sim->seed = 1;
        struct linux_board_config *linux_board = &config->board.linux_board;
        snprintf(linux_board->sysfs_root, sizeof(linux_board->sysfs_root), "/sys");
        linux_board->read_retries = 2;
        linux_board->retry_delay_ms = 100;
        linux_board->led_driver = CONFIG_LED_DRIVER_GPIOD;
        snprintf(linux_board->gpio_chip, sizeof(linux_board->gpio_chip), "gpiochip0");
        struct http_config *http = &config->http;
        http->is_enabled = true;
        snprintf(http->address, sizeof(http->address), "127.0.0.1");
        http->port = 8080;
        http->open_reads = -1;
        http->threads = 2;
        http->max_connections = 64;
        http->timeout_s = 10;
        http->max_body_bytes = 4096;
        http->max_connections_per_address = 16;
        http->request_deadline_s = 10.0;
        http->max_requests_per_s = 0;
        struct history_config *history = &config->history;
        history->batch_rows = 100;
        history->batch_ms = 1000;
        history->queue_rows = 10000;
        history->max_age_days = 30.0;
        history->max_rows = 1000000;
        struct mqtt_config *mqtt = &config->mqtt;
        snprintf(mqtt->host, sizeof(mqtt->host), "localhost");
        mqtt->port = 1883;
        snprintf(mqtt->topic_prefix, sizeof(mqtt->topic_prefix), "pyhost");
        snprintf(mqtt->discovery_prefix, sizeof(mqtt->discovery_prefix), "homeassistant");
        mqtt->qos = 1;
        mqtt->keepalive_s = 30;
        mqtt->queue_messages = 1000;
        mqtt->reconnect_min_ms = 500;
        mqtt->reconnect_max_ms = 30000;
}

static void plugin_set_defaults(struct plugin_config *plugin) {
        memset(plugin, 0, sizeof(*plugin));
        plugin->interval_s = DEFAULT_INTERVAL_S;
        plugin->budget_ms = DEFAULT_BUDGET_MS;
        /* The example plugin peaks at 12.4 MiB of linear memory. */
        plugin->memory_limit_mib = 64;
        plugin->probation_polls = 3;
        plugin->grants.dht22_min_interval_ms = 2000; /* the DHT22's own limit */
        plugin->max_failures = 5;
        plugin->restart_backoff_ms = 1000;
        plugin->restart_after_polls = 0;
}

/* State of one parse, handed to inih's callback. */
struct parse {
        struct host_config *config;
        const char *path;
        struct ph_error *error;
};

static int parse_double(const char *text, double min, double max, double *ret) {
        char *end = NULL;
        errno = 0;
        double value = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value < min ||
            value > max)
                return -EINVAL;
        *ret = value;
        return 0;
}

static int parse_unsigned(const char *text, unsigned long max, unsigned long *ret) {
        char *end = NULL;
        errno = 0;
        if (text[0] == '-')
                return -EINVAL;
        unsigned long value = strtoul(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || value > max)
                return -EINVAL;
        *ret = value;
        return 0;
}

static int copy_string(const char *text, char *out, size_t size) {
        size_t length = strlen(text);
        if (length == 0 || length >= size)
                return -EINVAL;
        memcpy(out, text, length + 1);
        return 0;
}

/* "20, 26.5,30" -> {20, 26.5, 30} */
static int parse_script(const char *text, struct sim_board_config *sim) {
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

/* Splits a comma-separated list; calls `item` on each trimmed word. */
static int for_each_item(const char *text, int (*item)(const char *word, size_t length, void *data),
                         void *data) {
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

static int add_grant(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        if (word_is(word, length, "gpio-provider"))
                grants->gpio_provider = true;
        else if (word_is(word, length, "led-controller"))
                grants->led_controller = true;
        else if (word_is(word, length, "logging"))
                grants->logging = true;
        else
                return -EINVAL;
        return 0;
}

static int parse_grants(const char *text, struct plugin_grants *grants) {
        grants->gpio_provider = grants->led_controller = grants->logging = false;
        return for_each_item(text, add_grant, grants);
}

static int add_pin(const char *word, size_t length, void *data) {
        struct plugin_grants *grants = data;
        char number[8];
        if (length >= sizeof(number) || grants->dht22_pin_count == CONFIG_MAX_PINS)
                return -EINVAL;
        memcpy(number, word, length);
        number[length] = '\0';
        unsigned long pin = 0;
        if (parse_unsigned(number, UINT8_MAX, &pin) < 0)
                return -EINVAL;
        grants->dht22_pins[grants->dht22_pin_count++] = (uint8_t)pin;
        return 0;
}

static int parse_pins(const char *text, struct plugin_grants *grants) {
        grants->dht22_pin_count = 0;
        return for_each_item(text, add_pin, grants);
}

struct led_pair {
        uint8_t *colors;
        size_t count;
};

static int add_led_color(const char *word, size_t length, void *data) {
        static const char *const names[] = {"off", "green", "yellow", "red"};
        struct led_pair *pair = data;
        if (pair->count == 2)
                return -EINVAL;
        for (uint8_t i = 0; i < 4; i++) {
                if (word_is(word, length, names[i])) {
                        pair->colors[pair->count++] = i;
                        return 0;
                }
        }
        return -EINVAL;
}

/* "off, red" -> {off, red} */
static int parse_led_pair(const char *text, uint8_t colors[2]) {
        struct led_pair pair = {.colors = colors, .count = 0};
        int result = for_each_item(text, add_led_color, &pair);
        return result == 0 && pair.count == 2 ? 0 : -EINVAL;
}

static int set_host_key(struct host_config *config, const char *key, const char *value) {
        if (strcmp(key, "log_level") == 0)
                return log_level_parse(value, &config->log_level);
        if (strcmp(key, "cache_dir") == 0) {
                if (strlen(value) >= sizeof(config->cache_dir))
                        return -EINVAL;
                snprintf(config->cache_dir, sizeof(config->cache_dir), "%s", value);
                return 0;
        }
        if (strcmp(key, "python_runtime") == 0)
                return copy_string(value, config->python_runtime, sizeof(config->python_runtime));
        if (strcmp(key, "state_dir") == 0) {
                if (strlen(value) >= sizeof(config->state_dir))
                        return -EINVAL;
                snprintf(config->state_dir, sizeof(config->state_dir), "%s", value);
                return 0;
        }
        if (strcmp(key, "reload_debounce_ms") == 0) {
                unsigned long number = 0;
                int result = parse_unsigned(value, 60000, &number);
                config->reload_debounce_ms = (unsigned)number;
                return result;
        }
        if (strcmp(key, "state_write_interval_s") == 0)
                return parse_double(value, 0.0, 86400.0, &config->state_write_interval_s);
        if (strcmp(key, "stop_timeout_s") == 0)
                return parse_double(value, 0.1, 600.0, &config->stop_timeout_s);
        if (strcmp(key, "stall_timeout_s") == 0)
                return parse_double(value, 1.0, 86400.0, &config->stall_timeout_s);
        return -ENOENT;
}

static int parse_bool(const char *text, bool *ret) {
        if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 || strcmp(text, "1") == 0) {
                *ret = true;
                return 0;
        }
        if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0 || strcmp(text, "0") == 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

/* An [http] allowed_hosts item: "*", a host name or IPv4 address, or an
 * IPv6 address in brackets. */
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

static int set_http_key(struct http_config *http, const char *key, const char *value) {
        unsigned long number = 0;
        int result;
        if (strcmp(key, "enabled") == 0)
                return parse_bool(value, &http->is_enabled);
        if (strcmp(key, "address") == 0) {
                unsigned char address[sizeof(struct in6_addr)];
                if (inet_pton(AF_INET, value, address) != 1 &&
                    inet_pton(AF_INET6, value, address) != 1)
                        return -EINVAL;
                return copy_string(value, http->address, sizeof(http->address));
        }
        if (strcmp(key, "port") == 0) {
                result = parse_unsigned(value, UINT16_MAX, &number);
                http->port = (uint16_t)number;
                return result;
        }
        if (strcmp(key, "token") == 0) {
                /* Printable ASCII without spaces, so it fits a header. */
                size_t length = strlen(value);
                if (length < 16 || length >= sizeof(http->token))
                        return -EINVAL;
                for (size_t i = 0; i < length; i++)
                        if (value[i] <= ' ' || value[i] > '~')
                                return -EINVAL;
                return copy_string(value, http->token, sizeof(http->token));
        }
        if (strcmp(key, "open_reads") == 0) {
                if (strcmp(value, "loopback") == 0) {
                        http->open_reads = -1;
                        return 0;
                }
                bool is_open = false;
                result = parse_bool(value, &is_open);
                http->open_reads = is_open ? 1 : 0;
                return result;
        }
        if (strcmp(key, "threads") == 0) {
                result = parse_unsigned(value, 64, &number);
                http->threads = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "max_connections") == 0) {
                result = parse_unsigned(value, 10000, &number);
                http->max_connections = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "timeout_s") == 0) {
                result = parse_unsigned(value, 3600, &number);
                http->timeout_s = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "max_body_bytes") == 0) {
                result = parse_unsigned(value, 1024 * 1024, &number);
                http->max_body_bytes = (size_t)number;
                return result;
        }
        if (strcmp(key, "max_connections_per_address") == 0) {
                result = parse_unsigned(value, 10000, &number);
                http->max_connections_per_address = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "request_deadline_s") == 0)
                return parse_double(value, 0.1, 3600, &http->request_deadline_s);
        if (strcmp(key, "max_requests_per_s_per_address") == 0) {
                result = parse_unsigned(value, 1000000, &number);
                http->max_requests_per_s = (unsigned)number;
                return result;
        }
        if (strcmp(key, "allowed_hosts") == 0) {
                int checked = for_each_item(value, check_host_name, NULL);
                return checked < 0 ? checked
                                   : copy_string(value, http->allowed_hosts,
                                                 sizeof(http->allowed_hosts));
        }
        return -ENOENT;
}

static int is_valid_plugin_name(const char *name);

static int set_history_key(struct history_config *history, const char *key, const char *value) {
        unsigned long number = 0;
        int result;
        if (strcmp(key, "path") == 0)
                return copy_string(value, history->path, sizeof(history->path));
        if (strcmp(key, "synchronous") == 0) {
                if (strcmp(value, "normal") != 0 && strcmp(value, "full") != 0)
                        return -EINVAL;
                history->is_sync_full = strcmp(value, "full") == 0;
                return 0;
        }
        if (strcmp(key, "batch_rows") == 0) {
                result = parse_unsigned(value, 100000, &number);
                history->batch_rows = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "batch_ms") == 0) {
                result = parse_unsigned(value, 3600000, &number);
                history->batch_ms = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "queue_rows") == 0) {
                result = parse_unsigned(value, 10000000, &number);
                history->queue_rows = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "max_age_days") == 0)
                return parse_double(value, 0.0, 36500.0, &history->max_age_days);
        if (strcmp(key, "max_rows") == 0) {
                result = parse_unsigned(value, UINT32_MAX, &number);
                history->max_rows = number;
                return result;
        }
        return -ENOENT;
}

/* A topic prefix: levels separated by '/', no wildcards, no empty level. */
static int copy_topic_prefix(const char *value, char *out, size_t size) {
        size_t length = strlen(value);
        if (length == 0 || value[0] == '/' || value[length - 1] == '/' ||
            strstr(value, "//") != NULL || strpbrk(value, "+#") != NULL)
                return -EINVAL;
        return copy_string(value, out, size);
}

static int set_mqtt_key(struct mqtt_config *mqtt, const char *key, const char *value) {
        unsigned long number = 0;
        int result;
        if (strcmp(key, "enabled") == 0)
                return parse_bool(value, &mqtt->is_enabled);
        if (strcmp(key, "host") == 0)
                return copy_string(value, mqtt->host, sizeof(mqtt->host));
        if (strcmp(key, "port") == 0) {
                result = parse_unsigned(value, UINT16_MAX, &number);
                mqtt->port = (uint16_t)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "client_id") == 0)
                return copy_string(value, mqtt->client_id, sizeof(mqtt->client_id));
        if (strcmp(key, "device") == 0)
                return is_valid_plugin_name(value)
                               ? copy_string(value, mqtt->device, sizeof(mqtt->device))
                               : -EINVAL;
        if (strcmp(key, "topic_prefix") == 0)
                return copy_topic_prefix(value, mqtt->topic_prefix, sizeof(mqtt->topic_prefix));
        if (strcmp(key, "discovery_prefix") == 0) {
                if (value[0] == '\0') {
                        mqtt->discovery_prefix[0] = '\0';
                        return 0;
                }
                return copy_topic_prefix(value, mqtt->discovery_prefix,
                                         sizeof(mqtt->discovery_prefix));
        }
        if (strcmp(key, "username") == 0)
                return copy_string(value, mqtt->username, sizeof(mqtt->username));
        if (strcmp(key, "password") == 0)
                return copy_string(value, mqtt->password, sizeof(mqtt->password));
        if (strcmp(key, "tls") == 0)
                return parse_bool(value, &mqtt->has_tls);
        if (strcmp(key, "tls_ca_file") == 0)
                return copy_string(value, mqtt->tls_ca_file, sizeof(mqtt->tls_ca_file));
        if (strcmp(key, "tls_cert_file") == 0)
                return copy_string(value, mqtt->tls_cert_file, sizeof(mqtt->tls_cert_file));
        if (strcmp(key, "tls_key_file") == 0)
                return copy_string(value, mqtt->tls_key_file, sizeof(mqtt->tls_key_file));
        if (strcmp(key, "tls_insecure") == 0)
                return parse_bool(value, &mqtt->is_tls_insecure);
        if (strcmp(key, "qos") == 0) {
                result = parse_unsigned(value, 1, &number);
                mqtt->qos = (unsigned)number;
                return result;
        }
        if (strcmp(key, "keepalive_s") == 0) {
                result = parse_unsigned(value, 3600, &number);
                mqtt->keepalive_s = (unsigned)number;
                return result == 0 && number < 5 ? -EINVAL : result;
        }
        if (strcmp(key, "queue_messages") == 0) {
                result = parse_unsigned(value, 1000000, &number);
                mqtt->queue_messages = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "reconnect_min_ms") == 0) {
                result = parse_unsigned(value, 3600000, &number);
                mqtt->reconnect_min_ms = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "reconnect_max_ms") == 0) {
                result = parse_unsigned(value, 3600000, &number);
                mqtt->reconnect_max_ms = (unsigned)number;
                return result == 0 && number == 0 ? -EINVAL : result;
        }
        return -ENOENT;
}

/* One "PIN:N" of dht22_iio_devices: GPIO pin PIN is iio:deviceN. */
static int add_dht22_device(const char *word, size_t length, void *data) {
        struct linux_board_config *board = data;
        char item[32];
        if (length >= sizeof(item) || board->dht22_count == CONFIG_MAX_DHT22)
                return -EINVAL;
        memcpy(item, word, length);
        item[length] = '\0';
        char *colon = strchr(item, ':');
        if (colon == NULL)
                return -EINVAL;
        *colon = '\0';
        unsigned long pin = 0, device = 0;
        if (parse_unsigned(item, UINT8_MAX, &pin) < 0 ||
            parse_unsigned(colon + 1, 1000000, &device) < 0)
                return -EINVAL;
        board->dht22[board->dht22_count].pin = (uint8_t)pin;
        board->dht22[board->dht22_count].iio_device = (unsigned)device;
        board->dht22_count++;
        return 0;
}

static int add_led_line(const char *word, size_t length, void *data) {
        struct linux_board_config *board = data;
        char number[8];
        unsigned long offset = 0;
        if (length >= sizeof(number) || board->led_line_count == CONFIG_LED_LINES)
                return -EINVAL;
        memcpy(number, word, length);
        number[length] = '\0';
        if (parse_unsigned(number, 65535, &offset) < 0)
                return -EINVAL;
        board->led_lines[board->led_line_count++] = (unsigned)offset;
        return 0;
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

/* The keys of backend = linux; -ENOENT for a key that is not one. */
static int set_linux_board_key(struct linux_board_config *board, const char *key,
                               const char *value) {
        unsigned long number = 0;
        int result;
        if (strcmp(key, "sysfs_root") == 0) {
                if (value[0] != '/')
                        return -EINVAL;
                return copy_string(value, board->sysfs_root, sizeof(board->sysfs_root));
        }
        if (strcmp(key, "dht22_iio_devices") == 0) {
                board->dht22_count = 0;
                result = for_each_item(value, add_dht22_device, board);
                return result == 0 && board->dht22_count == 0 ? -EINVAL : result;
        }
        if (strcmp(key, "dht22_read_retries") == 0) {
                result = parse_unsigned(value, 10, &number);
                board->read_retries = (unsigned)number;
                return result;
        }
        if (strcmp(key, "dht22_retry_delay_ms") == 0) {
                result = parse_unsigned(value, 2000, &number);
                board->retry_delay_ms = (unsigned)number;
                return result;
        }
        if (strcmp(key, "led_driver") == 0) {
                if (strcmp(value, "gpiod") == 0)
                        board->led_driver = CONFIG_LED_DRIVER_GPIOD;
                else if (strcmp(value, "ledclass") == 0)
                        board->led_driver = CONFIG_LED_DRIVER_LEDCLASS;
                else if (strcmp(value, "none") == 0)
                        board->led_driver = CONFIG_LED_DRIVER_NONE;
                else
                        return -EINVAL;
                return 0;
        }
        if (strcmp(key, "gpio_chip") == 0)
                return copy_string(value, board->gpio_chip, sizeof(board->gpio_chip));
        if (strcmp(key, "led_lines") == 0) {
                board->led_line_count = 0;
                result = for_each_item(value, add_led_line, board);
                if (result == 0 && board->led_line_count != CONFIG_LED_LINES)
                        return -EINVAL;
                return result;
        }
        if (strcmp(key, "led_active_low") == 0)
                return parse_bool(value, &board->is_led_active_low);
        if (strcmp(key, "led_class_names") == 0) {
                board->led_class_name_count = 0;
                result = for_each_item(value, add_led_class_name, board);
                if (result == 0 && board->led_class_name_count != CONFIG_LED_LINES)
                        return -EINVAL;
                return result;
        }
        return -ENOENT;
}

static int set_board_key(struct board_config *board, const char *key, const char *value) {
        struct sim_board_config *sim = &board->sim;
        unsigned long number = 0;
        int result;
        if (strcmp(key, "backend") == 0) {
                if (strcmp(value, "sim") != 0 && strcmp(value, "linux") != 0)
                        return -EINVAL;
                return copy_string(value, board->backend, sizeof(board->backend));
        }
        result = set_linux_board_key(&board->linux_board, key, value);
        if (result != -ENOENT)
                return result;
        if (strcmp(key, "dht22_pin") == 0) {
                result = parse_unsigned(value, UINT8_MAX, &number);
                sim->dht22_pin = (uint8_t)number;
                return result;
        }
        if (strcmp(key, "min_celsius") == 0)
                return parse_double(value, -40.0, 80.0, &sim->min_celsius);
        if (strcmp(key, "max_celsius") == 0)
                return parse_double(value, -40.0, 80.0, &sim->max_celsius);
        if (strcmp(key, "min_humidity") == 0)
                return parse_double(value, 0.0, 100.0, &sim->min_humidity);
        if (strcmp(key, "max_humidity") == 0)
                return parse_double(value, 0.0, 100.0, &sim->max_humidity);
        if (strcmp(key, "period_reads") == 0) {
                result = parse_unsigned(value, 1000000, &number);
                if (result == 0 && number < 2)
                        result = -EINVAL;
                sim->period_reads = (unsigned)number;
                return result;
        }
        if (strcmp(key, "error_probability") == 0)
                return parse_double(value, 0.0, 1.0, &sim->error_probability);
        if (strcmp(key, "read_delay_ms") == 0) {
                unsigned long delay = 0;
                int parsed = parse_unsigned(value, 60000, &delay);
                sim->read_delay_ms = (uint32_t)delay;
                return parsed;
        }
        if (strcmp(key, "seed") == 0) {
                result = parse_unsigned(value, UINT32_MAX, &number);
                sim->seed = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "script_celsius") == 0)
                return parse_script(value, sim);
        return -ENOENT;
}

static int set_plugin_key(struct plugin_config *plugin, const char *key, const char *value) {
        unsigned long number = 0;
        int result;
        if (strcmp(key, "file") == 0)
                return copy_string(value, plugin->path, sizeof(plugin->path));
        if (strcmp(key, "interval_s") == 0)
                return parse_double(value, 0.01, 86400.0, &plugin->interval_s);
        if (strcmp(key, "budget_ms") == 0) {
                result = parse_unsigned(value, 60000, &number);
                if (result == 0 && number == 0)
                        result = -EINVAL;
                plugin->budget_ms = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "grants") == 0)
                return parse_grants(value, &plugin->grants);
        if (strcmp(key, "dht22_pins") == 0)
                return parse_pins(value, &plugin->grants);
        if (strcmp(key, "dht22_min_interval_ms") == 0) {
                result = parse_unsigned(value, 3600000, &number);
                plugin->grants.dht22_min_interval_ms = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "led_safe_state") == 0)
                return parse_led_pair(value, plugin->grants.led_safe_state);
        if (strcmp(key, "data_dir") == 0)
                return copy_string(value, plugin->grants.data_dir, sizeof(plugin->grants.data_dir));
        if (strcmp(key, "memory_limit_mib") == 0) {
                result = parse_unsigned(value, 65536, &number);
                plugin->memory_limit_mib = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "probation_polls") == 0) {
                result = parse_unsigned(value, 1000000, &number);
                plugin->probation_polls = (unsigned)number;
                return result;
        }
        if (strcmp(key, "max_failures") == 0) {
                result = parse_unsigned(value, 1000000, &number);
                if (result == 0 && number == 0)
                        result = -EINVAL;
                plugin->max_failures = (unsigned)number;
                return result;
        }
        if (strcmp(key, "restart_backoff_ms") == 0) {
                result = parse_unsigned(value, 60000, &number);
                plugin->restart_backoff_ms = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "restart_above_mib") == 0) {
                result = parse_unsigned(value, 65536, &number);
                plugin->restart_above_mib = (uint32_t)number;
                return result;
        }
        if (strcmp(key, "restart_after_polls") == 0) {
                result = parse_unsigned(value, UINT32_MAX, &number);
                plugin->restart_after_polls = number;
                return result;
        }
        return -ENOENT;
}

static int is_valid_plugin_name(const char *name) {
        size_t length = strlen(name);
        if (length == 0 || length >= CONFIG_NAME_MAX)
                return 0;
        for (size_t i = 0; i < length; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return 0;
        }
        return 1;
}

/* Finds or creates the plugin called `name`. */
static struct plugin_config *plugin_for_section(struct host_config *config, const char *name) {
        for (size_t i = 0; i < config->plugin_count; i++)
                if (strcmp(config->plugins[i].name, name) == 0)
                        return &config->plugins[i];
        if (config->plugin_count == CONFIG_MAX_PLUGINS || !is_valid_plugin_name(name))
                return NULL;
        struct plugin_config *plugin = &config->plugins[config->plugin_count++];
        plugin_set_defaults(plugin);
        snprintf(plugin->name, sizeof(plugin->name), "%s", name);
        return plugin;
}

/* What a key takes, for the keys whose rules are not obvious from the name. */
static const char *hint_for(const char *key) {
        static const struct {
                const char *key;
                const char *hint;
        } hints[] = {
                {"token", "16 to 127 printable ASCII characters without spaces"},
                {"grants", "a list of gpio-provider, led-controller, logging"},
                {"led_safe_state", "two of off, green, yellow, red (\"yellow, off\")"},
                {"dht22_pins", "a list of pin numbers 0-255 (\"4, 17\")"},
                {"interval_s", "seconds, from 0.01 to 86400"},
                {"budget_ms", "milliseconds, from 1 to 60000"},
                {"log_level", "debug, info, warning or error"},
                {"backend", "sim or linux"},
                {"allowed_hosts", "a list of host names, IPv4 addresses, [IPv6] addresses or *"},
                {"request_deadline_s", "seconds, from 0.1 to 3600"},
        };
        for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
                if (strcmp(hints[i].key, key) == 0)
                        return hints[i].hint;
        return NULL;
}

/* inih callback: returns nonzero to go on, 0 to stop at the first error. */
static int on_entry(void *user, const char *section, const char *key, const char *value) {
        struct parse *parse = user;
        int result;
        if (strcmp(section, "host") == 0) {
                result = set_host_key(parse->config, key, value);
        } else if (strcmp(section, "board") == 0) {
                result = set_board_key(&parse->config->board, key, value);
        } else if (strcmp(section, "http") == 0) {
                result = set_http_key(&parse->config->http, key, value);
        } else if (strcmp(section, "history") == 0) {
                result = set_history_key(&parse->config->history, key, value);
        } else if (strcmp(section, "mqtt") == 0) {
                result = set_mqtt_key(&parse->config->mqtt, key, value);
        } else if (strncmp(section, "plugin ", 7) == 0) {
                struct plugin_config *plugin = plugin_for_section(parse->config, section + 7);
                if (plugin == NULL) {
                        ph_error_set(parse->error, -EINVAL,
                                     "%s: [%s]: plugin names are 1-%d letters, digits, '-' or "
                                     "'_', at most %d plugins",
                                     parse->path, section, CONFIG_NAME_MAX - 1, CONFIG_MAX_PLUGINS);
                        return 0;
                }
                result = set_plugin_key(plugin, key, value);
        } else {
                ph_error_set(parse->error, -EINVAL,
                             "%s: unknown section [%s] (expected [host], [board], [http], "
                             "[history], [mqtt] or "
                             "[plugin NAME])",
                             parse->path, section);
                return 0;
        }
        if (result == -ENOENT) {
                ph_error_set(parse->error, -EINVAL, "%s: [%s]: unknown key '%s'", parse->path,
                             section, key);
                return 0;
        }
        if (result < 0) {
                const char *hint = hint_for(key);
                ph_error_set(parse->error, -EINVAL, "%s: [%s] %s: invalid value '%s'%s%s",
                             parse->path, section, key, value, hint != NULL ? ": expected " : "",
                             hint != NULL ? hint : "");
                return 0;
        }
        return 1;
}

int config_load_file(struct host_config *config, const char *path, struct ph_error *error) {
        FILE *file = fopen(path, "re");
        if (file == NULL)
                return ph_error_set(error, -errno, "%s: cannot open config: %s", path,
                                    strerror(errno));
        struct parse parse = {.config = config, .path = path, .error = error};
        ph_error_clear(error);
        int result = ini_parse_file(file, on_entry, &parse);
        fclose(file);
        if (error != NULL && error->code != 0)
                return error->code;
        if (result != 0)
                return ph_error_set(error, -EINVAL, "%s:%d: syntax error", path, result);
        return 0;
}

int config_add_plugin_file(struct host_config *config, const char *path, struct ph_error *error) {
        if (config->plugin_count == CONFIG_MAX_PLUGINS)
                return ph_error_set(error, -E2BIG, "at most %d plugins", CONFIG_MAX_PLUGINS);
        struct plugin_config *plugin = &config->plugins[config->plugin_count];
        plugin_set_defaults(plugin);
        /* A plugin given on the command line is being developed: it may use
         * every capability, every pin, as often as it likes. */
        plugin->grants.gpio_provider = true;
        plugin->grants.led_controller = true;
        plugin->grants.logging = true;
        plugin->grants.is_any_pin = true;
        plugin->grants.dht22_min_interval_ms = 0;
        if (copy_string(path, plugin->path, sizeof(plugin->path)) < 0)
                return ph_error_set(error, -EINVAL, "plugin path is empty or too long");
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

/* Cross-field rules of backend = linux. */
static int validate_linux_board(const struct linux_board_config *board, struct ph_error *error) {
        if (board->dht22_count == 0)
                return ph_error_set(error, -EINVAL,
                                    "[board] backend = linux needs dht22_iio_devices "
                                    "(PIN:N pairs, pin PIN read from iio:deviceN, e.g. 4:0)");
        for (size_t i = 0; i < board->dht22_count; i++)
                for (size_t j = 0; j < i; j++) {
                        if (board->dht22[i].pin == board->dht22[j].pin)
                                return ph_error_set(error, -EINVAL,
                                                    "[board] dht22_iio_devices: pin %u is "
                                                    "mapped twice",
                                                    board->dht22[i].pin);
                        if (board->dht22[i].iio_device == board->dht22[j].iio_device)
                                return ph_error_set(error, -EINVAL,
                                                    "[board] dht22_iio_devices: iio:device%u "
                                                    "is given to pins %u and %u",
                                                    board->dht22[i].iio_device, board->dht22[j].pin,
                                                    board->dht22[i].pin);
                }
        if (board->led_driver == CONFIG_LED_DRIVER_GPIOD) {
                if (board->led_line_count != CONFIG_LED_LINES)
                        return ph_error_set(error, -EINVAL,
                                            "[board] led_driver = gpiod needs led_lines: %d line "
                                            "offsets of gpio_chip (first red, first green, "
                                            "second red, second green)",
                                            CONFIG_LED_LINES);
                for (size_t i = 0; i < CONFIG_LED_LINES; i++)
                        for (size_t j = 0; j < i; j++)
                                if (board->led_lines[i] == board->led_lines[j])
                                        return ph_error_set(error, -EINVAL,
                                                            "[board] led_lines: line %u is "
                                                            "used twice",
                                                            board->led_lines[i]);
        }
        if (board->led_driver == CONFIG_LED_DRIVER_LEDCLASS) {
                if (board->led_class_name_count != CONFIG_LED_LINES)
                        return ph_error_set(error, -EINVAL,
                                            "[board] led_driver = ledclass needs "
                                            "led_class_names: %d LED class names (first red, "
                                            "first green, second red, second green)",
                                            CONFIG_LED_LINES);
                for (size_t i = 0; i < CONFIG_LED_LINES; i++) {
                        const char *name = board->led_class_names[i];
                        for (size_t j = 0; j < i; j++)
                                if (strcmp(name, board->led_class_names[j]) == 0)
                                        return ph_error_set(error, -EINVAL,
                                                            "[board] led_class_names: '%s' is "
                                                            "used twice",
                                                            name);
                }
        }
        return 0;
}

int config_validate(const struct host_config *config, struct ph_error *error) {
        const struct sim_board_config *sim = &config->board.sim;
        if (strcmp(config->board.backend, "linux") == 0) {
                int result = validate_linux_board(&config->board.linux_board, error);
                if (result < 0)
                        return result;
        }
        if (sim->min_celsius >= sim->max_celsius)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_celsius (%g) must be below max_celsius (%g)",
                                    sim->min_celsius, sim->max_celsius);
        if (sim->min_humidity > sim->max_humidity)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_humidity (%g) must not exceed max_humidity (%g)",
                                    sim->min_humidity, sim->max_humidity);
        const struct history_config *history = &config->history;
        if (history->queue_rows < history->batch_rows)
                return ph_error_set(error, -EINVAL,
                                    "[history] queue_rows (%u) must be at least batch_rows (%u)",
                                    history->queue_rows, history->batch_rows);
        const struct mqtt_config *mqtt = &config->mqtt;
        if (mqtt->reconnect_min_ms > mqtt->reconnect_max_ms)
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] reconnect_min_ms (%u) must not exceed "
                                    "reconnect_max_ms (%u)",
                                    mqtt->reconnect_min_ms, mqtt->reconnect_max_ms);
        if ((mqtt->tls_cert_file[0] != '\0') != (mqtt->tls_key_file[0] != '\0'))
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] tls_cert_file and tls_key_file go together");
        if (!mqtt->has_tls && (mqtt->tls_ca_file[0] != '\0' || mqtt->tls_cert_file[0] != '\0'))
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] tls_ca_file or tls_cert_file given but tls is off "
                                    "(set tls = yes)");
        if (mqtt->password[0] != '\0' && mqtt->username[0] == '\0')
                return ph_error_set(error, -EINVAL, "[mqtt] password given without username");
        const char *led_owner = NULL;
        for (size_t i = 0; i < config->plugin_count; i++) {
                const struct plugin_config *plugin = &config->plugins[i];
                if (plugin->path[0] == '\0')
                        return ph_error_set(error, -EINVAL, "[plugin %s]: missing key 'file'",
                                            plugin->name);
                if (!plugin->grants.led_controller)
                        continue;
                /* An actuator has one owner, so that a failing owner can be
                 * overridden with the safe state and nobody else fights it. */
                if (led_owner != NULL)
                        return ph_error_set(error, -EINVAL,
                                            "[plugin %s] grants: led-controller is already "
                                            "granted to plugin %s; the LEDs have one owner",
                                            plugin->name, led_owner);
                led_owner = plugin->name;
        }
        return 0;
}
