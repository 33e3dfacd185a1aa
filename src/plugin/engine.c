/* engine.c - the Wasmtime engine, its epoch ticker and component loading.
 *
 * One engine serves every plugin. A ticker thread advances the engine's
 * epoch every EPOCH_TICK_MS so that each store can be given a CPU deadline
 * measured in ticks. Compiles run on threads of their own (compile.c) that
 * hold their own reference to the engine, so freeing it never waits for
 * one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/file.h"
#include "core/log.h"
#include "plugin/internal.h"

/* A component larger than this is refused before it is read: the example
 * plugin is 18 MB, and a device has little memory to spare. */
#define MAX_COMPONENT_BYTES (128u * 1024u * 1024u)

static void *run_ticker(void *argument) {
        struct plugin_engine *engine = argument;
        pthread_mutex_lock(&engine->ticker_lock);
        while (!engine->is_stopping) {
                struct timespec deadline;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_nsec += EPOCH_TICK_MS * 1000000L;
                if (deadline.tv_nsec >= 1000000000L) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000L;
                }
                /* Wakes early only to stop. */
                pthread_cond_timedwait(&engine->ticker_wake, &engine->ticker_lock, &deadline);
                wasmtime_engine_increment_epoch(engine->engine);
        }
        pthread_mutex_unlock(&engine->ticker_lock);
        return NULL;
}

/* Sets up the compiled-code cache directory; entries are named by the
 * engine's version and settings (see component_cache.c). */
static int configure_cache(struct plugin_engine *engine, const char *cache_dir,
                           struct ph_error *error) {
        char directory[PATH_MAX];
        /* Code compiled for epoch interruption differs from code without,
         * and Wasmtime refuses code compiled for copy-on-write memory
         * images in an engine without them (older pyhost: "epoch"). */
        if (snprintf(directory, sizeof(directory), "%s/wasmtime-%s-" HOST_ARCH "-cranelift-%s",
                     cache_dir, WASMTIME_VERSION,
                     engine->is_unlimited ? "plain" : "epoch-cow") >= (int)sizeof(directory))
                return ph_error_set(error, -ENAMETOOLONG, "%s: path too long", cache_dir);
        int result = file_make_directories(directory, 0700, error);
        if (result < 0)
                return result;
        snprintf(engine->cache_dir, sizeof(engine->cache_dir), "%s", directory);
        return 0;
}

wasm_config_t *engine_config_new(bool is_unlimited) {
        wasm_config_t *config = wasm_config_new();
        if (config == NULL || is_unlimited)
                return config;
        wasmtime_config_epoch_interruption_set(config, true);
        /* Memories are Wasmtime's own, with copy-on-write images (its
         * default): each store's limiter caps and counts them (instance.c,
         * wasmtime/pyhost_memory_limiter.h). */
        return config;
}

const char *engine_settings(bool is_unlimited) {
        return is_unlimited ? "cranelift,default-opt" : ENGINE_SETTINGS_LIMITED;
}

static int define_host_interfaces(wasmtime_component_linker_t *linker, struct ph_error *error) {
        wasmtime_error_t *wasm_error = wasmtime_component_linker_add_wasip2(linker);
        if (wasm_error == NULL)
                wasm_error = abi_gpio_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_led_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_log_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_no_blocking_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_config_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_hw_gpio_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_i2c_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_pwm_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_iio_define(linker);
        if (wasm_error == NULL)
                wasm_error = abi_onewire_define(linker);
        if (wasm_error != NULL)
                return wasm_error_take(wasm_error, -EINVAL, error, "defining host interfaces");
        return 0;
}

