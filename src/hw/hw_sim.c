#include "hw/hw_sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "hw/hw_sim_bme280.h"
#include "hw/hw_sim_gpio.h"

struct sim_board {
        struct hw_board board; /* first, so a struct hw_board * is a struct sim_board * */
        struct sim_board_config config;
        pthread_mutex_t lock; /* guards everything below */
        uint64_t read_count;
        uint64_t random_state;
        enum hw_led_color leds[2];
        uint64_t led_changes;
        struct hw_sim_bme280 bme280;
        struct hw_pwm_state pwm[HW_SIM_PWM_CHANNELS];
        uint64_t pwm_changes;
        struct sim_gpio *gpio; /* owned; locks itself */
};

static struct sim_board *sim_of(struct hw_board *board) {
        return (struct sim_board *)board;
}

/* 0 at the start of a period, 1 in its middle, 0 again at its end. */
static double triangle(uint64_t index, unsigned period) {
        double phase = (double)(index % period) / (double)period;
        return phase < 0.5 ? 2.0 * phase : 2.0 - 2.0 * phase;
}

double hw_sim_curve_celsius(const struct sim_board_config *config, uint64_t read_index) {
        if (config->script_count > 0)
                return config->script_celsius[read_index % config->script_count];
        return config->min_celsius + (config->max_celsius - config->min_celsius) *
                                             triangle(read_index, config->period_reads);
}

