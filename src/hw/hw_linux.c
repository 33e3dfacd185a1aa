#include "hw/hw_linux.h"

#include <errno.h>
#include <gpiod.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/hw_leds.h"

struct linux_board {
        struct hw_board board; /* first, so a struct hw_board * is a struct linux_board * */
        struct hw_iio *iio;    /* owned; thread-safe on its own */
        pthread_mutex_t leds_lock;
        struct hw_led_lines *leds;        /* owned; NULL for led_driver = none; under leds_lock */
        enum hw_led_color colors[2];      /* shown now; under leds_lock */
        struct linux_board_config config; /* the roots, chips; immutable */
        struct hw_i2cdev *i2c;            /* owned; thread-safe on its own */
        pthread_mutex_t devices_lock;     /* guards chip; serialises PWM writes */
        struct gpiod_chip *chip;          /* owned; opened at the first claim */
};

static struct linux_board *linux_of(struct hw_board *board) {
        return (struct linux_board *)board;
}

static enum hw_sensor_status linux_read_dht22(struct hw_board *board, uint8_t pin,
                                              struct hw_dht22_reading *ret_reading) {
        return hw_iio_read_dht22(linux_of(board)->iio, pin, ret_reading);
}

static int linux_set_leds(struct hw_board *board, enum hw_led_color first,
                          enum hw_led_color second) {
        struct linux_board *linux_board = linux_of(board);
        if ((unsigned)first > HW_LED_RED || (unsigned)second > HW_LED_RED)
                return -EINVAL;
        pthread_mutex_lock(&linux_board->leds_lock);
        enum hw_led_color old_first = linux_board->colors[0], old_second = linux_board->colors[1];
        int result = 0;
        bool is_change = old_first != first || old_second != second;
        if (is_change && linux_board->leds != NULL) {
                bool is_on[CONFIG_LED_LINES];
                hw_leds_lines_for_colors(first, second, is_on);
                result = hw_leds_set(linux_board->leds, is_on);
        }
        /* After a failed write the lines may be half set: keep the old
         * colours, so the next call writes all of them again. */
        if (is_change && result == 0) {
                linux_board->colors[0] = first;
                linux_board->colors[1] = second;
        }
        pthread_mutex_unlock(&linux_board->leds_lock);
        if (is_change && result == 0)
                log_write(LOG_LEVEL_INFO, "board", "LEDs %s/%s -> %s/%s",
                          hw_led_color_name(old_first), hw_led_color_name(old_second),
                          hw_led_color_name(first), hw_led_color_name(second));
        return result;
}

static void linux_get_leds(struct hw_board *board, enum hw_led_color *ret_first,
                           enum hw_led_color *ret_second) {
        struct linux_board *linux_board = linux_of(board);
        pthread_mutex_lock(&linux_board->leds_lock);
        *ret_first = linux_board->colors[0];
        *ret_second = linux_board->colors[1];
        pthread_mutex_unlock(&linux_board->leds_lock);
}

static int linux_i2c_transact(struct hw_board *board, const struct hw_i2c_transaction *transaction,
                              struct ph_error *error) {
        return hw_i2cdev_transact(linux_of(board)->i2c, transaction, error);
}

static int linux_gpio_claim(struct hw_board *board, unsigned offset,
                            const struct hw_gpio_request *request, struct hw_gpio_line **ret_line,
                            struct ph_error *error) {
        struct linux_board *linux_board = linux_of(board);
        const char *name = linux_board->config.gpio_chip;
        pthread_mutex_lock(&linux_board->devices_lock);
        if (linux_board->chip == NULL) {
                errno = 0;
                linux_board->chip = gpiod_chip_open_lookup(name);
                if (linux_board->chip == NULL) {
                        int code = errno != 0 ? errno : ENODEV;
                        pthread_mutex_unlock(&linux_board->devices_lock);
                        return ph_error_set(error, -code, "[board] gpio_chip: cannot open '%s': %s",
                                            name, strerror(code));
                }
        }
        int result = hw_gpiod_line_claim(linux_board->chip, name, offset, request, ret_line, error);
        pthread_mutex_unlock(&linux_board->devices_lock);
        return result;
}

