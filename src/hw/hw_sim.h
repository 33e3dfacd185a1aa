/* hw_sim.h - the simulated board, the default backend.
 *
 * The DHT22 follows a deterministic curve (a triangle wave over a number of
 * reads, or a scripted list of temperatures) so that runs and tests repeat
 * exactly; read errors can be injected with a seeded probability. LED
 * changes are logged as they happen and counted. Thread-safe: one mutex
 * guards the board's state. */
#ifndef PH_HW_SIM_H
#define PH_HW_SIM_H

#include "hw/hw.h"

struct hw_board *hw_sim_new(const struct sim_board_config *config, struct ph_error *error);

/* The temperature that the n-th read (from 0) of the curve returns. */
double hw_sim_curve_celsius(const struct sim_board_config *config, uint64_t read_index);

/* How many times the LEDs changed colour since the board was made. */
uint64_t hw_sim_led_change_count(struct hw_board *board);

#endif
