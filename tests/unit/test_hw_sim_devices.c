/* Unit tests of the simulated board's devices (src/hw/hw_sim_bme280.c,
 * hw_sim_gpio.c, hw_sim.c) through the capability API (hw_i2c.h,
 * hw_gpio.h, hw_pwm.h, hw_w1.h), as a plugin's host calls would use them.
 *
 * The BME280 is read the way a driver written from the datasheet reads it:
 * registers over I2C transactions, decoded and compensated by this file's
 * own copy of the datasheet's integer formulas. The button's edges are
 * waited for on the line's event fd (poll with a deadline). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "hw/hw_sim.h"

static struct sim_board_config default_sim(void) {
        struct host_config config;
        config_set_defaults(&config);
        return config.board.sim;
}

static struct hw_board *new_board(const struct sim_board_config *sim) {
        struct board_config config = {.backend = "sim", .sim = *sim};
        struct ph_error error = {0};
        struct hw_board *board = hw_board_new(&config, &error);
        assert_non_null(board);
        return board;
}

static uint64_t monotonic_ns(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* ---- a BME280 driver, from the datasheet ---- */

static int bme_write(struct hw_board *board, uint8_t reg, uint8_t value) {
        uint8_t bytes[2] = {reg, value};
        struct hw_i2c_transaction t = {
                .bus = 1, .address = 0x76, .write = bytes, .write_length = 2};
        return hw_i2c_transact(board, &t, NULL);
}

static void bme_read(struct hw_board *board, uint8_t reg, uint8_t *out, size_t length) {
        struct hw_i2c_transaction t = {.bus = 1,
                                       .address = 0x76,
                                       .write = &reg,
                                       .write_length = 1,
                                       .read = out,
                                       .read_length = length};
        struct ph_error error = {0};
        assert_int_equal(hw_i2c_transact(board, &t, &error), 0);
}

struct calibration {
        uint16_t t1;
        int16_t t2, t3;
        uint16_t p1;
        int16_t p2, p3, p4, p5, p6, p7, p8, p9;
        uint8_t h1, h3;
        int16_t h2, h4, h5;
        int8_t h6;
};

static uint16_t le16(const uint8_t *at) {
        return (uint16_t)(at[0] | (at[1] << 8));
}

/* Datasheet section 5.4.5 / table 16: 0x88..0xA1 and 0xE1..0xE7. */
static struct calibration read_calibration(struct hw_board *board) {
        uint8_t a[26], b[7];
        bme_read(board, 0x88, a, sizeof(a));
        bme_read(board, 0xE1, b, sizeof(b));
        struct calibration c = {
                .t1 = le16(a),
                .t2 = (int16_t)le16(a + 2),
                .t3 = (int16_t)le16(a + 4),
                .p1 = le16(a + 6),
                .p2 = (int16_t)le16(a + 8),
                .p3 = (int16_t)le16(a + 10),
                .p4 = (int16_t)le16(a + 12),
                .p5 = (int16_t)le16(a + 14),
                .p6 = (int16_t)le16(a + 16),
                .p7 = (int16_t)le16(a + 18),
                .p8 = (int16_t)le16(a + 20),
                .p9 = (int16_t)le16(a + 22),
                .h1 = a[25],
                .h2 = (int16_t)le16(b),
                .h3 = b[2],
                .h4 = (int16_t)((int8_t)b[3] * 16 | (b[4] & 0x0F)),
                .h5 = (int16_t)((int8_t)b[5] * 16 | (b[4] >> 4)),
                .h6 = (int8_t)b[6],
        };
        return c;
}

/* Datasheet section 4.2.3, BME280_compensate_T_int32 and friends. */
static int32_t compensate_t(const struct calibration *c, int32_t adc, int32_t *t_fine) {
        int32_t var1 = (((adc >> 3) - ((int32_t)c->t1 * 2)) * ((int32_t)c->t2)) >> 11;
        int32_t var2 =
                (((((adc >> 4) - ((int32_t)c->t1)) * ((adc >> 4) - ((int32_t)c->t1))) >> 12) *
                 ((int32_t)c->t3)) >>
                14;
        *t_fine = var1 + var2;
        return (*t_fine * 5 + 128) >> 8;
}

