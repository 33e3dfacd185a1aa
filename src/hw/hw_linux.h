/* hw_linux.h - the Linux board (backend = linux): a real Raspberry Pi or
 * any board whose kernel has the IIO dht11 driver and GPIO or LED-class
 * LEDs.
 *
 * Owns the DHT22 sensors (hw_iio.c) and the LED lines of the configured
 * driver (hw_gpiod.c, hw_ledclass.c, or none: colours only remembered and
 * logged), plus the two colours last shown. Readings: see hw_iio.h (at most
 * one read of a sensor per 2 s; calls inside that window get the last
 * good reading).
 *
 * Also the capabilities: I2C through <dev_root>/i2c-N (hw_i2cdev.c),
 * GPIO lines of gpio_chip through libgpiod v1 (hw_gpio_line.c; the chip
 * is opened at the first claim and must outlive every line), PWM, IIO
 * channels and w1 sensors through sysfs (hw_pwm_sysfs.c,
 * hw_iio_channel.c, hw_w1.c). Nothing is opened at creation but the DHT22
 * and LED drivers, so a board without I2C or PWM starts as before.
 *
 * Threads: every hw_* function may be called from any plugin thread at
 * once. `devices_lock` guards the GPIO chip handle and serialises PWM
 * writes (sysfs I/O under it, nothing else). The sensors lock themselves (one mutex per sensor);
 * `leds_lock` guards the LED driver and the colours, held while the lines are written. */
#ifndef PH_HW_LINUX_H
#define PH_HW_LINUX_H

#include "hw/hw.h"
#include "hw/hw_iio.h"

/* Builds the board from `config` (borrowed for the call only). `hooks`
 * replace the clock, sleep and attribute reads of the sensors in tests;
 * NULL for the real ones (borrowed; hooks->data must outlive the board).
 * The caller frees the board with hw_board_free. */
PH_MUST_USE struct hw_board *hw_linux_new(const struct linux_board_config *config,
                                          const struct hw_iio_hooks *hooks, struct ph_error *error);

#endif
