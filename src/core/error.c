#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ph_error_set(struct ph_error *error, int code, const char *format, ...) {
        if (error == NULL)
                return code;
        error->code = code;
        va_list args;
        va_start(args, format);
        vsnprintf(error->message, sizeof(error->message), format, args);
        va_end(args);
        return code;
}

void ph_error_prefix(struct ph_error *error, const char *format, ...) {
        if (error == NULL)
                return;
        char joined[2 * PH_ERROR_MESSAGE_MAX];
        va_list args;
        va_start(args, format);
        int length = vsnprintf(joined, PH_ERROR_MESSAGE_MAX, format, args);
        va_end(args);
        if (length < 0)
                return;
        size_t used = strlen(joined);
        memcpy(joined + used, ": ", 3);
        used += 2;
        size_t message_length = strnlen(error->message, PH_ERROR_MESSAGE_MAX - 1);
        memcpy(joined + used, error->message, message_length);
        used += message_length;
        if (used >= PH_ERROR_MESSAGE_MAX)
                used = PH_ERROR_MESSAGE_MAX - 1; /* truncated: the start says most */
        memcpy(error->message, joined, used);
        error->message[used] = '\0';
}

void ph_error_clear(struct ph_error *error) {
        if (error == NULL)
                return;
        error->code = 0;
        error->message[0] = '\0';
}