static uint32_t compensate_p(const struct calibration *c, int32_t adc, int32_t t_fine) {
        int64_t var1 = ((int64_t)t_fine) - 128000;
        int64_t var2 = var1 * var1 * (int64_t)c->p6;
        var2 = var2 + ((var1 * (int64_t)c->p5) * (1LL << 17));
        var2 = var2 + (((int64_t)c->p4) * (1LL << 35));
        var1 = ((var1 * var1 * (int64_t)c->p3) >> 8) + ((var1 * (int64_t)c->p2) * (1LL << 12));
        var1 = (((1LL << 47) + var1)) * ((int64_t)c->p1) >> 33;
        if (var1 == 0)
                return 0;
        int64_t p = 1048576 - adc;
        p = (((p * (1LL << 31)) - var2) * 3125) / var1;
        var1 = (((int64_t)c->p9) * (p >> 13) * (p >> 13)) >> 25;
        var2 = (((int64_t)c->p8) * p) >> 19;
        p = ((p + var1 + var2) >> 8) + (((int64_t)c->p7) * 16);
        return (uint32_t)p;
}

static uint32_t compensate_h(const struct calibration *c, int32_t adc, int32_t t_fine) {
        int32_t v = (t_fine - ((int32_t)76800));
        v = (((((adc * 16384) - (((int32_t)c->h4) * 1048576) - (((int32_t)c->h5) * v)) +
               ((int32_t)16384)) >>
              15) *
             (((((((v * ((int32_t)c->h6)) >> 10) *
                  (((v * ((int32_t)c->h3)) >> 11) + ((int32_t)32768))) >>
                 10) +
                ((int32_t)2097152)) *
                       ((int32_t)c->h2) +
               8192) >>
              14));
        v = (v - (((((v >> 15) * (v >> 15)) >> 7) * ((int32_t)c->h1)) >> 4));
        v = (v < 0 ? 0 : v);
        v = (v > 419430400 ? 419430400 : v);
        return (uint32_t)(v >> 12);
}

struct measurement {
        int32_t adc_t, adc_p, adc_h;
        int32_t centi_celsius;
        uint32_t pressure_q24_8, humidity_q22_10;
};

/* Forced mode, x1 oversampling everywhere, then one burst read. */
static struct measurement measure_forced(struct hw_board *board) {
        struct calibration c = read_calibration(board);
        assert_int_equal(bme_write(board, 0xF2, 0x01), 0); /* ctrl_hum: osrs_h x1 */
        assert_int_equal(bme_write(board, 0xF4, 0x25), 0); /* ctrl_meas: x1, x1, forced */
        uint8_t status;
        do
                bme_read(board, 0xF3, &status, 1);
        while (status & 0x08);
        uint8_t d[8];
        bme_read(board, 0xF7, d, sizeof(d));
        struct measurement m = {
                .adc_p = (int32_t)((uint32_t)d[0] << 12 | (uint32_t)d[1] << 4 | d[2] >> 4),
                .adc_t = (int32_t)((uint32_t)d[3] << 12 | (uint32_t)d[4] << 4 | d[5] >> 4),
                .adc_h = (int32_t)((uint32_t)d[6] << 8 | d[7]),
        };
        int32_t t_fine = 0;
        m.centi_celsius = compensate_t(&c, m.adc_t, &t_fine);
        m.pressure_q24_8 = compensate_p(&c, m.adc_p, t_fine);
        m.humidity_q22_10 = compensate_h(&c, m.adc_h, t_fine);
        return m;
}

