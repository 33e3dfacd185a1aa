#include "hw/hw_sim_bme280.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

enum {
        REG_CALIB_FIRST = 0x88,
        REG_H1 = 0xA1,
        REG_ID = 0xD0,
        REG_RESET = 0xE0,
        REG_CALIB_H_FIRST = 0xE1,
        REG_CTRL_HUM = 0xF2,
        REG_STATUS = 0xF3,
        REG_CTRL_MEAS = 0xF4,
        REG_CONFIG = 0xF5,
        REG_PRESS_MSB = 0xF7,
        REG_TEMP_MSB = 0xFA,
        REG_HUM_MSB = 0xFD,
        RESET_WORD = 0xB6,
};

/* Trimming values of the kind a real chip carries (the temperature and
 * pressure ones are the worked example of Bosch's BMP280 datasheet). */
const struct hw_bme280_calibration hw_sim_bme280_calibration = {
        .t1 = 27504,
        .t2 = 26435,
        .t3 = -1000,
        .p1 = 36477,
        .p2 = -10685,
        .p3 = 3024,
        .p4 = 2855,
        .p5 = 140,
        .p6 = -7,
        .p7 = 15500,
        .p8 = -14600,
        .p9 = 6000,
        .h1 = 75,
        .h2 = 362,
        .h3 = 0,
        .h4 = 313,
        .h5 = 50,
        .h6 = 30,
};

/* Right shifts of negative numbers are arithmetic in the datasheet's code
 * (and in every compiler we build with); left shifts are written as
 * multiplications, which C defines for negative numbers too. */
void hw_bme280_compensate(const struct hw_bme280_calibration *c, const struct hw_bme280_raw *raw,
                          struct hw_bme280_compensated *ret) {
        int32_t adc_t = raw->temperature;
        int32_t var1 = (((adc_t >> 3) - ((int32_t)c->t1 * 2)) * (int32_t)c->t2) >> 11;
        int32_t delta = (adc_t >> 4) - (int32_t)c->t1;
        int32_t var2 = (((delta * delta) >> 12) * (int32_t)c->t3) >> 14;
        int32_t t_fine = var1 + var2;
        ret->centi_celsius = (t_fine * 5 + 128) >> 8;

        int64_t p1 = (int64_t)t_fine - 128000;
        int64_t p2 = p1 * p1 * (int64_t)c->p6;
        p2 = p2 + ((p1 * (int64_t)c->p5) * 131072);
        p2 = p2 + ((int64_t)c->p4 * 34359738368LL);
        p1 = ((p1 * p1 * (int64_t)c->p3) >> 8) + ((p1 * (int64_t)c->p2) * 4096);
        p1 = ((140737488355328LL + p1) * (int64_t)c->p1) >> 33;
        if (p1 == 0) {
                ret->pressure_q24_8 = 0;
        } else {
                int64_t p = 1048576 - (int64_t)raw->pressure;
                p = ((p * 2147483648LL - p2) * 3125) / p1;
                int64_t v1 = ((int64_t)c->p9 * (p >> 13) * (p >> 13)) >> 25;
                int64_t v2 = ((int64_t)c->p8 * p) >> 19;
                p = ((p + v1 + v2) >> 8) + ((int64_t)c->p7 * 16);
                ret->pressure_q24_8 = (uint32_t)p;
        }

        int32_t x = t_fine - 76800;
        x = (((((raw->humidity * 16384) - ((int32_t)c->h4 * 1048576) - ((int32_t)c->h5 * x)) +
               16384) >>
              15) *
             (((((((x * (int32_t)c->h6) >> 10) * (((x * (int32_t)c->h3) >> 11) + 32768)) >> 10) +
                2097152) *
                       (int32_t)c->h2 +
               8192) >>
              14));
        x = x - (((((x >> 15) * (x >> 15)) >> 7) * (int32_t)c->h1) >> 4);
        x = x < 0 ? 0 : x;
        x = x > 419430400 ? 419430400 : x;
        ret->humidity_q22_10 = (uint32_t)(x >> 12);
}

/* The raw value in [0, limit) whose compensated value (picked by `which`)
 * is nearest `target` (binary search: temperature and humidity grow with
 * their raw value, pressure falls). */
enum quantity { TEMPERATURE, PRESSURE, HUMIDITY };

