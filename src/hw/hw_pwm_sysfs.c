/* hw_pwm_sysfs.c - PWM through the kernel's sysfs interface
 * (Documentation/driver-api/pwm.rst): see hw_pwm.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hw/hw_pwm.h"
#include "hw/hw_sysfs.h"

static int join(char *out, size_t size, const char *root, unsigned chip, const char *leaf) {
        int length = snprintf(out, size, "%s/class/pwm/pwmchip%u/%s", root, chip, leaf);
        return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
}

static int channel_path(char *out, size_t size, const char *root, unsigned chip, unsigned channel,
                        const char *leaf) {
        char name[64];
        snprintf(name, sizeof(name), "pwm%u%s%s", channel, leaf[0] != '\0' ? "/" : "", leaf);
        return join(out, size, root, chip, name);
}

static int read_number(const char *path, uint64_t *ret_value, struct ph_error *error) {
        char text[32];
        ssize_t length = hw_sysfs_read(NULL, path, text, sizeof(text));
        if (length < 0)
                return ph_error_set(error, (int)length, "pwm: %s: %s", path,
                                    strerror((int)-length));
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno != 0 || end == text || text[0] == '-' || (*end != '\n' && *end != '\0'))
                return ph_error_set(error, -EBADMSG, "pwm: %s: '%.*s' is not a number", path,
                                    (int)strcspn(text, "\n"), text);
        *ret_value = value;
        return 0;
}

static int write_number(const char *path, uint64_t value, struct ph_error *error) {
        char text[32];
        snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
        int result = hw_sysfs_write(path, text);
        if (result < 0)
                return ph_error_set(error, result, "pwm: writing %s to %s: %s", text, path,
                                    strerror(-result));
        return 0;
}

/* Makes pwmN appear: writes N to export when the directory is missing. */
static int export_channel(const char *root, unsigned chip, unsigned channel,
                          struct ph_error *error) {
        char directory[PATH_MAX], export_path[PATH_MAX];
        if (channel_path(directory, sizeof(directory), root, chip, channel, "") < 0 ||
            join(export_path, sizeof(export_path), root, chip, "export") < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        struct stat info;
        if (stat(directory, &info) == 0)
                return 0;
        int result = write_number(export_path, channel, error);
        if (result < 0) {
                if (result == -ENOENT)
                        return ph_error_set(error, -ENOENT,
                                            "pwm: %s: no such chip (is dtoverlay=pwm or pwm-2chan "
                                            "set?)",
                                            export_path);
                return result;
        }
        if (stat(directory, &info) < 0)
                return ph_error_set(error, -ENOENT, "pwm: %s did not appear after export",
                                    directory);
        return 0;
}

int hw_pwm_sysfs_set(const char *root, unsigned chip, unsigned channel,
                     const struct hw_pwm_state *state, struct ph_error *error) {
        int result = export_channel(root, chip, channel, error);
        if (result < 0)
                return result;
        char period_path[PATH_MAX], duty_path[PATH_MAX], enable_path[PATH_MAX];
        if (channel_path(period_path, sizeof(period_path), root, chip, channel, "period") < 0 ||
            channel_path(duty_path, sizeof(duty_path), root, chip, channel, "duty_cycle") < 0 ||
            channel_path(enable_path, sizeof(enable_path), root, chip, channel, "enable") < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        /* The kernel refuses a duty cycle above the period at every step:
         * shrink the duty first when the new period is below the old
         * duty, else set the period first. */
        uint64_t old_duty = 0;
        result = read_number(duty_path, &old_duty, error);
        if (result < 0)
                return result;
        if (state->period_ns < old_duty) {
                result = write_number(duty_path, state->duty_ns, error);
                if (result == 0)
                        result = write_number(period_path, state->period_ns, error);
        } else {
                result = write_number(period_path, state->period_ns, error);
                if (result == 0)
                        result = write_number(duty_path, state->duty_ns, error);
        }
        if (result == 0)
                result = write_number(enable_path, state->is_enabled ? 1 : 0, error);
        return result;
}

int hw_pwm_sysfs_get(const char *root, unsigned chip, unsigned channel,
                     struct hw_pwm_state *ret_state, struct ph_error *error) {
        char period_path[PATH_MAX], duty_path[PATH_MAX], enable_path[PATH_MAX];
        if (channel_path(period_path, sizeof(period_path), root, chip, channel, "period") < 0 ||
            channel_path(duty_path, sizeof(duty_path), root, chip, channel, "duty_cycle") < 0 ||
            channel_path(enable_path, sizeof(enable_path), root, chip, channel, "enable") < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");
        uint64_t period = 0, duty = 0, enable = 0;
        int result = read_number(period_path, &period, error);
        if (result == 0)
                result = read_number(duty_path, &duty, error);
        if (result == 0)
                result = read_number(enable_path, &enable, error);
        if (result < 0)
                return result;
        if (period > UINT32_MAX || duty > UINT32_MAX)
                return ph_error_set(error, -ERANGE, "pwm: %s: period or duty above 32 bits",
                                    period_path);
        *ret_state = (struct hw_pwm_state){.period_ns = (uint32_t)period,
                                           .duty_ns = (uint32_t)duty,
                                           .is_enabled = enable != 0};
        return 0;
}
