/* hw_iio_channel.c - any IIO channel through sysfs: see hw_iio_channel.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw_iio_channel.h"
#include "hw/hw_sysfs.h"

const char *hw_iio_value_name(enum hw_iio_value value) {
        static const char *const names[] = {"raw", "scale", "offset", "input"};
        return (size_t)value < sizeof(names) / sizeof(names[0]) ? names[value] : "?";
}

static bool is_channel_name(const char *name) {
        size_t length = strlen(name);
        if (length == 0 || length > HW_IIO_CHANNEL_NAME_MAX)
                return false;
        for (size_t i = 0; i < length; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
        }
        return true;
}

static int attribute_path(char *out, size_t size, const char *root, unsigned device,
                          const char *channel, size_t channel_length, const char *kind) {
        int length = snprintf(out, size, "%s/bus/iio/devices/iio:device%u/in_%.*s_%s", root, device,
                              (int)channel_length, channel, kind);
        return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
}

/* Reads a decimal (IIO values are integers or fixed-point decimals like
 * "0.010000000"); 0 or -errno with `error` naming the file. */
static int read_decimal(const char *path, double *ret_value, struct ph_error *error) {
        char text[64];
        ssize_t length = hw_sysfs_read(NULL, path, text, sizeof(text));
        if (length < 0)
                return ph_error_set(error, (int)length, "iio: %s: %s", path,
                                    strerror((int)-length));
        char *end = NULL;
        errno = 0;
        double value = strtod(text, &end);
        while (*end == '\n' || *end == ' ')
                end++;
        if (errno != 0 || end == text || *end != '\0' || !isfinite(value))
                return ph_error_set(error, -EBADMSG, "iio: %s: '%.*s' is not a number", path,
                                    (int)strcspn(text, "\n"), text);
        *ret_value = value;
        return 0;
}

int hw_iio_channel_read_sysfs(const char *root, unsigned device, const char *channel,
                              enum hw_iio_value value, double *ret_value, struct ph_error *error) {
        if (!is_channel_name(channel))
                return ph_error_set(error, -EINVAL,
                                    "iio: '%s' is not a channel name (letters, digits, _)",
                                    channel);
        if ((unsigned)value > HW_IIO_INPUT)
                return ph_error_set(error, -EINVAL, "iio: value kind %d", (int)value);
        const char *kind = hw_iio_value_name(value);
        size_t channel_length = strlen(channel);
        char path[PATH_MAX];
        if (attribute_path(path, sizeof(path), root, device, channel, channel_length, kind) < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        struct ph_error first = {0};
        int result = read_decimal(path, ret_value, &first);
        if (result != -ENOENT || (value != HW_IIO_SCALE && value != HW_IIO_OFFSET)) {
                if (result < 0 && error != NULL)
                        *error = first;
                return result;
        }
        /* in_voltage0_scale missing: the type's shared in_voltage_scale. */
        size_t shared_length = channel_length;
        while (shared_length > 0 && channel[shared_length - 1] >= '0' &&
               channel[shared_length - 1] <= '9')
                shared_length--;
        if (shared_length == channel_length || shared_length == 0) {
                if (error != NULL)
                        *error = first;
                return result;
        }
        char shared[PATH_MAX];
        if (attribute_path(shared, sizeof(shared), root, device, channel, shared_length, kind) < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        result = read_decimal(shared, ret_value, error);
        if (result == -ENOENT)
                return ph_error_set(error, -ENOENT, "iio: neither %s nor %s exists", path, shared);
        return result;
}
