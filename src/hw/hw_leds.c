#include "hw/hw_leds.h"

#include <stddef.h>

static void set_pair(enum hw_led_color color, bool *ret_red, bool *ret_green) {
        *ret_red = color == HW_LED_RED || color == HW_LED_YELLOW;
        *ret_green = color == HW_LED_GREEN || color == HW_LED_YELLOW;
}

void hw_leds_lines_for_colors(enum hw_led_color first, enum hw_led_color second,
                              bool ret_is_on[CONFIG_LED_LINES]) {
        set_pair(first, &ret_is_on[CONFIG_LED_FIRST_RED], &ret_is_on[CONFIG_LED_FIRST_GREEN]);
        set_pair(second, &ret_is_on[CONFIG_LED_SECOND_RED], &ret_is_on[CONFIG_LED_SECOND_GREEN]);
}

int hw_leds_set(struct hw_led_lines *lines, const bool is_on[CONFIG_LED_LINES]) {
        return lines->ops->set(lines, is_on);
}

void hw_leds_free(struct hw_led_lines *lines) {
        if (lines != NULL)
                lines->ops->destroy(lines);
}
