#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Formats "2026-11-25T08:40:01.123Z level tag: " into `line`. */
static size_t format_prefix(char *line, size_t size, enum log_level level, const char *tag) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct tm utc;
        gmtime_r(&now.tv_sec, &utc);
        int written = snprintf(line, size,
                               "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-7s %s: ", utc.tm_year + 1900,
                               utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                               now.tv_nsec / 1000000L, log_level_name(level), tag);
        if (written < 0)
                return 0;
        return (size_t)written < size ? (size_t)written : size - 1;
}

static void emit(char *line, size_t length) {
        line[length++] = '\n';
        /* One write per line keeps lines from different threads whole. A
         * failed write to stderr has nowhere to be reported. */
        ssize_t ignored = write(STDERR_FILENO, line, length);
        (void)ignored;
}

void log_write(enum log_level level, const char *tag, const char *format, ...) {
        if ((int)level < atomic_load(&minimum_level))
                return;
        char line[LOG_LINE_MAX];
        size_t length = format_prefix(line, sizeof(line) - 1, level, tag);
        va_list args;
        va_start(args, format);
        int written = vsnprintf(line + length, sizeof(line) - 1 - length, format, args);
        va_end(args);
        if (written > 0)
                length += (size_t)written < sizeof(line) - 1 - length ? (size_t)written
                                                                      : sizeof(line) - 2 - length;
        emit(line, length);
}

void log_write_text(enum log_level level, const char *tag, const char *text, size_t size) {
        if ((int)level < atomic_load(&minimum_level))
                return;
        size_t start = 0;
        while (start < size) {
                size_t end = start;
                while (end < size && text[end] != '\n')
                        end++;
                char line[LOG_LINE_MAX];
                size_t length = format_prefix(line, sizeof(line) - 1, level, tag);
                /* Leave room for an escape sequence and the newline. */
                for (size_t i = start; i < end && length + 5 < sizeof(line); i++) {
                        unsigned char c = (unsigned char)text[i];
                        if (c < 0x20 || c == 0x7f) {
                                static const char hex[] = "0123456789abcdef";
                                line[length++] = '\\';
                                line[length++] = 'x';
                                line[length++] = hex[c >> 4];
                                line[length++] = hex[c & 0xf];
                        } else {
                                line[length++] = (char)c;
                        }
                }
                emit(line, length);
                start = end + 1;
        }
}
