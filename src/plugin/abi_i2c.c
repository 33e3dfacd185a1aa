/* abi_i2c.c - the 0.1.1 `i2c` interface: one transaction (optional write,
 * optional read, repeated start) on a granted bus and 7-bit address.
 *
 * Runs on the calling plugin's thread under its lock. The simulated bus
 * takes hw_sim.lock (a leaf) for the transaction; i2c-dev takes its lock
 * only to open a bus, and its ioctl (the I/O, a few hundred microseconds
 * at 100 kHz) is the known exception of src/core/locks.h, as a DHT22 read
 * is; the time is given back to the plugin's CPU budget. Errors are
 * values; refusals (not granted, over i2c_max_per_s) are counted. */
#include <time.h>

#include "plugin/abi.h"

static const char *i2c_error_name(int code) {
        switch (hw_i2c_status_of(code)) {
        case HW_I2C_NACK:
                return "nack";
        case HW_I2C_TIMEOUT:
                return "timeout";
        case HW_I2C_INVALID:
                return "invalid";
        case HW_I2C_OK:
        case HW_I2C_BUS_ERROR:
        case HW_I2C_NO_SUCH_BUS:
        default:
                return "bus-error";
        }
}

/* transact: func(bus: u32, address: u8, write: list<u8>, read-length: u32)
 *     -> result<list<u8>, i2c-error> */
static wasmtime_error_t *transact(void *data, wasmtime_context_t *context,
                                  const wasmtime_component_func_type_t *type,
                                  wasmtime_component_val_t *args, size_t arg_count,
                                  wasmtime_component_val_t *results, size_t result_count) {
        (void)data;
        (void)type;
        if (arg_count != 4 || args[0].kind != WASMTIME_COMPONENT_U32 ||
            args[1].kind != WASMTIME_COMPONENT_U8 || args[2].kind != WASMTIME_COMPONENT_LIST ||
            args[3].kind != WASMTIME_COMPONENT_U32 || result_count != 1)
                return wasmtime_error_new("i2c.transact: called with the wrong signature");
        struct abi_context *abi = abi_context_of(context);
        struct sandbox_state *sandbox = abi->sandbox;
        const char *refusal = NULL;
        if (!sandbox_i2c_is_granted(sandbox->grants, args[0].of.u32, args[1].of.u8))
                refusal = "not-permitted";
        else if (!sandbox_rate_take(&sandbox->hw.i2c, sandbox->grants->i2c_max_per_s))
                refusal = "rate-limited";
        if (refusal != NULL) {
                sandbox->denied_calls++;
                abi_set_err_enum(&results[0], refusal);
                return NULL;
        }
        size_t write_length = args[2].of.list.size;
        uint32_t read_length = args[3].of.u32;
        if (write_length > HW_I2C_MAX_LENGTH || read_length > HW_I2C_MAX_LENGTH ||
            (write_length == 0 && read_length == 0)) {
                abi_set_err_enum(&results[0], "invalid");
                return NULL;
        }
        uint8_t written[HW_I2C_MAX_LENGTH];
        uint8_t read[HW_I2C_MAX_LENGTH];
        for (size_t i = 0; i < write_length; i++) {
                if (args[2].of.list.data[i].kind != WASMTIME_COMPONENT_U8)
                        return wasmtime_error_new("i2c.transact: write is not a list<u8>");
                written[i] = args[2].of.list.data[i].of.u8;
        }
        struct hw_i2c_transaction transaction = {
                .bus = args[0].of.u32,
                .address = args[1].of.u8,
                .write = written,
                .write_length = write_length,
                .read = read,
                .read_length = read_length,
        };
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        int result = hw_i2c_transact(abi->board, &transaction, NULL);
        abi_give_back_time(context, abi, &started);
        if (result < 0) {
                abi_set_err_enum(&results[0], i2c_error_name(result));
                return NULL;
        }
        wasmtime_component_val_t bytes = {.kind = WASMTIME_COMPONENT_LIST};
        wasmtime_component_vallist_new_uninit(&bytes.of.list, read_length);
        for (size_t i = 0; i < read_length; i++) {
                bytes.of.list.data[i].kind = WASMTIME_COMPONENT_U8;
                bytes.of.list.data[i].of.u8 = read[i];
        }
        abi_set_ok(&results[0], &bytes);
        return NULL;
}

wasmtime_error_t *abi_i2c_define(wasmtime_component_linker_t *linker) {
        static const struct abi_function functions[] = {{"transact", transact}};
        return abi_define_interface(linker, WIT_I2C, functions, 1);
}
