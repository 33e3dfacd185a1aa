/* Unit tests of the Linux board (src/hw/hw_linux.c, hw_iio.c, hw_ledclass.c,
 * hw_gpiod.c) and its [board] keys in src/core/config.c.
 *
 * Each test builds a fake sysfs tree in a temporary directory and points
 * sysfs_root at it. The sensors' clock, sleep and attribute reads go
 * through test hooks where a test needs to control time or make the
 * driver fail (a regular file cannot return EIO). The gpiod test drives
 * real GPIO lines through gpio-sim or gpio-mockup when the kernel has one,
 * and is skipped with the reason otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <gpiod.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/hw_iio.h"
#include "hw/hw_leds.h"
#include "hw/hw_linux.h"
#include "hw/hw_sysfs.h"

/* ---- the fake sysfs tree ---- */

static char root[64];

static void make_parents(const char *path) {
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", path);
        for (char *slash = strchr(copy + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(copy, 0755) < 0)
                        assert_int_equal(errno, EEXIST);
                *slash = '/';
        }
}

/* Writes `text` to <root>/<relative>, making the directories on the way. */
static void put(const char *relative, const char *text) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", root, relative);
        make_parents(path);
        FILE *file = fopen(path, "we");
        assert_non_null(file);
        assert_int_equal(fputs(text, file) >= 0, 1);
        assert_int_equal(fclose(file), 0);
}

/* The content of <root>/<relative>; the returned buffer is static. */
static const char *get(const char *relative) {
        static char text[256];
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", root, relative);
        ssize_t length = hw_sysfs_read(NULL, path, text, sizeof(text));
        assert_true(length >= 0);
        return text;
}

static void put_dht22(unsigned device, const char *milli_celsius, const char *milli_percent) {
        char relative[128];
        snprintf(relative, sizeof(relative), "bus/iio/devices/iio:device%u/name", device);
        put(relative, "dht11\n");
        snprintf(relative, sizeof(relative), "bus/iio/devices/iio:device%u/in_temp_input", device);
        put(relative, milli_celsius);
        snprintf(relative, sizeof(relative),
                 "bus/iio/devices/iio:device%u/in_humidityrelative_input", device);
        put(relative, milli_percent);
}

static void put_led(const char *name, const char *max_brightness, const char *trigger) {
        char relative[128];
        snprintf(relative, sizeof(relative), "class/leds/%s/max_brightness", name);
        put(relative, max_brightness);
        snprintf(relative, sizeof(relative), "class/leds/%s/brightness", name);
        put(relative, "1\n"); /* lit before the host starts */
        if (trigger != NULL) {
                snprintf(relative, sizeof(relative), "class/leds/%s/trigger", name);
                put(relative, trigger);
        }
}

static const char *brightness(const char *name) {
        char relative[128];
        snprintf(relative, sizeof(relative), "class/leds/%s/brightness", name);
        return get(relative);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw) {
        (void)info;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int make_root(void **state) {
        (void)state;
        snprintf(root, sizeof(root), "/tmp/pyhost-test-sysfs-XXXXXX");
        assert_non_null(mkdtemp(root));
        return 0;
}

static int remove_root(void **state) {
        (void)state;
        return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- test hooks: a clock the test moves, recorded sleeps, injected errors ---- */

struct fake {
        pthread_mutex_t lock;
        uint64_t now_ms;
        unsigned sleeps;
        unsigned slept_ms;
        unsigned temperature_reads; /* attempts: each starts with in_temp_input */
        int fail_errno;             /* reads of in_temp_input fail with this ... */
        int fail_count;             /* ... this many times; -1: always */
        unsigned read_delay_us;     /* makes a read slow, for the concurrency test */
};

static struct fake fake;

static uint64_t fake_now_ms(void *data) {
        struct fake *f = data;
        pthread_mutex_lock(&f->lock);
        uint64_t now = f->now_ms;
        pthread_mutex_unlock(&f->lock);
        return now;
}

static void fake_sleep_ms(void *data, unsigned ms) {
        struct fake *f = data;
        pthread_mutex_lock(&f->lock);
        f->sleeps++;
        f->slept_ms += ms;
        pthread_mutex_unlock(&f->lock);
}

static ssize_t fake_read_attribute(void *data, const char *path, char *buf, size_t size) {
        struct fake *f = data;
        const char *leaf = strrchr(path, '/');
        if (leaf != NULL && strcmp(leaf, "/in_temp_input") == 0) {
                pthread_mutex_lock(&f->lock);
                f->temperature_reads++;
                int injected = 0;
                if (f->fail_count != 0) {
                        injected = f->fail_errno;
                        if (f->fail_count > 0)
                                f->fail_count--;
                }
                unsigned delay_us = f->read_delay_us;
                pthread_mutex_unlock(&f->lock);
                if (delay_us > 0)
                        usleep(delay_us);
                if (injected != 0)
                        return -injected;
        }
        return hw_sysfs_read(NULL, path, buf, size);
}

static const struct hw_iio_hooks fake_hooks = {
        .now_ms = fake_now_ms,
        .sleep_ms = fake_sleep_ms,
        .read_attribute = fake_read_attribute,
        .data = &fake,
};

static void reset_fake(void) {
        pthread_mutex_destroy(&fake.lock);
        memset(&fake, 0, sizeof(fake));
        pthread_mutex_init(&fake.lock, NULL);
        fake.now_ms = 1000000;
}

static void advance_ms(uint64_t ms) {
        pthread_mutex_lock(&fake.lock);
        fake.now_ms += ms;
        pthread_mutex_unlock(&fake.lock);
}

/* A Linux board config over the fake tree: pin 4 -> iio:device0, no LEDs. */
static struct linux_board_config base_config(void) {
        struct host_config host;
        config_set_defaults(&host);
        struct linux_board_config config = host.board.linux_board;
        snprintf(config.sysfs_root, sizeof(config.sysfs_root), "%s", root);
        config.dht22[0].pin = 4;
        config.dht22[0].iio_device = 0;
        config.dht22_count = 1;
        config.read_retries = 2;
        config.retry_delay_ms = 10;
        config.led_driver = CONFIG_LED_DRIVER_NONE;
        return config;
}

static struct hw_board *new_board(const struct linux_board_config *config) {
        struct ph_error error = {0};
        struct hw_board *board = hw_linux_new(config, &fake_hooks, &error);
        if (board == NULL)
                fail_msg("hw_linux_new: %s", error.message);
        return board;
}

static bool near(float value, double expected) {
        return fabs((double)value - expected) < 1e-4;
}

/* ---- DHT22 through IIO ---- */

static void test_reading_is_converted_from_milli_units(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "23400\n", "56700\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 23.4));
        assert_true(near(reading.humidity_percent, 56.7));

        put_dht22(0, "-5250\n", "100000\n"); /* below zero; saturated air */
        advance_ms(HW_IIO_MIN_INTERVAL_MS);
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, -5.25));
        assert_true(near(reading.humidity_percent, 100.0));
        hw_board_free(board);
}

