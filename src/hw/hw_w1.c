/* hw_w1.c - DS18B20s through the kernel's w1_therm sysfs: see hw_w1.h.
 *
 * w1_slave holds two lines, the scratchpad with the driver's CRC verdict
 * and the scratchpad with the temperature in milli-degrees:
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw_w1.h"
#include "hw/hw_sysfs.h"

int hw_w1_read_celsius_sysfs(const char *root, const char *id, double *ret_celsius,
                             struct ph_error *error) {
        if (!hw_w1_id_is_valid(id))
                return ph_error_set(error, -EINVAL,
                                    "w1: '%s' is not a w1 id (like 28-0000075a1b2c)", id);
        char path[PATH_MAX];
        int length = snprintf(path, sizeof(path), "%s/bus/w1/devices/%s/w1_slave", root, id);
        if (length < 0 || (size_t)length >= sizeof(path))
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        char text[256];
        ssize_t read_length = hw_sysfs_read(NULL, path, text, sizeof(text));
        if (read_length < 0)
                return ph_error_set(
                        error, (int)read_length, "w1: %s: %s%s", path, strerror((int)-read_length),
                        read_length == -ENOENT ? " (is dtoverlay=w1-gpio set and the sensor wired?)"
                                               : "");
        const char *newline = strchr(text, '\n');
        const char *crc = strstr(text, "crc=");
        const char *temperature = newline != NULL ? strstr(newline, "t=") : NULL;
        if (newline == NULL || crc == NULL || crc > newline || temperature == NULL)
                return ph_error_set(error, -EBADMSG, "w1: %s: not a w1_therm reading", path);
        /* "crc=57 YES": the verdict follows the CRC byte. */
        const char *verdict = crc + strcspn(crc, " ");
        while (*verdict == ' ')
                verdict++;
        if (strncmp(verdict, "YES", 3) != 0)
                return ph_error_set(error, -EIO,
                                    "w1: %s: CRC check failed (%.*s): a bad contact or "
                                    "a long wire",
                                    path, (int)(newline - crc), crc);
        char *end = NULL;
        errno = 0;
        long milli = strtol(temperature + 2, &end, 10);
        if (errno != 0 || end == temperature + 2 || (*end != '\n' && *end != '\0') ||
            milli < -55000 || milli > 125000)
                return ph_error_set(error, -EBADMSG, "w1: %s: temperature '%.*s' out of range",
                                    path, (int)strcspn(temperature, "\n"), temperature);
        /* 85 C with scratchpad 50 05 is the power-on value: the sensor
         * never converted (brown-out, parasite power without a strong
         * pull-up). */
        if (milli == 85000 && strncmp(text, "50 05", 5) == 0)
                return ph_error_set(error, -EAGAIN,
                                    "w1: %s: power-on value 85 C: no conversion ran", path);
        *ret_celsius = (double)milli / 1000.0;
        return 0;
}
