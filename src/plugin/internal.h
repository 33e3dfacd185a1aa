/* internal.h - what the files of src/plugin/ share; the only header besides
 * those files that may include Wasmtime's.
 *
 * Nothing outside src/plugin/ includes this: the rest of the host sees
 * plugin.h, which has no Wasmtime types. */
#ifndef PH_PLUGIN_INTERNAL_H
#define PH_PLUGIN_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <wasi.h>
#include <wasmtime.h>

#include "core/digest.h"
#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log_budget.h"
#include "core/settings.h"
#include "hw/hw.h"
#include "plugin/plugin.h"

/* The WIT contract (wit/plugin.wit), as the component model names it.
 * The host defines it at WIT_VERSION; by WIT's semver, components built
 * for any 0.1.x (the released 0.1.0 among them) link to it: Wasmtime's
 * linker and export lookups match them, and world.c compares names with
 * world_name_matches, which does the same. */
#define WIT_PACKAGE "pyhost:plugin"
#define WIT_VERSION "0.1.1"
#define WIT_INTERFACE(name) WIT_PACKAGE "/" name "@" WIT_VERSION
#define WIT_GPIO_PROVIDER WIT_INTERFACE(CONFIG_GRANT_GPIO_PROVIDER)
#define WIT_LED_CONTROLLER WIT_INTERFACE(CONFIG_GRANT_LED_CONTROLLER)
#define WIT_LOGGING WIT_INTERFACE(CONFIG_GRANT_LOGGING)
#define WIT_TYPES WIT_INTERFACE("types")
#define WIT_SENSOR_LOGIC WIT_INTERFACE("sensor-logic")
#define WIT_LIFECYCLE WIT_INTERFACE("lifecycle")
#define WIT_LOADER WIT_INTERFACE("loader")
#define WIT_POLL "poll"
/* Since 0.1.1: the hardware interfaces. */
#define WIT_GPIO WIT_INTERFACE(CONFIG_GRANT_GPIO)
#define WIT_I2C WIT_INTERFACE(CONFIG_GRANT_I2C)
#define WIT_PWM WIT_INTERFACE(CONFIG_GRANT_PWM)
#define WIT_IIO WIT_INTERFACE(CONFIG_GRANT_IIO)
#define WIT_ONEWIRE WIT_INTERFACE(CONFIG_GRANT_ONEWIRE)

/* The standard wasi:config/store (abi_config.c), for plugin settings. Its
 * package has only pre-release versions, which semver never matches to
 * one another, so the host defines each that a toolchain uses, all the
 * same interface: Wasmtime's (wasmtime-wasi-config 48, what wit/ imports),
 * the WASI proposal's and wasmCloud's, and Spin's. */
#define WASI_CONFIG_STORE "wasi:config/store@0.2.0-rc.1"
#define WASI_CONFIG_STORE_NAMES                                                                    \
        {                                                                                          \
                WASI_CONFIG_STORE, "wasi:config/store@0.2.0-draft",                                \
                        "wasi:config/store@0.2.0-draft-2024-09-27"                                 \
        }
#define WASI_CONFIG_STORE_NAME_COUNT 3

/* Wasmtime's epoch advances every EPOCH_TICK_MS; call budgets are counted
 * in these ticks. */
#define EPOCH_TICK_MS 5

/* Compiled code is for one CPU: caches shared between machines (or a
 * cross-compiled host under emulation) keep apart, and a precompiled
 * artifact (precompiled.c) names the target it was compiled for. */
#if defined(__x86_64__)
#define HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define HOST_ARCH "aarch64"
#elif defined(__riscv)
#define HOST_ARCH "riscv64"
#else
#define HOST_ARCH "unknown"
#endif
#define HOST_TRIPLE HOST_ARCH "-unknown-linux-gnu"

/* What engine_config_new sets that shapes compiled code, as a precompiled
 * artifact's header records it: the optimising compiler at its default
 * level, epoch interruption, memories from the host's creator, no
 * copy-on-write images. Change it whenever engine_config_new changes. */
#define ENGINE_SETTINGS_LIMITED "cranelift,default-opt,epoch-interruption,cow"

/* The engine configuration of every engine that runs or compiles plugins
 * (the daemon, the CLI, `pyhost compile`): one place, so code compiled off
 * the device fits the device's engine. NULL when out of memory; the caller
 * passes it to wasm_engine_new_with_config (which takes it). */
wasm_config_t *engine_config_new(bool is_unlimited);

/* The settings string of such a configuration (see ENGINE_SETTINGS_LIMITED). */
const char *engine_settings(bool is_unlimited);

