/* reply.h - what a request handler answers, before it becomes an HTTP
 * response: a status, a body and the few headers that vary.
 *
 * Owns the body it holds (unless it is static). Thread-safe: a reply
 * belongs to the one worker thread serving its request. */
#ifndef PH_HTTP_REPLY_H
#define PH_HTTP_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct http_reply {
        unsigned status;
        char *body; /* owned, freed by http_reply_clear, unless is_static */
        size_t size;
        bool is_static;
        const char *content_type; /* static string */
        const char *allow;        /* for 405: the methods allowed */
        const char *etag;         /* static string, or NULL */
        bool is_cacheable;        /* static assets: revalidate with the ETag */
        bool wants_auth;          /* 401: ask for a bearer token */
};

/* Sets the reply to `json` serialised; takes ownership of `json` (NULL
 * means out of memory). Returns 0, or -ENOMEM after setting a 500 reply. */
PH_MUST_USE int http_reply_json(struct http_reply *reply, unsigned status, json_t *json);

/* Sets {"error": {"status": N, "message": "..."}}. Returns `status` as a
 * negative number when status >= 400, for `return http_reply_error(...)`. */
int http_reply_error(struct http_reply *reply, unsigned status, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Points the reply at static bytes (not copied, not freed). */
void http_reply_static(struct http_reply *reply, unsigned status, const char *content_type,
                       const void *body, size_t size);

/* Takes ownership of `body` (malloc'd; NULL means out of memory). */
PH_MUST_USE int http_reply_take(struct http_reply *reply, unsigned status, const char *content_type,
                                char *body, size_t size);

/* A JSON string of `text` (NULL: ""); bytes that would not make valid
 * UTF-8 (a message cut mid-character, say) become '?'. NULL when out of
 * memory. */
json_t *http_json_text(const char *text);

/* Frees the body; the reply can be reused. */
void http_reply_clear(struct http_reply *reply);

#endif
