/* hw_sim_bme280.h - a Bosch BME280 at the register level, for the
 * simulated I2C bus.
 *
 * Follows the datasheet (BST-BME280-DS002): chip id 0x60 at 0xD0, soft
 * reset (0xB6 to 0xE0), the calibration registers 0x88..0xA1 and
 * 0xE1..0xE7, ctrl_hum (taking effect at the next ctrl_meas write),
 * status, ctrl_meas (sleep, forced: one measurement then sleep, normal:
 * a new measurement for each burst read of the data), config, the data
 * registers 0xF7..0xFE (0x80000/0x8000 while skipped or after reset), an
 * address pointer that auto-increments on reads, register/value pairs on
 * writes. Measurements are instant (status never shows "measuring").
 *
 * The raw ADC values are derived from a model (celsius, hPa, %RH, plus a
 * seeded +- noise per measurement): the raw value whose datasheet
 * integer compensation is nearest the model's value, so a driver written
 * from the datasheet reads the model back to within one raw step (about
 * 0.01 C, 0.2 Pa, 0.01 %RH). With the defaults (22.5 C, 1013.25 hPa,
 * 45 %RH, no noise) the chip reports adc_T = 511640, adc_P = 408927,
 * adc_H = 28211, which compensate to 2250 (22.50 C), 25939196 / 256 =
 * 101324.98 Pa and 46082 / 1024 = 45.00 %RH.
 *
 * Owns its registers; not thread-safe (hw_sim.c holds its lock). */
#ifndef PH_HW_SIM_BME280_H
#define PH_HW_SIM_BME280_H

#include <stddef.h>
#include <stdint.h>

#define HW_BME280_CHIP_ID 0x60

/* The trimming values the datasheet calls dig_T1..dig_H6. */
struct hw_bme280_calibration {
        uint16_t t1;
        int16_t t2, t3;
        uint16_t p1;
        int16_t p2, p3, p4, p5, p6, p7, p8, p9;
        uint8_t h1;
        int16_t h2;
        uint8_t h3;
        int16_t h4, h5;
        int8_t h6;
};

/* The calibration every simulated chip carries. */
extern const struct hw_bme280_calibration hw_sim_bme280_calibration;

struct hw_bme280_raw {
        int32_t temperature; /* adc_T, 20 bits */
        int32_t pressure;    /* adc_P, 20 bits */
        int32_t humidity;    /* adc_H, 16 bits */
};

/* The datasheet's integer compensation (section 4.2.3): 0.01 C,
 * Q24.8 Pa, Q22.10 %RH. */
struct hw_bme280_compensated {
        int32_t centi_celsius;
        uint32_t pressure_q24_8;
        uint32_t humidity_q22_10;
};
void hw_bme280_compensate(const struct hw_bme280_calibration *calibration,
                          const struct hw_bme280_raw *raw, struct hw_bme280_compensated *ret);

/* The raw values the chip reports for these physical values. */
void hw_sim_bme280_raw_for(double celsius, double hpa, double humidity,
                           struct hw_bme280_raw *ret_raw);

struct hw_sim_bme280 {
        uint8_t registers[256];
        uint8_t pointer;
        uint8_t humidity_oversampling; /* ctrl_hum as of the last ctrl_meas write */
        uint64_t measurements;
        uint64_t random_state;
        double celsius, hpa, humidity, noise;
};

/* A chip after power-on, measuring the model given. */
void hw_sim_bme280_init(struct hw_sim_bme280 *chip, double celsius, double hpa, double humidity,
                        double noise, uint32_t seed);

/* One I2C transaction addressed to the chip; always acknowledged. */
void hw_sim_bme280_transact(struct hw_sim_bme280 *chip, const uint8_t *write, size_t write_length,
                            uint8_t *read, size_t read_length);

#endif
