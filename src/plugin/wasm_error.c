/* wasm_error.c - the one place where Wasmtime's errors become ours. */
#include <stdio.h>
#include <string.h>

#include "plugin/internal.h"

/* Appends the guest's wasm backtrace (function names where the component
 * has them) so a trap says where it happened. */
static void append_backtrace(const wasmtime_error_t *wasm_error, char *text, size_t size) {
        wasm_frame_vec_t frames;
        wasmtime_error_wasm_trace(wasm_error, &frames);
        size_t length = strlen(text);
        for (size_t i = 0; i < frames.size && i < 32 && length + 1 < size; i++) {
                const wasm_frame_t *frame = frames.data[i];
                const wasm_name_t *name = wasmtime_frame_func_name(frame);
                int written = snprintf(text + length, size - length, "\n  #%zu %.*s", i,
                                       name != NULL ? (int)name->size : 6,
                                       name != NULL ? name->data : "<anon>");
                if (written < 0)
                        break;
                length += (size_t)written;
                if (length >= size)
                        length = size - 1;
        }
        wasm_frame_vec_delete(&frames);
}

int wasm_error_take(wasmtime_error_t *wasm_error, int code, struct ph_error *error,
                    const char *context) {
        wasm_name_t message;
        wasmtime_error_message(wasm_error, &message);
        char text[PH_ERROR_MESSAGE_MAX];
        snprintf(text, sizeof(text), "%.*s", (int)message.size, message.data);
        wasm_byte_vec_delete(&message);
        append_backtrace(wasm_error, text, sizeof(text));
        wasmtime_error_delete(wasm_error);
        return ph_error_set(error, code, "%s: %s", context, text);
}
