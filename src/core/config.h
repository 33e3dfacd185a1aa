/* config.h - the host's configuration, read from an INI file with libinih.
 *
 * Owns the parsed values; knows nothing of the modules that use them. Every
 * unknown section or key and every malformed value is an error that names
 * the file, the line, the section and the key. Not thread-safe: parse once
 * at start-up, then treat as read-only. */
#ifndef PH_CONFIG_H
#define PH_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
        uint32_t seed;            /* of the error injection's generator */
        double script_celsius[CONFIG_MAX_SCRIPT];
        size_t script_count;
};

struct board_config {
        char backend[16]; /* "sim" */
        struct sim_board_config sim;
};

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
};

struct host_config {
        enum log_level log_level;
        char cache_dir[PATH_MAX];      /* compiled-code cache; empty: disabled */
        char state_dir[PATH_MAX];      /* saved plugin states; empty: not kept on disk */
        double state_write_interval_s; /* at most one state write per plugin per interval */
        unsigned reload_debounce_ms;   /* a changed file must stay unchanged this long */
        struct board_config board;
        struct http_config http;
        struct plugin_config plugins[CONFIG_MAX_PLUGINS];
        size_t plugin_count;
};

/* Fills `config` with the defaults: the simulated board, no plugins. */
void config_set_defaults(struct host_config *config);

/* Parses `path` over the values already in `config`. Returns 0, or a
 * negative code with `error` naming the file, line and field. */
PH_MUST_USE int config_load_file(struct host_config *config, const char *path,
                                 struct ph_error *error);

/* Adds a plugin named after its file ("dir/foo.wasm" -> "foo") with default
 * settings; for the CLI's single-plugin commands. */
PH_MUST_USE int config_add_plugin_file(struct host_config *config, const char *path,
                                       struct ph_error *error);

/* Checks cross-field rules (min < max, unique plugin names, ...). */
PH_MUST_USE int config_validate(const struct host_config *config, struct ph_error *error);

#endif