static void test_bme280_answers_chip_id_and_calibration(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        uint8_t id = 0;
        bme_read(board, 0xD0, &id, 1);
        assert_int_equal(id, 0x60);
        struct calibration c = read_calibration(board);
        assert_int_equal(c.t1, 27504);
        assert_int_equal(c.t2, 26435);
        assert_int_equal(c.t3, -1000);
        assert_int_equal(c.p1, 36477);
        assert_int_equal(c.p2, -10685);
        assert_int_equal(c.p9, 6000);
        assert_int_equal(c.h1, 75);
        assert_int_equal(c.h2, 362);
        assert_int_equal(c.h4, 313); /* 12 bits across 0xE4 and 0xE5's low nibble */
        assert_int_equal(c.h5, 50);  /* 0xE5's high nibble and 0xE6 */
        assert_int_equal(c.h6, 30);
        hw_board_free(board);
}

static void test_bme280_forced_reading_matches_the_documented_values(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim(); /* 22.5 C, 1013.25 hPa, 45 % */
        struct hw_board *board = new_board(&sim);
        struct measurement m = measure_forced(board);
        /* The values README and hw_sim_bme280.h document. */
        assert_int_equal(m.adc_t, 511640);
        assert_int_equal(m.adc_p, 408927);
        assert_int_equal(m.adc_h, 28211);
        assert_int_equal(m.centi_celsius, 2250);
        assert_int_equal(m.pressure_q24_8, 25939196); /* 101324.98 Pa */
        assert_int_equal(m.humidity_q22_10, 46082);   /* 45.00 % */
        /* Forced mode returns to sleep after the measurement. */
        uint8_t ctrl_meas;
        bme_read(board, 0xF4, &ctrl_meas, 1);
        assert_int_equal(ctrl_meas, 0x24);
        hw_board_free(board);

        /* Another model: the driver reads it back within a raw step. */
        sim.bme280_celsius = -10;
        sim.bme280_hpa = 900;
        sim.bme280_humidity = 80;
        board = new_board(&sim);
        m = measure_forced(board);
        assert_int_equal(m.centi_celsius, -1000);
        assert_true(fabs(m.pressure_q24_8 / 256.0 - 90000.0) < 0.5);
        assert_true(fabs(m.humidity_q22_10 / 1024.0 - 80.0) < 0.02);
        hw_board_free(board);
}

static void test_bme280_reset_values_skips_and_ctrl_hum_latch(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        uint8_t d[8];
        bme_read(board, 0xF7, d, sizeof(d)); /* before any measurement */
        const uint8_t reset[8] = {0x80, 0, 0, 0x80, 0, 0, 0x80, 0};
        assert_memory_equal(d, reset, sizeof(d));
        /* Humidity skipped: ctrl_hum only counts after a ctrl_meas write. */
        assert_int_equal(bme_write(board, 0xF4, 0x25), 0);
        bme_read(board, 0xF7, d, sizeof(d));
        assert_int_equal(d[6] << 8 | d[7], 0x8000);
        /* Normal mode measures at every burst; a ctrl_hum write alone
         * changes nothing until ctrl_meas is written again. */
        assert_int_equal(bme_write(board, 0xF4, 0x27), 0);
        assert_int_equal(bme_write(board, 0xF2, 0x01), 0);
        bme_read(board, 0xF7, d, sizeof(d));
        assert_int_equal(d[6] << 8 | d[7], 0x8000);
        assert_int_equal(d[3], 511640 >> 12); /* temperature is measured */
        uint8_t ctrl_hum = 0;
        bme_read(board, 0xF2, &ctrl_hum, 1);
        assert_int_equal(ctrl_hum, 0x01); /* reads back as written */
        assert_int_equal(bme_write(board, 0xF4, 0x27), 0);
        bme_read(board, 0xF7, d, sizeof(d));
        assert_int_equal(d[6] << 8 | d[7], 28211);
        /* Soft reset: control registers back to 0, data to 0x80000. */
        assert_int_equal(bme_write(board, 0xE0, 0xB6), 0);
        bme_read(board, 0xF2, d, 4);
        assert_int_equal(d[0], 0);
        assert_int_equal(d[2], 0);
        bme_read(board, 0xFA, d, 3);
        assert_int_equal(d[0], 0x80);
        hw_board_free(board);
}

