/* wasm_error.c - the one place where Wasmtime's errors become ours. */
#include <stdio.h>
#include <string.h>

#include "plugin/internal.h"

int wasm_error_take(wasmtime_error_t *wasm_error, int code, struct ph_error *error,
                    const char *context) {
        wasm_name_t message;
        wasmtime_error_message(wasm_error, &message);
        ph_error_set(error, code, "%s: %.*s", context, (int)message.size, message.data);
        wasm_byte_vec_delete(&message);
        wasmtime_error_delete(wasm_error);
        return code;
}

/* The last non-empty line after the last "Caused by:", trimmed; or the
 * first line when there is no such section. */
static void find_cause(const char *text, size_t length, char *cause, size_t cause_size) {
        const char *start = text;
        const char *end = memchr(text, '\n', length);
        if (end == NULL)
                end = text + length;
        const char *marker = NULL;
        for (const char *p = text; p + 10 <= text + length; p++)
                if (memcmp(p, "Caused by:", 10) == 0)
                        marker = p;
        if (marker != NULL) {
                const char *cursor = marker + 10;
                while (cursor < text + length) {
                        const char *line_end =
                                memchr(cursor, '\n', (size_t)(text + length - cursor));
                        if (line_end == NULL)
                                line_end = text + length;
                        const char *first = cursor;
                        while (first < line_end && (*first == ' ' || *first == '\t'))
                                first++;
                        /* Skip the "0: " numbering of multi-cause chains. */
                        const char *digits = first;
                        while (digits < line_end && *digits >= '0' && *digits <= '9')
                                digits++;
                        if (digits > first && digits + 1 < line_end && digits[0] == ':' &&
                            digits[1] == ' ')
                                first = digits + 2;
                        if (first < line_end) {
                                start = first;
                                end = line_end;
                        }
                        cursor = line_end + 1;
                }
        }
        snprintf(cause, cause_size, "%.*s", (int)(end - start), start);
}

void wasm_error_describe(wasmtime_error_t *wasm_error, char *cause, size_t cause_size, char *detail,
                         size_t detail_size) {
        wasm_name_t message;
        wasmtime_error_message(wasm_error, &message);
        find_cause(message.data, message.size, cause, cause_size);
        snprintf(detail, detail_size, "%.*s", (int)message.size, message.data);
        wasm_byte_vec_delete(&message);
        wasmtime_error_delete(wasm_error);
}
