/* abi_gpio.c - the `gpio-provider` interface: sensor reads for plugins.
 *
 * Runs on the calling plugin's thread; the board backend is thread-safe. A
 * failed read, and a read outside the plugin's grants (a pin it was not
 * given, or sooner than its minimum interval), is returned to the plugin as
 * a `sensor-error` value, never as a trap; refusals are counted. */
#include <time.h>

#include "plugin/abi.h"

enum grant_check { GRANT_OK, GRANT_NOT_PERMITTED, GRANT_RATE_LIMITED };

static double seconds_between(const struct timespec *from, const struct timespec *to) {
        return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Is this plugin allowed to read `pin` now? Records the read if so. */
static enum grant_check check_read(struct sandbox_state *sandbox, uint8_t pin) {
        const struct plugin_grants *grants = sandbox->grants;
        /* A component is refused at load when it imports gpio-provider
         * without the grant; a plugin on the shared Python runtime is
         * checked here, at each call. */
        if (!grants->gpio_provider)
                return GRANT_NOT_PERMITTED;
        if (grants->is_any_pin)
                return GRANT_OK;
        for (size_t i = 0; i < grants->dht22_pin_count; i++) {
                if (grants->dht22_pins[i] != pin)
                        continue;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (sandbox->has_read[i] && seconds_between(&sandbox->last_read[i], &now) * 1000.0 <
                                                    (double)grants->dht22_min_interval_ms)
                        return GRANT_RATE_LIMITED;
                sandbox->last_read[i] = now;
                sandbox->has_read[i] = true;
                return GRANT_OK;
        }
        return GRANT_NOT_PERMITTED;
}

static const char *sensor_error_name(enum hw_sensor_status status) {
        switch (status) {
        case HW_SENSOR_TIMEOUT:
                return "timeout";
        case HW_SENSOR_CHECKSUM:
                return "checksum";
        case HW_SENSOR_NO_SUCH_PIN:
        case HW_SENSOR_OK:
        default:
                return "no-such-pin";
        }
}

static void set_f32_field(wasmtime_component_valrecord_entry_t *entry, const char *name,
                          float value) {
        wasm_byte_vec_new(&entry->name, strlen(name), name);
        entry->val.kind = WASMTIME_COMPONENT_F32;
        entry->val.of.f32 = value;
}

/* read-dht22: func(pin: u8) -> result<dht22-reading, sensor-error> */
static wasmtime_error_t *read_dht22(void *data, wasmtime_context_t *context,
                                    const wasmtime_component_func_type_t *type,
                                    wasmtime_component_val_t *args, size_t arg_count,
                                    wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 1 || args[0].kind != WASMTIME_COMPONENT_U8 || result_count != 1)
                return wasmtime_error_new("read-dht22: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        struct hw_dht22_reading reading;
        wasmtime_component_val_t payload;
        enum grant_check grant = check_read(abi->sandbox, args[0].of.u8);
        enum hw_sensor_status status = HW_SENSOR_OK;
        if (grant != GRANT_OK) {
                abi->sandbox->denied_calls++;
                abi_set_enum(&payload,
                             grant == GRANT_NOT_PERMITTED ? "not-permitted" : "rate-limited");
                results[0].kind = WASMTIME_COMPONENT_RESULT;
                results[0].of.result.is_ok = false;
                results[0].of.result.val = wasmtime_component_val_new(&payload);
                return NULL;
        }
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        status = hw_read_dht22(abi->board, args[0].of.u8, &reading);
        abi_give_back_time(context, abi, &started);
        if (status == HW_SENSOR_OK) {
                payload.kind = WASMTIME_COMPONENT_RECORD;
                wasmtime_component_valrecord_new_uninit(&payload.of.record, 2);
                set_f32_field(&payload.of.record.data[0], "temperature-celsius",
                              reading.temperature_celsius);
                set_f32_field(&payload.of.record.data[1], "humidity-percent",
                              reading.humidity_percent);
        } else {
                abi_set_enum(&payload, sensor_error_name(status));
        }
        results[0].kind = WASMTIME_COMPONENT_RESULT;
        results[0].of.result.is_ok = status == HW_SENSOR_OK;
        results[0].of.result.val = wasmtime_component_val_new(&payload);
        return NULL;
}

wasmtime_error_t *abi_gpio_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"read-dht22", read_dht22}};
        return abi_define_interface(linker, WIT_GPIO_PROVIDER, functions, 1);
}