static void test_bme280_noise_is_bounded_and_seeded(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.bme280_noise = 0.5;
        sim.seed = 7;
        struct hw_board *first = new_board(&sim), *second = new_board(&sim);
        sim.seed = 8;
        struct hw_board *other = new_board(&sim);
        int differing = 0;
        for (int i = 0; i < 20; i++) {
                struct measurement a = measure_forced(first), b = measure_forced(second);
                struct measurement c = measure_forced(other);
                assert_int_equal(a.adc_t, b.adc_t);
                assert_int_equal(a.adc_p, b.adc_p);
                assert_int_equal(a.adc_h, b.adc_h);
                differing += a.adc_t != c.adc_t;
                assert_true(fabs(a.centi_celsius / 100.0 - 22.5) <= 0.51);
                assert_true(fabs(a.pressure_q24_8 / 25600.0 - 1013.25) <= 0.51);
                assert_true(fabs(a.humidity_q22_10 / 1024.0 - 45.0) <= 0.52);
        }
        assert_true(differing > 10);
        hw_board_free(first);
        hw_board_free(second);
        hw_board_free(other);
}

static void test_i2c_errors_are_values(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        uint8_t reg = 0xD0, out[HW_I2C_MAX_LENGTH + 1];
        struct hw_i2c_transaction t = {.bus = 1,
                                       .address = 0x77,
                                       .write = &reg,
                                       .write_length = 1,
                                       .read = out,
                                       .read_length = 1};
        struct ph_error error = {0};
        int result = hw_i2c_transact(board, &t, &error);
        assert_int_equal(result, -ENXIO);
        assert_int_equal(hw_i2c_status_of(result), HW_I2C_NACK);
        assert_non_null(strstr(error.message, "0x77"));
        t.address = 0x76;
        t.bus = 3;
        result = hw_i2c_transact(board, &t, &error);
        assert_int_equal(hw_i2c_status_of(result), HW_I2C_NO_SUCH_BUS);
        assert_non_null(strstr(error.message, "bus 3"));
        t.bus = 1;
        t.address = 0x03;
        assert_int_equal(hw_i2c_transact(board, &t, &error), -EINVAL);
        t.address = 0x76;
        t.read_length = HW_I2C_MAX_LENGTH + 1;
        assert_int_equal(hw_i2c_transact(board, &t, &error), -EMSGSIZE);
        t.read_length = HW_I2C_MAX_LENGTH; /* the bound itself is fine */
        assert_int_equal(hw_i2c_transact(board, &t, &error), 0);
        assert_string_equal(hw_i2c_status_name(HW_I2C_TIMEOUT), "timeout");
        assert_int_equal(hw_i2c_status_of(-ETIMEDOUT), HW_I2C_TIMEOUT);
        assert_int_equal(hw_i2c_status_of(-EREMOTEIO), HW_I2C_NACK);
        assert_int_equal(hw_i2c_status_of(-EIO), HW_I2C_BUS_ERROR);
        hw_board_free(board);
}

/* ---- button ---- */

struct edges {
        struct hw_gpio_edge items[64];
        size_t count;
};

/* Collects the line's edges until `want_raw` raw edges were seen
 * (delivered + dropped) or 3 s passed. */
static void collect(struct hw_gpio_line *line, uint64_t want_raw, struct edges *edges) {
        int fd = hw_gpio_event_fd(line);
        assert_true(fd >= 0);
        uint64_t deadline = monotonic_ns() + 3000000000u;
        while (edges->count + hw_gpio_dropped_edges(line) < want_raw && monotonic_ns() < deadline) {
                struct pollfd ready = {.fd = fd, .events = POLLIN};
                int left_ms = (int)((deadline - monotonic_ns()) / 1000000u) + 1;
                if (poll(&ready, 1, left_ms) <= 0)
                        continue;
                struct hw_gpio_edge edge;
                while (hw_gpio_read_edge(line, &edge) == 0)
                        if (edges->count < 64)
                                edges->items[edges->count++] = edge;
        }
}

