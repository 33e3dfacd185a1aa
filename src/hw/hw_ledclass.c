/* hw_ledclass.c - the LED lines as kernel LED-class devices:
 * <sysfs_root>/class/leds/<name>/brightness, 0 for off and the LED's
 * max_brightness for on. At creation each LED's trigger is set to "none",
 * so that no kernel trigger (heartbeat, mmc0, ...) fights over it. Not
 * thread-safe (see hw_leds.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw_leds.h"
#include "hw/hw_sysfs.h"

struct ledclass_leds {
        struct hw_led_lines lines; /* first: a struct hw_led_lines * is a struct ledclass_leds * */
        char brightness_paths[CONFIG_LED_LINES][PATH_MAX];
        unsigned long max_brightness[CONFIG_LED_LINES];
        size_t ready_count; /* lines set up so far; destroy turns these off */
};

static int write_brightness(const struct ledclass_leds *leds, size_t line, unsigned long value) {
        char text[24];
        snprintf(text, sizeof(text), "%lu\n", value);
        return hw_sysfs_write(leds->brightness_paths[line], text);
}

static int ledclass_set(struct hw_led_lines *lines, const bool is_on[CONFIG_LED_LINES]) {
        struct ledclass_leds *leds = (struct ledclass_leds *)lines;
        int first_error = 0;
        /* Every line is written even after a failure, so one broken LED
         * does not freeze the others. */
        for (size_t i = 0; i < CONFIG_LED_LINES; i++) {
                int result = write_brightness(leds, i, is_on[i] ? leds->max_brightness[i] : 0);
                if (result < 0 && first_error == 0)
                        first_error = result;
        }
        return first_error;
}

static void ledclass_destroy(struct hw_led_lines *lines) {
        struct ledclass_leds *leds = (struct ledclass_leds *)lines;
        for (size_t i = 0; i < leds->ready_count; i++)
                (void)write_brightness(leds, i, 0); /* best effort: going away anyway */
        free(leds);
}

static const struct hw_led_lines_ops ledclass_ops = {
        .name = "ledclass",
        .set = ledclass_set,
        .destroy = ledclass_destroy,
};

static int join(char *out, size_t size, const char *directory, const char *leaf) {
        int length = snprintf(out, size, "%s/%s", directory, leaf);
        return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
}

/* Sets up line `line`: reads max_brightness, sets the trigger to none and
 * turns the LED off. */
static int setup_line(struct ledclass_leds *leds, size_t line, const char *root, const char *name,
                      struct ph_error *error) {
        char directory[PATH_MAX], max_path[PATH_MAX], trigger_path[PATH_MAX], text[4096];
        int length = snprintf(directory, sizeof(directory), "%s/class/leds/%s", root, name);
        if (length < 0 || (size_t)length >= sizeof(directory) ||
            join(leds->brightness_paths[line], sizeof(leds->brightness_paths[line]), directory,
                 "brightness") < 0 ||
            join(max_path, sizeof(max_path), directory, "max_brightness") < 0 ||
            join(trigger_path, sizeof(trigger_path), directory, "trigger") < 0)
                return ph_error_set(error, -ENAMETOOLONG,
                                    "[board] led_class_names: '%s': path too long", name);

        ssize_t read_length = hw_sysfs_read(NULL, max_path, text, sizeof(text));
        if (read_length < 0)
                return ph_error_set(error, (int)read_length,
                                    "[board] led_class_names: '%s': %s: %s", name, max_path,
                                    strerror((int)-read_length));
        text[strcspn(text, "\n")] = '\0';
        char *end = NULL;
        errno = 0;
        unsigned long max = strtoul(text, &end, 10);
        if (errno != 0 || end == text || max == 0 || *end != '\0')
                return ph_error_set(error, -EINVAL,
                                    "[board] led_class_names: '%s': %s holds '%s', not a "
                                    "brightness",
                                    name, max_path, text);
        leds->max_brightness[line] = max;

        /* "none [heartbeat] timer": the bracketed trigger is the active one.
         * An LED without a trigger attribute is fine as it is. */
        read_length = hw_sysfs_read(NULL, trigger_path, text, sizeof(text));
        if (read_length >= 0 && strstr(text, "[none]") == NULL) {
                int result = hw_sysfs_write(trigger_path, "none\n");
                if (result < 0)
                        return ph_error_set(error, result,
                                            "[board] led_class_names: '%s': cannot set %s to "
                                            "none: %s",
                                            name, trigger_path, strerror(-result));
        }

        int result = write_brightness(leds, line, 0);
        if (result < 0)
                return ph_error_set(error, result, "[board] led_class_names: '%s': %s: %s", name,
                                    leds->brightness_paths[line], strerror(-result));
        leds->ready_count++;
        return 0;
}

struct hw_led_lines *hw_ledclass_leds_new(const struct linux_board_config *config,
                                          struct ph_error *error) {
        if (config->led_class_name_count != CONFIG_LED_LINES) {
                ph_error_set(error, -EINVAL, "[board] led_class_names: %d names needed",
                             CONFIG_LED_LINES);
                return NULL;
        }
        struct ledclass_leds *leds = calloc(1, sizeof(*leds));
        if (leds == NULL) {
                ph_error_set(error, -ENOMEM, "LED class: out of memory");
                return NULL;
        }
        leds->lines.ops = &ledclass_ops;
        for (size_t i = 0; i < CONFIG_LED_LINES; i++)
                if (setup_line(leds, i, config->sysfs_root, config->led_class_names[i], error) <
                    0) {
                        ledclass_destroy(&leds->lines);
                        return NULL;
                }
        return &leds->lines;
}
