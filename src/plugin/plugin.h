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
#include <time.h>

#include "core/config.h"
#include "core/error.h"
#include "core/pipeline.h"
#include "core/reading.h"
#include "hw/hw.h"
#include "core/settings.h"

struct plugin_engine;
struct plugin;

/* Creates the engine (Cranelift, epoch interruption, the compiled-code
 * cache in `cache_dir` unless it is NULL or empty) and starts its epoch
 * ticker thread. The caller frees it with plugin_engine_free, after every
 * plugin made with it. */
PH_MUST_USE struct plugin_engine *plugin_engine_new(const char *cache_dir, struct ph_error *error);

/* The same without the per-plugin limits (no epoch deadlines, memory meter
 * or store limiter): only for measuring what the limits cost (bench/).
 * Never run untrusted plugins on it. */
PH_MUST_USE struct plugin_engine *plugin_engine_new_unlimited(const char *cache_dir,
                                                              struct ph_error *error);

/* Where the shared Python runtime component is (plugins given as Python
 * source run on it). Copies `path`. Call before making plugins. The
 * standard library of its CPython is the directory beside it with the
 * suffix .stdlib instead of .wasm (scripts/python-stdlib.py); when present,
 * the runtime's instances see it read-only as /python. */
void plugin_engine_set_python_runtime(struct plugin_engine *engine, const char *path);

/* For a stop: the compile now waited for by a caller without a cancel of
 * its own (start-up's loads, SIGHUP's checks) stops being waited for, and
 * every later one is refused (-ECANCELED). Thread-safe; never waits. */
void plugin_engine_abandon_compiles(struct plugin_engine *engine);

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
        /* Not polled: quarantined after too many crashes in a row. */
        PLUGIN_FAILURE_QUARANTINED,
        /* Not polled: crashed, waiting out its backoff before a restart. */
        PLUGIN_FAILURE_RESTARTING,
        /* Not polled: its file has not loaded (yet); the message says why. */
        PLUGIN_FAILURE_NOT_LOADED,
};

#define PLUGIN_TRACEBACK_MAX 8192

struct plugin_failure {
        enum plugin_failure_kind kind;
        char message[PH_ERROR_MESSAGE_MAX];
        char traceback[PLUGIN_TRACEBACK_MAX]; /* the guest's, or empty */
};

const char *plugin_failure_kind_name(enum plugin_failure_kind kind);

/* Fills `record`'s outcome from a poll's result (plugin_poll's or a
 * trial's): on success it takes `readings` (left empty); on failure it
 * copies `failure` (skipped or failed) and clears `readings`. */
void plugin_record_outcome(struct poll_record *record, int result, struct reading_list *readings,
                           const struct plugin_failure *failure);

/* Whether a poll that failed with `kind` was not attempted at all
 * (quarantined, waiting to restart, not loaded): the plugin's state says
 * why and the plugin logged it once, so consumers need not report each. */
bool plugin_failure_is_skipped(enum plugin_failure_kind kind);

/* Host-wide settings that plugins share. */
struct plugin_host_options {
        const char *state_dir; /* where states are kept on disk; NULL or "": nowhere */
        double state_write_interval_s;
        /* Where the trial polls of reloads (origin "trial") and the
         * lifecycle events are published; NULL: nowhere. Borrowed; must
         * outlive the plugins. */
        struct pipeline *pipeline;
};

/* Loads the component that `config` names, checks it against the
 * sensor-plugin world, restores its saved state from the state directory
 * (when it exports `lifecycle` and a state is there) and instantiates it.
 * Borrows `engine` and `board`, which must outlive the plugin; copies
 * `config` and `options`. The caller frees the plugin with plugin_free,
 * which also writes its last state to disk. */
PH_MUST_USE struct plugin *plugin_new(struct plugin_engine *engine,
                                      const struct plugin_config *config,
                                      const struct plugin_host_options *options,
                                      struct hw_board *board, struct ph_error *error);

/* Like plugin_new, for a daemon: a file that does not load (missing, not a
 * component, outside the plugin's grants, failing to start) still gives a
 * plugin, in state PLUGIN_STATE_NOT_LOADED with the reason as its last
 * error and a "load-failed" event, logged here. It is not polled (polls
 * fail with PLUGIN_FAILURE_NOT_LOADED at once) until plugin_reload loads
 * its file, which the reloader does when the file changes. Returns NULL
 * only for errors of the host (out of memory, a state directory that
 * cannot be made). */
PH_MUST_USE struct plugin *plugin_open(struct plugin_engine *engine,
                                       const struct plugin_config *config,
                                       const struct plugin_host_options *options,
                                       struct hw_board *board, struct ph_error *error);

/* Accepts NULL. */
void plugin_free(struct plugin *plugin);

/* Whether the plugin has a version loaded (it is not PLUGIN_STATE_NOT_LOADED). */
bool plugin_is_loaded(struct plugin *plugin);

const char *plugin_name(const struct plugin *plugin);

/* The plugin's live settings (core/settings.h: thread-safe, never waits
 * for a call into the plugin); lives as long as the plugin. */
struct settings_store *plugin_settings(struct plugin *plugin);

/* Calls the guest's poll. On success fills *ret_readings (the caller clears
 * it with reading_list_clear) and returns 0. On failure returns a negative
 * code and describes what happened in *ret_failure; when the instance was
 * lost (a trap or an exceeded budget) the next poll makes a fresh one.
 * Unless `ret_version` is NULL, copies into it (PLUGIN_VERSION_SHORT bytes)
 * the first 12 hex digits of the version that was polled.
 * Called by the plugin's scheduler thread (and by the single-plugin CLI
 * commands); takes the plugin's lock for the call. */
