/* instance.h - one live instance of a component: its store, its WASI
 * context, its exports, and calls into them.
 *
 * Knows nothing of versions, reloads or recovery (plugin.c decides those).
 * Not thread-safe: an instance is used by one thread at a time (its owner
 * holds the plugin's lock, or keeps the instance private). */
#ifndef PH_PLUGIN_INSTANCE_H
#define PH_PLUGIN_INSTANCE_H

#include "plugin/guest_output.h"
#include "plugin/internal.h"
#include "pyhost_memory_limiter.h"

struct plugin_instance {
        struct abi_context abi; /* the store's data; lives as long as the store */
        struct guest_output stdout_lines;
        struct guest_output stderr_lines;
        wasmtime_store_t *store;
        wasmtime_component_instance_t instance;
        wasmtime_component_func_t poll;
        wasmtime_component_func_t save_state;
        wasmtime_component_func_t restore_state;
        wasmtime_component_func_t load; /* the Python runtime's loader */
        bool has_lifecycle;
        bool has_loader;
        uint64_t polls; /* served by this instance */
        /* Caps and counts all of its linear memories together (see
         * wasmtime/pyhost_memory_limiter.h for what it counts); NULL for
         * an unlimited engine (bench only). */
        const pyhost_memory_limiter_t *memory;
        size_t memory_limit;              /* bytes; 0: none */
        struct sandbox_state own_sandbox; /* used when none is shared (a trial) */
};

/* Limits of one instance. */
struct instance_limits {
        uint32_t budget_ms;  /* CPU time of one call */
        size_t memory_bytes; /* all linear memories together; 0: none */
};

/* Instantiates `component`. With `is_trial`, actuator calls (LEDs) are
 * accepted but not carried out, so a trial poll touches nothing. Calls are
 * checked against `grants` and accounted in `sandbox` (NULL: a fresh
 * account of the instance's own). `python_library` (NULL: none) is the
 * Python runtime's standard library, granted read-only as /python: only
 * for instances of the runtime. Borrows `engine`, `component`, `board`,
 * `name`, `sandbox`, `grants` and `python_library`, which must outlive the
 * call (the first six, the instance). The caller frees it with
 * instance_free. */
PH_MUST_USE struct plugin_instance *
instance_new(struct plugin_engine *engine, const wasmtime_component_t *component, const char *name,
             struct hw_board *board, const struct instance_limits *limits,
             struct sandbox_state *sandbox, const struct plugin_grants *grants,
             const char *python_library, bool is_trial, struct ph_error *error);

/* Accepts NULL. */
void instance_free(struct plugin_instance *instance);

/* Calls poll. On failure fills *failure; a trap or an exceeded budget
 * leaves the instance poisoned (*ret_is_poisoned), and it must be freed
 * without being entered again. */
PH_MUST_USE int instance_poll(struct plugin_instance *instance, struct reading_list *ret_readings,
                              struct plugin_failure *failure, bool *ret_is_poisoned);

/* Calls lifecycle.save-state. On success *ret_state (malloc'd, caller frees)
 * holds *ret_size bytes. */
PH_MUST_USE int instance_save_state(struct plugin_instance *instance, uint8_t **ret_state,
                                    size_t *ret_size, struct plugin_failure *failure,
                                    bool *ret_is_poisoned);

/* One module of a plugin given as Python source. */
struct source_module {
        char *name;   /* "app", "helpers", ... */
        char *source; /* NUL-terminated Python */
        char *path;   /* its file on the host, as configured: tracebacks name it */
};

/* The loader's entry that maps module names to host paths ("NAME\tPATH\n"
 * each): not a module, since no module name has an "@". */
#define INSTANCE_FILES_ENTRY "@files"

/* Hands a plugin's modules (borrowed) to the Python runtime's loader,
 * which imports `app`; the modules' paths go along as INSTANCE_FILES_ENTRY.
 * Only for instances of the Python runtime. */
PH_MUST_USE int instance_load_sources(struct plugin_instance *instance,
                                      const struct source_module *modules, size_t count,
                                      struct plugin_failure *failure, bool *ret_is_poisoned);

/* Calls lifecycle.restore-state with `size` bytes (borrowed). */
PH_MUST_USE int instance_restore_state(struct plugin_instance *instance, const uint8_t *state,
                                       size_t size, struct plugin_failure *failure,
                                       bool *ret_is_poisoned);

#endif
