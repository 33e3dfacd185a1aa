#include "hw/hw_iio.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "hw/hw_sysfs.h"

/* Our code for an attribute whose text is not a number in the DHT22's range:
 * the driver decoded bits that were wrong but passed its checks. */
#define ERROR_GARBLED EBADMSG

struct sensor {
        uint8_t pin;
        unsigned device;
        char temperature_path[PATH_MAX];
        char humidity_path[PATH_MAX];

        pthread_mutex_t lock; /* guards everything below; held for a whole read */
        bool has_read;
        uint64_t last_read_ms; /* when the last read ended */
        enum hw_sensor_status last_status;
        struct hw_dht22_reading last_reading; /* the last good one */
        int last_errno;                       /* of the last failed attempt, for the log */
};

struct hw_iio {
        struct hw_iio_hooks hooks; /* every member set */
        unsigned read_retries;
        unsigned retry_delay_ms;
        size_t sensor_count;
        struct sensor sensors[CONFIG_MAX_DHT22];
        size_t locks_made; /* how many sensors have an initialised lock */
};

static uint64_t real_now_ms(void *data) {
        (void)data;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static void real_sleep_ms(void *data, unsigned ms) {
        (void)data;
        struct timespec left = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
        while (nanosleep(&left, &left) < 0 && errno == EINTR)
                continue;
}

/* How the dht11 driver's errors (drivers/iio/humidity/dht11.c) become the
 * WIT sensor-error a plugin sees:
 *   ETIMEDOUT  the driver saw too few signal edges within its 1 s wait: the
 *              sensor did not answer (loose wire, no pull-up, missed IRQs)
 *              -> timeout. Transient: retried.
 *   EIO        the bits arrived but the checksum (or their timing) was
 *              wrong -> checksum. Transient: retried.
 *   EBADMSG    ours: the attribute held no number in the DHT22's range
 *              (bits that slipped past the checksum) -> checksum. Retried.
 *   ENOENT, ENODEV, ENXIO  the device or its attribute is gone (driver
 *              unbound, overlay removed) -> no-such-pin: no sensor there.
 *   anything else (EACCES, EBUSY, ENOMEM, ...)  no reading came and the
 *              WIT enum has no better word -> timeout, not retried; the
 *              errno is logged as a warning. */
enum hw_sensor_status hw_iio_status_of_errno(int error) {
        switch (error) {
        case 0:
                return HW_SENSOR_OK;
        case EIO:
        case ERROR_GARBLED:
                return HW_SENSOR_CHECKSUM;
        case ENOENT:
        case ENODEV:
        case ENXIO:
                return HW_SENSOR_NO_SUCH_PIN;
        case ETIMEDOUT:
        default:
                return HW_SENSOR_TIMEOUT;
        }
}

static bool is_transient(int error) {
        return error == EIO || error == ETIMEDOUT || error == ERROR_GARBLED;
}

/* Reads one milli-unit attribute and checks it lies in [min, max]. Returns
 * 0 or a positive errno. */
static int read_milli(struct hw_iio *iio, const char *path, long min, long max, long *ret_value) {
        char text[32];
        ssize_t length = iio->hooks.read_attribute(iio->hooks.data, path, text, sizeof(text));
        if (length < 0)
                return (int)-length;
        char *end = NULL;
        errno = 0;
        long value = strtol(text, &end, 10);
        if (errno != 0 || end == text || value < min || value > max)
                return ERROR_GARBLED;
        while (*end == '\n' || *end == ' ')
                end++;
        if (*end != '\0')
                return ERROR_GARBLED;
        *ret_value = value;
        return 0;
}

/* One attempt: temperature first (that read makes the driver start a
 * transfer), then humidity, which the driver serves from the same transfer.
 * The DHT22 measures -40..80 °C and 0..100 %. */
static int read_once(struct hw_iio *iio, const struct sensor *sensor,
                     struct hw_dht22_reading *ret_reading) {
        long milli_celsius = 0, milli_percent = 0;
        int error = read_milli(iio, sensor->temperature_path, -40000, 80000, &milli_celsius);
        if (error == 0)
                error = read_milli(iio, sensor->humidity_path, 0, 100000, &milli_percent);
        if (error != 0)
                return error;
        ret_reading->temperature_celsius = (float)milli_celsius / 1000.0f;
        ret_reading->humidity_percent = (float)milli_percent / 1000.0f;
        return 0;
}

static struct sensor *sensor_for_pin(struct hw_iio *iio, uint8_t pin) {
        for (size_t i = 0; i < iio->sensor_count; i++)
                if (iio->sensors[i].pin == pin)
                        return &iio->sensors[i];
        return NULL;
}

enum hw_sensor_status hw_iio_read_dht22(struct hw_iio *iio, uint8_t pin,
                                        struct hw_dht22_reading *ret_reading) {
        struct sensor *sensor = sensor_for_pin(iio, pin);
        if (sensor == NULL)
                return HW_SENSOR_NO_SUCH_PIN;

        pthread_mutex_lock(&sensor->lock);
        uint64_t now = iio->hooks.now_ms(iio->hooks.data);
        if (sensor->has_read && now - sensor->last_read_ms < HW_IIO_MIN_INTERVAL_MS) {
                enum hw_sensor_status status = sensor->last_status;
                if (status == HW_SENSOR_OK)
                        *ret_reading = sensor->last_reading;
                pthread_mutex_unlock(&sensor->lock);
                return status;
        }

        struct hw_dht22_reading reading = {0};
        int error = 0;
        unsigned attempts = iio->read_retries + 1;
        for (unsigned attempt = 1; attempt <= attempts; attempt++) {
                if (attempt > 1 && iio->retry_delay_ms > 0)
                        iio->hooks.sleep_ms(iio->hooks.data, iio->retry_delay_ms);
                error = read_once(iio, sensor, &reading);
                if (error == 0 || !is_transient(error))
                        break;
                log_write(LOG_LEVEL_DEBUG, "board",
                          "DHT22 on pin %u (iio:device%u): %s (attempt %u of %u)", pin,
                          sensor->device, strerror(error), attempt, attempts);
        }

        enum hw_sensor_status status = hw_iio_status_of_errno(error);
        /* An error the table has no good word for is reported once per
         * change, so the operator learns the errno the plugin cannot see. */
        bool is_unexpected = error != 0 && !is_transient(error) && status == HW_SENSOR_TIMEOUT &&
                             error != sensor->last_errno;
        sensor->has_read = true;
        sensor->last_read_ms = iio->hooks.now_ms(iio->hooks.data);
        sensor->last_status = status;
        sensor->last_errno = error;
        if (status == HW_SENSOR_OK) {
                sensor->last_reading = reading;
                *ret_reading = reading;
        }
        unsigned device = sensor->device;
        pthread_mutex_unlock(&sensor->lock);

        if (is_unexpected)
                log_write(LOG_LEVEL_WARNING, "board", "DHT22 on pin %u (iio:device%u): %s", pin,
                          device, strerror(error));
        return status;
}

/* Joins root, "/bus/iio/devices/iio:deviceN" and `leaf` ("" for the
 * directory itself) into `out`. */
static int device_path(char *out, size_t size, const char *root, unsigned device,
                       const char *leaf) {
        int length = snprintf(out, size, "%s/bus/iio/devices/iio:device%u%s%s", root, device,
                              leaf[0] != '\0' ? "/" : "", leaf);
        return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
}

static int setup_sensor(struct hw_iio *iio, struct sensor *sensor, const char *root,
                        struct ph_error *error) {
        char directory[PATH_MAX], name_path[PATH_MAX];
        if (device_path(directory, sizeof(directory), root, sensor->device, "") < 0 ||
            device_path(name_path, sizeof(name_path), root, sensor->device, "name") < 0 ||
            device_path(sensor->temperature_path, sizeof(sensor->temperature_path), root,
                        sensor->device, "in_temp_input") < 0 ||
            device_path(sensor->humidity_path, sizeof(sensor->humidity_path), root, sensor->device,
                        "in_humidityrelative_input") < 0)
                return ph_error_set(error, -ENAMETOOLONG, "[board] sysfs_root: path too long");

        struct stat info;
        int code = 0;
        if (stat(directory, &info) < 0)
                code = errno;
        else if (!S_ISDIR(info.st_mode))
                code = ENOTDIR;
        if (code != 0) {
                return ph_error_set(error, -code,
                                    "[board] dht22_iio_devices: pin %u: %s: %s (is the dht11 "
                                    "overlay loaded, e.g. dtoverlay=dht11,gpiopin=%u?)",
                                    sensor->pin, directory, strerror(code), sensor->pin);
        }
        /* A device without a name attribute is accepted (older kernels,
         * hand-made trees); one with another name is another sensor. */
        char name[64];
        ssize_t length = iio->hooks.read_attribute(iio->hooks.data, name_path, name, sizeof(name));
        if (length > 0) {
                name[strcspn(name, "\n")] = '\0';
                if (strcmp(name, "dht11") != 0)
                        return ph_error_set(error, -ENODEV,
                                            "[board] dht22_iio_devices: pin %u: iio:device%u is "
                                            "'%s', not the dht11 driver",
                                            sensor->pin, sensor->device, name);
        }
        return 0;
}

struct hw_iio *hw_iio_new(const struct linux_board_config *config, const struct hw_iio_hooks *hooks,
                          struct ph_error *error) {
        struct hw_iio *iio = calloc(1, sizeof(*iio));
        if (iio == NULL) {
                ph_error_set(error, -ENOMEM, "IIO sensors: out of memory");
                return NULL;
        }
        iio->hooks.now_ms = hooks != NULL && hooks->now_ms != NULL ? hooks->now_ms : real_now_ms;
        iio->hooks.sleep_ms =
                hooks != NULL && hooks->sleep_ms != NULL ? hooks->sleep_ms : real_sleep_ms;
        iio->hooks.read_attribute = hooks != NULL && hooks->read_attribute != NULL
                                            ? hooks->read_attribute
                                            : hw_sysfs_read;
        iio->hooks.data = hooks != NULL ? hooks->data : NULL;
        iio->read_retries = config->read_retries;
        iio->retry_delay_ms = config->retry_delay_ms;
        if (config->dht22_count > CONFIG_MAX_DHT22) {
                ph_error_set(error, -E2BIG, "[board] dht22_iio_devices: at most %d sensors",
                             CONFIG_MAX_DHT22);
                goto fail;
        }
        iio->sensor_count = config->dht22_count;
        for (size_t i = 0; i < iio->sensor_count; i++) {
                struct sensor *sensor = &iio->sensors[i];
                sensor->pin = config->dht22[i].pin;
                sensor->device = config->dht22[i].iio_device;
                pthread_mutex_init(&sensor->lock, NULL);
                iio->locks_made++;
                if (setup_sensor(iio, sensor, config->sysfs_root, error) < 0)
                        goto fail;
        }
        return iio;
fail:
        hw_iio_free(iio);
        return NULL;
}

void hw_iio_free(struct hw_iio *iio) {
        if (iio == NULL)
                return;
        for (size_t i = 0; i < iio->locks_made; i++)
                pthread_mutex_destroy(&iio->sensors[i].lock);
        free(iio);
}
