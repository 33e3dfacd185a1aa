/* abi_onewire.c - the 0.1.1 `onewire` interface: a DS18B20's temperature
 * by its granted w1 id (onewire_ids).
 *
 * Runs on the calling plugin's thread under its lock. On real hardware the
 * kernel's w1_therm read waits for the conversion, up to 750 ms; no board
 * lock is held for it, but the plugin's lock is (the known I/O exception
 * of src/core/locks.h: only the plugin's own thread, the reloader's swap
 * and status copies, which fall back to the last copy, wait on it). The
 * budget: the whole wait is given back to the call's CPU budget
 * (abi_give_back_time), as a DHT22's is, so a 100 ms budget is not spent
 * by a 750 ms conversion; onewire_max_per_s (default 2) bounds how much of
 * a poll interval a plugin can spend waiting. Refusals are values,
 * counted. */
#include <errno.h>
#include <time.h>

#include "plugin/abi.h"

/* read-celsius: func(id: string) -> result<f64, onewire-error> */
static wasmtime_error_t *read_celsius(void *data, wasmtime_context_t *context,
                                      const wasmtime_component_func_type_t *type,
                                      wasmtime_component_val_t *args, size_t arg_count,
                                      wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 1 || args[0].kind != WASMTIME_COMPONENT_STRING || result_count != 1)
                return wasmtime_error_new("onewire.read-celsius: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        struct sandbox_state *sandbox = abi->sandbox;
        char id[CONFIG_W1_ID_MAX];
        size_t length = args[0].of.string.size;
        bool is_id = length < sizeof(id) && memchr(args[0].of.string.data, '\0', length) == NULL;
        if (is_id) {
                memcpy(id, args[0].of.string.data, length);
                id[length] = '\0';
        }
        const char *refusal = NULL;
        if (!is_id || !sandbox_onewire_is_granted(sandbox->grants, id))
                refusal = "not-permitted";
        else if (!sandbox_rate_take(&sandbox->hw.onewire, sandbox->grants->onewire_max_per_s))
                refusal = "rate-limited";
        if (refusal != NULL) {
                sandbox->denied_calls++;
                abi_set_err_enum(&results[0], refusal);
                return NULL;
        }
        wasmtime_component_val_t value = {.kind = WASMTIME_COMPONENT_F64};
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        int result = hw_w1_read_celsius(abi->board, id, &value.of.f64, NULL);
        abi_give_back_time(context, abi, &started);
        if (result == -ENOENT || result == -EINVAL)
                abi_set_err_enum(&results[0], "no-such-sensor");
        else if (result == -EIO)
                abi_set_err_enum(&results[0], "crc");
        else if (result == -EAGAIN)
                abi_set_err_enum(&results[0], "not-ready");
        else if (result < 0)
                abi_set_err_enum(&results[0], "io");
        else
                abi_set_ok(&results[0], &value);
        return NULL;
}

wasmtime_error_t *abi_onewire_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"read-celsius", read_celsius}};
        return abi_define_interface(linker, WIT_ONEWIRE, functions, 1);
}
