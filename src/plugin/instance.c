/* instance.c - one live instance of a component and the calls into it. */
#include "plugin/instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "plugin/poll_result.h"

/* Instantiation runs the guest's start-up code; give it more room than a
 * poll, but still a bound. */
#define INSTANTIATE_BUDGET_MS 2000
/* A plugin's saved state is meant for a few counters and flags. */
#define MAX_STATE_BYTES (1024u * 1024u)

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
 * arguments or stdin, and (Wasmtime's default) no sockets or name lookups.
 * Output goes to the host log. The one grant a config can add is a
 * read-only data directory, seen by the plugin as /data. The Python
 * runtime also gets its standard library, read-only, as /python (where
 * componentize-py's CPython looks for it): a copy of CPython's Lib/ and
 * nothing else, so what a plugin can read there is what it can import. */
static wasi_config_t *new_wasi_config(struct plugin_instance *instance,
                                      const struct plugin_grants *grants,
                                      const char *python_library, struct ph_error *error) {
        wasi_config_t *wasi = wasi_config_new();
        if (wasi == NULL) {
                ph_error_set(error, -ENOMEM, "out of memory");
                return NULL;
        }
        wasi_config_set_stdout_custom(wasi, write_guest_output, &instance->stdout_lines, NULL);
        wasi_config_set_stderr_custom(wasi, write_guest_output, &instance->stderr_lines, NULL);
        if (grants->data_dir[0] != '\0' &&
            !wasi_config_preopen_dir(wasi, grants->data_dir, "/data", false)) {
                ph_error_set(error, -ENOENT, "data_dir %s cannot be opened", grants->data_dir);
                wasi_config_delete(wasi);
                return NULL;
        }
        if (python_library != NULL &&
            !wasi_config_preopen_dir(wasi, python_library, "/python", false)) {
                ph_error_set(error, -ENOENT, "the Python runtime's library %s cannot be opened",
                             python_library);
                wasi_config_delete(wasi);
                return NULL;
        }
        return wasi;
}

/* Finds `interface`.`function`; false when the component does not export it. */
static bool find_function(struct plugin_instance *instance, const char *interface_name,
                          const char *function_name, wasmtime_component_func_t *ret_function) {
        wasmtime_context_t *context = wasmtime_store_context(instance->store);
        wasmtime_component_export_index_t *interface = wasmtime_component_instance_get_export_index(
                &instance->instance, context, NULL, interface_name, strlen(interface_name));
        wasmtime_component_export_index_t *function =
                interface == NULL
                        ? NULL
                        : wasmtime_component_instance_get_export_index(&instance->instance, context,
                                                                       interface, function_name,
                                                                       strlen(function_name));
        bool found = function != NULL &&
                     wasmtime_component_instance_get_func(&instance->instance, context, function,
                                                          ret_function);
        wasmtime_component_export_index_delete(function);
        wasmtime_component_export_index_delete(interface);
        return found;
}

struct plugin_instance *instance_new(struct plugin_engine *engine,
                                     const wasmtime_component_t *component, const char *name,
                                     struct hw_board *board, const struct instance_limits *limits,
                                     struct sandbox_state *sandbox,
                                     const struct plugin_grants *grants, const char *python_library,
                                     bool is_trial, struct ph_error *error) {
        struct plugin_instance *instance = calloc(1, sizeof(*instance));
        if (instance == NULL) {
                ph_error_set(error, -ENOMEM, "%s: out of memory", name);
                return NULL;
        }
        instance->abi.plugin_name = name;
        instance->abi.board = board;
        instance->abi.budget_ms = limits->budget_ms;
        instance->memory_limit = limits->memory_bytes;
        instance->abi.is_trial = is_trial;
        if (sandbox == NULL) {
                sandbox_state_init(&instance->own_sandbox, grants);
                sandbox = &instance->own_sandbox;
        }
        instance->abi.sandbox = sandbox;
        guest_output_init(&instance->stdout_lines, name, LOG_LEVEL_INFO, &sandbox->log_budget);
        guest_output_init(&instance->stderr_lines, name, LOG_LEVEL_WARNING, &sandbox->log_budget);

        instance->store = wasmtime_store_new(engine->engine, &instance->abi, NULL);
        if (instance->store == NULL) {
                ph_error_set(error, -ENOMEM, "%s: cannot create a store", name);
                goto fail;
        }
        wasmtime_context_t *context = wasmtime_store_context(instance->store);
        /* Linear memory is capped over all memories together and counted
         * by pyhost's limiter (Wasmtime's own hook, so copy-on-write images
         * stay on); it also bounds the rest of what a component may create.
         * componentize-py components have a few dozen core instances and
         * tables. */
        if (!engine->is_unlimited) {
                instance->memory =
                        pyhost_memory_limiter_new(limits->memory_bytes, 1000000, 100, 100, 16);
                pyhost_store_set_memory_limiter(instance->store, instance->memory);
        }
        wasmtime_store_epoch_deadline_callback(instance->store, on_epoch_deadline, &instance->abi,
                                               NULL);
        wasi_config_t *wasi = new_wasi_config(instance, grants, python_library, error);
        if (wasi == NULL)
                goto fail;
        wasmtime_error_t *wasm_error = wasmtime_context_set_wasi(context, wasi); /* takes `wasi` */
        if (wasm_error != NULL) {
                wasm_error_take(wasm_error, -EINVAL, error, name);
                goto fail;
        }
        wasmtime_context_set_epoch_deadline(context, ticks_for(INSTANTIATE_BUDGET_MS));
        wasm_error = wasmtime_component_linker_instantiate(engine->linker, context, component,
                                                           &instance->instance);
        guest_output_flush(&instance->stdout_lines);
        guest_output_flush(&instance->stderr_lines);
        if (wasm_error != NULL) {
                wasm_error_take(wasm_error, -EINVAL, error, "instantiation failed");
                goto fail;
        }
        if (!find_function(instance, WIT_SENSOR_LOGIC, WIT_POLL, &instance->poll)) {
                ph_error_set(error, -EINVAL, "no " WIT_SENSOR_LOGIC ".poll export");
                goto fail;
        }
        instance->has_loader = find_function(instance, WIT_LOADER, "load", &instance->load);
        instance->has_lifecycle =
                find_function(instance, WIT_LIFECYCLE, "save-state", &instance->save_state) &&
                find_function(instance, WIT_LIFECYCLE, "restore-state", &instance->restore_state);
        return instance;
fail:
        instance_free(instance);
        return NULL;
}

void instance_free(struct plugin_instance *instance) {
        if (instance == NULL)
                return;
        if (instance->store != NULL)
                wasmtime_store_delete(instance->store);
        pyhost_memory_limiter_delete(instance->memory);
        guest_output_destroy(&instance->stdout_lines);
        guest_output_destroy(&instance->stderr_lines);
        if (instance->abi.sandbox == &instance->own_sandbox)
                log_budget_destroy(&instance->own_sandbox.log_budget);
        free(instance);
}

/* Calls `function` within the instance's budget. A Wasmtime error here is a
 * trap (or the budget ran out): the store is poisoned. */
static int call(struct plugin_instance *instance, const wasmtime_component_func_t *function,
                const char *what, const wasmtime_component_val_t *args, size_t arg_count,
                wasmtime_component_val_t *result, struct plugin_failure *failure,
                bool *ret_is_poisoned) {
        wasmtime_context_t *context = wasmtime_store_context(instance->store);
        /* Wasmtime drops whatever is in the result slot before writing it:
         * start from a value that owns nothing. */
        result->kind = WASMTIME_COMPONENT_BOOL;
        result->of.boolean = false;
        instance->abi.is_budget_exceeded = false;
        instance->abi.is_blocking_refused = false;
        abi_start_budget(context, &instance->abi);
        wasmtime_error_t *wasm_error =
                wasmtime_component_func_call(function, context, args, arg_count, result, 1);
        guest_output_flush(&instance->stdout_lines);
        guest_output_flush(&instance->stderr_lines);
        *ret_is_poisoned = wasm_error != NULL;
        if (wasm_error == NULL)
                return 0;
        int exit_status = 0;
        bool has_exited = wasmtime_error_exit_status(wasm_error, &exit_status);
        char cause[PH_ERROR_MESSAGE_MAX - 64];
        wasm_error_describe(wasm_error, cause, sizeof(cause), failure->traceback,
                            sizeof(failure->traceback));
        if (instance->abi.is_budget_exceeded) {
                failure->kind = PLUGIN_FAILURE_BUDGET;
                snprintf(failure->message, sizeof(failure->message),
                         "plugin %s exceeded its %u ms budget in %s", instance->abi.plugin_name,
                         instance->abi.budget_ms, what);
        } else if (has_exited) {
                failure->kind = PLUGIN_FAILURE_TRAP;
                snprintf(failure->message, sizeof(failure->message),
                         "plugin %s exited (status %d) in %s; plugins must not exit",
                         instance->abi.plugin_name, exit_status, what);
        } else if (instance->abi.is_blocking_refused) {
                failure->kind = PLUGIN_FAILURE_TRAP;
                snprintf(failure->message, sizeof(failure->message),
                         "plugin %s tried to sleep in %s (time.sleep or a timeout); "
                         "plugins may not block",
                         instance->abi.plugin_name, what);
        } else {
                failure->kind = PLUGIN_FAILURE_TRAP;
                snprintf(failure->message, sizeof(failure->message), "trap in %s: %s", what, cause);
        }
        return -EINTR;
}

/* Says which limit a failure ran into, when it was the memory cap: the
 * guest only saw an allocation fail (a MemoryError, or a trap). */
static int name_the_limit(struct plugin_instance *instance, int result,
                          struct plugin_failure *failure) {
        if (result < 0 && instance->memory != NULL &&
            pyhost_memory_limiter_take_limit_hit(instance->memory)) {
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message),
                         "plugin %s reached its memory limit of %zu MiB: %.900s",
                         instance->abi.plugin_name, instance->memory_limit >> 20, failure->message);
                snprintf(failure->message, sizeof(failure->message), "%s", message);
        }
        return result;
}