static double compensated(enum quantity which, int32_t adc_t, int32_t value) {
        struct hw_bme280_raw raw = {.temperature = adc_t, .pressure = 0x80000, .humidity = 0x8000};
        if (which == PRESSURE)
                raw.pressure = value;
        else if (which == HUMIDITY)
                raw.humidity = value;
        else
                raw.temperature = value;
        struct hw_bme280_compensated out;
        hw_bme280_compensate(&hw_sim_bme280_calibration, &raw, &out);
        if (which == PRESSURE)
                return (double)out.pressure_q24_8 / 256.0; /* Pa */
        if (which == HUMIDITY)
                return (double)out.humidity_q22_10 / 1024.0;
        return (double)out.centi_celsius / 100.0;
}

static int32_t search(enum quantity which, int32_t adc_t, double target, int32_t limit) {
        /* Temperature and humidity grow with their raw value, pressure
         * falls. */
        int32_t low = 0, high = limit - 1;
        while (low < high) {
                int32_t middle = low + (high - low) / 2;
                double value = compensated(which, adc_t, middle);
                bool is_below = which == PRESSURE ? value > target : value < target;
                if (is_below)
                        low = middle + 1;
                else
                        high = middle;
        }
        /* `low` is the first step past the target: its neighbour below
         * may be closer. */
        if (low > 0 && fabs(compensated(which, adc_t, low - 1) - target) <
                               fabs(compensated(which, adc_t, low) - target))
                return low - 1;
        return low;
}

void hw_sim_bme280_raw_for(double celsius, double hpa, double humidity,
                           struct hw_bme280_raw *ret_raw) {
        /* The raw value whose compensated value is nearest the model's. */
        ret_raw->temperature = search(TEMPERATURE, 0, celsius, 1 << 20);
        ret_raw->pressure = search(PRESSURE, ret_raw->temperature, hpa * 100.0, 1 << 20);
        ret_raw->humidity = search(HUMIDITY, ret_raw->temperature, humidity, 1 << 16);
}

static void put16(uint8_t *at, uint16_t value) {
        at[0] = (uint8_t)(value & 0xFF);
        at[1] = (uint8_t)(value >> 8);
}

static void put_data_reset(struct hw_sim_bme280 *chip) {
        uint8_t *r = chip->registers;
        r[REG_PRESS_MSB] = 0x80, r[REG_PRESS_MSB + 1] = 0, r[REG_PRESS_MSB + 2] = 0;
        r[REG_TEMP_MSB] = 0x80, r[REG_TEMP_MSB + 1] = 0, r[REG_TEMP_MSB + 2] = 0;
        r[REG_HUM_MSB] = 0x80, r[REG_HUM_MSB + 1] = 0;
}

static void power_on(struct hw_sim_bme280 *chip) {
        const struct hw_bme280_calibration *c = &hw_sim_bme280_calibration;
        uint8_t *r = chip->registers;
        memset(r, 0, sizeof(chip->registers));
        uint16_t words[12] = {c->t1,           (uint16_t)c->t2, (uint16_t)c->t3, c->p1,
                              (uint16_t)c->p2, (uint16_t)c->p3, (uint16_t)c->p4, (uint16_t)c->p5,
                              (uint16_t)c->p6, (uint16_t)c->p7, (uint16_t)c->p8, (uint16_t)c->p9};
        for (size_t i = 0; i < 12; i++)
                put16(&r[REG_CALIB_FIRST + 2 * i], words[i]);
        r[REG_H1] = c->h1;
        put16(&r[REG_CALIB_H_FIRST], (uint16_t)c->h2);
        r[0xE3] = c->h3;
        /* H4 and H5 are 12 bits each, sharing 0xE5. */
        r[0xE4] = (uint8_t)((uint16_t)c->h4 >> 4);
        r[0xE5] = (uint8_t)(((uint16_t)c->h4 & 0x0F) | (((uint16_t)c->h5 & 0x0F) << 4));
        r[0xE6] = (uint8_t)((uint16_t)c->h5 >> 4);
        r[0xE7] = (uint8_t)c->h6;
        r[REG_ID] = HW_BME280_CHIP_ID;
        put_data_reset(chip);
        chip->humidity_oversampling = 0;
        chip->pointer = 0;
}

void hw_sim_bme280_init(struct hw_sim_bme280 *chip, double celsius, double hpa, double humidity,
                        double noise, uint32_t seed) {
        memset(chip, 0, sizeof(*chip));
        chip->celsius = celsius;
        chip->hpa = hpa;
        chip->humidity = humidity;
        chip->noise = noise;
        chip->random_state = 0xD1B54A32D192ED03ULL ^ (uint64_t)seed; /* never 0 */
        power_on(chip);
}

