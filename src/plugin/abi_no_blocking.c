/* abi_no_blocking.c - takes WASI's blocking wait away from plugins.
 *
 * Epoch interruption stops a guest only while it runs WebAssembly; a guest
 * blocked inside the host (wasi:io/poll, which is what `time.sleep(3600)`
 * becomes) would hold its plugin's thread for an hour. So the host
 * replaces the two functions that block, `poll` and `pollable.block`, with
 * ones that end the call at once with a clear error (a trap: the host
 * function cannot return a value the guest's libc would understand). Every
 * other WASI function (clocks, random, streams) stays as Wasmtime defines
 * it: reading the time is allowed, waiting for it is not. */
#include "plugin/abi.h"

/* The version Wasmtime 48 defines; components importing any 0.2.x are
 * linked to it by semver. */
#define WASI_IO_POLL "wasi:io/poll@0.2.12"

static wasmtime_error_t *refuse_blocking(void *data, wasmtime_context_t *context,
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
        return wasmtime_error_new("plugins may not block: wasi:io/poll (time.sleep, waiting on "
                                  "a stream) is not available");
}

wasmtime_error_t *abi_no_blocking_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {
                {"poll", refuse_blocking},
                {"[method]pollable.block", refuse_blocking},
        };
        wasmtime_component_linker_allow_shadowing(linker, true);
        wasmtime_error_t *wasm_error = abi_define_interface(linker, WASI_IO_POLL, functions, 2);
        wasmtime_component_linker_allow_shadowing(linker, false);
        return wasm_error;
}