int instance_poll(struct plugin_instance *instance, struct reading_list *ret_readings,
                  struct plugin_failure *failure, bool *ret_is_poisoned) {
        if (instance->memory != NULL)
                (void)pyhost_memory_limiter_take_limit_hit(instance->memory);
        wasmtime_component_val_t value;
        int result =
                call(instance, &instance->poll, "poll", NULL, 0, &value, failure, ret_is_poisoned);
        if (result < 0)
                return name_the_limit(instance, result, failure);
        instance->polls++;
        result = poll_result_convert(&value, ret_readings, failure);
        wasmtime_component_val_delete(&value);
        return name_the_limit(instance, result, failure);
}

int instance_save_state(struct plugin_instance *instance, uint8_t **ret_state, size_t *ret_size,
                        struct plugin_failure *failure, bool *ret_is_poisoned) {
        wasmtime_component_val_t value;
        int result = call(instance, &instance->save_state, "save-state", NULL, 0, &value, failure,
                          ret_is_poisoned);
        if (result < 0)
                return result;
        result = -EPROTO;
        const wasmtime_component_val_t *payload = value.of.result.val;
        if (value.kind != WASMTIME_COMPONENT_RESULT || payload == NULL) {
                poll_result_set_bad_output(failure, "save-state did not return a result");
        } else if (!value.of.result.is_ok) {
                result = poll_result_convert_error(payload, failure);
        } else if (payload->kind != WASMTIME_COMPONENT_LIST) {
                poll_result_set_bad_output(failure, "save-state did not return a list");
        } else if (payload->of.list.size > MAX_STATE_BYTES) {
                poll_result_set_bad_output(failure,
                                           "save-state returned %zu bytes, more than the limit "
                                           "of %u",
                                           payload->of.list.size, MAX_STATE_BYTES);
        } else {
                size_t size = payload->of.list.size;
                uint8_t *state = malloc(size > 0 ? size : 1);
                result = state != NULL ? 0 : -ENOMEM;
                for (size_t i = 0; state != NULL && i < size; i++)
                        state[i] = payload->of.list.data[i].of.u8;
                if (state == NULL)
                        poll_result_set_bad_output(failure, "out of memory for the state");
                *ret_state = state;
                *ret_size = size;
        }
        wasmtime_component_val_delete(&value);
        return result;
}

