/* inspect.c - `pyhost check`: what a component imports and exports, and
 * whether it fits the sensor-plugin world (plugin.h's plugin_inspect_file).
 * Uses the engine (to load) and the world (to check); neither uses it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "plugin/internal.h"

static void list_names(struct plugin_engine *engine, const wasmtime_component_type_t *type,
                       bool is_import, char (*names)[PLUGIN_ITEM_NAME_MAX], size_t *ret_count) {
        size_t count = is_import ? wasmtime_component_type_import_count(type, engine->engine)
                                 : wasmtime_component_type_export_count(type, engine->engine);
        size_t kept = 0;
        for (size_t i = 0; i < count && kept < PLUGIN_MAX_ITEMS; i++) {
                const char *name = NULL;
                size_t length = 0;
                wasmtime_component_item_t item;
                bool found = is_import ? wasmtime_component_type_import_nth(type, engine->engine, i,
                                                                            &name, &length, &item)
                                       : wasmtime_component_type_export_nth(type, engine->engine, i,
                                                                            &name, &length, &item);
                if (!found)
                        continue;
                wasmtime_component_item_delete(&item);
                snprintf(names[kept++], PLUGIN_ITEM_NAME_MAX, "%.*s", (int)length, name);
        }
        *ret_count = kept;
}

int plugin_inspect_file(struct plugin_engine *engine, const char *path,
                        struct plugin_interfaces *ret_interfaces, struct ph_error *error) {
        memset(ret_interfaces, 0, sizeof(*ret_interfaces));
        wasmtime_component_t *component = NULL;
        struct digest digest;
        int result = engine_load_component(engine, path, NULL, &component, &digest, error);
        if (result < 0)
                return result;
        wasmtime_component_type_t *type = wasmtime_component_type(component);
        list_names(engine, type, true, ret_interfaces->imports, &ret_interfaces->import_count);
        list_names(engine, type, false, ret_interfaces->exports, &ret_interfaces->export_count);
        wasmtime_component_type_delete(type);
        result = world_check(engine, component, NULL, error);
        if (result < 0)
                ph_error_prefix(error, "%s", path);
        wasmtime_component_delete(component);
        return result;
}
