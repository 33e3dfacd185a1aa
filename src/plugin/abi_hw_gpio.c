/* abi_hw_gpio.c - the 0.1.1 `gpio` interface: claim, read and write the
 * GPIO lines a plugin is granted (gpio_inputs, gpio_outputs).
 *
 * Runs on the calling plugin's thread under its lock; the board's GPIO
 * lock (hw_sim_gpio.lock or hw_linux.devices_lock) is a leaf taken inside,
 * as today's read-dht22 takes the board's. Claimed lines live in the
 * plugin's sandbox, shared by its successive instances, until the plugin
 * crashes or goes away (sandbox_hw_safe: outputs to their safe state, then
 * released). A trial instance touches nothing: its claims and writes are
 * held back and its reads see inactive. Refusals are values, counted. */
#include <errno.h>

#include "plugin/abi.h"

static const char *gpio_error_name(int code) {
        switch (code) {
        case -EBUSY:
                return "busy";
        case -ENOENT:
                return "no-such-line";
        case -EINVAL:
        case -EPERM:
                return "invalid";
        default:
                return "io";
        }
}

static bool bool_field(const wasmtime_component_val_t *record, const char *name, bool *ret) {
        for (size_t i = 0; i < record->of.record.size; i++) {
                const wasmtime_component_valrecord_entry_t *entry = &record->of.record.data[i];
                if (entry->name.size == strlen(name) &&
                    memcmp(entry->name.data, name, entry->name.size) == 0 &&
                    entry->val.kind == WASMTIME_COMPONENT_BOOL) {
                        *ret = entry->val.of.boolean;
                        return true;
                }
        }
        return false;
}

static const wasmtime_component_val_t *field(const wasmtime_component_val_t *record,
                                             const char *name) {
        for (size_t i = 0; i < record->of.record.size; i++) {
                const wasmtime_component_valrecord_entry_t *entry = &record->of.record.data[i];
                if (entry->name.size == strlen(name) &&
                    memcmp(entry->name.data, name, entry->name.size) == 0)
                        return &entry->val;
        }
        return NULL;
}

/* Claims (or claims again with new options) `offset` into the sandbox. */
static const char *claim(struct abi_context *abi, unsigned offset,
                         const struct hw_gpio_request *request) {
        struct sandbox_state *sandbox = abi->sandbox;
        if (!sandbox_line_is_granted(sandbox->grants, offset,
                                     request->direction == HW_GPIO_OUTPUT)) {
                sandbox->denied_calls++;
                return "not-permitted";
        }
        if (abi->is_trial)
                return NULL; /* held back: a trial touches nothing */
        size_t slot = SANDBOX_MAX_LINES;
        for (size_t i = 0; i < SANDBOX_MAX_LINES; i++) {
                struct hw_gpio_line *line = sandbox->hw.lines[i];
                if (line != NULL && line->offset == offset) {
                        /* Its own line: the same output is driven to the
                         * new initial value without a release (no glitch
                         * when a restarted instance claims it again). */
                        if (line->request.direction == HW_GPIO_OUTPUT &&
                            request->direction == HW_GPIO_OUTPUT &&
                            line->request.is_active_low == request->is_active_low)
                                return hw_gpio_write(line, request->is_initially_active) < 0 ? "io"
                                                                                             : NULL;
                        hw_gpio_release(line);
                        sandbox->hw.lines[i] = NULL;
                }
                if (sandbox->hw.lines[i] == NULL && slot == SANDBOX_MAX_LINES)
                        slot = i;
        }
        if (slot == SANDBOX_MAX_LINES)
                return "busy";
        struct ph_error error = {0};
        int result = hw_gpio_claim(abi->board, offset, request, &sandbox->hw.lines[slot], &error);
        if (result < 0) {
                sandbox->hw.lines[slot] = NULL;
                return gpio_error_name(result);
        }
        return NULL;
}

static void finish(wasmtime_component_val_t *result, const char *error_name) {
        if (error_name != NULL)
                abi_set_err_enum(result, error_name);
        else
                abi_set_ok(result, NULL);
}

