/* hw_gpiod.c - the LED lines as GPIO lines through libgpiod (the v1.6 API
 * of Debian 12 and Raspberry Pi OS).
 *
 * Owns the open chip and the four lines, requested once as outputs (all
 * low, i.e. off) with the consumer name "pyhost" and held until destroy,
 * which drives them off and releases them. With led_active_low a line is
 * requested active-low, so "on" drives it low (common-anode LEDs). Not
 * thread-safe (see hw_leds.h). */
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw_leds.h"

#define CONSUMER "pyhost"

struct gpiod_leds {
        struct hw_led_lines lines; /* first: a struct hw_led_lines * is a struct gpiod_leds * */
        struct gpiod_chip *chip;   /* owned */
        struct gpiod_line_bulk bulk;
        bool is_requested;
};

static int gpiod_set(struct hw_led_lines *lines, const bool is_on[CONFIG_LED_LINES]) {
        struct gpiod_leds *leds = (struct gpiod_leds *)lines;
        int values[CONFIG_LED_LINES];
        for (size_t i = 0; i < CONFIG_LED_LINES; i++)
                values[i] = is_on[i] ? 1 : 0;
        /* One ioctl sets all four lines together. */
        if (gpiod_line_set_value_bulk(&leds->bulk, values) < 0)
                return errno != 0 ? -errno : -EIO;
        return 0;
}

static void gpiod_destroy(struct hw_led_lines *lines) {
        struct gpiod_leds *leds = (struct gpiod_leds *)lines;
        if (leds->is_requested) {
                const int off[CONFIG_LED_LINES] = {0};
                (void)gpiod_line_set_value_bulk(&leds->bulk, off); /* best effort */
                gpiod_line_release_bulk(&leds->bulk);
        }
        if (leds->chip != NULL)
                gpiod_chip_close(leds->chip);
        free(leds);
}

static const struct hw_led_lines_ops gpiod_ops = {
        .name = "gpiod",
        .set = gpiod_set,
        .destroy = gpiod_destroy,
};

/* After a refused request: names a line that someone else holds. */
static int explain_busy(struct gpiod_leds *leds, const struct linux_board_config *config, int code,
                        struct ph_error *error) {
        for (unsigned i = 0; i < leds->bulk.num_lines; i++) {
                struct gpiod_line *line = leds->bulk.lines[i];
                if (gpiod_line_update(line) == 0 && gpiod_line_is_used(line)) {
                        const char *consumer = gpiod_line_consumer(line);
                        return ph_error_set(error, code,
                                            "[board] led_lines: line %u of %s is in use by '%s'",
                                            gpiod_line_offset(line), config->gpio_chip,
                                            consumer != NULL ? consumer : "?");
                }
        }
        return ph_error_set(error, code, "[board] led_lines: cannot request lines of %s: %s",
                            config->gpio_chip, strerror(-code));
}

struct hw_led_lines *hw_gpiod_leds_new(const struct linux_board_config *config,
                                       struct ph_error *error) {
        if (config->led_line_count != CONFIG_LED_LINES) {
                ph_error_set(error, -EINVAL, "[board] led_lines: %d line offsets needed",
                             CONFIG_LED_LINES);
                return NULL;
        }
        struct gpiod_leds *leds = calloc(1, sizeof(*leds));
        if (leds == NULL) {
                ph_error_set(error, -ENOMEM, "gpiod: out of memory");
                return NULL;
        }
        leds->lines.ops = &gpiod_ops;

        errno = 0;
        leds->chip = gpiod_chip_open_lookup(config->gpio_chip);
        if (leds->chip == NULL) {
                int code = errno != 0 ? errno : ENODEV;
                ph_error_set(error, -code, "[board] gpio_chip: cannot open '%s': %s",
                             config->gpio_chip, strerror(code));
                goto fail;
        }
        unsigned line_count = gpiod_chip_num_lines(leds->chip);
        unsigned offsets[CONFIG_LED_LINES];
        for (size_t i = 0; i < CONFIG_LED_LINES; i++) {
                offsets[i] = config->led_lines[i];
                if (offsets[i] >= line_count) {
                        ph_error_set(error, -EINVAL,
                                     "[board] led_lines: %s has no line %u (it has %u lines)",
                                     config->gpio_chip, offsets[i], line_count);
                        goto fail;
                }
        }
        if (gpiod_chip_get_lines(leds->chip, offsets, CONFIG_LED_LINES, &leds->bulk) < 0) {
                int code = errno != 0 ? errno : EINVAL;
                ph_error_set(error, -code, "[board] led_lines: lines of %s: %s", config->gpio_chip,
                             strerror(code));
                goto fail;
        }
        const int off[CONFIG_LED_LINES] = {0};
        int flags = config->is_led_active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
        if (gpiod_line_request_bulk_output_flags(&leds->bulk, CONSUMER, flags, off) < 0) {
                int code = errno != 0 ? errno : EBUSY;
                explain_busy(leds, config, -code, error);
                goto fail;
        }
        leds->is_requested = true;
        return &leds->lines;
fail:
        gpiod_destroy(&leds->lines);
        return NULL;
}
