/* abi_led.c - the `led-controller` interface: the two status LEDs.
 * Runs on the calling plugin's thread; the board backend is thread-safe. */
#include "core/log.h"
#include "plugin/abi.h"

/* set-two: func(first: led-color, second: led-color) */
static wasmtime_error_t *set_two(void *data, wasmtime_context_t *context,
                                 const wasmtime_component_func_type_t *type,
                                 wasmtime_component_val_t *args, size_t arg_count,
                                 wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        (void)results;
        if (arg_count != 2 || result_count != 0)
                return wasmtime_error_new("set-two: called with the wrong signature");
        int first = abi_enum_index(&args[0], config_led_color_names, CONFIG_LED_COLORS);
        int second = abi_enum_index(&args[1], config_led_color_names, CONFIG_LED_COLORS);
        if (first < 0 || second < 0)
                return wasmtime_error_new("set-two: unknown led-color");
        struct abi_context *abi = abi_context_of(context);
        if (abi->is_trial)
                return NULL; /* held back: a trial touches nothing */
        if (!abi->sandbox->grants->led_controller) {
                /* Not its LEDs: `set-two` returns nothing, so the refusal can
                 * only be counted (load-time checks normally stop this). */
                abi->sandbox->denied_calls++;
                return NULL;
        }
        /* A failing LED driver is the board's fault, not the plugin's: log it
         * and let the plugin go on. */
        abi->sandbox->has_driven_leds = true;
        int result = hw_set_leds(abi->board, (enum hw_led_color)first, (enum hw_led_color)second);
        if (result < 0)
                log_write(LOG_LEVEL_ERROR, abi->plugin_name, "setting the LEDs failed: %s",
                          strerror(-result));
        return NULL;
}

wasmtime_error_t *abi_led_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"set-two", set_two}};
        return abi_define_interface(linker, WIT_LED_CONTROLLER, functions, 1);
}
