/* hw_sim_gpio.h - the simulated board's GPIO lines: a push button and a
 * relay among 64 plain lines.
 *
 * The button ([board] button_line) pulls its line low while pressed (a
 * button to ground with a pull-up): claim it active-low to see a press as
 * "active". Presses come from the script (button_presses_ms after the
 * board's creation, repeating every button_repeat_ms) and from
 * hw_sim_gpio_press; each lasts button_hold_ms and bounces: button_bounces
 * extra edge pairs at the press and at the release, at seeded times within
 * button_bounce_us. Edge timestamps are the scripted CLOCK_MONOTONIC
 * times. The relay ([board] relay_line) and every other output keep the
 * level last written; each change is logged ("relay on") and counted. An
 * unclaimed input that is not the button reads its bias (pull-up high,
 * otherwise low).
 *
 * The event fd of a line is a timerfd armed for the line's next raw edge
 * (or at once while edges wait in its queue), so no thread runs.
 *
 * Threads: one mutex per struct sim_gpio guards every line; any thread
 * may call these functions, a claimed line's functions from its owner. */
#ifndef PH_HW_SIM_GPIO_H
#define PH_HW_SIM_GPIO_H

#include <stdint.h>

#include "core/config.h"
#include "hw/hw_gpio.h"

#define HW_SIM_GPIO_LINES 64

struct sim_gpio;

/* Borrows `config` for the call. Free with hw_sim_gpio_free. */
PH_MUST_USE struct sim_gpio *hw_sim_gpio_new(const struct sim_board_config *config,
                                             struct ph_error *error);
/* Accepts NULL. Every line must have been released. */
void hw_sim_gpio_free(struct sim_gpio *gpio);

PH_MUST_USE int hw_sim_gpio_claim(struct sim_gpio *gpio, unsigned offset,
                                  const struct hw_gpio_request *request,
                                  struct hw_gpio_line **ret_line, struct ph_error *error);

/* Presses the button `delay_ms` from now (bounce and hold as configured).
 * -ENOSPC when HW_SIM_GPIO_PENDING_PRESSES are already waiting. */
#define HW_SIM_GPIO_PENDING_PRESSES 16
PH_MUST_USE int hw_sim_gpio_press(struct sim_gpio *gpio, uint32_t delay_ms);

/* How many times an output line changed level since the board was made. */
uint64_t hw_sim_gpio_output_changes(struct sim_gpio *gpio);

#endif