static struct hw_gpio_line *claim_button(struct hw_board *board, uint32_t debounce_us) {
        struct hw_gpio_request request = {.direction = HW_GPIO_INPUT,
                                          .is_active_low = true,
                                          .bias = HW_GPIO_BIAS_PULL_UP,
                                          .edges = HW_GPIO_EDGES_BOTH,
                                          .debounce_us = debounce_us};
        struct hw_gpio_line *line = NULL;
        struct ph_error error = {0};
        assert_int_equal(hw_gpio_claim(board, 17, &request, &line, &error), 0);
        return line;
}

static void test_scripted_press_bounces_into_one_debounced_edge_pair(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.button_press_count = 1;
        sim.button_presses_ms[0] = 30;
        sim.button_hold_ms = 60;
        sim.button_bounces = 3; /* 1 + 6 raw edges at the press, 1 + 6 at the release */
        sim.button_bounce_us = 2000;
        uint64_t made = monotonic_ns();
        struct hw_board *board = new_board(&sim);
        struct hw_gpio_line *line = claim_button(board, 5000);
        bool is_pressed = true;
        assert_int_equal(hw_gpio_read(line, &is_pressed), 0);
        assert_false(is_pressed);
        struct edges edges = {0};
        collect(line, 14, &edges);
        assert_int_equal(edges.count, 2);
        assert_int_equal(hw_gpio_dropped_edges(line), 12);
        assert_true(edges.items[0].is_rising); /* pressed: active */
        assert_false(edges.items[1].is_rising);
        /* Scripted times on CLOCK_MONOTONIC: the press 30 ms after the
         * board was made, the release 60 ms later. */
        assert_true(edges.items[0].timestamp_ns >= made + 30000000u);
        assert_true(edges.items[0].timestamp_ns < made + 80000000u);
        uint64_t held = edges.items[1].timestamp_ns - edges.items[0].timestamp_ns;
        assert_int_equal(held, 60000000u);
        /* Nothing more: the fd is quiet and no edge waits. */
        struct pollfd ready = {.fd = hw_gpio_event_fd(line), .events = POLLIN};
        assert_int_equal(poll(&ready, 1, 0), 0);
        struct hw_gpio_edge edge;
        assert_int_equal(hw_gpio_read_edge(line, &edge), -EAGAIN);
        assert_int_equal(hw_gpio_read(line, &is_pressed), 0);
        assert_false(is_pressed);
        hw_gpio_release(line);
        hw_board_free(board);
}

static void test_without_debounce_every_bounce_is_an_edge(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.button_press_count = 0;
        sim.button_hold_ms = 20;
        sim.button_bounces = 3;
        struct hw_board *board = new_board(&sim);
        struct hw_gpio_line *line = claim_button(board, 0);
        uint64_t before = monotonic_ns();
        assert_int_equal(hw_sim_button_press(board, 0), 0);
        struct edges edges = {0};
        collect(line, 14, &edges);
        assert_int_equal(edges.count, 14);
        assert_int_equal(hw_gpio_dropped_edges(line), 0);
        for (size_t i = 0; i < edges.count; i++) {
                assert_int_equal(edges.items[i].is_rising, i % 2 == 0); /* alternating */
                if (i > 0)
                        assert_true(edges.items[i].timestamp_ns > edges.items[i - 1].timestamp_ns);
        }
        assert_true(edges.items[0].timestamp_ns >= before);
        hw_gpio_release(line);
        hw_board_free(board);
}

static void test_undrained_edges_are_bounded_and_counted(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.button_hold_ms = 20;
        sim.button_bounces = 16; /* 1 + 32 raw edges at the press, 1 + 32 at the release */
        sim.button_bounce_us = 2000;
        struct hw_board *board = new_board(&sim);
        struct hw_gpio_line *line = claim_button(board, 0);
        uint64_t pressed = monotonic_ns();
        assert_int_equal(hw_sim_button_press(board, 0), 0);
        assert_int_equal(hw_sim_button_press(board, 0), 0); /* starts 1 ms after the first */
        /* The script's time, not an event: both presses are over 70 ms
         * later; nothing is drained until then. */
        struct timespec nap = {0, 5000000};
        while (monotonic_ns() < pressed + 70000000u)
                nanosleep(&nap, NULL);
        size_t delivered = 0;
        struct hw_gpio_edge edge;
        while (hw_gpio_read_edge(line, &edge) == 0)
                delivered++;
        assert_int_equal(delivered, HW_GPIO_EDGE_QUEUE);
        assert_int_equal(hw_gpio_dropped_edges(line), 2 * 66 - HW_GPIO_EDGE_QUEUE);
        hw_gpio_release(line);
        hw_board_free(board);
}

