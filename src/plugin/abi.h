/* abi.h - helpers shared by the host-interface files (abi_*.c) to read
 * arguments and build results as component-model values. */
#ifndef PH_PLUGIN_ABI_H
#define PH_PLUGIN_ABI_H

#include <stdbool.h>
#include <string.h>

#include "plugin/internal.h"

/* The plugin whose store is calling. */
static inline struct abi_context *abi_context_of(wasmtime_context_t *context) {
        return wasmtime_context_get_data(context);
}

/* Whether `value` is the enum case `name`. */
static inline bool abi_is_enum(const wasmtime_component_val_t *value, const char *name) {
        size_t length = strlen(name);
        return value->kind == WASMTIME_COMPONENT_ENUM && value->of.enumeration.size == length &&
               memcmp(value->of.enumeration.data, name, length) == 0;
}

/* Finds the index of `value`'s enum case in `names`, or -1. */
int abi_enum_index(const wasmtime_component_val_t *value, const char *const *names, size_t count);

/* Sets *ret to the enum case `name`; Wasmtime takes over the memory. */
void abi_set_enum(wasmtime_component_val_t *ret, const char *name);

/* Sets *ret to `result<T, E>`: ok with `payload` (NULL: no payload), or
 * the error enum case `error_name`. Wasmtime takes over the memory. */
void abi_set_ok(wasmtime_component_val_t *ret, wasmtime_component_val_t *payload);
void abi_set_err_enum(wasmtime_component_val_t *ret, const char *error_name);

/* Defines `functions` in the interface `interface_name` of `linker`. */
struct abi_function {
        const char *name;
        wasmtime_component_func_callback_t callback;
};
wasmtime_error_t *abi_define_interface(wasmtime_component_linker_t *linker,
                                       const char *interface_name,
                                       const struct abi_function *functions, size_t count);

#endif