/* claim-input: func(line: u32, options: input-options) -> result<_, gpio-error> */
static wasmtime_error_t *claim_input(void *data, wasmtime_context_t *context,
                                     const wasmtime_component_func_type_t *type,
                                     wasmtime_component_val_t *args, size_t arg_count,
                                     wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        static const char *const biases[] = {"as-is", "disable", "pull-up", "pull-down"};
        if (arg_count != 2 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_RECORD || result_count != 1)
                return wasmtime_error_new("gpio.claim-input: called with the wrong signature");
        const wasmtime_component_val_t *bias = field(&args[1], "bias");
        const wasmtime_component_val_t *debounce = field(&args[1], "debounce-us");
        struct hw_gpio_request request = {.direction = HW_GPIO_INPUT, .edges = HW_GPIO_EDGES_NONE};
        int bias_index = bias != NULL ? abi_enum_index(bias, biases, 4) : -1;
        if (bias_index < 0 || debounce == NULL || debounce->kind != WASMTIME_COMPONENT_U32 ||
            !bool_field(&args[1], "active-low", &request.is_active_low))
                return wasmtime_error_new("gpio.claim-input: malformed input-options");
        request.bias = (enum hw_gpio_bias)bias_index;
        request.debounce_us = debounce->of.u32;
        const char *error_name = request.debounce_us > HW_GPIO_MAX_DEBOUNCE_US ? "invalid" : NULL;
        if (error_name == NULL)
                error_name = claim(abi_context_of(context), args[0].of.u32, &request);
        finish(&results[0], error_name);
        return NULL;
}

/* claim-output: func(line: u32, active-low: bool, initial: bool) -> result<_, gpio-error> */
static wasmtime_error_t *claim_output(void *data, wasmtime_context_t *context,
                                      const wasmtime_component_func_type_t *type,
                                      wasmtime_component_val_t *args, size_t arg_count,
                                      wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 3 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_BOOL || args[2].kind != WASMTIME_COMPONENT_BOOL ||
            result_count != 1)
                return wasmtime_error_new("gpio.claim-output: called with the wrong signature");
        struct hw_gpio_request request = {.direction = HW_GPIO_OUTPUT,
                                          .is_active_low = args[1].of.boolean,
                                          .is_initially_active = args[2].of.boolean};
        finish(&results[0], claim(abi_context_of(context), args[0].of.u32, &request));
        return NULL;
}

/* read: func(line: u32) -> result<bool, gpio-error> */
static wasmtime_error_t *gpio_read(void *data, wasmtime_context_t *context,
                                   const wasmtime_component_func_type_t *type,
                                   wasmtime_component_val_t *args, size_t arg_count,
                                   wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 1 || args[0].kind != WASMTIME_COMPONENT_U32 || result_count != 1)
                return wasmtime_error_new("gpio.read: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        unsigned offset = args[0].of.u32;
        if (!sandbox_line_is_granted(abi->sandbox->grants, offset, false) &&
            !sandbox_line_is_granted(abi->sandbox->grants, offset, true)) {
                abi->sandbox->denied_calls++;
                abi_set_err_enum(&results[0], "not-permitted");
                return NULL;
        }
        wasmtime_component_val_t value = {.kind = WASMTIME_COMPONENT_BOOL};
        value.of.boolean = false;
        if (!abi->is_trial) {
                struct hw_gpio_line *line = sandbox_line(abi->sandbox, offset);
                if (line == NULL) {
                        abi_set_err_enum(&results[0], "not-claimed");
                        return NULL;
                }
                int result = hw_gpio_read(line, &value.of.boolean);
                if (result < 0) {
                        abi_set_err_enum(&results[0], gpio_error_name(result));
                        return NULL;
                }
        }
        abi_set_ok(&results[0], &value);
        return NULL;
}

/* write: func(line: u32, active: bool) -> result<_, gpio-error> */
static wasmtime_error_t *gpio_write(void *data, wasmtime_context_t *context,
                                    const wasmtime_component_func_type_t *type,
                                    wasmtime_component_val_t *args, size_t arg_count,
                                    wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 2 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_BOOL || result_count != 1)
                return wasmtime_error_new("gpio.write: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        unsigned offset = args[0].of.u32;
        const char *error_name = NULL;
        if (!sandbox_line_is_granted(abi->sandbox->grants, offset, true)) {
                abi->sandbox->denied_calls++;
                error_name = "not-permitted";
        } else if (!abi->is_trial) {
                struct hw_gpio_line *line = sandbox_line(abi->sandbox, offset);
                int result = line != NULL ? hw_gpio_write(line, args[1].of.boolean) : 0;
                if (line == NULL)
                        error_name = "not-claimed";
                else if (result < 0)
                        error_name = gpio_error_name(result);
        }
        finish(&results[0], error_name);
        return NULL;
}

wasmtime_error_t *abi_hw_gpio_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {
                {"claim-input", claim_input},
                {"claim-output", claim_output},
                {"read", gpio_read},
                {"write", gpio_write},
        };
        return abi_define_interface(linker, WIT_GPIO, functions, 4);
}
