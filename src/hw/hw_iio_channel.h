/* hw_iio_channel.h - reading any channel of a kernel IIO device.
 *
 * Many sensors have kernel drivers (bmp280 for BME280/BMP280, sht3x,
 * ads1015, dht11): their values are sysfs attributes
 * <sysfs_root>/bus/iio/devices/iio:deviceN/in_<channel>_<kind>, e.g.
 * in_temp_input or in_voltage0_raw. A scale or offset missing for
 * "voltage0" is read from the type's shared one ("in_voltage_scale"), as
 * the IIO ABI allows. (hw_iio.h is the DHT22 path of the old contract.)
 *
 * Owns nothing; thread-safe (each read opens, reads and closes). */
#ifndef PH_HW_IIO_CHANNEL_H
#define PH_HW_IIO_CHANNEL_H

#include "core/error.h"

struct hw_board;

#define HW_IIO_CHANNEL_NAME_MAX 48

enum hw_iio_value {
        HW_IIO_RAW,    /* in_<channel>_raw */
        HW_IIO_SCALE,  /* in_<channel>_scale */
        HW_IIO_OFFSET, /* in_<channel>_offset */
        HW_IIO_INPUT,  /* in_<channel>_input: processed, milli-units for most types */
};

/* Reads one value of `channel` (letters, digits and '_', at most
 * HW_IIO_CHANNEL_NAME_MAX characters; borrowed) of iio:device`device`.
 * -EINVAL (bad name), -ENOENT (no such device or attribute), -EBADMSG (not
 * a number), or the driver's errno (-EIO, -ETIMEDOUT, ...); `error` names
 * the file. */
PH_MUST_USE int hw_iio_channel_read(struct hw_board *board, unsigned device, const char *channel,
                                    enum hw_iio_value value, double *ret_value,
                                    struct ph_error *error);

/* The Linux implementation, for backends and tests: the same under
 * `sysfs_root` (borrowed). */
PH_MUST_USE int hw_iio_channel_read_sysfs(const char *sysfs_root, unsigned device,
                                          const char *channel, enum hw_iio_value value,
                                          double *ret_value, struct ph_error *error);

const char *hw_iio_value_name(enum hw_iio_value value);

#endif
