/* log.h - the host's log: one line per event on stderr, with time, level and
 * the tag of who speaks ("host", "board", or a plugin's name).
 *
 * Everything after the level (the tag and the whole formatted message) is
 * escaped with escape_text (core/escape.h): newlines, control characters,
 * bidi controls and invalid UTF-8 from a plugin, a request or a broker can
 * neither forge a line nor drive the terminal or journald, and no call site
 * has to escape its arguments. Host messages are therefore single lines;
 * multi-line text goes through log_write_text.
 *
 * Thread-safe: each line is written with one write(2) call, so lines from
 * concurrent threads never interleave. Never allocates. A line is cut at
 * 2 KiB, never inside an escape or a UTF-8 sequence. */
#ifndef PH_LOG_H
#define PH_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARNING, LOG_LEVEL_ERROR };

/* Lines below `level` are dropped. Default: info. Thread-safe (a
 * configuration reload changes it while threads log). */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warning" or "error"; returns -EINVAL otherwise. */
PH_MUST_USE int log_level_parse(const char *text, enum log_level *ret_level);

const char *log_level_name(enum log_level level);

void log_write(enum log_level level, const char *tag, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Writes `text` (length `size`, not NUL-terminated, possibly containing
 * newlines) as one log line per text line, each escaped and prefixed like
 * any other line: for multi-line output from a plugin (tracebacks, its
 * stdout, its `logging` calls). */
void log_write_text(enum log_level level, const char *tag, const char *text, size_t size);

#endif
