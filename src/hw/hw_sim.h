/* hw_sim.h - the simulated board, the default backend.
 *
 * The DHT22 follows a deterministic curve (a triangle wave over a number of
 * reads, or a scripted list of temperatures) so that runs and tests repeat
 * exactly; read errors can be injected with a seeded probability. LED
 * changes are logged as they happen and counted. The simulated devices:
 * a BME280 on I2C (hw_sim_bme280.h), a push button and a relay among 64
 * GPIO lines (hw_sim_gpio.h), HW_SIM_PWM_CHANNELS PWM channels whose
 * changes are logged, and a DS18B20 on 1-Wire; no IIO devices.
 * Thread-safe: one mutex guards the board's state (the GPIO lines have
 * their own). Only the board's creator calls the hw_sim_* functions below
 * on a board that hw_sim_new made. */
#ifndef PH_HW_SIM_H
#define PH_HW_SIM_H

#include "hw/hw.h"

struct hw_board *hw_sim_new(const struct sim_board_config *config, struct ph_error *error);

/* The temperature that the n-th read (from 0) of the curve returns. */
double hw_sim_curve_celsius(const struct sim_board_config *config, uint64_t read_index);

/* How many times the LEDs changed colour since the board was made. */
uint64_t hw_sim_led_change_count(struct hw_board *board);

#define HW_SIM_PWM_CHANNELS 2

/* Presses the simulated button `delay_ms` from now, as a scripted press
 * would; 0 or -ENOSPC (too many presses waiting). For tests and the
 * operator's "press" command. */
PH_MUST_USE int hw_sim_button_press(struct hw_board *board, uint32_t delay_ms);

/* How many times an output line (the relay among them) or a PWM channel
 * changed since the board was made. */
uint64_t hw_sim_output_change_count(struct hw_board *board);
uint64_t hw_sim_pwm_change_count(struct hw_board *board);

#endif