static struct plugin_engine *new_engine(const char *cache_dir, bool is_unlimited,
                                        struct ph_error *error) {
        struct plugin_engine *engine = calloc(1, sizeof(*engine));
        if (engine == NULL) {
                ph_error_set(error, -ENOMEM, "engine: out of memory");
                return NULL;
        }
        pthread_mutex_init(&engine->ticker_lock, NULL);
        pthread_mutex_init(&engine->runtime_lock, NULL);
        compile_cancel_init(&engine->stop_cancel);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&engine->ticker_wake, &attributes);
        pthread_condattr_destroy(&attributes);

        wasm_config_t *config = engine_config_new(is_unlimited);
        if (config == NULL) {
                ph_error_set(error, -ENOMEM, "engine: out of memory");
                goto fail;
        }
        engine->is_unlimited = is_unlimited;
        if (cache_dir != NULL && cache_dir[0] != '\0') {
                /* A cache is an optimisation: without it plugins still run,
                 * they only take seconds instead of milliseconds to load. */
                struct ph_error cache_error = {0};
                if (configure_cache(engine, cache_dir, &cache_error) < 0)
                        log_write(LOG_LEVEL_WARNING, "host", "compiled-code cache disabled: %s",
                                  cache_error.message);
        }
        engine->engine = wasm_engine_new_with_config(config); /* takes `config` */
        if (engine->engine == NULL) {
                ph_error_set(error, -EINVAL, "engine: Wasmtime refused the configuration");
                goto fail;
        }
        engine->linker = wasmtime_component_linker_new(engine->engine);
        if (define_host_interfaces(engine->linker, error) < 0)
                goto fail;
        if (pthread_create(&engine->ticker, NULL, run_ticker, engine) != 0) {
                ph_error_set(error, -EAGAIN, "engine: cannot start the epoch ticker thread");
                goto fail;
        }
        engine->has_ticker = true;
        return engine;
fail:
        plugin_engine_free(engine);
        return NULL;
}

void plugin_engine_set_python_runtime(struct plugin_engine *engine, const char *path) {
        snprintf(engine->python_runtime_path, sizeof(engine->python_runtime_path), "%s", path);
        size_t length = strlen(path);
        const char *suffix = ".wasm";
        if (length > strlen(suffix) && strcmp(path + length - strlen(suffix), suffix) == 0)
                length -= strlen(suffix);
        int written = snprintf(engine->python_library_path, sizeof(engine->python_library_path),
                               "%.*s.stdlib", (int)length, path);
        if (written < 0 || (size_t)written >= sizeof(engine->python_library_path))
                engine->python_library_path[0] = '\0';
}

const char *engine_python_library(const struct plugin_engine *engine) {
        struct stat info;
        if (engine->python_library_path[0] == '\0' ||
            stat(engine->python_library_path, &info) < 0 || !S_ISDIR(info.st_mode))
                return NULL;
        return engine->python_library_path;
}

int engine_python_runtime(struct plugin_engine *engine, struct compile_cancel *cancel,
                          wasmtime_component_t **ret_component, struct ph_error *error) {
        int result = 0;
        pthread_mutex_lock(&engine->runtime_lock);
        if (engine->python_runtime == NULL) {
                struct digest digest;
                wasmtime_component_t *component = NULL;
                if (engine->python_runtime_path[0] == '\0')
                        result = ph_error_set(error, -ENOENT,
                                              "no Python runtime configured ([host] "
                                              "python_runtime)");
                else
                        result = engine_load_component(engine, engine->python_runtime_path, cancel,
                                                       &component, &digest, error);
                if (result == 0)
                        result = world_check(engine, component, NULL, error);
                if (result == 0 && !world_imports(engine, component, WIT_LED_CONTROLLER))
                        result = ph_error_set(error, -EINVAL,
                                              "%s: not pyhost's Python runtime (no "
                                              "led-controller import)",
                                              engine->python_runtime_path);
                if (result == 0)
                        engine->python_runtime = component;
                else if (component != NULL)
                        wasmtime_component_delete(component);
        }
        if (result == 0)
                *ret_component = wasmtime_component_clone(engine->python_runtime);
        pthread_mutex_unlock(&engine->runtime_lock);
        return result;
}

struct plugin_engine *plugin_engine_new(const char *cache_dir, struct ph_error *error) {
        return new_engine(cache_dir, false, error);
}

struct plugin_engine *plugin_engine_new_unlimited(const char *cache_dir, struct ph_error *error) {
        return new_engine(cache_dir, true, error);
}

