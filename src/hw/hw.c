#include "hw/hw.h"

#include <errno.h>
#include <string.h>

void hw_board_free(struct hw_board *board) {
        if (board != NULL)
                board->ops->destroy(board);
}

enum hw_sensor_status hw_read_dht22(struct hw_board *board, uint8_t pin,
                                    struct hw_dht22_reading *ret_reading) {
        return board->ops->read_dht22(board, pin, ret_reading);
}

int hw_set_leds(struct hw_board *board, enum hw_led_color first, enum hw_led_color second) {
        return board->ops->set_leds(board, first, second);
}

void hw_get_leds(struct hw_board *board, enum hw_led_color *ret_first,
                 enum hw_led_color *ret_second) {
        board->ops->get_leds(board, ret_first, ret_second);
}

const char *hw_led_color_name(enum hw_led_color color) {
        return (size_t)color < CONFIG_LED_COLORS ? config_led_color_names[color] : "?";
}

const char *hw_sensor_status_name(enum hw_sensor_status status) {
        static const char *const names[] = {"ok", "timeout", "checksum", "no-such-pin"};
        return (size_t)status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}