int instance_restore_state(struct plugin_instance *instance, const uint8_t *state, size_t size,
                           struct plugin_failure *failure, bool *ret_is_poisoned) {
        wasmtime_component_val_t argument = {.kind = WASMTIME_COMPONENT_LIST};
        wasmtime_component_vallist_new_uninit(&argument.of.list, size);
        for (size_t i = 0; i < size; i++) {
                argument.of.list.data[i].kind = WASMTIME_COMPONENT_U8;
                argument.of.list.data[i].of.u8 = state[i];
        }
        wasmtime_component_val_t value;
        int result = call(instance, &instance->restore_state, "restore-state", &argument, 1, &value,
                          failure, ret_is_poisoned);
        wasmtime_component_val_delete(&argument);
        if (result < 0)
                return result;
        if (value.kind != WASMTIME_COMPONENT_RESULT) {
                result = poll_result_set_bad_output(failure,
                                                    "restore-state did not return a result");
        } else if (!value.of.result.is_ok) {
                result = value.of.result.val != NULL
                                 ? poll_result_convert_error(value.of.result.val, failure)
                                 : poll_result_set_bad_output(failure, "restore-state failed");
        }
        wasmtime_component_val_delete(&value);
        return result;
}

/* "NAME\tPATH\n" for each module (malloc'd, caller frees), or NULL when out
 * of memory. */