static void test_each_pin_reads_its_own_iio_device(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "20000\n", "40000\n");
        put_dht22(1, "99\n", "1\n"); /* a device no pin maps to */
        put_dht22(2, "31500\n", "62250\n");
        struct linux_board_config config = base_config();
        config.dht22[1].pin = 17;
        config.dht22[1].iio_device = 2;
        config.dht22_count = 2;
        struct hw_board *board = new_board(&config);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 17, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 31.5));
        assert_true(near(reading.humidity_percent, 62.25));
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 20.0));
        assert_true(near(reading.humidity_percent, 40.0));
        hw_board_free(board);
}

static void test_unknown_pin_is_no_such_pin(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "20000\n", "40000\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        struct hw_dht22_reading reading = {.temperature_celsius = 7, .humidity_percent = 8};
        assert_int_equal(hw_read_dht22(board, 5, &reading), HW_SENSOR_NO_SUCH_PIN);
        assert_int_equal(hw_read_dht22(board, 0, &reading), HW_SENSOR_NO_SUCH_PIN);
        assert_true(reading.temperature_celsius == 7 && reading.humidity_percent == 8);
        assert_int_equal(fake.temperature_reads, 0);
        hw_board_free(board);
}

static void test_sensor_is_read_at_most_every_two_seconds(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "23400\n", "56700\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_int_equal(fake.temperature_reads, 1);

        put_dht22(0, "30000\n", "50000\n");
        advance_ms(HW_IIO_MIN_INTERVAL_MS - 1);
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 23.4)); /* the last good reading */
        assert_true(near(reading.humidity_percent, 56.7));
        assert_int_equal(fake.temperature_reads, 1); /* the sensor was not touched */

        advance_ms(1);
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 30.0));
        assert_int_equal(fake.temperature_reads, 2);
        hw_board_free(board);
}

static void test_real_clock_serves_an_immediate_second_read_from_the_window(void **state) {
        (void)state;
        put_dht22(0, "23400\n", "56700\n");
        struct linux_board_config config = base_config();
        struct ph_error error = {0};
        struct hw_board *board = hw_linux_new(&config, NULL, &error);
        assert_non_null(board);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        put_dht22(0, "30000\n", "50000\n");
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 23.4));
        hw_board_free(board);
}

static void test_transient_errors_are_retried_after_the_delay(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config(); /* 2 retries, 10 ms apart */
        struct hw_board *board = new_board(&config);
        fake.fail_errno = EIO;
        fake.fail_count = 1;
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 21.0));
        assert_int_equal(fake.temperature_reads, 2);
        assert_int_equal(fake.sleeps, 1);
        assert_int_equal(fake.slept_ms, 10);

        advance_ms(HW_IIO_MIN_INTERVAL_MS);
        fake.fail_errno = ETIMEDOUT;
        fake.fail_count = 2; /* the last allowed attempt succeeds */
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_int_equal(fake.temperature_reads, 2 + 3);
        hw_board_free(board);
}