/* Whether `bytes` start as a binary component; the message says what they
 * are otherwise (text format, a core module). */
PH_MUST_USE int engine_check_component_header(const uint8_t *bytes, size_t size, const char *path,
                                              struct ph_error *error);

/* Lets one thread stop another's wait for a compile (compile.c): the
 * reloader's stop. Once triggered it stays triggered: every compile waited
 * for with it afterwards returns -ECANCELED at once. The owner embeds it,
 * and destroys it when no thread waits with it any more. */
struct compile_job;
struct compile_cancel {
        pthread_mutex_t lock; /* guards the fields below */
        bool is_cancelled;
        struct compile_job *job; /* the compile being waited for, or NULL */
};

struct plugin_engine {
        wasm_engine_t *engine;
        /* Defines every host capability and WASI p2. Built once; the
         * callbacks find their plugin through the store's data (struct
         * abi_context), so all plugins share it. Read-only after creation,
         * so several threads may instantiate with it at once. */
        wasmtime_component_linker_t *linker;
        pthread_t ticker;
        pthread_mutex_t ticker_lock; /* guards is_stopping */
        pthread_cond_t ticker_wake;
        bool is_stopping;
        bool has_ticker;
        char cache_dir[PATH_MAX]; /* compiled components; "" when disabled */
        bool is_unlimited;        /* plugin_engine_new_unlimited: limits off */
        char python_runtime_path[PATH_MAX];
        /* Ed25519 public key (PEM) precompiled artifacts must be signed
         * with; "" when unsigned ones are accepted. */
        char precompiled_key[PATH_MAX];
        char python_library_path[PATH_MAX];   /* its stdlib directory; "" when none */
        pthread_mutex_t runtime_lock;         /* guards python_runtime */
        wasmtime_component_t *python_runtime; /* compiled once, on first use */
        /* The cancel of compiles whose caller has none (start-up, SIGHUP's
         * checks, the CLI): plugin_engine_abandon_compiles triggers it. */
        struct compile_cancel stop_cancel;
};

/* A token bucket: `per_s` a second, bursts of as many (at least 1). */
struct rate_bucket {
        double tokens;
        struct timespec refilled_at;
        bool is_started;
};

/* Lines a plugin may hold at once (inputs and outputs, any mode). */
#define SANDBOX_MAX_LINES (2 * CONFIG_MAX_HW_TARGETS)

/* The hardware a plugin holds through the 0.1.1 interfaces (abi_hw.c). */
struct sandbox_hw {
        struct hw_gpio_line *lines[SANDBOX_MAX_LINES]; /* claimed; NULL: free slot */
        bool has_pwm[SANDBOX_MAX_LINES];               /* pwm_channel[i] was set */
        uint16_t pwm_channel[SANDBOX_MAX_LINES];
        struct rate_bucket i2c, iio, onewire;
};

/* What a plugin's calls have used of its grants: one per plugin, shared by
 * its successive live instances (a trial instance has its own). Touched
 * only by the thread calling into the plugin, under the plugin's lock. */
struct sandbox_state {
        const struct plugin_grants *grants;         /* borrowed from the plugin's config */
        struct timespec last_read[CONFIG_MAX_PINS]; /* per granted pin */
        bool has_read[CONFIG_MAX_PINS];
        uint64_t denied_calls; /* calls outside the grants, refused */
        bool has_driven_leds;  /* set-two carried out at least once */
        struct log_budget log_budget;
        struct sandbox_hw hw;
};

/* Log lines a plugin may write: a steady 50 a second, bursts of 200. */
#define PLUGIN_LOG_LINES_PER_S 50.0
#define PLUGIN_LOG_BURST 200.0

void sandbox_state_init(struct sandbox_state *sandbox, const struct plugin_grants *grants);

/* abi_hw.c: the grants of the 0.1.1 hardware interfaces. */
bool sandbox_i2c_is_granted(const struct plugin_grants *grants, unsigned bus, unsigned address);
bool sandbox_line_is_granted(const struct plugin_grants *grants, unsigned line, bool is_output);
bool sandbox_pwm_is_granted(const struct plugin_grants *grants, unsigned channel);
bool sandbox_iio_is_granted(const struct plugin_grants *grants, unsigned device);
bool sandbox_onewire_is_granted(const struct plugin_grants *grants, const char *id);
/* Takes one token from `bucket` (`per_s` a second); false: none left. */
bool sandbox_rate_take(struct rate_bucket *bucket, double per_s);
/* The line the sandbox holds at `offset`, or NULL. */
struct hw_gpio_line *sandbox_line(struct sandbox_state *sandbox, unsigned offset);
/* Drives every output the sandbox holds to its safe state (GPIO outputs to
 * their configured value, PWM channels disabled) and releases every line.
 * With the plugin's lock; `why` for the log. */
