/* abi_iio.c - the 0.1.1 `iio` interface: one value of a named channel of a
 * granted kernel IIO device (iio_devices), e.g. "temp" of a bmp280.
 *
 * Runs on the calling plugin's thread under its lock; each read opens,
 * reads and closes one sysfs file with no lock of the board's (a slow
 * driver's wait is the known I/O exception of src/core/locks.h and is
 * given back to the plugin's CPU budget). Refusals (not granted, over
 * iio_max_per_s) are values, counted. */
#include <errno.h>
#include <time.h>

#include "plugin/abi.h"

/* read: func(device: u32, channel: string, value: iio-value) -> result<f64, iio-error> */
static wasmtime_error_t *iio_read(void *data, wasmtime_context_t *context,
                                  const wasmtime_component_func_type_t *type,
                                  wasmtime_component_val_t *args, size_t arg_count,
                                  wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        static const char *const kinds[] = {"raw", "scale", "offset", "processed"};
        int kind = arg_count == 3 ? abi_enum_index(&args[2], kinds, 4) : -1;
        if (arg_count != 3 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_STRING || kind < 0 || result_count != 1)
                return wasmtime_error_new("iio.read: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        struct sandbox_state *sandbox = abi->sandbox;
        const char *refusal = NULL;
        if (!sandbox_iio_is_granted(sandbox->grants, args[0].of.u32))
                refusal = "not-permitted";
        else if (!sandbox_rate_take(&sandbox->hw.iio, sandbox->grants->iio_max_per_s))
                refusal = "rate-limited";
        if (refusal != NULL) {
                sandbox->denied_calls++;
                abi_set_err_enum(&results[0], refusal);
                return NULL;
        }
        char channel[HW_IIO_CHANNEL_NAME_MAX + 1];
        size_t length = args[1].of.string.size;
        if (length == 0 || length >= sizeof(channel) ||
            memchr(args[1].of.string.data, '\0', length) != NULL) {
                abi_set_err_enum(&results[0], "invalid");
                return NULL;
        }
        memcpy(channel, args[1].of.string.data, length);
        channel[length] = '\0';
        static const enum hw_iio_value values[] = {HW_IIO_RAW, HW_IIO_SCALE, HW_IIO_OFFSET,
                                                   HW_IIO_INPUT};
        wasmtime_component_val_t value = {.kind = WASMTIME_COMPONENT_F64};
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        int result = hw_iio_channel_read(abi->board, args[0].of.u32, channel, values[kind],
                                         &value.of.f64, NULL);
        abi_give_back_time(context, abi, &started);
        if (result == -ENOENT)
                abi_set_err_enum(&results[0], "no-such-channel");
        else if (result == -EINVAL)
                abi_set_err_enum(&results[0], "invalid");
        else if (result < 0)
                abi_set_err_enum(&results[0], "io");
        else
                abi_set_ok(&results[0], &value);
        return NULL;
}

wasmtime_error_t *abi_iio_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"read", iio_read}};
        return abi_define_interface(linker, WIT_IIO, functions, 1);
}