static void test_rising_only_and_repeated_presses(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.button_press_count = 1;
        sim.button_presses_ms[0] = 10;
        sim.button_repeat_ms = 40;
        sim.button_hold_ms = 15;
        sim.button_bounces = 2;
        struct hw_board *board = new_board(&sim);
        struct hw_gpio_request request = {.direction = HW_GPIO_INPUT,
                                          .is_active_low = true,
                                          .edges = HW_GPIO_EDGES_RISING,
                                          .debounce_us = 5000};
        struct hw_gpio_line *line = NULL;
        assert_int_equal(hw_gpio_claim(board, 17, &request, &line, NULL), 0);
        struct edges edges = {0};
        /* Three presses: each 1 rising (delivered), 1 falling (unwanted,
         * not counted), 8 bounces dropped. */
        uint64_t deadline = monotonic_ns() + 3000000000u;
        while (edges.count < 3 && monotonic_ns() < deadline) {
                struct pollfd ready = {.fd = hw_gpio_event_fd(line), .events = POLLIN};
                if (poll(&ready, 1, 100) <= 0)
                        continue;
                struct hw_gpio_edge edge;
                while (edges.count < 3 && hw_gpio_read_edge(line, &edge) == 0)
                        edges.items[edges.count++] = edge;
        }
        assert_int_equal(edges.count, 3);
        for (size_t i = 0; i < 3; i++)
                assert_true(edges.items[i].is_rising);
        assert_int_equal(edges.items[1].timestamp_ns - edges.items[0].timestamp_ns, 40000000u);
        hw_gpio_release(line);
        hw_board_free(board);
}

static void test_debounce_filter_keeps_the_first_edge_of_a_burst(void **state) {
        (void)state;
        struct hw_debounce filter = {.debounce_us = 1000, .edges = HW_GPIO_EDGES_BOTH};
        struct hw_gpio_edge rise = {.timestamp_ns = 5000000, .is_rising = true};
        assert_int_equal(hw_debounce_filter(&filter, &rise), HW_DEBOUNCE_DELIVER);
        struct hw_gpio_edge fall = {.timestamp_ns = 5500000, .is_rising = false};
        assert_int_equal(hw_debounce_filter(&filter, &fall), HW_DEBOUNCE_DROP); /* 0.5 ms */
        fall.timestamp_ns = 6000000;
        assert_int_equal(hw_debounce_filter(&filter, &fall), HW_DEBOUNCE_DELIVER); /* 1 ms */
        fall.timestamp_ns = 9000000;
        assert_int_equal(hw_debounce_filter(&filter, &fall), HW_DEBOUNCE_DROP); /* same level */
        filter.edges = HW_GPIO_EDGES_FALLING;
        rise.timestamp_ns = 9000000;
        assert_int_equal(hw_debounce_filter(&filter, &rise), HW_DEBOUNCE_UNWANTED);
        assert_true(filter.is_active);
}

/* ---- relay, PWM, DS18B20 ---- */

