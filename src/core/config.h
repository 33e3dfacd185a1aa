/* config.h - the host's configuration, read from an INI file with libinih.
 *
 * Owns the parsed values; knows nothing of the modules that use them. Each
 * section's keys are one table (config.c, one line per key: name, type,
 * bounds, default, help); config_file.c reads a file through it. Every
 * unknown section or key, repeated section or key, over-long or indented
 * line and malformed value is an error that names the file, the line, the
 * section and the key. Not thread-safe: parse once at start-up (or on
 * SIGHUP, into a fresh struct), then treat as read-only. */
#ifndef PH_CONFIG_H
#define PH_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/log.h"

#define CONFIG_MAX_PLUGINS 16
#define CONFIG_NAME_MAX 64
#define CONFIG_MAX_SCRIPT 64

/* The simulated board (hw_sim). The DHT22 follows a triangle wave between
 * min and max over `period_reads` reads, so a run is repeatable; or, when
 * `script_count` > 0, the scripted temperatures in turn. */
struct sim_board_config {
        uint8_t dht22_pin;
        double min_celsius;
        double max_celsius;
        unsigned period_reads;
        double min_humidity;
        double max_humidity;
        double error_probability; /* 0..1: chance that a read fails */
        uint32_t read_delay_ms;   /* each read takes this long, like a slow bus */
        uint32_t seed;            /* of the error injection's generator */
        double script_celsius[CONFIG_MAX_SCRIPT];
        size_t script_count;
        /* The simulated devices of src/hw/hw_sim*.c (one of each). */
        unsigned i2c_bus;      /* the bus the BME280 sits on */
        int bme280_address;    /* 0x76 or 0x77 */
        double bme280_celsius; /* the model the raw values derive from */
        double bme280_hpa;
        double bme280_humidity;
        double bme280_noise; /* each measurement +- this much of each, seeded */
        char ds18b20_id[16]; /* "28-" and 12 hex digits */
        double ds18b20_celsius;
        unsigned button_line;                          /* a push button to ground: active low */
        uint32_t button_presses_ms[CONFIG_MAX_SCRIPT]; /* press times after start */
        size_t button_press_count;
        uint32_t button_repeat_ms; /* the presses repeat with this period; 0: once */
        uint32_t button_hold_ms;   /* how long each press lasts */
        unsigned button_bounces;   /* extra edge pairs at each press and release */
        uint32_t button_bounce_us; /* within this time, seeded */
        unsigned relay_line;       /* an output line whose changes are logged as the relay's */
};

/* The Linux board (backend = linux, src/hw/hw_linux.c): DHT22s through
 * the kernel IIO dht11 driver, the two bi-colour status LEDs through
 * libgpiod or the kernel LED class. */
#define CONFIG_MAX_DHT22 8
/* The four LED lines, in this order in led_lines and led_class_names. */
#define CONFIG_LED_LINES 4
enum config_led_line {
        CONFIG_LED_FIRST_RED,
        CONFIG_LED_FIRST_GREEN,
        CONFIG_LED_SECOND_RED,
        CONFIG_LED_SECOND_GREEN,
};

enum config_led_driver {
        CONFIG_LED_DRIVER_GPIOD,
        CONFIG_LED_DRIVER_LEDCLASS,
        CONFIG_LED_DRIVER_NONE,
};

struct config_dht22_device {
        uint8_t pin;         /* the GPIO number a plugin passes to read-dht22 */
        unsigned iio_device; /* N of <sysfs_root>/bus/iio/devices/iio:deviceN */
};

struct linux_board_config {
        char sysfs_root[PATH_MAX]; /* "/sys"; tests point it at a fake tree */
        char dev_root[PATH_MAX];   /* "/dev": where i2c-N is */
        unsigned pwm_chip;         /* C of <sysfs_root>/class/pwm/pwmchipC */
        struct config_dht22_device dht22[CONFIG_MAX_DHT22];
        size_t dht22_count;
        unsigned read_retries;   /* further attempts after EIO or ETIMEDOUT */
        unsigned retry_delay_ms; /* wait before each further attempt */
        enum config_led_driver led_driver;
        char gpio_chip[CONFIG_NAME_MAX]; /* name, path, label or number */
        unsigned led_lines[CONFIG_LED_LINES];
        size_t led_line_count;
        bool is_led_active_low; /* gpiod only: a line driven low lights its LED */
        char led_class_names[CONFIG_LED_LINES][CONFIG_NAME_MAX];
        size_t led_class_name_count;
};