/* Reads once with the driver failing every time with `injected`; returns
 * the status and checks how many attempts were made. */
static enum hw_sensor_status read_with_persistent_error(int injected, unsigned retries,
                                                        unsigned expected_attempts) {
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        config.read_retries = retries;
        config.retry_delay_ms = 0;
        struct hw_board *board = new_board(&config);
        fake.fail_errno = injected;
        fake.fail_count = -1;
        struct hw_dht22_reading reading = {.temperature_celsius = 7};
        enum hw_sensor_status status = hw_read_dht22(board, 4, &reading);
        assert_int_equal(fake.temperature_reads, expected_attempts);
        assert_int_equal(fake.sleeps, 0); /* delay 0: no sleep at all */
        assert_true(reading.temperature_celsius == 7);
        hw_board_free(board);
        return status;
}

static void test_persistent_errors_become_typed_errors_after_bounded_retries(void **state) {
        (void)state;
        assert_int_equal(read_with_persistent_error(ETIMEDOUT, 3, 4), HW_SENSOR_TIMEOUT);
        assert_int_equal(read_with_persistent_error(EIO, 2, 3), HW_SENSOR_CHECKSUM);
        assert_int_equal(read_with_persistent_error(EIO, 0, 1), HW_SENSOR_CHECKSUM);
        /* Not transient: one attempt, no retry. */
        assert_int_equal(read_with_persistent_error(EACCES, 3, 1), HW_SENSOR_TIMEOUT);
        assert_int_equal(read_with_persistent_error(ENODEV, 3, 1), HW_SENSOR_NO_SUCH_PIN);
}

static void test_errno_mapping(void **state) {
        (void)state;
        assert_int_equal(hw_iio_status_of_errno(0), HW_SENSOR_OK);
        assert_int_equal(hw_iio_status_of_errno(ETIMEDOUT), HW_SENSOR_TIMEOUT);
        assert_int_equal(hw_iio_status_of_errno(EIO), HW_SENSOR_CHECKSUM);
        assert_int_equal(hw_iio_status_of_errno(EBADMSG), HW_SENSOR_CHECKSUM);
        assert_int_equal(hw_iio_status_of_errno(ENOENT), HW_SENSOR_NO_SUCH_PIN);
        assert_int_equal(hw_iio_status_of_errno(ENODEV), HW_SENSOR_NO_SUCH_PIN);
        assert_int_equal(hw_iio_status_of_errno(ENXIO), HW_SENSOR_NO_SUCH_PIN);
        assert_int_equal(hw_iio_status_of_errno(EACCES), HW_SENSOR_TIMEOUT);
}

static void test_garbled_values_are_checksum_errors(void **state) {
        (void)state;
        const char *const bad[] = {"abc\n", "200000\n", "-41000\n", "21000 x\n", "\n"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                reset_fake();
                put_dht22(0, bad[i], "50000\n");
                struct linux_board_config config = base_config();
                struct hw_board *board = new_board(&config);
                struct hw_dht22_reading reading;
                assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_CHECKSUM);
                assert_int_equal(fake.temperature_reads, 3); /* retried like EIO */
                hw_board_free(board);
        }
        reset_fake();
        put_dht22(0, "20000\n", "100001\n"); /* humidity above 100 % */
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_CHECKSUM);
        hw_board_free(board);
}

static void test_failed_read_also_rests_the_sensor_two_seconds(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        fake.fail_errno = ETIMEDOUT;
        fake.fail_count = -1;
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_TIMEOUT);
        assert_int_equal(fake.temperature_reads, 3);

        fake.fail_count = 0; /* the sensor would answer now ... */
        advance_ms(1000);
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_TIMEOUT);
        assert_int_equal(fake.temperature_reads, 3); /* ... but is left to rest */

        advance_ms(1000);
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_int_equal(fake.temperature_reads, 4);
        hw_board_free(board);
}

static void test_vanished_device_is_no_such_pin_without_retries(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/bus/iio/devices/iio:device0/in_temp_input", root);
        assert_int_equal(unlink(path), 0);
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_NO_SUCH_PIN);
        assert_int_equal(fake.temperature_reads, 1);
        hw_board_free(board);
}

struct reader {
        struct hw_board *board;
        enum hw_sensor_status status;
        struct hw_dht22_reading reading;
};

static void *read_on_thread(void *data) {
        struct reader *reader = data;
        reader->status = hw_read_dht22(reader->board, 4, &reader->reading);
        return NULL;
}

