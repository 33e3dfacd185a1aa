/* Unit tests of the Linux capability backends against fake trees: IIO
 * channels (src/hw/hw_iio_channel.c), w1 (hw_w1.c) and PWM
 * (hw_pwm_sysfs.c) under a temporary sysfs_root; i2c-dev (hw_i2cdev.c)
 * and libgpiod lines (hw_gpio_line.c) on files that are not adapters or
 * chips, since this kernel has no I2C or GPIO devices. Each error names
 * the file it is about. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/hw_linux.h"

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

static void put(const char *relative, const char *text) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", root, relative);
        make_parents(path);
        FILE *file = fopen(path, "we");
        assert_non_null(file);
        assert_true(fputs(text, file) >= 0);
        assert_int_equal(fclose(file), 0);
}

static const char *get(const char *relative) {
        static char text[256];
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", root, relative);
        FILE *file = fopen(path, "re");
        assert_non_null(file);
        size_t length = fread(text, 1, sizeof(text) - 1, file);
        text[length] = '\0';
        fclose(file);
        return text;
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw) {
        (void)info, (void)flag, (void)ftw;
        return remove(path);
}

static int make_root(void **state) {
        (void)state;
        snprintf(root, sizeof(root), "/tmp/pyhost-hwdev-XXXXXX");
        assert_non_null(mkdtemp(root));
        return 0;
}

static int remove_root(void **state) {
        (void)state;
        return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define IIO0 "bus/iio/devices/iio:device0/"

/* ---- IIO ---- */

static void test_iio_reads_input_raw_and_shared_scale(void **state) {
        (void)state;
        put(IIO0 "in_temp_input", "23125\n");
        put(IIO0 "in_voltage0_raw", "1234\n");
        put(IIO0 "in_voltage_scale", "0.125000000\n"); /* shared by voltage0..N */
        put(IIO0 "in_voltage1_scale", "2\n");          /* its own wins */
        double value = 0;
        struct ph_error error = {0};
        assert_int_equal(hw_iio_channel_read_sysfs(root, 0, "temp", HW_IIO_INPUT, &value, &error),
                         0);
        assert_true(fabs(value - 23125) < 1e-9);
        assert_int_equal(hw_iio_channel_read_sysfs(root, 0, "voltage0", HW_IIO_RAW, &value, &error),
                         0);
        assert_true(fabs(value - 1234) < 1e-9);
        assert_int_equal(
                hw_iio_channel_read_sysfs(root, 0, "voltage0", HW_IIO_SCALE, &value, &error), 0);
        assert_true(fabs(value - 0.125) < 1e-12);
        assert_int_equal(
                hw_iio_channel_read_sysfs(root, 0, "voltage1", HW_IIO_SCALE, &value, &error), 0);
        assert_true(fabs(value - 2) < 1e-12);
}

static void test_iio_errors_name_the_file(void **state) {
        (void)state;
        put(IIO0 "in_humidityrelative_input", "wet\n");
        double value = 0;
        struct ph_error error = {0};
        assert_int_equal(hw_iio_channel_read_sysfs(root, 0, "humidityrelative", HW_IIO_INPUT,
                                                   &value, &error),
                         -EBADMSG);
        assert_non_null(strstr(error.message, "iio:device0/in_humidityrelative_input"));
        assert_non_null(strstr(error.message, "'wet'"));
        assert_int_equal(
                hw_iio_channel_read_sysfs(root, 0, "pressure", HW_IIO_INPUT, &value, &error),
                -ENOENT);
        assert_non_null(strstr(error.message, "iio:device0/in_pressure_input"));
        assert_int_equal(hw_iio_channel_read_sysfs(root, 3, "temp", HW_IIO_RAW, &value, &error),
                         -ENOENT);
        assert_non_null(strstr(error.message, "iio:device3/in_temp_raw"));
        assert_int_equal(
                hw_iio_channel_read_sysfs(root, 0, "voltage7", HW_IIO_OFFSET, &value, &error),
                -ENOENT);
        assert_non_null(strstr(error.message, "in_voltage7_offset"));
        assert_non_null(strstr(error.message, "in_voltage_offset"));
        assert_int_equal(hw_iio_channel_read_sysfs(root, 0, "../name", HW_IIO_RAW, &value, &error),
                         -EINVAL);
        assert_int_equal(hw_iio_channel_read_sysfs(root, 0, "", HW_IIO_RAW, &value, &error),
                         -EINVAL);
}