void sandbox_hw_safe(struct sandbox_state *sandbox, struct hw_board *board, const char *plugin_name,
                     const char *why);

/* What host callbacks know about the plugin that called them: the data of
 * every store. Owned by the struct plugin; outlives its stores. Only the
 * thread that is calling into the store touches it. */
struct abi_context {
        const char *plugin_name;
        struct hw_board *board;
        /* Set by the epoch-deadline callback: the current call ran out of
         * CPU budget. Lets the host classify the trap itself instead of
         * parsing Wasmtime's message. */
        bool is_budget_exceeded;
        uint32_t budget_ms;
        /* A trial instance (a new version on test) may call actuators, but
         * the calls are not carried out. */
        bool is_trial;
        /* Set when the guest tried to block in wasi:io/poll. */
        bool is_blocking_refused;
        struct sandbox_state *sandbox; /* grants and their use */
        /* What wasi:config/store reads (the plugin's, borrowed); NULL:
         * no settings, every key reads as none. */
        struct settings_store *settings;
        /* When the current call's CPU budget runs out (CLOCK_MONOTONIC).
         * Time the guest spends waiting in a host call (a slow sensor) is
         * given back: the budget is for the guest's own computing. */
        struct timespec deadline_at;
};

/* Turns `wasm_error` into a ph_error prefixed with `context`, and frees it.
 * Takes ownership of `wasm_error`; returns the negative code it set. */
int wasm_error_take(wasmtime_error_t *wasm_error, int code, struct ph_error *error,
                    const char *context);

/* Describes `wasm_error` as a one-line `cause` (Wasmtime's innermost
 * "Caused by" line, e.g. "wasm trap: wasm `unreachable` instruction
 * executed") and the full text with the wasm backtrace in `detail`, then
 * frees it. Takes ownership of `wasm_error`. */
void wasm_error_describe(wasmtime_error_t *wasm_error, char *cause, size_t cause_size, char *detail,
                         size_t detail_size);

/* Starts the budget of a call: sets the store's epoch deadline and
 * abi->deadline_at. */
void abi_start_budget(wasmtime_context_t *context, struct abi_context *abi);

/* Gives back the time since `host_call_started` (a host call that waited
 * on hardware) to the current call's budget. */
void abi_give_back_time(wasmtime_context_t *context, struct abi_context *abi,
                        const struct timespec *host_call_started);

/* Defines each host interface in `linker` (abi_*.c). */
wasmtime_error_t *abi_gpio_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_led_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_log_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_no_blocking_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_config_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_hw_gpio_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_i2c_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_pwm_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_iio_define(wasmtime_component_linker_t *linker);
wasmtime_error_t *abi_onewire_define(wasmtime_component_linker_t *linker);

void compile_cancel_init(struct compile_cancel *cancel);
/* Thread-safe; returns without waiting for the compile. */
void compile_cancel_trigger(struct compile_cancel *cancel);
void compile_cancel_destroy(struct compile_cancel *cancel);

/* Compiles `bytes` (taken: freed with free) on a worker thread of its own
 * and waits for it. When `cancel` (NULL: none) is triggered meanwhile,
 * returns -ECANCELED at once; the worker finishes on its own and frees
 * what it holds. `path` is for messages. The caller frees *ret_component
 * with wasmtime_component_delete. */
PH_MUST_USE int engine_compile(struct plugin_engine *engine, uint8_t *bytes, size_t size,
                               struct compile_cancel *cancel, const char *path,
                               wasmtime_component_t **ret_component, struct ph_error *error);

/* Reads the component at `path`, checks its header, and compiles it or
 * loads it from the compiled-code cache (a file unchanged since it was
 * last hashed is not read: see component_cache.c). Sets *ret_digest to the SHA-256 of
 * the file's bytes (the plugin version's identity). A compile stops being
 * waited for when `cancel` (NULL: none) is triggered (-ECANCELED). The
 * caller frees *ret_component with wasmtime_component_delete. */
PH_MUST_USE int engine_load_component(struct plugin_engine *engine, const char *path,
                                      struct compile_cancel *cancel,
                                      wasmtime_component_t **ret_component,
                                      struct digest *ret_digest, struct ph_error *error);

/* Returns (a new reference to) the shared Python runtime component,
 * loading and checking it on first use (`cancel` as above). Thread-safe.
 * The caller frees it with wasmtime_component_delete. */
