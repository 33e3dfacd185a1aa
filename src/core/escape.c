#include "core/escape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

static bool is_continuation(unsigned char c) {
        return (c & 0xc0) == 0x80;
}

/* Length of the valid UTF-8 sequence at `s` (`size` bytes left, size > 0),
 * with its code point in `*ret_code_point`; 0 when `s[0]` does not start
 * one (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t decode_utf8(const unsigned char *s, size_t size, uint32_t *ret_code_point) {
        unsigned char lead = s[0];
        size_t length;
        unsigned char second_min = 0x80, second_max = 0xbf;
        uint32_t code_point;
        if (lead < 0x80) {
                *ret_code_point = lead;
                return 1;
        } else if (lead >= 0xc2 && lead <= 0xdf) {
                length = 2;
                code_point = lead & 0x1fu;
        } else if (lead >= 0xe0 && lead <= 0xef) {
                length = 3;
                code_point = lead & 0x0fu;
                if (lead == 0xe0)
                        second_min = 0xa0; /* overlong */
                else if (lead == 0xed)
                        second_max = 0x9f; /* surrogates */
        } else if (lead >= 0xf0 && lead <= 0xf4) {
                length = 4;
                code_point = lead & 0x07u;
                if (lead == 0xf0)
                        second_min = 0x90; /* overlong */
                else if (lead == 0xf4)
                        second_max = 0x8f; /* past U+10FFFF */
        } else {
                return 0;
        }
        if (size < length || s[1] < second_min || s[1] > second_max)
                return 0;
        for (size_t i = 1; i < length; i++) {
                if (!is_continuation(s[i]))
                        return 0;
                code_point = (code_point << 6) | (s[i] & 0x3fu);
        }
        *ret_code_point = code_point;
        return length;
}

/* Code points above ASCII that a terminal or a log viewer acts on instead
 * of showing: C1 controls, bidi controls, line and paragraph separators. */
static bool is_hidden_control(uint32_t code_point) {
        return (code_point >= 0x80 && code_point <= 0x9f) || code_point == 0x061c ||
               code_point == 0x200e || code_point == 0x200f ||
               (code_point >= 0x2028 && code_point <= 0x202e) ||
               (code_point >= 0x2066 && code_point <= 0x2069);
}

/* Writes "\uHHHH" (6 bytes) into `out`. */
static void put_u_escape(char *out, uint32_t code_point) {
        out[0] = '\\';
        out[1] = 'u';
        for (int i = 0; i < 4; i++)
                out[2 + i] = hex_digits[(code_point >> (12 - 4 * i)) & 0xfu];
}

/* The escaped form of the character at `s`: its bytes go to `out` (room
 * for ESCAPE_MAX_EXPANSION, or the sequence itself when kept), their count
 * is returned, and `*ret_used` gets the input bytes it stands for. */
static size_t escape_one(const unsigned char *s, size_t size, char *out, size_t *ret_used) {
        uint32_t code_point = 0;
        size_t length = decode_utf8(s, size, &code_point);
        if (length == 0) {
                /* Not UTF-8: the byte itself, as \xHH. */
                *ret_used = 1;
                out[0] = '\\';
                out[1] = 'x';
                out[2] = hex_digits[s[0] >> 4];
                out[3] = hex_digits[s[0] & 0xf];
                return 4;
        }
        *ret_used = length;
        char named = 0;
        switch (code_point) {
        case '\\':
                named = '\\';
                break;
        case '\n':
                named = 'n';
                break;
        case '\r':
                named = 'r';
                break;
        case '\t':
                named = 't';
                break;
        default:
                break;
        }
        if (named != 0) {
                out[0] = '\\';
                out[1] = named;
                return 2;
        }
        if (code_point < 0x20 || code_point == 0x7f) {
                out[0] = '\\';
                out[1] = 'x';
                out[2] = hex_digits[code_point >> 4];
                out[3] = hex_digits[code_point & 0xf];
                return 4;
        }
        if (is_hidden_control(code_point)) {
                put_u_escape(out, code_point);
                return 6;
        }
        memcpy(out, s, length);
        return length;
}

size_t escape_text(char *out, size_t capacity, const char *text, size_t size,
                   size_t *ret_consumed) {
        const unsigned char *s = (const unsigned char *)text;
        size_t written = 0, consumed = 0;
        while (consumed < size) {
                char piece[ESCAPE_MAX_EXPANSION];
                size_t used = 0;
                size_t length = escape_one(s + consumed, size - consumed, piece, &used);
                if (length > capacity - written)
                        break;
                memcpy(out + written, piece, length);
                written += length;
                consumed += used;
        }
        if (ret_consumed != NULL)
                *ret_consumed = consumed;
        return written;
}

int escape_fwrite(FILE *stream, const char *text, size_t size) {
        char buffer[512];
        size_t done = 0;
        while (done < size) {
                size_t consumed = 0;
                size_t length =
                        escape_text(buffer, sizeof(buffer), text + done, size - done, &consumed);
                if (fwrite(buffer, 1, length, stream) != length)
                        return -EIO;
                done += consumed;
        }
        return 0;
}

int escape_print_line(FILE *stream, const char *format, ...) {
        char small[1024];
        char *text = small;
        va_list args;
        va_start(args, format);
        va_list again;
        va_copy(again, args);
        int length = vsnprintf(small, sizeof(small), format, args);
        va_end(args);
        if (length < 0) {
                va_end(again);
                return -EIO;
        }
        size_t size = (size_t)length;
        if (size >= sizeof(small)) {
                /* Longer than usual: format it whole rather than cut it. */
                char *large = malloc(size + 1);
                if (large != NULL) {
                        vsnprintf(large, size + 1, format, again);
                        text = large;
                } else {
                        size = sizeof(small) - 1;
                }
        }
        va_end(again);
        int result = escape_fwrite(stream, text, size);
        if (result == 0 && fputc('\n', stream) == EOF)
                result = -EIO;
        if (text != small)
                free(text);
        return result;
}

int escape_json_fwrite(FILE *stream, const char *json, size_t size) {
        const unsigned char *s = (const unsigned char *)json;
        size_t start = 0, i = 0;
        while (i < size) {
                uint32_t code_point = 0;
                size_t length = decode_utf8(s + i, size - i, &code_point);
                if (length != 0 && code_point != 0x7f && !is_hidden_control(code_point)) {
                        i += length;
                        continue;
                }
                /* Flush the plain run before it, then its \u escape. */
                char escape[ESCAPE_MAX_EXPANSION];
                put_u_escape(escape, length == 0 ? 0xfffd : code_point);
                if (fwrite(json + start, 1, i - start, stream) != i - start ||
                    fwrite(escape, 1, sizeof(escape), stream) != sizeof(escape))
                        return -EIO;
                i += length == 0 ? 1 : length;
                start = i;
        }
        if (fwrite(json + start, 1, size - start, stream) != size - start)
                return -EIO;
        return 0;
}