static char *files_text(const struct source_module *modules, size_t count) {
        size_t size = 1;
        for (size_t i = 0; i < count; i++)
                size += strlen(modules[i].name) + strlen(modules[i].path) + 2;
        char *text = malloc(size);
        size_t used = 0;
        for (size_t i = 0; text != NULL && i < count; i++) {
                int written = snprintf(text + used, size - used, "%s\t%s\n", modules[i].name,
                                       modules[i].path);
                used += written > 0 ? (size_t)written : 0;
        }
        if (text != NULL)
                text[used] = '\0';
        return text;
}

static void set_pair(wasmtime_component_val_t *pair, const char *first, const char *second) {
        pair->kind = WASMTIME_COMPONENT_TUPLE;
        wasmtime_component_valtuple_new_uninit(&pair->of.tuple, 2);
        const char *texts[2] = {first, second};
        for (size_t j = 0; j < 2; j++) {
                pair->of.tuple.data[j].kind = WASMTIME_COMPONENT_STRING;
                wasm_byte_vec_new(&pair->of.tuple.data[j].of.string, strlen(texts[j]), texts[j]);
        }
}

int instance_load_sources(struct plugin_instance *instance, const struct source_module *modules,
                          size_t count, struct plugin_failure *failure, bool *ret_is_poisoned) {
        *ret_is_poisoned = false;
        if (!instance->has_loader)
                return poll_result_set_bad_output(failure, "not a Python runtime: no loader");
        char *files = files_text(modules, count);
        if (files == NULL)
                return poll_result_set_bad_output(failure, "out of memory for the module list");
        wasmtime_component_val_t argument = {.kind = WASMTIME_COMPONENT_LIST};
        wasmtime_component_vallist_new_uninit(&argument.of.list, count + 1);
        for (size_t i = 0; i < count; i++)
                set_pair(&argument.of.list.data[i], modules[i].name, modules[i].source);
        set_pair(&argument.of.list.data[count], INSTANCE_FILES_ENTRY, files);
        free(files);
        /* Loading is the plugin's instantiation: its imports may compile
         * standard-library modules from source (tens to hundreds of ms). */
        uint32_t poll_budget_ms = instance->abi.budget_ms;
        if (instance->abi.budget_ms < INSTANTIATE_BUDGET_MS)
                instance->abi.budget_ms = INSTANTIATE_BUDGET_MS;
        wasmtime_component_val_t value;
        int result = call(instance, &instance->load, "load", &argument, 1, &value, failure,
                          ret_is_poisoned);
        instance->abi.budget_ms = poll_budget_ms;
        wasmtime_component_val_delete(&argument);
        if (result < 0)
                return result;
        if (value.kind != WASMTIME_COMPONENT_RESULT)
                result = poll_result_set_bad_output(failure, "load did not return a result");
        else if (!value.of.result.is_ok)
                result = value.of.result.val != NULL
                                 ? poll_result_convert_error(value.of.result.val, failure)
                                 : poll_result_set_bad_output(failure, "load failed");
        wasmtime_component_val_delete(&value);
        return result;
}