void plugin_engine_free(struct plugin_engine *engine) {
        if (engine == NULL)
                return;
        if (engine->has_ticker) {
                pthread_mutex_lock(&engine->ticker_lock);
                engine->is_stopping = true;
                pthread_cond_signal(&engine->ticker_wake);
                pthread_mutex_unlock(&engine->ticker_lock);
                pthread_join(engine->ticker, NULL);
        }
        if (engine->python_runtime != NULL)
                wasmtime_component_delete(engine->python_runtime);
        pthread_mutex_destroy(&engine->runtime_lock);
        compile_cancel_destroy(&engine->stop_cancel);
        if (engine->linker != NULL)
                wasmtime_component_linker_delete(engine->linker);
        if (engine->engine != NULL)
                wasm_engine_delete(engine->engine);
        pthread_cond_destroy(&engine->ticker_wake);
        pthread_mutex_destroy(&engine->ticker_lock);
        free(engine);
}

/* Recognises what a file is from its first bytes, so the error says "this
 * is a core module" rather than Wasmtime's parser message. */
int engine_check_component_header(const uint8_t *bytes, size_t size, const char *path,
                                  struct ph_error *error) {
        static const uint8_t magic[4] = {0x00, 'a', 's', 'm'};
        if (size == 0)
                return ph_error_set(error, -EINVAL, "%s: empty file, not a component", path);
        size_t skip = 0;
        while (skip < size && skip < 64 &&
               (bytes[skip] == ' ' || bytes[skip] == '\n' || bytes[skip] == '\t'))
                skip++;
        if (skip < size && (bytes[skip] == '(' || bytes[skip] == ';'))
                return ph_error_set(error, -EINVAL,
                                    "%s: WebAssembly text format, not a binary component; build "
                                    "it into a component first",
                                    path);
        if (size < 8 || memcmp(bytes, magic, sizeof(magic)) != 0)
                return ph_error_set(error, -EINVAL, "%s: not a WebAssembly binary (%s)", path,
                                    size < 8 ? "shorter than a header" : "bad magic number");
        /* Bytes 4-7: version 1 with layer 0 is a core module; layer 1 is a
         * component. */
        if (bytes[6] == 0x00 && bytes[7] == 0x00)
                return ph_error_set(error, -EINVAL,
                                    "%s: a core WebAssembly module, not a component; wrap it "
                                    "with component tooling (componentize-py, wasm-tools "
                                    "component new)",
                                    path);
        if (bytes[6] != 0x01 || bytes[7] != 0x00)
                return ph_error_set(error, -EINVAL, "%s: unknown WebAssembly layer %u", path,
                                    (unsigned)bytes[6]);
        return 0;
}

int engine_load_component(struct plugin_engine *engine, const char *path,
                          struct compile_cancel *cancel, wasmtime_component_t **ret_component,
                          struct digest *ret_digest, struct ph_error *error) {
        /* Unchanged since it was hashed: not read at all. */
        struct file_identity before, after;
        bool has_identity = file_get_identity(path, &before, NULL) == 0;
        if (has_identity && component_cache_source_digest(engine, &before, ret_digest) == 0 &&
            component_cache_load(engine, ret_digest, path, ret_component) == 0)
                return 0;
        uint8_t *bytes = NULL;
        size_t size = 0;
        int result = file_read_all(path, MAX_COMPONENT_BYTES, &bytes, &size, error);
        if (result < 0)
                return result;
        result = engine_check_component_header(bytes, size, path, error);
        if (result == 0 && digest_compute(bytes, size, ret_digest) < 0)
                result = ph_error_set(error, -EIO, "%s: cannot compute its SHA-256", path);
        if (result < 0) {
                free(bytes);
                return result;
        }
        /* Takes the bytes. */
        result = component_cache_get(engine, bytes, size, ret_digest, path,
                                     cancel != NULL ? cancel : &engine->stop_cancel, ret_component,
                                     error);
        /* Vouch for the identity only if the file did not change while it
         * was read. */
        if (result == 0 && has_identity && file_get_identity(path, &after, NULL) == 0 &&
            file_identity_equal(&before, &after))
                component_cache_note_source(engine, &before, ret_digest);
        return result;
}

void plugin_engine_abandon_compiles(struct plugin_engine *engine) {
        compile_cancel_trigger(&engine->stop_cancel);
}
