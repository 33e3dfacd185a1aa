/* hw_iio.h - DHT22 sensors through the kernel IIO `dht11` driver.
 *
 * Owns one entry per configured pin: the paths of its iio:deviceN
 * attributes (in_temp_input, in_humidityrelative_input, milli-units) and
 * the outcome of its last read. Never touches GPIO itself: the kernel
 * driver does the bit-banging.
 *
 * Rate limit: a sensor is read at most once every HW_IIO_MIN_INTERVAL_MS
 * (2 s, the DHT22's sampling period). A call inside that window, counted
 * from the end of the last read, does not touch the sensor: it gets the
 * last good reading, or the same error if the last read failed. The one
 * exception is the bounded retry inside a single read: after EIO or
 * ETIMEDOUT the driver delivered no data, and up to `read_retries` more
 * attempts follow, `retry_delay_ms` apart.
 *
 * Threads: any thread may call hw_iio_read_dht22. Each sensor has its own
 * mutex, held for the whole read (sysfs I/O included), so one thread reads
 * a sensor at a time and the others then get its result from the window;
 * different sensors are read in parallel. The sensor table itself is
 * immutable after hw_iio_new. */
#ifndef PH_HW_IIO_H
#define PH_HW_IIO_H

#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/error.h"
#include "hw/hw.h"

#define HW_IIO_MIN_INTERVAL_MS 2000

/* What the module needs from the system, replaceable by tests. Any NULL
 * member means the real one; all are called without any lock of the
 * caller's held except the sensor's own. */
struct hw_iio_hooks {
        /* Monotonic time in milliseconds. */
        uint64_t (*now_ms)(void *data);
        /* Sleeps `ms` milliseconds. */
        void (*sleep_ms)(void *data, unsigned ms);
        /* Reads the attribute at `path` into `buf` (`size` bytes, result
         * NUL-terminated); returns its length or -errno. Real one:
         * hw_sysfs_read. */
        ssize_t (*read_attribute)(void *data, const char *path, char *buf, size_t size);
        void *data; /* passed to each hook; borrowed for the module's life */
};

struct hw_iio;

/* Maps each pin of `config->dht22` to
 * <sysfs_root>/bus/iio/devices/iio:deviceN and checks that the device
 * exists and, when it has a `name`, that it is the dht11 driver. Borrows
 * `config` and `hooks` (may be NULL) for the call only. The caller frees
 * the result with hw_iio_free. */
PH_MUST_USE struct hw_iio *hw_iio_new(const struct linux_board_config *config,
                                      const struct hw_iio_hooks *hooks, struct ph_error *error);

/* Accepts NULL. No read may be running. */
void hw_iio_free(struct hw_iio *iio);

/* Reads the DHT22 on `pin` into *ret_reading (set only on HW_SENSOR_OK).
 * A pin that is not configured is HW_SENSOR_NO_SUCH_PIN. */
enum hw_sensor_status hw_iio_read_dht22(struct hw_iio *iio, uint8_t pin,
                                        struct hw_dht22_reading *ret_reading);

/* The outcome a read error of the driver becomes (see the table in
 * hw_iio.c); `error` is a positive errno. */
enum hw_sensor_status hw_iio_status_of_errno(int error);

#endif
