/* plugin.c - one plugin: its component and its one live instance.
 *
 * Locking: `lock` guards the store, instance, poll function and counters.
 * It is held for one call into the guest, so a poll of this plugin never
 * runs twice at once; other plugins have their own locks. Compiling happens
 * in plugin_new, before the plugin is shared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "plugin/guest_output.h"
#include "plugin/internal.h"
#include "plugin/poll_result.h"

/* Instantiation runs the guest's start-up code; give it more room than a
 * poll, but still a bound. */
#define INSTANTIATE_BUDGET_MS 2000

struct plugin {
        struct plugin_config config;
        struct plugin_engine *engine; /* borrowed */
        wasmtime_component_t *component;
        struct digest digest;
        struct abi_context abi; /* the data of every store of this plugin */
        struct guest_output stdout_lines;
        struct guest_output stderr_lines;

        pthread_mutex_t lock;    /* guards everything below */
        wasmtime_store_t *store; /* NULL while there is no live instance */
        wasmtime_component_instance_t instance;
        wasmtime_component_func_t poll_function;
        struct plugin_stats stats;
};

const char *plugin_failure_kind_name(enum plugin_failure_kind kind) {
        static const char *const names[] = {"none",        "guest-error", "trap", "budget-exceeded",
                                            "instantiate", "bad-output"};
        return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

const char *plugin_name(const struct plugin *plugin) {
        return plugin->config.name;
}

/* WASI stdout/stderr of the guest: into the host log under its name. */
static ptrdiff_t write_guest_output(void *data, const unsigned char *bytes, size_t size) {
        guest_output_write(data, (const char *)bytes, size);
        return (ptrdiff_t)size;
}

/* Called by Wasmtime when a call outlives its epoch deadline: end it, and
 * remember why, so the host can say "budget exceeded" without parsing. */
static wasmtime_error_t *on_epoch_deadline(wasmtime_context_t *context, void *data,
                                           uint64_t *epoch_deadline_delta,
                                           wasmtime_update_deadline_kind_t *update_kind) {
        (void)context;
        (void)epoch_deadline_delta;
        (void)update_kind;
        struct abi_context *abi = data;
        abi->is_budget_exceeded = true;
        return wasmtime_error_new("CPU budget exceeded");
}

static uint64_t ticks_for(uint32_t milliseconds) {
        uint64_t ticks = (milliseconds + EPOCH_TICK_MS - 1) / EPOCH_TICK_MS;
        return ticks > 0 ? ticks : 1;
}

/* A WASI context that grants nothing: no directories, environment,
 * arguments or stdin. Output goes to the host log. */
static wasi_config_t *new_wasi_config(struct plugin *plugin) {
        wasi_config_t *wasi = wasi_config_new();
        if (wasi == NULL)
                return NULL;
        wasi_config_set_stdout_custom(wasi, write_guest_output, &plugin->stdout_lines, NULL);
        wasi_config_set_stderr_custom(wasi, write_guest_output, &plugin->stderr_lines, NULL);
        return wasi;
}

static void discard_instance(struct plugin *plugin) {
        if (plugin->store != NULL)
                wasmtime_store_delete(plugin->store);
        plugin->store = NULL;
}

/* Makes a fresh store and instance. Called with `lock` held (or before the
 * plugin is shared). */
static int instantiate(struct plugin *plugin, struct ph_error *error) {
        discard_instance(plugin);
        wasmtime_store_t *store = wasmtime_store_new(plugin->engine->engine, &plugin->abi, NULL);
        if (store == NULL)
                return ph_error_set(error, -ENOMEM, "%s: cannot create a store",
                                    plugin->config.name);
        wasmtime_context_t *context = wasmtime_store_context(store);
        wasmtime_store_epoch_deadline_callback(store, on_epoch_deadline, &plugin->abi, NULL);

        int result;
        wasi_config_t *wasi = new_wasi_config(plugin);
        wasmtime_error_t *wasm_error =
                wasi != NULL ? wasmtime_context_set_wasi(context, wasi) /* takes `wasi` */
                             : wasmtime_error_new("out of memory");
        if (wasm_error != NULL) {
                result = wasm_error_take(wasm_error, -EINVAL, error, plugin->config.name);
                goto fail;
        }

        plugin->abi.is_budget_exceeded = false;
        wasmtime_context_set_epoch_deadline(context, ticks_for(INSTANTIATE_BUDGET_MS));
        wasmtime_component_instance_t instance;
        wasm_error = wasmtime_component_linker_instantiate(plugin->engine->linker, context,
                                                           plugin->component, &instance);
        if (wasm_error != NULL) {
                result = wasm_error_take(wasm_error, -EINVAL, error, "instantiation failed");
                ph_error_prefix(error, "%s", plugin->config.path);
                goto fail;
        }

        wasmtime_component_export_index_t *interface = wasmtime_component_instance_get_export_index(
                &instance, context, NULL, WIT_SENSOR_LOGIC, strlen(WIT_SENSOR_LOGIC));
        wasmtime_component_export_index_t *poll =
                interface == NULL
                        ? NULL
                        : wasmtime_component_instance_get_export_index(
                                  &instance, context, interface, WIT_POLL, strlen(WIT_POLL));
        bool has_poll = poll != NULL && wasmtime_component_instance_get_func(
                                                &instance, context, poll, &plugin->poll_function);
        wasmtime_component_export_index_delete(poll);
        wasmtime_component_export_index_delete(interface);
        if (!has_poll) {
                result = ph_error_set(error, -EINVAL, "%s: no " WIT_SENSOR_LOGIC ".poll export",
                                      plugin->config.path);
                goto fail;
        }
        plugin->store = store;
        plugin->instance = instance;
        plugin->stats.instantiations++;
        return 0;
fail:
        wasmtime_store_delete(store);
        return result;
}

struct plugin *plugin_new(struct plugin_engine *engine, const struct plugin_config *config,
                          struct hw_board *board, struct ph_error *error) {
        struct plugin *plugin = calloc(1, sizeof(*plugin));
        if (plugin == NULL) {
                ph_error_set(error, -ENOMEM, "%s: out of memory", config->name);
                return NULL;
        }
        plugin->config = *config;
        plugin->engine = engine;
        plugin->abi.plugin_name = plugin->config.name;
        plugin->abi.board = board;
        plugin->abi.budget_ms = config->budget_ms;
        guest_output_init(&plugin->stdout_lines, plugin->config.name, LOG_LEVEL_INFO);
        guest_output_init(&plugin->stderr_lines, plugin->config.name, LOG_LEVEL_WARNING);
        pthread_mutex_init(&plugin->lock, NULL);

        if (engine_load_component(engine, config->path, &plugin->component, &plugin->digest,
                                  error) < 0)
                goto fail;
        if (world_check(engine, plugin->component, error) < 0) {
                ph_error_prefix(error, "%s", config->path);
                goto fail;
        }
        if (instantiate(plugin, error) < 0)
                goto fail;
        return plugin;
fail:
        plugin_free(plugin);
        return NULL;
}

void plugin_free(struct plugin *plugin) {
        if (plugin == NULL)
                return;
        discard_instance(plugin);
        if (plugin->component != NULL)
                wasmtime_component_delete(plugin->component);
        pthread_mutex_destroy(&plugin->lock);
        free(plugin);
}

static void set_failure(struct plugin_failure *failure, enum plugin_failure_kind kind,
                        const char *message) {
        failure->kind = kind;
        snprintf(failure->message, sizeof(failure->message), "%s", message);
        failure->traceback[0] = '\0';
}

/* Calls poll on the live instance. Called with `lock` held. */
static int call_poll(struct plugin *plugin, struct reading_list *ret_readings,
                     struct plugin_failure *failure) {
        wasmtime_context_t *context = wasmtime_store_context(plugin->store);
        /* Wasmtime drops whatever is in the result slot before writing it:
         * start from a value that owns nothing. */
        wasmtime_component_val_t value = {.kind = WASMTIME_COMPONENT_BOOL};
        plugin->abi.is_budget_exceeded = false;
        wasmtime_context_set_epoch_deadline(context, ticks_for(plugin->config.budget_ms));
        wasmtime_error_t *wasm_error =
                wasmtime_component_func_call(&plugin->poll_function, context, NULL, 0, &value, 1);
        guest_output_flush(&plugin->stdout_lines);
        guest_output_flush(&plugin->stderr_lines);
        if (wasm_error != NULL) {
                char cause[PH_ERROR_MESSAGE_MAX - 64];
                wasm_error_describe(wasm_error, cause, sizeof(cause), failure->traceback,
                                    sizeof(failure->traceback));
                if (plugin->abi.is_budget_exceeded) {
                        failure->kind = PLUGIN_FAILURE_BUDGET;
                        snprintf(failure->message, sizeof(failure->message),
                                 "plugin %s exceeded its %u ms budget in poll", plugin->config.name,
                                 plugin->config.budget_ms);
                } else {
                        failure->kind = PLUGIN_FAILURE_TRAP;
                        snprintf(failure->message, sizeof(failure->message), "trap in poll: %s",
                                 cause);
                }
                /* A trap poisons the store: never enter this instance again. */
                discard_instance(plugin);
                return -EINTR;
        }
        int result = poll_result_convert(&value, ret_readings, failure);
        wasmtime_component_val_delete(&value);
        return result;
}

int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                struct plugin_failure *ret_failure) {
        ret_failure->kind = PLUGIN_FAILURE_NONE;
        ret_failure->message[0] = '\0';
        ret_failure->traceback[0] = '\0';
        ret_readings->items = NULL;
        ret_readings->count = 0;

        pthread_mutex_lock(&plugin->lock);
        int result = 0;
        if (plugin->store == NULL) {
                struct ph_error error;
                result = instantiate(plugin, &error);
                if (result < 0)
                        set_failure(ret_failure, PLUGIN_FAILURE_INSTANTIATE, error.message);
        }
        if (result == 0)
                result = call_poll(plugin, ret_readings, ret_failure);
        plugin->stats.polls++;
        if (result < 0)
                plugin->stats.failures++;
        pthread_mutex_unlock(&plugin->lock);
        return result;
}

void plugin_get_stats(struct plugin *plugin, struct plugin_stats *ret_stats) {
        pthread_mutex_lock(&plugin->lock);
        *ret_stats = plugin->stats;
        pthread_mutex_unlock(&plugin->lock);
}