/* ---- w1 ---- */

#define W1 "bus/w1/devices/28-0000075a1b2c/w1_slave"

static void test_w1_reads_a_good_conversion(void **state) {
        (void)state;
        put(W1, "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                "72 01 4b 46 7f ff 0e 10 57 t=23125\n");
        double celsius = 0;
        struct ph_error error = {0};
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error), 0);
        assert_true(fabs(celsius - 23.125) < 1e-9);
        put(W1, "5e ff 4b 46 7f ff 02 10 56 : crc=56 YES\n"
                "5e ff 4b 46 7f ff 02 10 56 t=-10125\n");
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error), 0);
        assert_true(fabs(celsius + 10.125) < 1e-9);
}

static void test_w1_errors_name_the_file(void **state) {
        (void)state;
        double celsius = 0;
        struct ph_error error = {0};
        put(W1, "72 01 4b 46 7f ff 0e 10 57 : crc=ff NO\n"
                "72 01 4b 46 7f ff 0e 10 57 t=23125\n");
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error), -EIO);
        assert_non_null(strstr(error.message, W1));
        assert_non_null(strstr(error.message, "CRC check failed"));
        put(W1, "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n"
                "50 05 4b 46 7f ff 0c 10 1c t=85000\n");
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error),
                         -EAGAIN);
        assert_non_null(strstr(error.message, "power-on"));
        put(W1, "garbage\n");
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error),
                         -EBADMSG);
        assert_non_null(strstr(error.message, W1));
        put(W1, "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=9x\n");
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-0000075a1b2c", &celsius, &error),
                         -EBADMSG);
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-000000000bad", &celsius, &error),
                         -ENOENT);
        assert_non_null(strstr(error.message, "bus/w1/devices/28-000000000bad/w1_slave"));
        assert_int_equal(hw_w1_read_celsius_sysfs(root, "28-../../../etc", &celsius, &error),
                         -EINVAL);
}

/* ---- PWM ---- */

#define CHIP "class/pwm/pwmchip0/"

static void test_pwm_exports_and_writes_period_duty_enable(void **state) {
        (void)state;
        put(CHIP "export", "");
        /* The kernel would make pwm1 on export; the fake tree has it. */
        put(CHIP "pwm1/period", "0\n");
        put(CHIP "pwm1/duty_cycle", "0\n");
        put(CHIP "pwm1/enable", "0\n");
        struct hw_pwm_state state_in = {
                .period_ns = 20000000, .duty_ns = 1500000, .is_enabled = true};
        struct ph_error error = {0};
        assert_int_equal(hw_pwm_sysfs_set(root, 0, 1, &state_in, &error), 0);
        assert_string_equal(get(CHIP "pwm1/period"), "20000000");
        assert_string_equal(get(CHIP "pwm1/duty_cycle"), "1500000");
        assert_string_equal(get(CHIP "pwm1/enable"), "1");
        assert_string_equal(get(CHIP "export"), ""); /* already there: not exported again */
        struct hw_pwm_state got = {0};
        assert_int_equal(hw_pwm_sysfs_get(root, 0, 1, &got, &error), 0);
        assert_int_equal(got.period_ns, 20000000);
        assert_int_equal(got.duty_ns, 1500000);
        assert_true(got.is_enabled);
        /* A shorter period than the old duty: still ends consistent. */
        struct hw_pwm_state fast = {.period_ns = 1000000, .duty_ns = 250000, .is_enabled = false};
        assert_int_equal(hw_pwm_sysfs_set(root, 0, 1, &fast, &error), 0);
        assert_string_equal(get(CHIP "pwm1/period"), "1000000");
        assert_string_equal(get(CHIP "pwm1/duty_cycle"), "250000");
        assert_string_equal(get(CHIP "pwm1/enable"), "0");
}

