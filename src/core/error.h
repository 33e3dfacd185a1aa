/* error.h - the error value that crosses module boundaries.
 *
 * A function that can fail returns a negative errno-style int (or NULL) and,
 * when the caller passed a non-NULL `struct ph_error *`, fills it with a
 * message naming the file, field or plugin and the reason. Nothing here
 * logs: the caller that decides what to do logs once.
 * Thread-safe: a struct ph_error belongs to the caller that owns it. */
#ifndef PH_ERROR_H
#define PH_ERROR_H

#include <stddef.h>

#define PH_ERROR_MESSAGE_MAX 1024

/* Marks a function whose result says whether it failed: ignoring it is a
 * compile error under -Werror. */
#define PH_MUST_USE __attribute__((warn_unused_result))

struct ph_error {
        int code; /* negative errno-style code, 0 when unset */
        char message[PH_ERROR_MESSAGE_MAX];
};

/* Records `code` and a printf-style message in `error` (which may be NULL)
 * and returns `code`, so that callers can write
 * `return ph_error_set(error, -EINVAL, "...")`. */
int ph_error_set(struct ph_error *error, int code, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an error already set, for errors that gain
 * meaning on the way up ("plugins/a.wasm: " + "not a component"). */
void ph_error_prefix(struct ph_error *error, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

void ph_error_clear(struct ph_error *error);

#endif
