/* hw.h - the board as a table of operations.
 *
 * A backend (hw_sim.c, the default; hw_linux.c: the kernel's IIO dht11
 * driver plus libgpiod or LED-class LEDs) fills a struct hw_board_ops; the
 * rest of the host only calls the hw_* functions below (and those of
 * hw_i2c.h, hw_gpio.h, hw_pwm.h, hw_iio_channel.h, hw_w1.h) and never
 * knows which backend runs. Every backend is thread-safe: plugins poll
 * from their own threads. */
#ifndef PH_HW_H
#define PH_HW_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "hw/hw_gpio.h"
#include "hw/hw_i2c.h"
#include "hw/hw_iio_channel.h"
#include "hw/hw_pwm.h"
#include "hw/hw_w1.h"

enum hw_led_color { HW_LED_OFF, HW_LED_GREEN, HW_LED_YELLOW, HW_LED_RED };

/* Outcome of a sensor read; mirrors the WIT `sensor-error` enum. */
enum hw_sensor_status {
        HW_SENSOR_OK,
        HW_SENSOR_TIMEOUT,
        HW_SENSOR_CHECKSUM,
        HW_SENSOR_NO_SUCH_PIN,
};

struct hw_dht22_reading {
        float temperature_celsius;
        float humidity_percent;
};

struct hw_board;

struct hw_board_ops {
        const char *name;
        enum hw_sensor_status (*read_dht22)(struct hw_board *board, uint8_t pin,
                                            struct hw_dht22_reading *ret_reading);
        int (*set_leds)(struct hw_board *board, enum hw_led_color first, enum hw_led_color second);
        void (*get_leds)(struct hw_board *board, enum hw_led_color *ret_first,
                         enum hw_led_color *ret_second);
        /* The capabilities of hw_i2c.h, hw_gpio.h, hw_pwm.h,
         * hw_iio_channel.h and hw_w1.h; NULL: -ENOTSUP. Arguments are
         * checked by the hw_* functions before these run. */
        int (*i2c_transact)(struct hw_board *board, const struct hw_i2c_transaction *transaction,
                            struct ph_error *error);
        int (*gpio_claim)(struct hw_board *board, unsigned offset,
                          const struct hw_gpio_request *request, struct hw_gpio_line **ret_line,
                          struct ph_error *error);
        int (*pwm_set)(struct hw_board *board, unsigned channel, const struct hw_pwm_state *state,
                       struct ph_error *error);
        int (*pwm_get)(struct hw_board *board, unsigned channel, struct hw_pwm_state *ret_state,
                       struct ph_error *error);
        int (*iio_read)(struct hw_board *board, unsigned device, const char *channel,
                        enum hw_iio_value value, double *ret_value, struct ph_error *error);
        int (*w1_read_celsius)(struct hw_board *board, const char *id, double *ret_celsius,
                               struct ph_error *error);
        void (*destroy)(struct hw_board *board);
};

struct hw_board {
        const struct hw_board_ops *ops;
};

/* Creates the backend that `config->backend` names. The caller frees the
 * board with hw_board_free. */
PH_MUST_USE struct hw_board *hw_board_new(const struct board_config *config,
                                          struct ph_error *error);

/* Accepts NULL. */
void hw_board_free(struct hw_board *board);

enum hw_sensor_status hw_read_dht22(struct hw_board *board, uint8_t pin,
                                    struct hw_dht22_reading *ret_reading);
PH_MUST_USE int hw_set_leds(struct hw_board *board, enum hw_led_color first,
                            enum hw_led_color second);
void hw_get_leds(struct hw_board *board, enum hw_led_color *ret_first,
                 enum hw_led_color *ret_second);

const char *hw_led_color_name(enum hw_led_color color);
const char *hw_sensor_status_name(enum hw_sensor_status status);

#endif