PH_MUST_USE int engine_python_runtime(struct plugin_engine *engine, struct compile_cancel *cancel,
                                      wasmtime_component_t **ret_component, struct ph_error *error);

/* The runtime's standard-library directory, or NULL when there is none
 * (then a plugin has only the modules the runtime's build imported). */
const char *engine_python_library(const struct plugin_engine *engine);

/* Returns the compiled component for `bytes` (taken: freed with free;
 * their SHA-256 is `digest`) from the cache, or compiles it (`cancel` as
 * above) and stores it. `path` is for messages. The caller frees
 * *ret_component with wasmtime_component_delete. */
PH_MUST_USE int component_cache_get(struct plugin_engine *engine, uint8_t *bytes, size_t size,
                                    const struct digest *digest, const char *path,
                                    struct compile_cancel *cancel,
                                    wasmtime_component_t **ret_component, struct ph_error *error);

/* The .wasm identity shortcut (component_cache.c): the digest recorded for
 * a .wasm whose identity is still `identity` (0, or -ENOENT when none
 * matches); recording one (only once its times are old enough; failures
 * are logged); and loading the entry a digest names without the .wasm's
 * bytes (0, -ENOENT when there is none, another negative code, logged,
 * when it is unusable). The caller frees *ret_component with
 * wasmtime_component_delete. Thread-safe. */
PH_MUST_USE int component_cache_source_digest(const struct plugin_engine *engine,
                                              const struct file_identity *identity,
                                              struct digest *ret_digest);
void component_cache_note_source(const struct plugin_engine *engine,
                                 const struct file_identity *identity, const struct digest *digest);
PH_MUST_USE int component_cache_load(struct plugin_engine *engine, const struct digest *digest,
                                     const char *path, wasmtime_component_t **ret_component);

/* Writes `data` (a serialized component, already checked by
 * precompiled.c) as the cache entry at `entry_path` with its record at
 * `digest_path`, then loads it from there. Returns 0, or a negative code
 * (logged) when it could not be written or loaded. */
PH_MUST_USE int component_cache_install(struct plugin_engine *engine, const char *entry_path,
                                        const char *digest_path, const uint8_t *data, size_t size,
                                        wasmtime_component_t **ret_component);

/* Loads the precompiled artifact beside `path` (whose SHA-256 is `digest`)
 * after checking its header against this host (precompiled.c); installs it
 * as the cache entry `entry_path`/`digest_path` when they are not NULL.
 * Returns 0, -ENOENT when there is no artifact, or another negative code
 * with a message naming the mismatch (the artifact is then never given to
 * Wasmtime). The caller frees *ret_component with wasmtime_component_delete. */
PH_MUST_USE int precompiled_load(struct plugin_engine *engine, const char *path,
                                 const struct digest *digest, const char *entry_path,
                                 const char *digest_path, wasmtime_component_t **ret_component,
                                 struct ph_error *error);

/* Ed25519 signatures of artifact headers (precompiled_sign.c): 64 bytes as
 * hex. precompiled_sign signs `data` with the private key in `key_path`
 * (PEM); precompiled_verify checks `hex` against `data` with the public key
 * in `key_path`, and on failure says why in `why`. */
#define PRECOMPILED_SIGNATURE_HEX_SIZE 129
PH_MUST_USE int precompiled_sign(const char *key_path, const void *data, size_t size,
                                 char hex[PRECOMPILED_SIGNATURE_HEX_SIZE], struct ph_error *error);
PH_MUST_USE int precompiled_verify(const char *key_path, const void *data, size_t size,
                                   const char *hex, char *why, size_t why_size);

/* Checks that `component` fits the sensor-plugin world: every import is one
 * the host provides, and `sensor-logic.poll` is exported with the right
 * shape. The message names the offending import or export. */
/* Whether the import or export `actual` (not NUL-terminated) is `wanted`:
 * the same name, and for a versioned name a semver-compatible version
 * (0.1.0 and 0.1.1 are; 0.1.0 and 0.2.0 are not). */
bool world_name_matches(const char *actual, size_t length, const char *wanted);

/* Whether `component` imports the interface `name` (world_name_matches). */
bool world_imports(struct plugin_engine *engine, const wasmtime_component_t *component,
                   const char *name);

/* An import of one of the host's interfaces also needs its grant in
 * `grants` (NULL: everything is granted). */
PH_MUST_USE int world_check(struct plugin_engine *engine, const wasmtime_component_t *component,
                            const struct plugin_grants *grants, struct ph_error *error);

#endif
