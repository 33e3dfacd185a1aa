/* abi_no_blocking.c - takes timed waits away from plugins.
 *
 * Epoch interruption stops a guest only while it runs WebAssembly; a guest
 * blocked inside the host would hold its plugin's thread for as long as it
 * asked. What can block for long is a timer: `time.sleep(3600)` becomes
 * wasi:clocks' `subscribe-duration` and a block on the pollable it returns.
 * (Reading a granted file also blocks on pollables, but only as long as the
 * disk takes; sockets are not available at all.) So the host replaces the
 * two functions that create timers with ones that end the call at once
 * with a clear error: a trap, since a host function cannot make up the
 * pollable the guest expects. Reading the time is allowed; waiting for it
 * is not. */
#include "plugin/abi.h"

/* The version Wasmtime 48 defines; components importing any 0.2.x are
 * linked to it by semver. */
#define WASI_MONOTONIC_CLOCK "wasi:clocks/monotonic-clock@0.2.12"

static wasmtime_error_t *refuse_timer(void *data, wasmtime_context_t *context,
                                      const wasmtime_component_func_type_t *type,
                                      wasmtime_component_val_t *args, size_t arg_count,
                                      wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        (void)args;
        (void)arg_count;
        (void)results;
        (void)result_count;
        struct abi_context *abi = abi_context_of(context);
        abi->is_blocking_refused = true;
        return wasmtime_error_new("plugins may not wait on timers (time.sleep, timeouts)");
}

wasmtime_error_t *abi_no_blocking_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {
                {"subscribe-duration", refuse_timer},
                {"subscribe-instant", refuse_timer},
        };
        wasmtime_component_linker_allow_shadowing(linker, true);
        wasmtime_error_t *wasm_error =
                abi_define_interface(linker, WASI_MONOTONIC_CLOCK, functions, 2);
        wasmtime_component_linker_allow_shadowing(linker, false);
        return wasm_error;
}