struct board_config {
        char backend[16]; /* "sim" or "linux" */
        struct sim_board_config sim;
        struct linux_board_config linux_board;
};

#define CONFIG_MAX_PINS 8

/* The words of a plugin's `grants`; each is also the name of the WIT
 * interface it allows (src/plugin/internal.h builds those from these). */
#define CONFIG_GRANT_GPIO_PROVIDER "gpio-provider"
#define CONFIG_GRANT_LED_CONTROLLER "led-controller"
#define CONFIG_GRANT_LOGGING "logging"
/* Since contract 0.1.1: the hardware interfaces, each with the targets it
 * may reach (lists below) and a rate limit. */
#define CONFIG_GRANT_GPIO "gpio"
#define CONFIG_GRANT_I2C "i2c"
#define CONFIG_GRANT_PWM "pwm"
#define CONFIG_GRANT_IIO "iio"
#define CONFIG_GRANT_ONEWIRE "onewire"
/* At most this many targets of each kind per plugin. */
#define CONFIG_MAX_HW_TARGETS 8
#define CONFIG_W1_ID_MAX 16 /* "28-" and 12 hex digits, with the NUL */

/* An I2C device a plugin may address: `BUS:ADDRESS` ("1:0x76"). */
struct config_i2c_device {
        uint16_t bus;
        uint8_t address; /* 7-bit */
};

/* A GPIO output a plugin owns: `LINE` or `LINE:on`/`LINE:off` (its safe
 * state, logical; default off). */
struct config_gpio_output {
        uint16_t line;
        bool is_safe_active;
};

/* The LED colours, in the order of enum hw_led_color and of the WIT enum
 * led-color: the one table of their names. */
#define CONFIG_LED_COLORS 4
extern const char *const config_led_color_names[CONFIG_LED_COLORS];

/* What a plugin may do. Nothing is granted unless the config says so
 * (the CLI's single-plugin commands grant everything: they are for
 * developing a plugin on one's desk). */
struct plugin_grants {
        bool gpio_provider;  /* may import gpio-provider (sensors) */
        bool led_controller; /* may import led-controller; it then owns the LEDs */
        bool logging;        /* may import logging */
        uint8_t dht22_pins[CONFIG_MAX_PINS];
        size_t dht22_pin_count;
        bool is_any_pin;                /* every pin, line, device (developer mode) */
        uint32_t dht22_min_interval_ms; /* between two reads of one pin */
        uint8_t led_safe_state[2];      /* enum hw_led_color of each LED on failure */
        /* Since 0.1.1: the hardware interfaces and their targets. */
        bool gpio, i2c, pwm, iio, onewire; /* may import the interface */
        struct config_i2c_device i2c_devices[CONFIG_MAX_HW_TARGETS];
        size_t i2c_device_count;
        double i2c_max_per_s; /* transactions, all devices together */
        uint16_t gpio_inputs[CONFIG_MAX_HW_TARGETS];
        size_t gpio_input_count;
        struct config_gpio_output gpio_outputs[CONFIG_MAX_HW_TARGETS]; /* one owner each */
        size_t gpio_output_count;
        uint16_t pwm_channels[CONFIG_MAX_HW_TARGETS]; /* one owner each; safe: disabled */
        size_t pwm_channel_count;
        uint16_t iio_devices[CONFIG_MAX_HW_TARGETS];
        size_t iio_device_count;
        double iio_max_per_s;
        char onewire_ids[CONFIG_MAX_HW_TARGETS][CONFIG_W1_ID_MAX];
        size_t onewire_id_count;
        double onewire_max_per_s;
        char data_dir[PATH_MAX]; /* preopened read-only as /data; "" none */
};

/* A plugin's settings: `setting.KEY = VALUE` lines of its section, which
 * its code reads through wasi:config/store (src/core/settings.h keeps the
 * live copy that SIGHUP and the API change). Not keys of the table: the
 * typed diff leaves them out, so a changed setting never reloads code. */