static void test_concurrent_reads_touch_the_sensor_once(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "25500\n", "48000\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        fake.read_delay_us = 50000; /* the others arrive while the first reads */
        struct reader readers[6];
        pthread_t threads[6];
        for (size_t i = 0; i < 6; i++) {
                readers[i] = (struct reader){.board = board};
                assert_int_equal(pthread_create(&threads[i], NULL, read_on_thread, &readers[i]), 0);
        }
        for (size_t i = 0; i < 6; i++) {
                assert_int_equal(pthread_join(threads[i], NULL), 0);
                assert_int_equal(readers[i].status, HW_SENSOR_OK);
                assert_true(near(readers[i].reading.temperature_celsius, 25.5));
        }
        assert_int_equal(fake.temperature_reads, 1);
        hw_board_free(board);
}

static void test_missing_or_foreign_iio_device_is_refused(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        config.dht22[0].iio_device = 3;
        struct ph_error error = {0};
        assert_null(hw_linux_new(&config, &fake_hooks, &error));
        assert_non_null(strstr(error.message, "dht22_iio_devices"));
        assert_non_null(strstr(error.message, "pin 4"));
        assert_non_null(strstr(error.message, "iio:device3"));

        put("bus/iio/devices/iio:device0/name", "ads1015\n");
        config.dht22[0].iio_device = 0;
        assert_null(hw_linux_new(&config, &fake_hooks, &error));
        assert_non_null(strstr(error.message, "ads1015"));
        assert_non_null(strstr(error.message, "dht22_iio_devices"));
}

/* ---- LEDs of the kernel LED class ---- */

static const char *const led_names[CONFIG_LED_LINES] = {"status1:red", "status1:green",
                                                        "status2:red", "status2:green"};

static struct linux_board_config ledclass_config(void) {
        put_dht22(0, "21000\n", "60000\n");
        put_led(led_names[0], "1\n", "none [heartbeat] timer\n");
        put_led(led_names[1], "255\n", "[none] heartbeat timer\n");
        put_led(led_names[2], "1\n", NULL);
        put_led(led_names[3], "1\n", "[mmc0] none\n");
        struct linux_board_config config = base_config();
        config.led_driver = CONFIG_LED_DRIVER_LEDCLASS;
        for (size_t i = 0; i < CONFIG_LED_LINES; i++)
                snprintf(config.led_class_names[i], sizeof(config.led_class_names[i]), "%s",
                         led_names[i]);
        config.led_class_name_count = CONFIG_LED_LINES;
        return config;
}

static void expect_brightness(const char *first_red, const char *first_green,
                              const char *second_red, const char *second_green) {
        assert_string_equal(brightness(led_names[0]), first_red);
        assert_string_equal(brightness(led_names[1]), first_green);
        assert_string_equal(brightness(led_names[2]), second_red);
        assert_string_equal(brightness(led_names[3]), second_green);
}

static void test_ledclass_writes_each_color_to_red_and_green(void **state) {
        (void)state;
        reset_fake();
        struct linux_board_config config = ledclass_config();
        struct hw_board *board = new_board(&config);
        expect_brightness("0\n", "0\n", "0\n", "0\n"); /* off from the start */

        assert_int_equal(hw_set_leds(board, HW_LED_GREEN, HW_LED_RED), 0);
        expect_brightness("0\n", "255\n", "1\n", "0\n"); /* on = max_brightness */
        assert_int_equal(hw_set_leds(board, HW_LED_YELLOW, HW_LED_OFF), 0);
        expect_brightness("1\n", "255\n", "0\n", "0\n");
        assert_int_equal(hw_set_leds(board, HW_LED_RED, HW_LED_YELLOW), 0);
        expect_brightness("1\n", "0\n", "1\n", "1\n");
        assert_int_equal(hw_set_leds(board, HW_LED_OFF, HW_LED_GREEN), 0);
        expect_brightness("0\n", "0\n", "0\n", "1\n");

        enum hw_led_color first, second;
        hw_get_leds(board, &first, &second);
        assert_int_equal(first, HW_LED_OFF);
        assert_int_equal(second, HW_LED_GREEN);
        hw_board_free(board);
}

static void test_ledclass_takes_the_leds_from_their_triggers(void **state) {
        (void)state;
        reset_fake();
        struct linux_board_config config = ledclass_config();
        struct hw_board *board = new_board(&config);
        assert_string_equal(get("class/leds/status1:red/trigger"), "none\n");
        assert_string_equal(get("class/leds/status2:green/trigger"), "none\n");
        /* Already "[none]": left as it was, not rewritten. */
        assert_string_equal(get("class/leds/status1:green/trigger"), "[none] heartbeat timer\n");
        hw_board_free(board);
}

static void test_ledclass_turns_the_leds_off_on_destroy(void **state) {
        (void)state;
        reset_fake();
        struct linux_board_config config = ledclass_config();
        struct hw_board *board = new_board(&config);
        assert_int_equal(hw_set_leds(board, HW_LED_YELLOW, HW_LED_YELLOW), 0);
        expect_brightness("1\n", "255\n", "1\n", "1\n");
        hw_board_free(board);
        expect_brightness("0\n", "0\n", "0\n", "0\n");
}