#define PLUGIN_VERSION_SHORT 13
PH_MUST_USE int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                            struct plugin_failure *ret_failure, char *ret_version);

const char *plugin_path(const struct plugin *plugin);

/* Called (with the plugin's lock held: it must only note the request and
 * return) when the check before a poll finds the plugin's file changed. */
typedef void (*plugin_change_listener)(struct plugin *plugin, void *data);
void plugin_set_change_listener(struct plugin *plugin, plugin_change_listener listener, void *data);

/* Loads the plugin's file again and, if it is a new version that loads,
 * fits the world and passes a trial poll (LED calls held back), swaps it in
 * with the old instance's state; it is then on probation. Compiles without
 * the plugin's lock, so polls go on meanwhile. A version that fails is
 * rejected (and not tried again until the file changes); the running
 * version keeps running. A plugin that is not loaded yet is loaded as at
 * start-up (no trial, no probation: there is nothing to go back to), or
 * stays not loaded with the new reason. Returns 0 when the file is
 * unchanged or swapped in. When `cancel` (NULL: none; see
 * plugin/internal.h) is triggered during a compile, returns -ECANCELED
 * without waiting for it and without judging the version; the change is
 * noticed again at the next poll. Call from one thread at a time (the
 * reloader). */
struct compile_cancel;
PH_MUST_USE int plugin_reload(struct plugin *plugin, struct compile_cancel *cancel,
                              struct ph_error *error);

/* Lifts a quarantine; the next poll restarts the plugin. Returns -EALREADY
 * when the plugin was not quarantined. */
int plugin_reset(struct plugin *plugin);

enum plugin_state {
        PLUGIN_STATE_RUNNING,
        PLUGIN_STATE_FAILED, /* crashed; restarts after a backoff */
        PLUGIN_STATE_QUARANTINED,
        PLUGIN_STATE_NOT_LOADED, /* its file did not load; see last_error */
};
const char *plugin_state_name(enum plugin_state state);

#define PLUGIN_HISTORY_MAX 16
struct plugin_event {
        time_t time;
        char kind[16]; /* loaded, load-failed, reloaded, rejected, rolled-back, ... */
        char version[13];
        char message[256];
};

/* A snapshot of a plugin, for status displays. */
struct plugin_status {
        enum plugin_state state;
        char version[65]; /* SHA-256 of the running file; "" when not loaded */
        time_t loaded_at; /* 0 when not loaded */
        uint64_t polls;
        uint64_t failures;
        uint64_t instantiations;
        uint64_t reloads;
        uint64_t rejected_reloads;
        uint64_t rollbacks;
        unsigned consecutive_failures;
        unsigned probation_left;
        bool has_lifecycle;
        size_t state_bytes;
        size_t memory_bytes;        /* Wasm pages x 64 KiB of the live instance now, not RAM */
        size_t memory_high_water;   /* the most it has had at once */
        size_t memory_limit;        /* 0: none */
        uint64_t denied_calls;      /* calls outside its grants, refused */
        uint64_t dropped_log_lines; /* over its log budget */
        char last_error[PH_ERROR_MESSAGE_MAX];
        char last_traceback[PLUGIN_TRACEBACK_MAX];
        time_t last_error_time;
        struct plugin_event history[PLUGIN_HISTORY_MAX]; /* a ring */
        uint64_t history_count;
};

/* Each lifecycle event (loaded, reloaded, rejected, rolled-back,
 * quarantined, ...) is also published to the host's pipeline as a
 * RECORD_LIFECYCLE record (plugin_host_options.pipeline). */

/* Copies the plugin's status. Never waits for a call into the plugin: when
 * one holds the plugin's lock, it copies the status as it was after the
 * last call that did not (at most one call old). */
void plugin_get_status(struct plugin *plugin, struct plugin_status *ret_status);

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

/* Code compiled ahead of time (precompiled.c). The artifact of NAME.wasm is
 * NAME.cwasm beside it (any other name: name + ".cwasm"); a host that finds
 * it loads it without compiling, after checking that its header matches
 * this host (target, engine settings, Wasmtime version) and the .wasm's
 * SHA-256. Writes the artifact's path into `out`; -ENAMETOOLONG when it
 * does not fit. */
PH_MUST_USE int plugin_precompiled_path(const char *wasm_path, char *out, size_t size);

/* `pyhost compile`: compiles the component at `wasm_path` with the engine
 * settings every pyhost engine uses, for `target` (a Rust target triple;
 * NULL: this machine's CPU and its features), signs its header with the
 * Ed25519 private key in `sign_key` (PEM; NULL: unsigned) and writes the
 * artifact to `out_path` atomically. Main thread; takes seconds. */
PH_MUST_USE int plugin_compile_artifact(const char *wasm_path, const char *target,
                                        const char *sign_key, const char *out_path,
                                        struct ph_error *error);

/* The Ed25519 public key (PEM file) that every precompiled artifact must be
 * signed with ([host] precompiled_key); NULL or "": unsigned artifacts are
 * accepted. Copies `path`. Call before making plugins. */
void plugin_engine_set_precompiled_key(struct plugin_engine *engine, const char *path);

/* Whether this build can compile (false: the runtime-only build). */
bool plugin_can_compile(void);

#endif
