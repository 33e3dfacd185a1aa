/* abi_pwm.c - the 0.1.1 `pwm` interface: period, duty cycle and enable of
 * a granted channel (pwm_channels).
 *
 * Runs on the calling plugin's thread under its lock; the board's PWM lock
 * is a leaf (a sysfs write on Linux: the known I/O exception of
 * src/core/locks.h). A channel set once is remembered in the sandbox and
 * disabled (its safe state) when the plugin crashes or goes away. A trial
 * instance's settings are held back. Refusals are values, counted. */
#include <errno.h>

#include "plugin/abi.h"

static void remember(struct sandbox_state *sandbox, unsigned channel) {
        size_t free_slot = SANDBOX_MAX_LINES;
        for (size_t i = 0; i < SANDBOX_MAX_LINES; i++) {
                if (sandbox->hw.has_pwm[i] && sandbox->hw.pwm_channel[i] == channel)
                        return;
                if (!sandbox->hw.has_pwm[i] && free_slot == SANDBOX_MAX_LINES)
                        free_slot = i;
        }
        if (free_slot < SANDBOX_MAX_LINES) {
                sandbox->hw.has_pwm[free_slot] = true;
                sandbox->hw.pwm_channel[free_slot] = (uint16_t)channel;
        }
}

/* set: func(channel: u32, period-ns: u32, duty-ns: u32, enabled: bool) -> result<_, pwm-error> */
static wasmtime_error_t *pwm_set(void *data, wasmtime_context_t *context,
                                 const wasmtime_component_func_type_t *type,
                                 wasmtime_component_val_t *args, size_t arg_count,
                                 wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 4 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_U32 || args[2].kind != WASMTIME_COMPONENT_U32 ||
            args[3].kind != WASMTIME_COMPONENT_BOOL || result_count != 1)
                return wasmtime_error_new("pwm.set: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        unsigned channel = args[0].of.u32;
        if (!sandbox_pwm_is_granted(abi->sandbox->grants, channel) || channel > UINT16_MAX) {
                abi->sandbox->denied_calls++;
                abi_set_err_enum(&results[0], "not-permitted");
                return NULL;
        }
        struct hw_pwm_state state = {.period_ns = args[1].of.u32,
                                     .duty_ns = args[2].of.u32,
                                     .is_enabled = args[3].of.boolean};
        if (hw_pwm_check(&state, NULL) < 0) {
                abi_set_err_enum(&results[0], "invalid");
                return NULL;
        }
        if (abi->is_trial) {
                abi_set_ok(&results[0], NULL); /* held back: a trial touches nothing */
                return NULL;
        }
        remember(abi->sandbox, channel);
        int result = hw_pwm_set(abi->board, channel, &state, NULL);
        if (result == -ENOENT)
                abi_set_err_enum(&results[0], "no-such-channel");
        else if (result == -EINVAL)
                abi_set_err_enum(&results[0], "invalid");
        else if (result < 0)
                abi_set_err_enum(&results[0], "io");
        else
                abi_set_ok(&results[0], NULL);
        return NULL;
}

wasmtime_error_t *abi_pwm_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"set", pwm_set}};
        return abi_define_interface(linker, WIT_PWM, functions, 1);
}