static void test_failed_led_write_is_reported_and_keeps_the_old_colors(void **state) {
        (void)state;
        reset_fake();
        struct linux_board_config config = ledclass_config();
        struct hw_board *board = new_board(&config);
        assert_int_equal(hw_set_leds(board, HW_LED_GREEN, HW_LED_GREEN), 0);
        /* The brightness attribute of one LED becomes unwritable. */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/class/leds/status2:red/brightness", root);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(hw_set_leds(board, HW_LED_RED, HW_LED_RED), -EISDIR);
        enum hw_led_color first, second;
        hw_get_leds(board, &first, &second);
        assert_int_equal(first, HW_LED_GREEN);
        assert_int_equal(second, HW_LED_GREEN);
        assert_string_equal(brightness(led_names[0]), "1\n"); /* the others were still set */
        hw_board_free(board);
}

static void test_missing_led_is_refused_naming_it(void **state) {
        (void)state;
        reset_fake();
        struct linux_board_config config = ledclass_config();
        snprintf(config.led_class_names[2], sizeof(config.led_class_names[2]), "no-such-led");
        struct ph_error error = {0};
        assert_null(hw_linux_new(&config, &fake_hooks, &error));
        assert_non_null(strstr(error.message, "led_class_names"));
        assert_non_null(strstr(error.message, "no-such-led"));
        /* The LEDs set up before the failure were turned off and let go. */
        expect_brightness("0\n", "0\n", "1\n", "1\n");
}

static void test_without_led_driver_colors_are_remembered(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        struct hw_board *board = new_board(&config);
        assert_int_equal(hw_set_leds(board, HW_LED_RED, HW_LED_YELLOW), 0);
        enum hw_led_color first, second;
        hw_get_leds(board, &first, &second);
        assert_int_equal(first, HW_LED_RED);
        assert_int_equal(second, HW_LED_YELLOW);
        assert_int_equal(hw_set_leds(board, (enum hw_led_color)9, HW_LED_OFF), -EINVAL);
        hw_board_free(board);
}

/* ---- LEDs through libgpiod ---- */

static void test_gpiod_missing_chip_is_refused_naming_gpio_chip(void **state) {
        (void)state;
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        config.led_driver = CONFIG_LED_DRIVER_GPIOD;
        snprintf(config.gpio_chip, sizeof(config.gpio_chip), "pyhost-no-such-chip");
        for (unsigned i = 0; i < CONFIG_LED_LINES; i++)
                config.led_lines[i] = i;
        config.led_line_count = CONFIG_LED_LINES;
        struct ph_error error = {0};
        assert_null(hw_linux_new(&config, &fake_hooks, &error));
        assert_non_null(strstr(error.message, "gpio_chip"));
        assert_non_null(strstr(error.message, "pyhost-no-such-chip"));
}

/* Real GPIO lines the test can read back: a gpio-sim chip made through
 * configfs, or a chip of the gpio-mockup module. */
struct real_chip {
        char chip_name[64];  /* gpiochipN */
        char value_dir[256]; /* where line N's value is read: <dir>/<prefix>N<suffix> */
        const char *prefix;
        const char *suffix;
        char sim_dir[128]; /* gpio-sim's configfs directory, to remove; "" for mockup */
};

#define GPIO_SIM_CONFIGFS "/sys/kernel/config/gpio-sim"

static int write_text(const char *path, const char *text) {
        return hw_sysfs_write(path, text);
}

