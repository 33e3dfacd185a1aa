/* abi_config.c - the standard `wasi:config/store` interface: a plugin's
 * settings (core/settings.h), read-only to the plugin.
 *
 * Runs on the calling plugin's thread; the settings store is thread-safe
 * and its lock a leaf, so a read never waits for anything but a copy.
 * Each call reads the current values: a change by SIGHUP or the API is
 * seen at the plugin's next call, without a reload. A key that is not set
 * is `none`, never an error; the store's `error` variant is never
 * returned (the settings are in memory). Only a component whose world
 * imports the interface can call it; a plugin on the shared Python
 * runtime reads its own settings the same way. */
#include "plugin/abi.h"

static void set_string(wasmtime_component_val_t *value, const char *text) {
        value->kind = WASMTIME_COMPONENT_STRING;
        wasm_byte_vec_new(&value->of.string, strlen(text), text);
}

static void set_ok(wasmtime_component_val_t *result, wasmtime_component_val_t *payload) {
        result->kind = WASMTIME_COMPONENT_RESULT;
        result->of.result.is_ok = true;
        result->of.result.val = wasmtime_component_val_new(payload);
}

/* get: func(key: string) -> result<option<string>, error> */
static wasmtime_error_t *config_get(void *data, wasmtime_context_t *context,
                                    const wasmtime_component_func_type_t *type,
                                    wasmtime_component_val_t *args, size_t arg_count,
                                    wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 1 || args[0].kind != WASMTIME_COMPONENT_STRING || result_count != 1)
                return wasmtime_error_new("wasi:config/store.get: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        char key[CONFIG_SETTING_KEY_MAX];
        char value[CONFIG_SETTING_VALUE_MAX];
        size_t length = args[0].of.string.size;
        /* A key too long, or with a NUL, cannot be a setting: none. */
        bool is_found = abi->settings != NULL && length < sizeof(key) &&
                        memchr(args[0].of.string.data, '\0', length) == NULL;
        if (is_found) {
                memcpy(key, args[0].of.string.data, length);
                key[length] = '\0';
                is_found = settings_store_get(abi->settings, key, value);
        }
        wasmtime_component_val_t option = {.kind = WASMTIME_COMPONENT_OPTION};
        option.of.option = NULL;
        if (is_found) {
                wasmtime_component_val_t text;
                set_string(&text, value);
                option.of.option = wasmtime_component_val_new(&text);
        }
        set_ok(&results[0], &option);
        return NULL;
}

/* get-all: func() -> result<list<tuple<string, string>>, error> */
static wasmtime_error_t *config_get_all(void *data, wasmtime_context_t *context,
                                        const wasmtime_component_func_type_t *type,
                                        wasmtime_component_val_t *args, size_t arg_count,
                                        wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        (void)args;
        if (arg_count != 0 || result_count != 1)
                return wasmtime_error_new(
                        "wasi:config/store.get-all: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        struct config_settings settings = {.count = 0};
        if (abi->settings != NULL)
                settings_store_copy(abi->settings, &settings);
        wasmtime_component_val_t list = {.kind = WASMTIME_COMPONENT_LIST};
        wasmtime_component_vallist_new_uninit(&list.of.list, settings.count);
        for (size_t i = 0; i < settings.count; i++) {
                wasmtime_component_val_t *pair = &list.of.list.data[i];
                pair->kind = WASMTIME_COMPONENT_TUPLE;
                wasmtime_component_valtuple_new_uninit(&pair->of.tuple, 2);
                set_string(&pair->of.tuple.data[0], settings.items[i].key);
                set_string(&pair->of.tuple.data[1], settings.items[i].value);
        }
        set_ok(&results[0], &list);
        return NULL;
}

wasmtime_error_t *abi_config_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {
                {"get", config_get},
                {"get-all", config_get_all},
        };
        static const char *const names[] = WASI_CONFIG_STORE_NAMES;
        wasmtime_error_t *wasm_error = NULL;
        for (size_t i = 0; i < WASI_CONFIG_STORE_NAME_COUNT && wasm_error == NULL; i++)
                wasm_error = abi_define_interface(linker, names[i], functions, 2);
        return wasm_error;
}