/* xorshift64*: small, fast and repeatable for a given seed. */
static double next_uniform(uint64_t *state) {
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

static enum hw_sensor_status sim_read_dht22(struct hw_board *board, uint8_t pin,
                                            struct hw_dht22_reading *ret_reading) {
        struct sim_board *sim = sim_of(board);
        if (pin != sim->config.dht22_pin)
                return HW_SENSOR_NO_SUCH_PIN;
        pthread_mutex_lock(&sim->lock);
        uint64_t index = sim->read_count++;
        double draw = next_uniform(&sim->random_state);
        pthread_mutex_unlock(&sim->lock);
        if (sim->config.read_delay_ms > 0) {
                /* A slow sensor: the wait happens outside the lock, as it
                 * would in a driver, so other readers are not serialised. */
                struct timespec delay = {.tv_sec = sim->config.read_delay_ms / 1000,
                                         .tv_nsec = (long)(sim->config.read_delay_ms % 1000) *
                                                    1000000L};
                while (nanosleep(&delay, &delay) != 0) {
                }
        }
        if (draw < sim->config.error_probability)
                return (index % 2 == 0) ? HW_SENSOR_TIMEOUT : HW_SENSOR_CHECKSUM;
        /* Humidity falls as the air warms, as it does in a greenhouse. */
        double warmth =
                sim->config.script_count > 0 ? 0.5 : triangle(index, sim->config.period_reads);
        ret_reading->temperature_celsius = (float)hw_sim_curve_celsius(&sim->config, index);
        ret_reading->humidity_percent =
                (float)(sim->config.max_humidity -
                        (sim->config.max_humidity - sim->config.min_humidity) * warmth);
        return HW_SENSOR_OK;
}

static int sim_set_leds(struct hw_board *board, enum hw_led_color first, enum hw_led_color second) {
        struct sim_board *sim = sim_of(board);
        pthread_mutex_lock(&sim->lock);
        enum hw_led_color old_first = sim->leds[0], old_second = sim->leds[1];
        int changed = old_first != first || old_second != second;
        sim->leds[0] = first;
        sim->leds[1] = second;
        if (changed)
                sim->led_changes++;
        pthread_mutex_unlock(&sim->lock);
        if (changed)
                log_write(LOG_LEVEL_INFO, "board", "LEDs %s/%s -> %s/%s",
                          hw_led_color_name(old_first), hw_led_color_name(old_second),
                          hw_led_color_name(first), hw_led_color_name(second));
        return 0;
}

static void sim_get_leds(struct hw_board *board, enum hw_led_color *ret_first,
                         enum hw_led_color *ret_second) {
        struct sim_board *sim = sim_of(board);
        pthread_mutex_lock(&sim->lock);
        *ret_first = sim->leds[0];
        *ret_second = sim->leds[1];
        pthread_mutex_unlock(&sim->lock);
}

static int sim_i2c_transact(struct hw_board *board, const struct hw_i2c_transaction *transaction,
                            struct ph_error *error) {
        struct sim_board *sim = sim_of(board);
        if (transaction->bus != sim->config.i2c_bus)
                return ph_error_set(error, -ENOENT, "sim i2c: no bus %u (the simulated bus is %u)",
                                    transaction->bus, sim->config.i2c_bus);
        if (transaction->address != (unsigned)sim->config.bme280_address)
                return ph_error_set(error, -ENXIO, "sim i2c bus %u: no device answers at 0x%02x",
                                    transaction->bus, transaction->address);
        pthread_mutex_lock(&sim->lock);
        hw_sim_bme280_transact(&sim->bme280, transaction->write, transaction->write_length,
                               transaction->read, transaction->read_length);
        pthread_mutex_unlock(&sim->lock);
        return 0;
}

static int sim_gpio_claim(struct hw_board *board, unsigned offset,
                          const struct hw_gpio_request *request, struct hw_gpio_line **ret_line,
                          struct ph_error *error) {
        return hw_sim_gpio_claim(sim_of(board)->gpio, offset, request, ret_line, error);
}

static int sim_pwm_set(struct hw_board *board, unsigned channel, const struct hw_pwm_state *state,
                       struct ph_error *error) {
        struct sim_board *sim = sim_of(board);
        if (channel >= HW_SIM_PWM_CHANNELS)
                return ph_error_set(error, -ENOENT, "sim pwm: no channel %u (it has %d)", channel,
                                    HW_SIM_PWM_CHANNELS);
        pthread_mutex_lock(&sim->lock);
        bool is_change = memcmp(&sim->pwm[channel], state, sizeof(*state)) != 0;
        sim->pwm[channel] = *state;
        if (is_change)
                sim->pwm_changes++;
        pthread_mutex_unlock(&sim->lock);
        if (is_change)
                log_write(LOG_LEVEL_INFO, "board", "pwm %u: %s, period %u ns, duty %u ns (%.1f %%)",
                          channel, state->is_enabled ? "on" : "off", state->period_ns,
                          state->duty_ns, 100.0 * state->duty_ns / state->period_ns);
        return 0;
}

static int sim_pwm_get(struct hw_board *board, unsigned channel, struct hw_pwm_state *ret_state,
                       struct ph_error *error) {
        struct sim_board *sim = sim_of(board);
        if (channel >= HW_SIM_PWM_CHANNELS)
                return ph_error_set(error, -ENOENT, "sim pwm: no channel %u (it has %d)", channel,
                                    HW_SIM_PWM_CHANNELS);
        pthread_mutex_lock(&sim->lock);
        *ret_state = sim->pwm[channel];
        pthread_mutex_unlock(&sim->lock);
        return 0;
}

static int sim_iio_read(struct hw_board *board, unsigned device, const char *channel,
                        enum hw_iio_value value, double *ret_value, struct ph_error *error) {
        (void)board, (void)value, (void)ret_value;
        return ph_error_set(error, -ENOENT,
                            "sim: no IIO device %u (channel '%s'): the simulated BME280 is on "
                            "I2C; IIO needs [board] backend = linux",
                            device, channel);
}

static int sim_w1_read_celsius(struct hw_board *board, const char *id, double *ret_celsius,
                               struct ph_error *error) {
        struct sim_board *sim = sim_of(board);
        if (strcmp(id, sim->config.ds18b20_id) != 0)
                return ph_error_set(error, -ENOENT,
                                    "sim w1: no sensor %s (the simulated one is %s)", id,
                                    sim->config.ds18b20_id);
        /* The DS18B20 reports 12 bits: 1/16 C steps. */
        *ret_celsius = round(sim->config.ds18b20_celsius * 16.0) / 16.0;
        return 0;
}

static void sim_destroy(struct hw_board *board) {
        struct sim_board *sim = sim_of(board);
        hw_sim_gpio_free(sim->gpio);
        pthread_mutex_destroy(&sim->lock);
        free(sim);
}

static const struct hw_board_ops sim_ops = {
        .name = "sim",
        .read_dht22 = sim_read_dht22,
        .set_leds = sim_set_leds,
        .get_leds = sim_get_leds,
        .i2c_transact = sim_i2c_transact,
        .gpio_claim = sim_gpio_claim,
        .pwm_set = sim_pwm_set,
        .pwm_get = sim_pwm_get,
        .iio_read = sim_iio_read,
        .w1_read_celsius = sim_w1_read_celsius,
        .destroy = sim_destroy,
};

struct hw_board *hw_sim_new(const struct sim_board_config *config, struct ph_error *error) {
        struct sim_board *sim = calloc(1, sizeof(*sim));
        if (sim == NULL) {
                ph_error_set(error, -ENOMEM, "simulated board: out of memory");
                return NULL;
        }
        sim->board.ops = &sim_ops;
        sim->config = *config;
        /* xorshift must not start at 0. */
        sim->random_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)config->seed;
        pthread_mutex_init(&sim->lock, NULL);
        hw_sim_bme280_init(&sim->bme280, config->bme280_celsius, config->bme280_hpa,
                           config->bme280_humidity, config->bme280_noise, config->seed);
        sim->gpio = hw_sim_gpio_new(config, error);
        if (sim->gpio == NULL) {
                sim_destroy(&sim->board);
                return NULL;
        }
        return &sim->board;
}

int hw_sim_button_press(struct hw_board *board, uint32_t delay_ms) {
        return hw_sim_gpio_press(sim_of(board)->gpio, delay_ms);
}

uint64_t hw_sim_output_change_count(struct hw_board *board) {
        return hw_sim_gpio_output_changes(sim_of(board)->gpio);
}

uint64_t hw_sim_pwm_change_count(struct hw_board *board) {
        struct sim_board *sim = sim_of(board);
        pthread_mutex_lock(&sim->lock);
        uint64_t count = sim->pwm_changes;
        pthread_mutex_unlock(&sim->lock);
        return count;
}

uint64_t hw_sim_led_change_count(struct hw_board *board) {
        struct sim_board *sim = sim_of(board);
        pthread_mutex_lock(&sim->lock);
        uint64_t count = sim->led_changes;
        pthread_mutex_unlock(&sim->lock);
        return count;
}
