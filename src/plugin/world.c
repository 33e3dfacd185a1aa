/* world.c - does a component fit the `sensor-plugin` world?
 *
 * Linking would catch some mismatches, but only with Wasmtime's wording and
 * only at instantiation. Checking the component's type first gives errors
 * that name the interface or function that does not fit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugin/internal.h"

/* Functions the host defines in each of its interfaces. */
struct provided_interface {
        const char *name;
        const char *grant; /* the word in a plugin's `grants`; NULL: always allowed */
        const char *functions[4];
};

static const struct provided_interface provided[] = {
        {WIT_TYPES, NULL, {NULL}},
        {WIT_GPIO_PROVIDER, CONFIG_GRANT_GPIO_PROVIDER, {"read-dht22", NULL}},
        {WIT_LED_CONTROLLER, CONFIG_GRANT_LED_CONTROLLER, {"set-two", NULL}},
        {WIT_LOGGING, CONFIG_GRANT_LOGGING, {"log", NULL}},
};

static bool is_granted(const struct plugin_grants *grants, const char *grant) {
        return grants == NULL || grant == NULL || config_grants_allow(grants, grant);
}

static bool has_prefix(const char *name, size_t length, const char *prefix) {
        size_t prefix_length = strlen(prefix);
        return length >= prefix_length && memcmp(name, prefix, prefix_length) == 0;
}

static const struct provided_interface *find_provided(const char *name, size_t length) {
        for (size_t i = 0; i < sizeof(provided) / sizeof(provided[0]); i++)
                if (strlen(provided[i].name) == length &&
                    memcmp(provided[i].name, name, length) == 0)
                        return &provided[i];
        return NULL;
}

/* Every function the component imports from `interface` must be one the
 * host defines. Types and resources are fine. */
static int check_import_functions(struct plugin_engine *engine,
                                  const struct provided_interface *interface,
                                  const wasmtime_component_item_t *item, struct ph_error *error) {
        if (item->kind != WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE)
                return ph_error_set(error, -EINVAL,
                                    "imports '%s' as something other than an "
                                    "interface",
                                    interface->name);
        const wasmtime_component_instance_type_t *instance = item->of.component_instance;
        size_t count = wasmtime_component_instance_type_export_count(instance, engine->engine);
        for (size_t i = 0; i < count; i++) {
                const char *name = NULL;
                size_t length = 0;
                wasmtime_component_item_t function;
                if (!wasmtime_component_instance_type_export_nth(instance, engine->engine, i, &name,
                                                                 &length, &function))
                        continue;
                bool is_function = function.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC;
                wasmtime_component_item_delete(&function);
                if (!is_function)
                        continue;
                bool is_known = false;
                for (size_t f = 0; interface->functions[f] != NULL; f++)
                        if (strlen(interface->functions[f]) == length &&
                            memcmp(interface->functions[f], name, length) == 0)
                                is_known = true;
                if (!is_known)
                        return ph_error_set(error, -EINVAL,
                                            "imports function '%.*s' from '%s', which the host "
                                            "does not provide",
                                            (int)length, name, interface->name);
        }
        return 0;
}

static int check_imports(struct plugin_engine *engine, const wasmtime_component_type_t *type,
                         const struct plugin_grants *grants, struct ph_error *error) {
        size_t count = wasmtime_component_type_import_count(type, engine->engine);
        for (size_t i = 0; i < count; i++) {
                const char *name = NULL;
                size_t length = 0;
                wasmtime_component_item_t item;
                if (!wasmtime_component_type_import_nth(type, engine->engine, i, &name, &length,
                                                        &item))
                        continue;
                int result = 0;
                const struct provided_interface *interface = find_provided(name, length);
                if (interface != NULL && !is_granted(grants, interface->grant))
                        result = ph_error_set(error, -EACCES,
                                              "imports '%s', but its config does not grant "
                                              "'%s' (add it to the plugin's `grants`)",
                                              interface->name, interface->grant);
                else if (interface != NULL)
                        result = check_import_functions(engine, interface, &item, error);
                else if (!has_prefix(name, length, "wasi:"))
                        /* WASI p2 is linked (and grants nothing); any other
                         * import is a capability this host does not have. */
                        result = ph_error_set(error, -EINVAL,
                                              "imports '%.*s', which this host does not provide "
                                              "(it provides " WIT_PACKAGE "@" WIT_VERSION
                                              " and WASI p2)",
                                              (int)length, name);
                wasmtime_component_item_delete(&item);
                if (result < 0)
                        return result;
        }
        return 0;
}