static void test_relay_is_logged_read_back_and_owned_once(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        struct hw_gpio_request out = {.direction = HW_GPIO_OUTPUT};
        struct hw_gpio_line *relay = NULL, *again = NULL;
        struct ph_error error = {0};
        struct capture capture;
        capture_start(&capture);
        assert_int_equal(hw_gpio_claim(board, 27, &out, &relay, &error), 0);
        assert_int_equal(hw_gpio_write(relay, true), 0);
        assert_int_equal(hw_gpio_write(relay, true), 0); /* no change */
        assert_int_equal(hw_gpio_write(relay, false), 0);
        const char *log = capture_stop(&capture);
        assert_non_null(strstr(log, "relay (line 27) on"));
        assert_non_null(strstr(log, "relay (line 27) off"));
        assert_int_equal(hw_sim_output_change_count(board), 2);
        bool is_on = true;
        assert_int_equal(hw_gpio_read(relay, &is_on), 0);
        assert_false(is_on);
        assert_int_equal(hw_gpio_claim(board, 27, &out, &again, &error), -EBUSY);
        assert_non_null(strstr(error.message, "line 27"));
        assert_int_equal(hw_gpio_claim(board, 17, &out, &again, &error), -EPERM);
        assert_int_equal(hw_gpio_claim(board, 64, &out, &again, &error), -ENOENT);
        out.debounce_us = 10; /* an output has no debounce */
        assert_int_equal(hw_gpio_claim(board, 5, &out, &again, &error), -EINVAL);
        assert_int_equal(hw_gpio_event_fd(relay), -EINVAL);
        hw_gpio_release(relay);
        /* Released: another owner may claim it; an active-low output
         * starting active drives the line low. */
        out = (struct hw_gpio_request){
                .direction = HW_GPIO_OUTPUT, .is_active_low = true, .is_initially_active = true};
        assert_int_equal(hw_gpio_claim(board, 27, &out, &again, &error), 0);
        assert_int_equal(hw_gpio_read(again, &is_on), 0);
        assert_true(is_on);
        assert_int_equal(hw_gpio_write(again, false), 0);
        hw_gpio_release(again);
        struct hw_gpio_request in = {.direction = HW_GPIO_INPUT};
        assert_int_equal(hw_gpio_claim(board, 27, &in, &again, &error), 0);
        assert_int_equal(hw_gpio_write(again, true), -EPERM);
        hw_gpio_release(again);
        hw_board_free(board);
}

static void test_pwm_state_is_kept_and_logged(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        struct hw_board *board = new_board(&sim);
        struct hw_pwm_state servo = {.period_ns = 20000000, .duty_ns = 1500000, .is_enabled = true};
        struct ph_error error = {0};
        struct capture capture;
        capture_start(&capture);
        assert_int_equal(hw_pwm_set(board, 1, &servo, &error), 0);
        const char *log = capture_stop(&capture);
        assert_non_null(strstr(log, "pwm 1: on, period 20000000 ns, duty 1500000 ns (7.5 %)"));
        struct hw_pwm_state got = {0};
        assert_int_equal(hw_pwm_get(board, 1, &got, &error), 0);
        assert_int_equal(got.period_ns, 20000000);
        assert_int_equal(got.duty_ns, 1500000);
        assert_true(got.is_enabled);
        assert_int_equal(hw_sim_pwm_change_count(board), 1);
        struct hw_pwm_state bad = {.period_ns = 1000, .duty_ns = 1001};
        assert_int_equal(hw_pwm_set(board, 1, &bad, &error), -EINVAL);
        assert_non_null(strstr(error.message, "duty"));
        assert_int_equal(hw_pwm_set(board, 2, &servo, &error), -ENOENT);
        assert_int_equal(hw_sim_pwm_change_count(board), 1);
        hw_board_free(board);
}

static void test_ds18b20_reads_in_sixteenths(void **state) {
        (void)state;
        struct sim_board_config sim = default_sim();
        sim.ds18b20_celsius = 21.55; /* nearest 1/16: 21.5625 */
        struct hw_board *board = new_board(&sim);
        double celsius = 0;
        struct ph_error error = {0};
        assert_int_equal(hw_w1_read_celsius(board, "28-000000000001", &celsius, &error), 0);
        assert_true(fabs(celsius - 21.5625) < 1e-9);
        assert_int_equal(hw_w1_read_celsius(board, "28-000000000002", &celsius, &error), -ENOENT);
        assert_non_null(strstr(error.message, "28-000000000002"));
        assert_int_equal(hw_w1_read_celsius(board, "../../etc", &celsius, &error), -EINVAL);
        assert_int_equal(hw_iio_channel_read(board, 0, "temp", HW_IIO_INPUT, &celsius, &error),
                         -ENOENT);
        hw_board_free(board);
}