static int linux_pwm_set(struct hw_board *board, unsigned channel, const struct hw_pwm_state *state,
                         struct ph_error *error) {
        struct linux_board *linux_board = linux_of(board);
        pthread_mutex_lock(&linux_board->devices_lock);
        int result = hw_pwm_sysfs_set(linux_board->config.sysfs_root, linux_board->config.pwm_chip,
                                      channel, state, error);
        pthread_mutex_unlock(&linux_board->devices_lock);
        if (result == 0)
                log_write(LOG_LEVEL_INFO, "board", "pwm %u: %s, period %u ns, duty %u ns", channel,
                          state->is_enabled ? "on" : "off", state->period_ns, state->duty_ns);
        return result;
}

static int linux_pwm_get(struct hw_board *board, unsigned channel, struct hw_pwm_state *ret_state,
                         struct ph_error *error) {
        struct linux_board *linux_board = linux_of(board);
        return hw_pwm_sysfs_get(linux_board->config.sysfs_root, linux_board->config.pwm_chip,
                                channel, ret_state, error);
}

static int linux_iio_read(struct hw_board *board, unsigned device, const char *channel,
                          enum hw_iio_value value, double *ret_value, struct ph_error *error) {
        return hw_iio_channel_read_sysfs(linux_of(board)->config.sysfs_root, device, channel, value,
                                         ret_value, error);
}

static int linux_w1_read_celsius(struct hw_board *board, const char *id, double *ret_celsius,
                                 struct ph_error *error) {
        return hw_w1_read_celsius_sysfs(linux_of(board)->config.sysfs_root, id, ret_celsius, error);
}

static void linux_destroy(struct hw_board *board) {
        struct linux_board *linux_board = linux_of(board);
        hw_i2cdev_free(linux_board->i2c);
        if (linux_board->chip != NULL)
                gpiod_chip_close(linux_board->chip);
        pthread_mutex_destroy(&linux_board->devices_lock);
        hw_leds_free(linux_board->leds);
        hw_iio_free(linux_board->iio);
        pthread_mutex_destroy(&linux_board->leds_lock);
        free(linux_board);
}

static const struct hw_board_ops linux_ops = {
        .name = "linux",
        .read_dht22 = linux_read_dht22,
        .set_leds = linux_set_leds,
        .get_leds = linux_get_leds,
        .i2c_transact = linux_i2c_transact,
        .gpio_claim = linux_gpio_claim,
        .pwm_set = linux_pwm_set,
        .pwm_get = linux_pwm_get,
        .iio_read = linux_iio_read,
        .w1_read_celsius = linux_w1_read_celsius,
        .destroy = linux_destroy,
};

struct hw_board *hw_linux_new(const struct linux_board_config *config,
                              const struct hw_iio_hooks *hooks, struct ph_error *error) {
        struct linux_board *linux_board = calloc(1, sizeof(*linux_board));
        if (linux_board == NULL) {
                ph_error_set(error, -ENOMEM, "Linux board: out of memory");
                return NULL;
        }
        linux_board->board.ops = &linux_ops;
        pthread_mutex_init(&linux_board->leds_lock, NULL);
        pthread_mutex_init(&linux_board->devices_lock, NULL);
        linux_board->config = *config;
        /* The drivers start every line off, which is what colors says. */
        linux_board->colors[0] = HW_LED_OFF;
        linux_board->colors[1] = HW_LED_OFF;

        linux_board->iio = hw_iio_new(config, hooks, error);
        if (linux_board->iio == NULL)
                goto fail;
        linux_board->i2c = hw_i2cdev_new(config->dev_root, error);
        if (linux_board->i2c == NULL)
                goto fail;
        switch (config->led_driver) {
        case CONFIG_LED_DRIVER_GPIOD:
                linux_board->leds = hw_gpiod_leds_new(config, error);
                break;
        case CONFIG_LED_DRIVER_LEDCLASS:
                linux_board->leds = hw_ledclass_leds_new(config, error);
                break;
        case CONFIG_LED_DRIVER_NONE:
                return &linux_board->board;
        default:
                ph_error_set(error, -EINVAL, "[board] led_driver: unknown driver %d",
                             (int)config->led_driver);
                goto fail;
        }
        if (linux_board->leds == NULL)
                goto fail;
        return &linux_board->board;
fail:
        linux_destroy(&linux_board->board);
        return NULL;
}