#define CONFIG_SETTING_PREFIX "setting."
#define CONFIG_MAX_SETTINGS 16
#define CONFIG_SETTING_KEY_MAX 64    /* with the NUL */
#define CONFIG_SETTING_VALUE_MAX 128 /* with the NUL */
struct config_setting {
        char key[CONFIG_SETTING_KEY_MAX];     /* letters, digits, '_', '-', '.' */
        char value[CONFIG_SETTING_VALUE_MAX]; /* UTF-8 without control characters */
};
struct config_settings {
        struct config_setting items[CONFIG_MAX_SETTINGS]; /* in the order first set */
        size_t count;
};

/* Sets `key` to `value` in `settings` (replacing an earlier value). Refuses
 * (-EINVAL, -E2BIG) an invalid key or value, or one too many, with a
 * message naming the key. */
PH_MUST_USE int config_settings_set(struct config_settings *settings, const char *key,
                                    const char *value, struct ph_error *error);
/* Removes `key`; returns whether it was there. */
bool config_settings_remove(struct config_settings *settings, const char *key);
/* The value of `key`, or NULL; borrowed from `settings`. */
const char *config_settings_find(const struct config_settings *settings, const char *key);
/* Same keys with the same values, in any order. */
bool config_settings_equal(const struct config_settings *a, const struct config_settings *b);
/* Whether `key` may name a setting: 1-63 letters, digits, '_', '-', '.'. */
bool config_is_setting_key(const char *key);

struct plugin_config {
        char name[CONFIG_NAME_MAX];
        char path[PATH_MAX];
        double interval_s;         /* time between the starts of two polls */
        uint32_t budget_ms;        /* CPU deadline for one call into the plugin */
        uint32_t memory_limit_mib; /* all its linear memories together; 0: none */
        /* After a reload, a new version that fails within this many polls
         * is rolled back to the last good one. */
        unsigned probation_polls;
        /* Consecutive crashes (traps, exceeded budgets, failed restarts)
         * before the plugin is quarantined. */
        unsigned max_failures;
        /* First wait before restarting a crashed plugin; doubles per
         * consecutive crash, up to 60 s. */
        uint32_t restart_backoff_ms;
        /* Planned restart (checkpoint, fresh instance, restore) after this
         * many polls of one instance; 0: never. */
        uint64_t restart_after_polls;
        /* Planned restart once the instance's linear memory has reached
         * this size (a long-lived instance's memory never shrinks); 0: never. */
        uint32_t restart_above_mib;
        /* A lifecycle plugin's state is checkpointed after a good poll at
         * most this often (and always before a swap, a planned restart and
         * a stop); 0: after every poll. */
        double checkpoint_interval_s;
        struct plugin_grants grants;
        struct config_settings settings; /* as the config file has them */
};

/* The web server (src/http/): the API, the event stream, the metrics and
 * the dashboard. */
struct http_config {
        bool is_enabled;
        char address[64]; /* a numeric IPv4 or IPv6 address */
        uint16_t port;    /* 0: any free port (the log says which) */
        /* The bearer token of mutating requests; empty: the environment's
         * PYHOST_API_TOKEN, else one generated and kept in the state dir. */
        char token[128];
        int open_reads;           /* 1: reads need no token; 0: they do; -1: only on loopback */
        unsigned threads;         /* the server's thread pool */
        unsigned max_connections; /* at once, SSE streams included */
        unsigned timeout_s;       /* an idle or stalled connection is closed after this */
        size_t max_body_bytes;    /* of a request's body */
        unsigned max_connections_per_address; /* at once, from one client address */
        double request_deadline_s;   /* for a request head and body in all, from the connection's
                                        start or last response */
        unsigned max_requests_per_s; /* per client address; 0: no limit */
        /* Host names (and IP literals) the server answers to besides its
         * address (and localhost on loopback); "a, b"; "*": any. */
        char allowed_hosts[512];
};

/* [history]: every reading appended to SQLite (src/store/history.c). */
struct history_config {
        char path[PATH_MAX]; /* the database file; empty: no history */
        bool is_sync_full;   /* synchronous=FULL instead of NORMAL */
        unsigned batch_rows; /* commit every this many readings ... */
        unsigned batch_ms;   /* ... or this long after the first, whichever is first */
        unsigned queue_rows; /* readings waiting for the writer; more are dropped */
        double max_age_days; /* older rows are deleted; 0: no age limit */
        uint64_t max_rows;   /* only the newest rows are kept; 0: no row limit */
};

