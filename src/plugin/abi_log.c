/* abi_log.c - the `logging` interface: a plugin's messages in the host log,
 * tagged with the plugin's name. Runs on the calling plugin's thread. */
#include "core/log.h"
#include "plugin/abi.h"

static const char *const level_names[] = {"debug", "info", "warning", "error"};

/* log: func(level: level, message: string) */
static wasmtime_error_t *log_message(void *data, wasmtime_context_t *context,
                                     const wasmtime_component_func_type_t *type,
                                     wasmtime_component_val_t *args, size_t arg_count,
                                     wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        (void)results;
        if (arg_count != 2 || args[1].kind != WASMTIME_COMPONENT_STRING || result_count != 0)
                return wasmtime_error_new("log: called with the wrong signature");
        int level = abi_enum_index(&args[0], level_names, 4);
        if (level < 0)
                return wasmtime_error_new("log: unknown level");
        struct abi_context *abi = abi_context_of(context);
        if (!abi->sandbox->grants->logging) {
                abi->sandbox->denied_calls++; /* a runtime-hosted plugin without the grant */
                return NULL;
        }
        if (!log_budget_take(&abi->sandbox->log_budget, abi->plugin_name))
                return NULL;
        log_write_text((enum log_level)level, abi->plugin_name, args[1].of.string.data,
                       args[1].of.string.size);
        return NULL;
}

wasmtime_error_t *abi_log_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"log", log_message}};
        return abi_define_interface(linker, WIT_LOGGING, functions, 1);
}