static bool make_gpio_sim_chip(struct real_chip *chip) {
        char path[PATH_MAX], dev_name[64];
        snprintf(chip->sim_dir, sizeof(chip->sim_dir), "%s/pyhost-test-%ld", GPIO_SIM_CONFIGFS,
                 (long)getpid());
        if (mkdir(chip->sim_dir, 0755) < 0)
                return false;
        snprintf(path, sizeof(path), "%s/bank0", chip->sim_dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/bank0/num_lines", chip->sim_dir);
        assert_int_equal(write_text(path, "4"), 0);
        snprintf(path, sizeof(path), "%s/live", chip->sim_dir);
        assert_int_equal(write_text(path, "1"), 0);
        snprintf(path, sizeof(path), "%s/dev_name", chip->sim_dir);
        assert_true(hw_sysfs_read(NULL, path, dev_name, sizeof(dev_name)) > 0);
        dev_name[strcspn(dev_name, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/bank0/chip_name", chip->sim_dir);
        assert_true(hw_sysfs_read(NULL, path, chip->chip_name, sizeof(chip->chip_name)) > 0);
        chip->chip_name[strcspn(chip->chip_name, "\n")] = '\0';
        snprintf(chip->value_dir, sizeof(chip->value_dir), "/sys/devices/platform/%s/%s", dev_name,
                 chip->chip_name);
        chip->prefix = "sim_gpio";
        chip->suffix = "/value";
        return true;
}

static void remove_gpio_sim_chip(const struct real_chip *chip) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/live", chip->sim_dir);
        (void)write_text(path, "0");
        snprintf(path, sizeof(path), "%s/bank0", chip->sim_dir);
        rmdir(path);
        rmdir(chip->sim_dir);
}

/* gpio-mockup's chips are labelled gpio-mockup-A, -B, ...; debugfs shows
 * each line's value at /sys/kernel/debug/gpio-mockup/gpiochipN/<line>. */
static bool find_gpio_mockup_chip(struct real_chip *chip) {
        struct gpiod_chip_iter *iter = gpiod_chip_iter_new();
        if (iter == NULL)
                return false;
        bool is_found = false;
        struct gpiod_chip *candidate;
        gpiod_foreach_chip(iter, candidate) {
                if (strncmp(gpiod_chip_label(candidate), "gpio-mockup-", 12) == 0 &&
                    gpiod_chip_num_lines(candidate) >= CONFIG_LED_LINES) {
                        snprintf(chip->chip_name, sizeof(chip->chip_name), "%s",
                                 gpiod_chip_name(candidate));
                        is_found = true;
                        break;
                }
        }
        if (is_found)
                gpiod_chip_iter_free_noclose(iter);
        else
                gpiod_chip_iter_free(iter);
        if (!is_found)
                return false;
        snprintf(chip->value_dir, sizeof(chip->value_dir), "/sys/kernel/debug/gpio-mockup/%s",
                 chip->chip_name);
        chip->prefix = "";
        chip->suffix = "";
        chip->sim_dir[0] = '\0';
        return access(chip->value_dir, R_OK) == 0;
}

static int line_value(const struct real_chip *chip, unsigned line) {
        char path[PATH_MAX], text[16];
        snprintf(path, sizeof(path), "%s/%s%u%s", chip->value_dir, chip->prefix, line,
                 chip->suffix);
        assert_true(hw_sysfs_read(NULL, path, text, sizeof(text)) > 0);
        return text[0] == '1' ? 1 : 0;
}

static void test_gpiod_drives_real_gpio_lines(void **state) {
        (void)state;
        struct real_chip chip = {0};
        bool has_sim = access(GPIO_SIM_CONFIGFS, W_OK) == 0 && make_gpio_sim_chip(&chip);
        if (!has_sim && !find_gpio_mockup_chip(&chip)) {
                const char *sim_problem = "not writable";
                if (access(GPIO_SIM_CONFIGFS, F_OK) < 0)
                        sim_problem = strerror(errno);
                const char *mockup_problem =
                        access("/sys/bus/gpio", F_OK) == 0
                                ? "no chip labelled gpio-mockup-*"
                                : "no GPIO character devices at all: /sys/bus/gpio is missing";
                print_message("[  SKIPPED ] gpiod on real lines: this kernel offers neither "
                              "gpio-sim (%s: %s; needs CONFIG_GPIO_SIM and configfs mounted "
                              "at /sys/kernel/config) nor gpio-mockup (%s; needs "
                              "CONFIG_GPIO_MOCKUP loaded and debugfs). The fake-tree tests "
                              "cover the rest.\n",
                              GPIO_SIM_CONFIGFS, sim_problem, mockup_problem);
                skip();
        }
        reset_fake();
        put_dht22(0, "21000\n", "60000\n");
        struct linux_board_config config = base_config();
        config.led_driver = CONFIG_LED_DRIVER_GPIOD;
        snprintf(config.gpio_chip, sizeof(config.gpio_chip), "%s", chip.chip_name);
        const unsigned lines[CONFIG_LED_LINES] = {2, 0, 3, 1}; /* any order the wiring has */
        memcpy(config.led_lines, lines, sizeof(lines));
        config.led_line_count = CONFIG_LED_LINES;
        struct hw_board *board = new_board(&config);

        assert_int_equal(hw_set_leds(board, HW_LED_YELLOW, HW_LED_GREEN), 0);
        assert_int_equal(line_value(&chip, 2), 1); /* first red */
        assert_int_equal(line_value(&chip, 0), 1); /* first green */
        assert_int_equal(line_value(&chip, 3), 0); /* second red */
        assert_int_equal(line_value(&chip, 1), 1); /* second green */
        assert_int_equal(hw_set_leds(board, HW_LED_OFF, HW_LED_RED), 0);
        assert_int_equal(line_value(&chip, 2), 0);
        assert_int_equal(line_value(&chip, 0), 0);
        assert_int_equal(line_value(&chip, 3), 1);
        assert_int_equal(line_value(&chip, 1), 0);

        /* Requested once, as outputs, by "pyhost"; released on destroy. */
        struct gpiod_chip *observer = gpiod_chip_open_lookup(chip.chip_name);
        assert_non_null(observer);
        struct gpiod_line *line = gpiod_chip_get_line(observer, 3);
        assert_non_null(line);
        assert_true(gpiod_line_is_used(line));
        assert_string_equal(gpiod_line_consumer(line), "pyhost");
        assert_int_equal(gpiod_line_direction(line), GPIOD_LINE_DIRECTION_OUTPUT);
        hw_board_free(board);
        assert_int_equal(gpiod_line_update(line), 0);
        assert_false(gpiod_line_is_used(line));
        gpiod_chip_close(observer);
        if (has_sim)
                remove_gpio_sim_chip(&chip);
}

/* ---- the [board] keys ---- */

static char config_path[PATH_MAX];

static int load(const char *text, struct host_config *config, struct ph_error *error) {
        snprintf(config_path, sizeof(config_path), "%s/pyhost.ini", root);
        FILE *file = fopen(config_path, "we");
        assert_non_null(file);
        fputs(text, file);
        assert_int_equal(fclose(file), 0);
        config_set_defaults(config);
        int result = config_load_file(config, config_path, error);
        if (result == 0)
                result = config_validate(config, error);
        return result;
}

static void test_linux_keys_are_parsed(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        int result = load("[board]\nbackend = linux\nsysfs_root = /tmp/fake-sys\n"
                          "dht22_iio_devices = 4:0, 17:2\ndht22_read_retries = 5\n"
                          "dht22_retry_delay_ms = 250\nled_driver = gpiod\n"
                          "gpio_chip = pinctrl-bcm2711\nled_lines = 17, 27,22 ,23\n"
                          "led_active_low = yes\n"
                          "led_class_names = a:red, a:green, b:red, b:green\n",
                          &config, &error);
        if (result != 0)
                fail_msg("%s", error.message);
        const struct linux_board_config *board = &config.board.linux_board;
        assert_string_equal(config.board.backend, "linux");
        assert_string_equal(board->sysfs_root, "/tmp/fake-sys");
        assert_int_equal(board->dht22_count, 2);
        assert_int_equal(board->dht22[0].pin, 4);
        assert_int_equal(board->dht22[0].iio_device, 0);
        assert_int_equal(board->dht22[1].pin, 17);
        assert_int_equal(board->dht22[1].iio_device, 2);
        assert_int_equal(board->read_retries, 5);
        assert_int_equal(board->retry_delay_ms, 250);
        assert_int_equal(board->led_driver, CONFIG_LED_DRIVER_GPIOD);
        assert_string_equal(board->gpio_chip, "pinctrl-bcm2711");
        assert_int_equal(board->led_line_count, 4);
        assert_int_equal(board->led_lines[CONFIG_LED_FIRST_RED], 17);
        assert_int_equal(board->led_lines[CONFIG_LED_FIRST_GREEN], 27);
        assert_int_equal(board->led_lines[CONFIG_LED_SECOND_RED], 22);
        assert_int_equal(board->led_lines[CONFIG_LED_SECOND_GREEN], 23);
        assert_true(board->is_led_active_low);
        assert_int_equal(board->led_class_name_count, 4);
        assert_string_equal(board->led_class_names[CONFIG_LED_SECOND_GREEN], "b:green");
}

static void test_linux_defaults_keep_the_simulated_board(void **state) {
        (void)state;
        struct host_config config;
        config_set_defaults(&config);
        assert_string_equal(config.board.backend, "sim");
        assert_string_equal(config.board.linux_board.sysfs_root, "/sys");
        assert_int_equal(config.board.linux_board.led_driver, CONFIG_LED_DRIVER_GPIOD);
        assert_string_equal(config.board.linux_board.gpio_chip, "gpiochip0");
}

static void test_malformed_linux_values_name_the_key(void **state) {
        (void)state;
        static const struct {
                const char *line;
                const char *key;
        } cases[] = {
                {"backend = fpga", "backend"},
                {"sysfs_root = relative/sys", "sysfs_root"},
                {"dht22_iio_devices = 4", "dht22_iio_devices"},
                {"dht22_iio_devices = 4:x", "dht22_iio_devices"},
                {"dht22_iio_devices = 300:0", "dht22_iio_devices"},
                {"dht22_iio_devices = ,", "dht22_iio_devices"},
                {"dht22_read_retries = 11", "dht22_read_retries"},
                {"dht22_retry_delay_ms = -1", "dht22_retry_delay_ms"},
                {"led_driver = pwm", "led_driver"},
                {"led_lines = 1, 2, 3", "led_lines"},
                {"led_lines = 1, 2, 3, 4, 5", "led_lines"},
                {"led_lines = 1, 2, three, 4", "led_lines"},
                {"led_active_low = maybe", "led_active_low"},
                {"led_class_names = a, b/c, d, e", "led_class_names"},
                {"led_class_names = a, .., d, e", "led_class_names"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[256];
                snprintf(text, sizeof(text), "[board]\n%s\n", cases[i].line);
                struct host_config config;
                struct ph_error error = {0};
                if (load(text, &config, &error) == 0)
                        fail_msg("accepted: %s", cases[i].line);
                if (strstr(error.message, cases[i].key) == NULL ||
                    strstr(error.message, "[board]") == NULL)
                        fail_msg("'%s' gave: %s", cases[i].line, error.message);
        }
}

static void test_linux_cross_field_rules_are_checked(void **state) {
        (void)state;
        static const struct {
                const char *text;
                const char *expected;
        } cases[] = {
                {"backend = linux\nled_driver = none\n", "needs dht22_iio_devices"},
                {"backend = linux\nled_driver = none\ndht22_iio_devices = 4:0, 4:1\n",
                 "pin 4 is mapped twice"},
                {"backend = linux\nled_driver = none\ndht22_iio_devices = 4:0, 17:0\n",
                 "iio:device0 is given to pins 4 and 17"},
                {"backend = linux\ndht22_iio_devices = 4:0\n",
                 "led_driver = gpiod needs led_lines"},
                {"backend = linux\ndht22_iio_devices = 4:0\nled_lines = 1, 2, 3, 1\n",
                 "led_lines: line 1 is used twice"},
                {"backend = linux\ndht22_iio_devices = 4:0\nled_driver = ledclass\n",
                 "led_driver = ledclass needs led_class_names"},
                {"backend = linux\ndht22_iio_devices = 4:0\nled_driver = ledclass\n"
                 "led_class_names = a, b, a, c\n",
                 "led_class_names: 'a' is used twice"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[512];
                snprintf(text, sizeof(text), "[board]\n%s", cases[i].text);
                struct host_config config;
                struct ph_error error = {0};
                if (load(text, &config, &error) == 0)
                        fail_msg("accepted: %s", cases[i].text);
                if (strstr(error.message, cases[i].expected) == NULL)
                        fail_msg("expected '%s', got: %s", cases[i].expected, error.message);
        }
        /* The same keys are fine while the simulated board is in use. */
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[board]\nbackend = sim\nled_driver = ledclass\n", &config, &error),
                         0);
}

static void test_backend_linux_is_built_from_the_config_file(void **state) {
        (void)state;
        struct linux_board_config unused = ledclass_config(); /* makes the tree */
        (void)unused;
        char text[1024];
        snprintf(text, sizeof(text),
                 "[board]\nbackend = linux\nsysfs_root = %s\ndht22_iio_devices = 4:0\n"
                 "led_driver = ledclass\nled_class_names = %s, %s, %s, %s\n",
                 root, led_names[0], led_names[1], led_names[2], led_names[3]);
        struct host_config config;
        struct ph_error error = {0};
        if (load(text, &config, &error) != 0)
                fail_msg("%s", error.message);
        struct hw_board *board = hw_board_new(&config.board, &error);
        if (board == NULL)
                fail_msg("%s", error.message);
        assert_string_equal(board->ops->name, "linux");
        struct hw_dht22_reading reading;
        assert_int_equal(hw_read_dht22(board, 4, &reading), HW_SENSOR_OK);
        assert_true(near(reading.temperature_celsius, 21.0));
        assert_int_equal(hw_set_leds(board, HW_LED_RED, HW_LED_GREEN), 0);
        expect_brightness("1\n", "0\n", "0\n", "1\n");
        hw_board_free(board);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, make_root, remove_root)

int main(void) {
        pthread_mutex_init(&fake.lock, NULL);
        const struct CMUnitTest tests[] = {
                TEST(test_reading_is_converted_from_milli_units),
                TEST(test_each_pin_reads_its_own_iio_device),
                TEST(test_unknown_pin_is_no_such_pin),
                TEST(test_sensor_is_read_at_most_every_two_seconds),
                TEST(test_real_clock_serves_an_immediate_second_read_from_the_window),
                TEST(test_transient_errors_are_retried_after_the_delay),
                TEST(test_persistent_errors_become_typed_errors_after_bounded_retries),
                TEST(test_errno_mapping),
                TEST(test_garbled_values_are_checksum_errors),
                TEST(test_failed_read_also_rests_the_sensor_two_seconds),
                TEST(test_vanished_device_is_no_such_pin_without_retries),
                TEST(test_concurrent_reads_touch_the_sensor_once),
                TEST(test_missing_or_foreign_iio_device_is_refused),
                TEST(test_ledclass_writes_each_color_to_red_and_green),
                TEST(test_ledclass_takes_the_leds_from_their_triggers),
                TEST(test_ledclass_turns_the_leds_off_on_destroy),
                TEST(test_failed_led_write_is_reported_and_keeps_the_old_colors),
                TEST(test_missing_led_is_refused_naming_it),
                TEST(test_without_led_driver_colors_are_remembered),
                TEST(test_gpiod_missing_chip_is_refused_naming_gpio_chip),
                TEST(test_gpiod_drives_real_gpio_lines),
                TEST(test_linux_keys_are_parsed),
                TEST(test_linux_defaults_keep_the_simulated_board),
                TEST(test_malformed_linux_values_name_the_key),
                TEST(test_linux_cross_field_rules_are_checked),
                TEST(test_backend_linux_is_built_from_the_config_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