/* [mqtt]: publishing readings to a broker (src/mqtt/mqtt.c); off by default. */
struct mqtt_config {
        bool is_enabled;
        char host[256];
        uint16_t port;
        char client_id[64];           /* empty: "pyhost-DEVICE" */
        char device[CONFIG_NAME_MAX]; /* topic segment, HA device; empty: host name */
        char topic_prefix[128];
        char discovery_prefix[128]; /* Home Assistant's; empty: no discovery messages */
        char username[128];         /* empty: none */
        char password[256];
        bool has_tls;
        char tls_ca_file[PATH_MAX];   /* empty: the system's CA certificates */
        char tls_cert_file[PATH_MAX]; /* a client certificate, with tls_key_file */
        char tls_key_file[PATH_MAX];
        bool is_tls_insecure; /* do not check the broker's host name (tests only) */
        unsigned qos;         /* 0 or 1, of the readings */
        unsigned keepalive_s;
        unsigned queue_messages;   /* waiting for the broker; the oldest are dropped */
        unsigned reconnect_min_ms; /* first wait after a failed connection, doubling ... */
        unsigned reconnect_max_ms; /* ... up to this */
};

struct host_config {
        enum log_level log_level;
        char cache_dir[PATH_MAX];       /* compiled-code cache; empty: disabled */
        char python_runtime[PATH_MAX];  /* the shared runtime of .py plugins */
        char precompiled_key[PATH_MAX]; /* Ed25519 public key of artifacts; empty: none */
        char state_dir[PATH_MAX];       /* saved plugin states; empty: not kept on disk */
        double state_write_interval_s;  /* at most one state write per plugin per interval */
        unsigned reload_debounce_ms;    /* a changed file must stay unchanged this long */
        /* SIGTERM: polls in progress, the history's flush and the rest of
         * the stop get this long in all; then the host exits regardless. */
        double stop_timeout_s;
        /* A plugin that has not finished a poll for its interval, its budget
         * and this long is stalled: the host stops pinging the watchdog. */
        double stall_timeout_s;
        struct board_config board;
        struct http_config http;
        struct history_config history;
        struct mqtt_config mqtt;
        struct plugin_config plugins[CONFIG_MAX_PLUGINS];
        size_t plugin_count;
};

/* Whether `grants` allows the grant word `word` (CONFIG_GRANT_*). */
bool config_grants_allow(const struct plugin_grants *grants, const char *word);

/* Plugin and device names: 1 to CONFIG_NAME_MAX - 1 letters, digits, '-'
 * or '_' (they become file names, URL segments and MQTT topic levels). */
bool config_is_name_char(char c);
bool config_is_valid_name(const char *text, size_t length);

/* Prints every section's keys as an INI document: defaults, bounds and a
 * line of help each (`pyhost check-config --keys`). */
void config_print_keys(FILE *out);

/* Fills `config` with the defaults of the key tables: the simulated board,
 * no plugins. */
void config_set_defaults(struct host_config *config);

/* Parses `path` over the values already in `config`. Returns 0, or a
 * negative code with `error` naming the file, line and field. */
PH_MUST_USE int config_load_file(struct host_config *config, const char *path,
                                 struct ph_error *error);

/* Adds a plugin named after its file ("dir/foo.wasm" -> "foo") with default
 * settings; for the CLI's single-plugin commands. */
PH_MUST_USE int config_add_plugin_file(struct host_config *config, const char *path,
                                       struct ph_error *error);

/* A typed diff, for SIGHUP: calls `changed(section, key, data)` for each key
 * whose value differs between `a` and `b` ([host], [board], [http],
 * [history], [mqtt]) and returns how many did. */
typedef void (*config_change_fn)(const char *section, const char *key, void *data);
size_t config_diff(const struct host_config *a, const struct host_config *b,
                   config_change_fn changed, void *data);

/* The same for two [plugin NAME] sections, leaving out the key `except`
 * (NULL: none); `changed` may be NULL. */
size_t config_diff_plugin(const struct plugin_config *a, const struct plugin_config *b,
                          const char *except, config_change_fn changed, void *data);

/* Checks cross-field rules (min < max, unique plugin names, ...). */
PH_MUST_USE int config_validate(const struct host_config *config, struct ph_error *error);

#endif