/* ---- the [board] keys ---- */

static int load(const char *text, struct host_config *config, struct ph_error *error) {
        char path[] = "/tmp/pyhost-simdev-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        config_set_defaults(config);
        int result = config_load_file(config, path, error);
        if (result == 0)
                result = config_validate(config, error);
        unlink(path);
        return result;
}

static void test_board_keys_configure_the_devices(void **state) {
        (void)state;
        struct host_config config;
        struct ph_error error = {0};
        assert_int_equal(load("[board]\nbme280_address = 0x77\nbme280_celsius = 30\n"
                              "ds18b20_id = 28-0000075a1b2c\nbutton_line = 5\n"
                              "button_presses_ms = 500, 3000\nbutton_repeat_ms = 10000\n"
                              "relay_line = 6\ndev_root = /tmp/dev\npwm_chip = 2\n",
                              &config, &error),
                         0);
        const struct sim_board_config *sim = &config.board.sim;
        assert_int_equal(sim->bme280_address, 0x77);
        assert_true(fabs(sim->bme280_celsius - 30) < 1e-9);
        assert_string_equal(sim->ds18b20_id, "28-0000075a1b2c");
        assert_int_equal(sim->button_press_count, 2);
        assert_int_equal(sim->button_presses_ms[1], 3000);
        assert_string_equal(config.board.linux_board.dev_root, "/tmp/dev");
        assert_int_equal(config.board.linux_board.pwm_chip, 2);
        /* Defaults: the board the README documents. */
        assert_int_equal(load("", &config, &error), 0);
        assert_int_equal(config.board.sim.bme280_address, 0x76);
        assert_int_equal(config.board.sim.button_line, 17);
        assert_int_equal(config.board.sim.relay_line, 27);

        const char *bad[][2] = {
                {"[board]\nbme280_address = 0x75\n", "bme280_address"},
                {"[board]\nds18b20_id = 28-XYZ\n", "ds18b20_id"},
                {"[board]\nbutton_presses_ms = 3000, 500\n", "button_presses_ms"},
                {"[board]\nbutton_line = 64\n", "button_line"},
                {"[board]\nrelay_line = 17\n", "relay_line"},
                {"[board]\nbutton_bounce_us = 50000\nbutton_hold_ms = 20\n", "button_bounce_us"},
                {"[board]\nbutton_presses_ms = 500, 3000\nbutton_repeat_ms = 2000\n",
                 "button_repeat_ms"},
                {"[board]\ndev_root = dev\n", "dev_root"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                error = (struct ph_error){0};
                assert_true(load(bad[i][0], &config, &error) < 0);
                if (strstr(error.message, bad[i][1]) == NULL)
                        fail_msg("'%s': %s", bad[i][0], error.message);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bme280_answers_chip_id_and_calibration),
                cmocka_unit_test(test_bme280_forced_reading_matches_the_documented_values),
                cmocka_unit_test(test_bme280_reset_values_skips_and_ctrl_hum_latch),
                cmocka_unit_test(test_bme280_noise_is_bounded_and_seeded),
                cmocka_unit_test(test_i2c_errors_are_values),
                cmocka_unit_test(test_scripted_press_bounces_into_one_debounced_edge_pair),
                cmocka_unit_test(test_without_debounce_every_bounce_is_an_edge),
                cmocka_unit_test(test_undrained_edges_are_bounded_and_counted),
                cmocka_unit_test(test_rising_only_and_repeated_presses),
                cmocka_unit_test(test_debounce_filter_keeps_the_first_edge_of_a_burst),
                cmocka_unit_test(test_relay_is_logged_read_back_and_owned_once),
                cmocka_unit_test(test_pwm_state_is_kept_and_logged),
                cmocka_unit_test(test_ds18b20_reads_in_sixteenths),
                cmocka_unit_test(test_board_keys_configure_the_devices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