/* -1..1, xorshift64* as hw_sim.c's. */
static double next_signed(uint64_t *state) {
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return 2.0 * ((double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53)) - 1.0;
}

static void measure(struct hw_sim_bme280 *chip) {
        uint8_t *r = chip->registers;
        double celsius = chip->celsius, hpa = chip->hpa, humidity = chip->humidity;
        if (chip->noise > 0) {
                celsius += chip->noise * next_signed(&chip->random_state);
                hpa += chip->noise * next_signed(&chip->random_state);
                humidity += chip->noise * next_signed(&chip->random_state);
        }
        humidity = humidity < 0 ? 0 : humidity > 100 ? 100 : humidity;
        chip->measurements++;
        struct hw_bme280_raw raw;
        hw_sim_bme280_raw_for(celsius, hpa, humidity, &raw);
        unsigned osrs_t = r[REG_CTRL_MEAS] >> 5, osrs_p = (r[REG_CTRL_MEAS] >> 2) & 7;
        unsigned osrs_h = chip->humidity_oversampling;
        /* A skipped measurement reads 0x80000 (0x8000 for humidity). */
        uint32_t adc_p = osrs_p != 0 ? (uint32_t)raw.pressure : 0x80000;
        uint32_t adc_t = osrs_t != 0 ? (uint32_t)raw.temperature : 0x80000;
        uint32_t adc_h = osrs_h != 0 ? (uint32_t)raw.humidity : 0x8000;
        r[REG_PRESS_MSB] = (uint8_t)(adc_p >> 12);
        r[REG_PRESS_MSB + 1] = (uint8_t)(adc_p >> 4);
        r[REG_PRESS_MSB + 2] = (uint8_t)((adc_p & 0x0F) << 4);
        r[REG_TEMP_MSB] = (uint8_t)(adc_t >> 12);
        r[REG_TEMP_MSB + 1] = (uint8_t)(adc_t >> 4);
        r[REG_TEMP_MSB + 2] = (uint8_t)((adc_t & 0x0F) << 4);
        r[REG_HUM_MSB] = (uint8_t)(adc_h >> 8);
        r[REG_HUM_MSB + 1] = (uint8_t)(adc_h & 0xFF);
}

static void write_register(struct hw_sim_bme280 *chip, uint8_t address, uint8_t value) {
        uint8_t *r = chip->registers;
        switch (address) {
        case REG_RESET:
                if (value == RESET_WORD)
                        power_on(chip);
                return;
        case REG_CTRL_HUM:
                r[REG_CTRL_HUM] = value & 7;
                return;
        case REG_CONFIG:
                r[REG_CONFIG] = value & 0xFD; /* bit 1 is reserved */
                return;
        case REG_CTRL_MEAS: {
                chip->humidity_oversampling = r[REG_CTRL_HUM] & 7;
                unsigned mode = value & 3;
                r[REG_CTRL_MEAS] = value;
                if (mode == 1 || mode == 2) {
                        measure(chip);
                        r[REG_CTRL_MEAS] = (uint8_t)(value & 0xFC); /* back to sleep */
                } else if (mode == 3) {
                        measure(chip);
                }
                return;
        }
        default:
                return; /* read-only: ignored, as the chip does */
        }
}

void hw_sim_bme280_transact(struct hw_sim_bme280 *chip, const uint8_t *write, size_t write_length,
                            uint8_t *read, size_t read_length) {
        if (write_length > 0) {
                chip->pointer = write[0];
                /* Then register/value pairs: the first pair's register is
                 * write[0]. A lone trailing byte just moves the pointer. */
                size_t i = 0;
                while (i + 1 < write_length) {
                        write_register(chip, write[i], write[i + 1]);
                        i += 2;
                        if (i < write_length)
                                chip->pointer = write[i];
                }
        }
        if (read_length == 0)
                return;
        /* In normal mode each burst that starts in the data registers gets
         * a fresh measurement, as the chip's standby/measure cycle would. */
        if ((chip->registers[REG_CTRL_MEAS] & 3) == 3 && chip->pointer >= REG_PRESS_MSB)
                measure(chip);
        for (size_t i = 0; i < read_length; i++) {
                uint8_t address = chip->pointer;
                read[i] = address == REG_RESET || address == REG_STATUS ? 0
                                                                        : chip->registers[address];
                chip->pointer = (uint8_t)(address + 1);
        }
}
