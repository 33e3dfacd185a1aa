/* escape.h - makes text from outside the host (plugin messages, tracebacks,
 * sensor names, HTTP fields, broker replies) safe to print on one line of a
 * terminal, a log file or journald: nothing in it can end the line, move the
 * cursor, drive the terminal or reorder what is displayed.
 *
 * Escaped, everything else is kept as it is (so "°C", "µs" and CJK text
 * stay readable):
 *   \n \r \t          newline, carriage return, tab
 *   \\                a backslash: every backslash in the output starts an
 *                     escape, so the output reads back unambiguously
 *   \xHH              other C0 controls, DEL, and each byte that is not
 *                     part of valid UTF-8 (overlong forms, surrogates and
 *                     stray continuation bytes included)
 *   \uHHHH            C1 controls (U+0080-U+009F), the bidi controls
 *                     (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)
 *                     and the line/paragraph separators U+2028, U+2029
 *
 * Stateless, never allocates, callable from any thread. */
#ifndef PH_ESCAPE_H
#define PH_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The longest escape of one input character ("\u202e"). */
#define ESCAPE_MAX_EXPANSION 6

/* Writes the escaped form of `text` (`size` bytes, NULs allowed) into `out`,
 * at most `capacity` bytes, not NUL-terminated. Stops before the first
 * character whose escape or UTF-8 sequence does not fit whole, so a cut
 * never splits either. Returns the bytes written; `*ret_consumed` (NULL:
 * not wanted) gets how many bytes of `text` they stand for. */
size_t escape_text(char *out, size_t capacity, const char *text, size_t size, size_t *ret_consumed);

/* Writes the escaped form of `text` to `stream`, whole. Returns 0, or -EIO
 * when the stream fails. */
int escape_fwrite(FILE *stream, const char *text, size_t size);

/* Formats like printf, escapes the whole result with escape_text and writes
 * it to `stream` followed by one newline: for the command-line tools'
 * messages, which may carry text from outside. Returns 0 or -EIO. */
int escape_print_line(FILE *stream, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Writes `json` (`size` bytes of JSON as jansson makes it: valid UTF-8, C0
 * controls already escaped) to `stream` with DEL, C1, bidi controls and
 * U+2028/U+2029 written as JSON \u escapes instead of raw: the same JSON
 * value, harmless on a terminal or in journald. These characters appear only
 * inside JSON strings, where \u escapes are valid. A byte of invalid UTF-8
 * (never made by jansson) is written as \ufffd. Returns 0 or -EIO. */
int escape_json_fwrite(FILE *stream, const char *json, size_t size);

#endif
