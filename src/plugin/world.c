/* world.c - does a component fit the `sensor-plugin` world (any of the
 * contract's 0.1.x versions, see wit/plugin.wit)?
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
        const char *functions[5];
        /* Since 0.1.1: the grant's targets (NULL: none needed). An import
         * with the word granted but no target is refused at load too. */
        bool (*has_targets)(const struct plugin_grants *grants);
        const char *targets_key;
};

static bool has_i2c_devices(const struct plugin_grants *grants) {
        return grants->is_any_pin || grants->i2c_device_count > 0;
}
static bool has_gpio_lines(const struct plugin_grants *grants) {
        return grants->is_any_pin || grants->gpio_input_count + grants->gpio_output_count > 0;
}
static bool has_pwm_channels(const struct plugin_grants *grants) {
        return grants->is_any_pin || grants->pwm_channel_count > 0;
}
static bool has_iio_devices(const struct plugin_grants *grants) {
        return grants->is_any_pin || grants->iio_device_count > 0;
}
static bool has_onewire_ids(const struct plugin_grants *grants) {
        return grants->is_any_pin || grants->onewire_id_count > 0;
}

static const struct provided_interface provided[] = {
        {WIT_TYPES, NULL, {NULL}, NULL, NULL},
        {WIT_GPIO_PROVIDER, CONFIG_GRANT_GPIO_PROVIDER, {"read-dht22", NULL}, NULL, NULL},
        {WIT_LED_CONTROLLER, CONFIG_GRANT_LED_CONTROLLER, {"set-two", NULL}, NULL, NULL},
        {WIT_LOGGING, CONFIG_GRANT_LOGGING, {"log", NULL}, NULL, NULL},
        /* A plugin's own settings: importing the interface is enough. */
        {WASI_CONFIG_STORE, NULL, {"get", "get-all", NULL}, NULL, NULL},
        {"wasi:config/store@0.2.0-draft", NULL, {"get", "get-all", NULL}, NULL, NULL},
        {"wasi:config/store@0.2.0-draft-2024-09-27", NULL, {"get", "get-all", NULL}, NULL, NULL},
        {WIT_GPIO,
         CONFIG_GRANT_GPIO,
         {"claim-input", "claim-output", "read", "write", NULL},
         has_gpio_lines,
         "gpio_inputs or gpio_outputs"},
        {WIT_I2C, CONFIG_GRANT_I2C, {"transact", NULL}, has_i2c_devices, "i2c_devices"},
        {WIT_PWM, CONFIG_GRANT_PWM, {"set", NULL}, has_pwm_channels, "pwm_channels"},
        {WIT_IIO, CONFIG_GRANT_IIO, {"read", NULL}, has_iio_devices, "iio_devices"},
        {WIT_ONEWIRE, CONFIG_GRANT_ONEWIRE, {"read-celsius", NULL}, has_onewire_ids, "onewire_ids"},
};

/* A version "MAJOR.MINOR.PATCH" without pre-release or build parts. */
static bool parse_version(const char *text, size_t length, unsigned long parts[3]) {
        size_t at = 0;
        for (int part = 0; part < 3; part++) {
                if (at == length || text[at] < '0' || text[at] > '9')
                        return false;
                unsigned long value = 0;
                while (at < length && text[at] >= '0' && text[at] <= '9' && value < 100000000UL)
                        value = value * 10 + (unsigned long)(text[at++] - '0');
                parts[part] = value;
                if (part < 2 && (at == length || text[at++] != '.'))
                        return false;
        }
        return at == length;
}

bool world_name_matches(const char *actual, size_t length, const char *wanted) {
        const char *wanted_at = strchr(wanted, '@');
        const char *actual_at = memchr(actual, '@', length);
        size_t wanted_base = wanted_at != NULL ? (size_t)(wanted_at - wanted) : strlen(wanted);
        size_t actual_base = actual_at != NULL ? (size_t)(actual_at - actual) : length;
        if (wanted_base != actual_base || memcmp(actual, wanted, actual_base) != 0)
                return false;
        if (wanted_at == NULL || actual_at == NULL)
                return wanted_at == NULL && actual_at == NULL;
        size_t actual_version_length = length - actual_base - 1;
        if (strlen(wanted_at + 1) == actual_version_length &&
            memcmp(wanted_at + 1, actual_at + 1, actual_version_length) == 0)
                return true;
        /* Semver-compatible: the same first non-zero part and all before
         * it (Cargo's rule, which WIT and Wasmtime follow); pre-releases
         * match only exactly. */
        unsigned long a[3], b[3];
        if (!parse_version(actual_at + 1, actual_version_length, a) ||
            !parse_version(wanted_at + 1, strlen(wanted_at + 1), b))
                return false;
        if (a[0] != 0 || b[0] != 0)
                return a[0] == b[0];
        if (a[1] != 0 || b[1] != 0)
                return a[1] == b[1];
        return a[2] == b[2];
}

static bool is_granted(const struct plugin_grants *grants, const char *grant) {
        return grants == NULL || grant == NULL || config_grants_allow(grants, grant);
}

static bool has_prefix(const char *name, size_t length, const char *prefix) {
        size_t prefix_length = strlen(prefix);
        return length >= prefix_length && memcmp(name, prefix, prefix_length) == 0;
}

static const struct provided_interface *find_provided(const char *name, size_t length) {
        for (size_t i = 0; i < sizeof(provided) / sizeof(provided[0]); i++)
                if (world_name_matches(name, length, provided[i].name))
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
                                              "imports '%.*s', but its config does not grant "
                                              "'%s' (add it to the plugin's `grants`)",
                                              (int)length, name, interface->grant);
                else if (interface != NULL && grants != NULL && interface->has_targets != NULL &&
                         !interface->has_targets(grants))
                        result = ph_error_set(error, -EACCES,
                                              "imports '%.*s', but its config grants no target "
                                              "for it (add %s to the plugin's section)",
                                              (int)length, name, interface->targets_key);
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

/* Finds the export `wanted` in any compatible version (a type's own lookup
 * only finds the exact name). The caller deletes *ret_item. */
static bool find_export(struct plugin_engine *engine, const wasmtime_component_type_t *type,
                        const char *wanted, wasmtime_component_item_t *ret_item) {
        size_t count = wasmtime_component_type_export_count(type, engine->engine);
        for (size_t i = 0; i < count; i++) {
                const char *name = NULL;
                size_t length = 0;
                wasmtime_component_item_t item;
                if (!wasmtime_component_type_export_nth(type, engine->engine, i, &name, &length,
                                                        &item))
                        continue;
                if (world_name_matches(name, length, wanted)) {
                        *ret_item = item;
                        return true;
                }
                wasmtime_component_item_delete(&item);
        }
        return false;
}

/* sensor-logic must export poll: func() -> result<...>. */
static int check_poll_export(struct plugin_engine *engine, const wasmtime_component_type_t *type,
                             struct ph_error *error) {
        wasmtime_component_item_t interface;
        if (!find_export(engine, type, WIT_SENSOR_LOGIC, &interface))
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
        if (!find_export(engine, type, WIT_LIFECYCLE, &interface))
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
        size_t count = wasmtime_component_type_import_count(type, engine->engine);
        bool found = false;
        for (size_t i = 0; i < count && !found; i++) {
                const char *actual = NULL;
                size_t length = 0;
                wasmtime_component_item_t item;
                if (!wasmtime_component_type_import_nth(type, engine->engine, i, &actual, &length,
                                                        &item))
                        continue;
                found = world_name_matches(actual, length, name);
                wasmtime_component_item_delete(&item);
        }
        wasmtime_component_type_delete(type);
        return found;
}