/* sensor-logic must export poll: func() -> result<...>. */
static int check_poll_export(struct plugin_engine *engine, const wasmtime_component_type_t *type,
                             struct ph_error *error) {
        wasmtime_component_item_t interface;
        if (!wasmtime_component_type_export_get(type, engine->engine, WIT_SENSOR_LOGIC,
                                                strlen(WIT_SENSOR_LOGIC), &interface))
                return ph_error_set(error, -EINVAL,
                                    "does not export '" WIT_SENSOR_LOGIC
                                    "': not a component for the sensor-plugin world");
        int result = 0;
        wasmtime_component_item_t poll;
        bool has_poll = interface.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE &&
                        wasmtime_component_instance_type_export_get(interface.of.component_instance,
                                                                    engine->engine, WIT_POLL,
                                                                    strlen(WIT_POLL), &poll);
        if (!has_poll) {
                result = ph_error_set(error, -EINVAL,
                                      "exports '" WIT_SENSOR_LOGIC "' without a 'poll' function");
        } else {
                bool fits = false;
                if (poll.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC &&
                    wasmtime_component_func_type_param_count(poll.of.component_func) == 0) {
                        wasmtime_component_valtype_t returned;
                        if (wasmtime_component_func_type_result(poll.of.component_func,
                                                                &returned)) {
                                fits = returned.kind == WASMTIME_COMPONENT_VALTYPE_RESULT;
                                wasmtime_component_valtype_delete(&returned);
                        }
                }
                wasmtime_component_item_delete(&poll);
                if (!fits)
                        result = ph_error_set(error, -EINVAL,
                                              "'" WIT_SENSOR_LOGIC ".poll' has the wrong "
                                              "signature (expected func() -> result<list<"
                                              "sensor-reading>, plugin-error>)");
        }
        wasmtime_component_item_delete(&interface);
        return result;
}

/* `lifecycle` is optional, but when exported it must be whole. */
static int check_lifecycle_export(struct plugin_engine *engine,
                                  const wasmtime_component_type_t *type, struct ph_error *error) {
        wasmtime_component_item_t interface;
        if (!wasmtime_component_type_export_get(type, engine->engine, WIT_LIFECYCLE,
                                                strlen(WIT_LIFECYCLE), &interface))
                return 0;
        int result = 0;
        static const char *const functions[] = {"save-state", "restore-state"};
        for (size_t i = 0; i < 2 && result == 0; i++) {
                wasmtime_component_item_t function;
                bool found = interface.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE &&
                             wasmtime_component_instance_type_export_get(
                                     interface.of.component_instance, engine->engine, functions[i],
                                     strlen(functions[i]), &function);
                if (!found) {
                        result = ph_error_set(error, -EINVAL,
                                              "exports '" WIT_LIFECYCLE "' without '%s'",
                                              functions[i]);
                        continue;
                }
                if (function.kind != WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC)
                        result = ph_error_set(error, -EINVAL,
                                              "'" WIT_LIFECYCLE ".%s' is not a function",
                                              functions[i]);
                wasmtime_component_item_delete(&function);
        }
        wasmtime_component_item_delete(&interface);
        return result;
}

int world_check(struct plugin_engine *engine, const wasmtime_component_t *component,
                const struct plugin_grants *grants, struct ph_error *error) {
        wasmtime_component_type_t *type = wasmtime_component_type(component);
        int result = check_imports(engine, type, grants, error);
        if (result == 0)
                result = check_poll_export(engine, type, error);
        if (result == 0)
                result = check_lifecycle_export(engine, type, error);
        wasmtime_component_type_delete(type);
        return result;
}

bool world_imports(struct plugin_engine *engine, const wasmtime_component_t *component,
                   const char *name) {
        wasmtime_component_type_t *type = wasmtime_component_type(component);
        wasmtime_component_item_t item;
        bool found =
                wasmtime_component_type_import_get(type, engine->engine, name, strlen(name), &item);
        if (found)
                wasmtime_component_item_delete(&item);
        wasmtime_component_type_delete(type);
        return found;
}