static void test_pwm_errors_name_the_file(void **state) {
        (void)state;
        struct hw_pwm_state on = {.period_ns = 1000, .duty_ns = 500, .is_enabled = true};
        struct ph_error error = {0};
        /* No chip at all. */
        assert_int_equal(hw_pwm_sysfs_set(root, 4, 0, &on, &error), -ENOENT);
        assert_non_null(strstr(error.message, "pwmchip4/export"));
        /* Export accepted but no channel directory appeared. */
        put(CHIP "export", "");
        assert_int_equal(hw_pwm_sysfs_set(root, 0, 0, &on, &error), -ENOENT);
        assert_non_null(strstr(error.message, "pwmchip0/pwm0 did not appear"));
        assert_string_equal(get(CHIP "export"), "0");
        /* Garbage where a number belongs. */
        put(CHIP "pwm0/period", "0\n");
        put(CHIP "pwm0/duty_cycle", "lots\n");
        put(CHIP "pwm0/enable", "0\n");
        assert_int_equal(hw_pwm_sysfs_set(root, 0, 0, &on, &error), -EBADMSG);
        assert_non_null(strstr(error.message, "pwmchip0/pwm0/duty_cycle"));
        struct hw_pwm_state got;
        assert_int_equal(hw_pwm_sysfs_get(root, 0, 0, &got, &error), -EBADMSG);
        /* A missing attribute. */
        put(CHIP "pwm0/duty_cycle", "0\n");
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/" CHIP "pwm0/enable", root);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(hw_pwm_sysfs_set(root, 0, 0, &on, &error), -ENOENT);
        assert_non_null(strstr(error.message, "pwmchip0/pwm0/enable"));
}

/* ---- I2C, GPIO: what this kernel lets us try ---- */

static void test_i2c_on_a_file_that_is_not_an_adapter(void **state) {
        (void)state;
        put("dev/i2c-1", "");
        char link[PATH_MAX];
        snprintf(link, sizeof(link), "%s/dev/i2c-3", root);
        assert_int_equal(symlink("/dev/null", link), 0); /* a character device, not an adapter */
        char dev[PATH_MAX];
        snprintf(dev, sizeof(dev), "%s/dev", root);
        struct ph_error error = {0};
        struct hw_i2cdev *i2cdev = hw_i2cdev_new(dev, &error);
        assert_non_null(i2cdev);
        uint8_t reg = 0xD0, id = 0;
        struct hw_i2c_transaction t = {.bus = 1,
                                       .address = 0x76,
                                       .write = &reg,
                                       .write_length = 1,
                                       .read = &id,
                                       .read_length = 1};
        int result = hw_i2cdev_transact(i2cdev, &t, &error);
        assert_int_equal(result, -ENOTTY);
        assert_int_equal(hw_i2c_status_of(result), HW_I2C_NO_SUCH_BUS);
        assert_non_null(strstr(error.message, "dev/i2c-1 is not an I2C adapter"));
        t.bus = 3;
        assert_int_equal(hw_i2cdev_transact(i2cdev, &t, &error), -ENOTTY);
        assert_non_null(strstr(error.message, "dev/i2c-3 is not an I2C adapter"));
        t.bus = 2;
        assert_int_equal(hw_i2cdev_transact(i2cdev, &t, &error), -ENOENT);
        assert_non_null(strstr(error.message, "dev/i2c-2"));
        hw_i2cdev_free(i2cdev);
}

