#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_INTERVAL_S 5.0
#define DEFAULT_BUDGET_MS 100

void config_set_defaults(struct host_config *config) {
        memset(config, 0, sizeof(*config));
        config->log_level = LOG_LEVEL_INFO;
        config->state_write_interval_s = 30.0;
        config->reload_debounce_ms = 250;
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
        struct http_config *http = &config->http;
        http->is_enabled = true;
        snprintf(http->address, sizeof(http->address), "127.0.0.1");
        http->port = 8080;
        http->open_reads = -1;
        http->threads = 2;
        http->max_connections = 64;
        http->timeout_s = 10;
        http->max_body_bytes = 4096;
}

static void plugin_set_defaults(struct plugin_config *plugin) {
        memset(plugin, 0, sizeof(*plugin));
        plugin->interval_s = DEFAULT_INTERVAL_S;
        plugin->budget_ms = DEFAULT_BUDGET_MS;
        /* The example plugin peaks at 12.4 MiB of linear memory. */
        plugin->memory_limit_mib = 64;
        plugin->probation_polls = 3;
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

static int set_host_key(struct host_config *config, const char *key, const char *value) {
        if (strcmp(key, "log_level") == 0)
                return log_level_parse(value, &config->log_level);
        if (strcmp(key, "cache_dir") == 0) {
                if (strlen(value) >= sizeof(config->cache_dir))
                        return -EINVAL;
                snprintf(config->cache_dir, sizeof(config->cache_dir), "%s", value);
                return 0;
        }
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
        return -ENOENT;
}

static int set_board_key(struct board_config *board, const char *key, const char *value) {
        struct sim_board_config *sim = &board->sim;
        unsigned long number = 0;
        int result;
        if (strcmp(key, "backend") == 0) {
                if (strcmp(value, "sim") != 0)
                        return -EINVAL;
                return copy_string(value, board->backend, sizeof(board->backend));
        }
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
                             "%s: unknown section [%s] (expected [host], [board], [http] or "
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
                ph_error_set(parse->error, -EINVAL, "%s: [%s] %s: invalid value '%s'", parse->path,
                             section, key, value);
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

int config_validate(const struct host_config *config, struct ph_error *error) {
        const struct sim_board_config *sim = &config->board.sim;
        if (sim->min_celsius >= sim->max_celsius)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_celsius (%g) must be below max_celsius (%g)",
                                    sim->min_celsius, sim->max_celsius);
        if (sim->min_humidity > sim->max_humidity)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_humidity (%g) must not exceed max_humidity (%g)",
                                    sim->min_humidity, sim->max_humidity);
        for (size_t i = 0; i < config->plugin_count; i++) {
                const struct plugin_config *plugin = &config->plugins[i];
                if (plugin->path[0] == '\0')
                        return ph_error_set(error, -EINVAL, "[plugin %s]: missing key 'file'",
                                            plugin->name);
        }
        return 0;
}
