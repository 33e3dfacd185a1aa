/* plugin.h - Python (or any) plugins as WebAssembly components.
 *
 * A struct plugin owns one component and one live instance of it (store +
 * instance), created once and reused by every poll, so the guest's globals
 * persist between polls. A trap poisons a Wasmtime store, so after a trap
 * the instance is discarded and the next poll runs in a fresh one.
 *
 * Threads: one struct plugin_engine is shared by all threads. Each struct
 * plugin has a mutex held for the duration of one call into it; different
 * plugins run in parallel. This header has no Wasmtime types: only
 * src/plugin/ includes Wasmtime's headers. */
#ifndef PH_PLUGIN_H
#define PH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "core/reading.h"
#include "hw/hw.h"

struct plugin_engine;
struct plugin;

/* Creates the engine (Cranelift, epoch interruption, the compiled-code
 * cache in `cache_dir` unless it is NULL or empty) and starts its epoch
 * ticker thread. The caller frees it with plugin_engine_free, after every
 * plugin made with it. */
PH_MUST_USE struct plugin_engine *plugin_engine_new(const char *cache_dir, struct ph_error *error);

/* Accepts NULL. */
void plugin_engine_free(struct plugin_engine *engine);

enum plugin_failure_kind {
        PLUGIN_FAILURE_NONE,
        /* The guest returned its `plugin-error` (a Python exception). The
         * instance and its state are intact. */
        PLUGIN_FAILURE_GUEST_ERROR,
        /* The guest trapped; its instance was discarded. */
        PLUGIN_FAILURE_TRAP,
        /* The call ran past its CPU budget and was interrupted; the
         * instance was discarded. */
        PLUGIN_FAILURE_BUDGET,
        /* No instance could be made (instantiation failed or trapped). */
        PLUGIN_FAILURE_INSTANTIATE,
        /* The guest returned values outside the contract's bounds. */
        PLUGIN_FAILURE_BAD_OUTPUT,
};

#define PLUGIN_TRACEBACK_MAX 8192

struct plugin_failure {
        enum plugin_failure_kind kind;
        char message[PH_ERROR_MESSAGE_MAX];
        char traceback[PLUGIN_TRACEBACK_MAX]; /* the guest's, or empty */
};

const char *plugin_failure_kind_name(enum plugin_failure_kind kind);

/* Loads the component that `config` names, checks it against the
 * sensor-plugin world and instantiates it. Borrows `engine` and `board`,
 * which must outlive the plugin; copies `config`. The caller frees the
 * plugin with plugin_free. */
PH_MUST_USE struct plugin *plugin_new(struct plugin_engine *engine,
                                      const struct plugin_config *config, struct hw_board *board,
                                      struct ph_error *error);

/* Accepts NULL. */
void plugin_free(struct plugin *plugin);

const char *plugin_name(const struct plugin *plugin);

/* Calls the guest's poll. On success fills *ret_readings (the caller clears
 * it with reading_list_clear) and returns 0. On failure returns a negative
 * code and describes what happened in *ret_failure; when the instance was
 * lost (a trap or an exceeded budget) the next poll makes a fresh one. */
PH_MUST_USE int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                            struct plugin_failure *ret_failure);

/* Counters, for status displays. Takes the plugin's lock briefly. */
struct plugin_stats {
        uint64_t polls;
        uint64_t failures;
        uint64_t instantiations;
};
void plugin_get_stats(struct plugin *plugin, struct plugin_stats *ret_stats);

/* What a component imports and exports, for `pyhost check`. */
#define PLUGIN_MAX_ITEMS 64
#define PLUGIN_ITEM_NAME_MAX 128
struct plugin_interfaces {
        char imports[PLUGIN_MAX_ITEMS][PLUGIN_ITEM_NAME_MAX];
        size_t import_count;
        char exports[PLUGIN_MAX_ITEMS][PLUGIN_ITEM_NAME_MAX];
        size_t export_count;
};

/* Compiles the component at `path` and lists its imports and exports into
 * *ret_interfaces. Returns 0 when it fits the sensor-plugin world; a
 * negative code otherwise, with `error` saying why. *ret_interfaces is
 * filled whenever the file is a component, fitting or not. */
PH_MUST_USE int plugin_inspect_file(struct plugin_engine *engine, const char *path,
                                    struct plugin_interfaces *ret_interfaces,
                                    struct ph_error *error);

#endif
