/* hw_w1.h - 1-Wire temperature sensors (DS18B20) through the kernel's w1
 * sysfs (w1-gpio and w1_therm: dtoverlay=w1-gpio on a Raspberry Pi).
 *
 * A sensor is named by its w1 id, "28-0000075a1b2c" (family 28 is the
 * DS18B20; 10, 22 and 3b are read the same way). Linux: reads
 * <sysfs_root>/bus/w1/devices/<id>/w1_slave, checks the driver's "crc=..
 * YES" and the power-on value 85 °C that means no conversion ran. The
 * simulated board has one DS18B20 ([board] ds18b20_id, ds18b20_celsius).
 *
 * Owns nothing; thread-safe. A read takes up to 750 ms on real hardware
 * (the conversion): never call it with a lock held. */
#ifndef PH_HW_W1_H
#define PH_HW_W1_H

#include <stdbool.h>

#include "core/error.h"

struct hw_board;

#define HW_W1_ID_LENGTH 15 /* "28-" and 12 hex digits */

/* Reads the sensor `id` (borrowed) into *ret_celsius. -EINVAL (bad id),
 * -ENOENT (no such sensor), -EIO (CRC check failed), -EAGAIN (power-on
 * value: no conversion ran), -EBADMSG (garbled file); `error` names the
 * file. */
PH_MUST_USE int hw_w1_read_celsius(struct hw_board *board, const char *id, double *ret_celsius,
                                   struct ph_error *error);

/* The Linux implementation under `sysfs_root` (borrowed). */
PH_MUST_USE int hw_w1_read_celsius_sysfs(const char *sysfs_root, const char *id,
                                         double *ret_celsius, struct ph_error *error);

/* Whether `id` is a well-formed w1 id ("FF-" and 12 lower-case hex). */
bool hw_w1_id_is_valid(const char *id);

#endif
