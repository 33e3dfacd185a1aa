#include "plugin/abi.h"

#include <time.h>

int abi_enum_index(const wasmtime_component_val_t *value, const char *const *names, size_t count) {
        for (size_t i = 0; i < count; i++)
                if (abi_is_enum(value, names[i]))
                        return (int)i;
        return -1;
}

void abi_set_enum(wasmtime_component_val_t *ret, const char *name) {
        ret->kind = WASMTIME_COMPONENT_ENUM;
        wasm_byte_vec_new(&ret->of.enumeration, strlen(name), name);
}

void abi_set_ok(wasmtime_component_val_t *ret, wasmtime_component_val_t *payload) {
        ret->kind = WASMTIME_COMPONENT_RESULT;
        ret->of.result.is_ok = true;
        ret->of.result.val = payload != NULL ? wasmtime_component_val_new(payload) : NULL;
}

void abi_set_err_enum(wasmtime_component_val_t *ret, const char *error_name) {
        wasmtime_component_val_t payload;
        abi_set_enum(&payload, error_name);
        ret->kind = WASMTIME_COMPONENT_RESULT;
        ret->of.result.is_ok = false;
        ret->of.result.val = wasmtime_component_val_new(&payload);
}

wasmtime_error_t *abi_define_interface(wasmtime_component_linker_t *linker,
                                       const char *interface_name,
                                       const struct abi_function *functions, size_t count) {
        wasmtime_component_linker_instance_t *root = wasmtime_component_linker_root(linker);
        wasmtime_component_linker_instance_t *interface = NULL;
        wasmtime_error_t *wasm_error = wasmtime_component_linker_instance_add_instance(
                root, interface_name, strlen(interface_name), &interface);
        /* Only one linker instance may be open at a time: close the root
         * before working on the interface. */
        wasmtime_component_linker_instance_delete(root);
        if (wasm_error != NULL)
                return wasm_error;
        for (size_t i = 0; i < count && wasm_error == NULL; i++)
                wasm_error = wasmtime_component_linker_instance_add_func(
                        interface, functions[i].name, strlen(functions[i].name),
                        functions[i].callback, NULL, NULL);
        wasmtime_component_linker_instance_delete(interface);
        return wasm_error;
}

void sandbox_state_init(struct sandbox_state *sandbox, const struct plugin_grants *grants) {
        memset(sandbox, 0, sizeof(*sandbox));
        sandbox->grants = grants;
        log_budget_init(&sandbox->log_budget, PLUGIN_LOG_LINES_PER_S, PLUGIN_LOG_BURST);
}

static int64_t nanoseconds_of(const struct timespec *time) {
        return (int64_t)time->tv_sec * 1000000000 + time->tv_nsec;
}

static void set_deadline_from_now(wasmtime_context_t *context, const struct abi_context *abi) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = nanoseconds_of(&abi->deadline_at) - nanoseconds_of(&now);
        int64_t tick = (int64_t)EPOCH_TICK_MS * 1000000;
        uint64_t ticks = left > 0 ? (uint64_t)((left + tick - 1) / tick) : 1;
        wasmtime_context_set_epoch_deadline(context, ticks > 0 ? ticks : 1);
}

void abi_start_budget(wasmtime_context_t *context, struct abi_context *abi) {
        clock_gettime(CLOCK_MONOTONIC, &abi->deadline_at);
        int64_t deadline = nanoseconds_of(&abi->deadline_at) + (int64_t)abi->budget_ms * 1000000;
        abi->deadline_at.tv_sec = (time_t)(deadline / 1000000000);
        abi->deadline_at.tv_nsec = (long)(deadline % 1000000000);
        set_deadline_from_now(context, abi);
}

void abi_give_back_time(wasmtime_context_t *context, struct abi_context *abi,
                        const struct timespec *host_call_started) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t waited = nanoseconds_of(&now) - nanoseconds_of(host_call_started);
        int64_t deadline = nanoseconds_of(&abi->deadline_at) + (waited > 0 ? waited : 0);
        abi->deadline_at.tv_sec = (time_t)(deadline / 1000000000);
        abi->deadline_at.tv_nsec = (long)(deadline % 1000000000);
        set_deadline_from_now(context, abi);
}
