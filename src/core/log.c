#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/escape.h"

#define LOG_LINE_MAX 2048

/* Read by every thread; SIGHUP may change it while they run: atomic. */
static _Atomic int minimum_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void log_set_level(enum log_level level) {
        minimum_level = level;
}

int log_level_parse(const char *text, enum log_level *ret_level) {
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcmp(text, level_names[i]) == 0) {
                        *ret_level = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *log_level_name(enum log_level level) {
        if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
                return "?";
        return level_names[level];
}

/* Formats "2026-11-25T08:40:01.123Z level tag: " into `line`; the tag is
 * escaped like the message (a plugin's name comes from a file name). */
static size_t format_prefix(char *line, size_t size, enum log_level level, const char *tag) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct tm utc;
        gmtime_r(&now.tv_sec, &utc);
        int written =
                snprintf(line, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-7s ",
                         utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                         utc.tm_sec, now.tv_nsec / 1000000L, log_level_name(level));
        if (written < 0)
                return 0;
        size_t length = (size_t)written < size ? (size_t)written : size - 1;
        /* The tag gets at most half the line; ": " always fits. */
        length += escape_text(line + length, (size - length) / 2, tag, strlen(tag), NULL);
        line[length++] = ':';
        line[length++] = ' ';
        return length;
}

/* Writes one log line: the prefix, then `text` escaped (cut to what fits,
 * never inside an escape or a UTF-8 sequence), then the newline. One write
 * per line keeps lines from different threads whole. */
static void write_line(enum log_level level, const char *tag, const char *text, size_t size) {
        char line[LOG_LINE_MAX];
        size_t length = format_prefix(line, sizeof(line) - 1, level, tag);
        length += escape_text(line + length, sizeof(line) - 1 - length, text, size, NULL);
        line[length++] = '\n';
        /* A failed write to stderr has nowhere to be reported. */
        ssize_t ignored = write(STDERR_FILENO, line, length);
        (void)ignored;
}

void log_write(enum log_level level, const char *tag, const char *format, ...) {
        if ((int)level < atomic_load(&minimum_level))
                return;
        /* The whole formatted message is escaped, not only the arguments:
         * the host's own messages are single lines of plain text, so no call
         * site has to know which of its arguments came from outside. The
         * escaped form is never shorter, so a message cut here is cut again,
         * before the cut, when the line fills. */
        char message[LOG_LINE_MAX];
        va_list args;
        va_start(args, format);
        int written = vsnprintf(message, sizeof(message), format, args);
        va_end(args);
        if (written < 0)
                written = 0;
        size_t size = (size_t)written < sizeof(message) ? (size_t)written : sizeof(message) - 1;
        write_line(level, tag, message, size);
}

void log_write_text(enum log_level level, const char *tag, const char *text, size_t size) {
        if ((int)level < atomic_load(&minimum_level))
                return;
        size_t start = 0;
        while (start < size) {
                const char *newline = memchr(text + start, '\n', size - start);
                size_t end = newline != NULL ? (size_t)(newline - text) : size;
                write_line(level, tag, text + start, end - start);
                start = end + 1;
        }
}
