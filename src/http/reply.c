#include "http/reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char json_content_type[] = "application/json";
static const char out_of_memory[] = "{\"error\":{\"status\":500,\"message\":\"out of memory\"}}";

void http_reply_clear(struct http_reply *reply) {
        if (!reply->is_static)
                free(reply->body);
        reply->body = NULL;
        reply->size = 0;
        reply->is_static = false;
}

void http_reply_static(struct http_reply *reply, unsigned status, const char *content_type,
                       const void *body, size_t size) {
        http_reply_clear(reply);
        reply->status = status;
        reply->content_type = content_type;
        reply->body = (char *)(uintptr_t)body; /* never written nor freed: is_static */
        reply->size = size;
        reply->is_static = true;
}

int http_reply_take(struct http_reply *reply, unsigned status, const char *content_type, char *body,
                    size_t size) {
        if (body == NULL) {
                http_reply_static(reply, 500, json_content_type, out_of_memory,
                                  strlen(out_of_memory));
                return -ENOMEM;
        }
        http_reply_clear(reply);
        reply->status = status;
        reply->content_type = content_type;
        reply->body = body;
        reply->size = size;
        return 0;
}

int http_reply_json(struct http_reply *reply, unsigned status, json_t *json) {
        char *text = json != NULL ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(json);
        return http_reply_take(reply, status, json_content_type, text,
                               text != NULL ? strlen(text) : 0);
}

int http_reply_error(struct http_reply *reply, unsigned status, const char *format, ...) {
        char message[512];
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(message, sizeof(message), format, arguments);
        va_end(arguments);
        /* The message may quote a request's bytes: keep it printable ASCII,
         * which is always valid JSON text. */
        for (char *c = message; *c != '\0'; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                        *c = '?';
        json_t *json =
                json_pack("{s:{s:i, s:s}}", "error", "status", (int)status, "message", message);
        int result = http_reply_json(reply, status, json);
        (void)result; /* an out-of-memory reply is set either way */
        return status >= 400 ? -(int)status : 0;
}

json_t *http_json_text(const char *text) {
        if (text == NULL)
                text = "";
        json_t *json = json_string(text);
        if (json != NULL)
                return json;
        size_t length = strlen(text);
        char *copy = malloc(length + 1);
        if (copy == NULL)
                return NULL;
        for (size_t i = 0; i <= length; i++)
                copy[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
        json = json_string(copy);
        free(copy);
        return json;
}
