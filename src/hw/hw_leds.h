/* hw_leds.h - the four LED lines of the two bi-colour status LEDs.
 *
 * Each status LED is a red and a green LED in one package: green lights
 * the green line, red the red line, yellow both, off neither. A driver
 * (hw_gpiod.c: libgpiod; hw_ledclass.c: the kernel LED class) owns its
 * lines from creation to destruction, starts them off and turns them off
 * again when destroyed. Lines are indexed by enum config_led_line.
 *
 * Threads: a driver is not thread-safe; its owner (hw_linux.c) serialises
 * every call with its LED lock. */
#ifndef PH_HW_LEDS_H
#define PH_HW_LEDS_H

#include <stdbool.h>

#include "core/config.h"
#include "core/error.h"
#include "hw/hw.h"

struct hw_led_lines;

struct hw_led_lines_ops {
        const char *name;
        /* Drives line i on when is_on[i]; 0 or -errno. */
        int (*set)(struct hw_led_lines *lines, const bool is_on[CONFIG_LED_LINES]);
        /* Turns every line off (best effort) and releases them. */
        void (*destroy)(struct hw_led_lines *lines);
};

struct hw_led_lines {
        const struct hw_led_lines_ops *ops;
};

/* Which of the four lines are on for these two colours. */
void hw_leds_lines_for_colors(enum hw_led_color first, enum hw_led_color second,
                              bool ret_is_on[CONFIG_LED_LINES]);

/* Drivers. Each borrows `config` for the call only; the caller frees the
 * result with hw_leds_free. */
PH_MUST_USE struct hw_led_lines *hw_gpiod_leds_new(const struct linux_board_config *config,
                                                   struct ph_error *error);
PH_MUST_USE struct hw_led_lines *hw_ledclass_leds_new(const struct linux_board_config *config,
                                                      struct ph_error *error);

PH_MUST_USE int hw_leds_set(struct hw_led_lines *lines, const bool is_on[CONFIG_LED_LINES]);

/* Accepts NULL. */
void hw_leds_free(struct hw_led_lines *lines);

#endif