static struct hw_board *linux_board(void) {
        struct host_config config;
        config_set_defaults(&config);
        struct linux_board_config *board = &config.board.linux_board;
        snprintf(board->sysfs_root, sizeof(board->sysfs_root), "%s", root);
        snprintf(board->dev_root, sizeof(board->dev_root), "%s/dev", root);
        char chip[PATH_MAX];
        snprintf(chip, sizeof(chip), "%s/dev/gpiochip0", root);
        assert_true(strlen(chip) < sizeof(board->gpio_chip));
        memcpy(board->gpio_chip, chip, strlen(chip) + 1);
        board->led_driver = CONFIG_LED_DRIVER_NONE;
        board->dht22_count = 0;
        struct ph_error error = {0};
        struct hw_board *made = hw_linux_new(board, NULL, &error);
        assert_non_null(made);
        return made;
}

static void test_linux_board_routes_every_capability(void **state) {
        (void)state;
        put(IIO0 "in_pressure_input", "101.325\n"); /* the bmp280 driver: kPa */
        put(W1, "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
        put(CHIP "export", "");
        put(CHIP "pwm0/period", "0\n");
        put(CHIP "pwm0/duty_cycle", "0\n");
        put(CHIP "pwm0/enable", "0\n");
        put("dev/gpiochip0", "not a chip");
        struct hw_board *board = linux_board();
        double value = 0;
        struct ph_error error = {0};
        assert_int_equal(hw_iio_channel_read(board, 0, "pressure", HW_IIO_INPUT, &value, &error),
                         0);
        assert_true(fabs(value - 101.325) < 1e-9);
        assert_int_equal(hw_w1_read_celsius(board, "28-0000075a1b2c", &value, &error), 0);
        assert_true(fabs(value - 23.125) < 1e-9);
        struct hw_pwm_state on = {.period_ns = 1000, .duty_ns = 500, .is_enabled = true};
        assert_int_equal(hw_pwm_set(board, 0, &on, &error), 0);
        assert_string_equal(get(CHIP "pwm0/enable"), "1");
        /* GPIO: the chip named by gpio_chip is a plain file here. */
        struct hw_gpio_request in = {.direction = HW_GPIO_INPUT};
        struct hw_gpio_line *line = NULL;
        int result = hw_gpio_claim(board, 17, &in, &line, &error);
        assert_true(result < 0);
        assert_non_null(strstr(error.message, "[board] gpio_chip: cannot open"));
        assert_non_null(strstr(error.message, "dev/gpiochip0"));
        /* I2C: no adapter under dev_root. */
        uint8_t reg = 0xD0, id = 0;
        struct hw_i2c_transaction t = {.bus = 1,
                                       .address = 0x76,
                                       .write = &reg,
                                       .write_length = 1,
                                       .read = &id,
                                       .read_length = 1};
        assert_int_equal(hw_i2c_transact(board, &t, &error), -ENOENT);
        assert_non_null(strstr(error.message, "dev/i2c-1"));
        hw_board_free(board);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_iio_reads_input_raw_and_shared_scale,
                                                make_root, remove_root),
                cmocka_unit_test_setup_teardown(test_iio_errors_name_the_file, make_root,
                                                remove_root),
                cmocka_unit_test_setup_teardown(test_w1_reads_a_good_conversion, make_root,
                                                remove_root),
                cmocka_unit_test_setup_teardown(test_w1_errors_name_the_file, make_root,
                                                remove_root),
                cmocka_unit_test_setup_teardown(test_pwm_exports_and_writes_period_duty_enable,
                                                make_root, remove_root),
                cmocka_unit_test_setup_teardown(test_pwm_errors_name_the_file, make_root,
                                                remove_root),
                cmocka_unit_test_setup_teardown(test_i2c_on_a_file_that_is_not_an_adapter,
                                                make_root, remove_root),
                cmocka_unit_test_setup_teardown(test_linux_board_routes_every_capability, make_root,
                                                remove_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
