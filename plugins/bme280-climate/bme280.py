"""A BME280 driver over pyhost's `i2c` interface, written from the Bosch
BME280 datasheet (BST-BME280-DS002): chip id, calibration read, forced-mode
measurement and the datasheet's integer compensation (section 4.2.3 and
8.2), which gives temperature in 0.01 °C, pressure in Pa/256 and humidity
in %RH/1024."""

from componentize_py_types import Err
from wit_world.imports import i2c

CHIP_ID = 0x60
REG_CHIP_ID = 0xD0
REG_CALIB_00 = 0x88  # dig_T1 .. dig_H1: 0x88..0xA1 (26 bytes)
REG_CALIB_26 = 0xE1  # dig_H2 .. dig_H6: 0xE1..0xE7 (7 bytes)
REG_CTRL_HUM = 0xF2
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_DATA = 0xF7  # press_msb .. hum_lsb: 0xF7..0xFE (8 bytes)
OVERSAMPLE_1 = 0b001
MODE_FORCED = 0b01
STATUS_MEASURING = 0x08


class Bme280Error(Exception):
    """A failed transaction (the i2c-error's name) or a wrong chip."""


def _u16(data, at):
    return data[at] | (data[at + 1] << 8)


def _s16(data, at):
    value = _u16(data, at)
    return value - 0x10000 if value & 0x8000 else value


def _s8(value):
    return value - 0x100 if value & 0x80 else value


class Bme280:
    def __init__(self, bus: int, address: int):
        self.bus = bus
        self.address = address
        self.calibration = None

    def _transact(self, write: bytes, read_length: int) -> bytes:
        try:
            return bytes(i2c.transact(self.bus, self.address, write, read_length))
        except Err as err:
            raise Bme280Error(err.value.name.lower()) from None

    def read_registers(self, register: int, length: int) -> bytes:
        # Write the register address, repeated start, read: one transaction.
        return self._transact(bytes([register]), length)

    def write_register(self, register: int, value: int) -> None:
        self._transact(bytes([register, value]), 0)

    def start(self) -> None:
        """Checks the chip id and reads the calibration (once)."""
        chip_id = self.read_registers(REG_CHIP_ID, 1)[0]
        if chip_id != CHIP_ID:
            raise Bme280Error(f"chip id 0x{chip_id:02x}, not a BME280 (0x60)")
        c = self.read_registers(REG_CALIB_00, 26)
        h = self.read_registers(REG_CALIB_26, 7)
        self.calibration = {
            "T1": _u16(c, 0), "T2": _s16(c, 2), "T3": _s16(c, 4),
            "P1": _u16(c, 6), "P2": _s16(c, 8), "P3": _s16(c, 10), "P4": _s16(c, 12),
            "P5": _s16(c, 14), "P6": _s16(c, 16), "P7": _s16(c, 18), "P8": _s16(c, 20),
            "P9": _s16(c, 22),
            "H1": c[25],
            "H2": _s16(h, 0), "H3": h[2],
            "H4": (_s8(h[3]) << 4) | (h[4] & 0x0F),
            "H5": (_s8(h[5]) << 4) | (h[4] >> 4),
            "H6": _s8(h[6]),
        }

    def measure_raw(self) -> tuple[int, int, int]:
        """One forced-mode measurement: (adc_T, adc_P, adc_H)."""
        if self.calibration is None:
            self.start()
        # ctrl_hum takes effect at the next write of ctrl_meas.
        self.write_register(REG_CTRL_HUM, OVERSAMPLE_1)
        self.write_register(REG_CTRL_MEAS, (OVERSAMPLE_1 << 5) | (OVERSAMPLE_1 << 2) | MODE_FORCED)
        for _ in range(50):
            if not self.read_registers(REG_STATUS, 1)[0] & STATUS_MEASURING:
                break
        d = self.read_registers(REG_DATA, 8)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        adc_h = (d[6] << 8) | d[7]
        return adc_t, adc_p, adc_h

    def measure(self) -> tuple[int, int, int]:
        """(temperature in 0.01 °C, pressure in Pa/256, humidity in %RH/1024)."""
        adc_t, adc_p, adc_h = self.measure_raw()
        t_fine, temperature = compensate_temperature(self.calibration, adc_t)
        return (temperature, compensate_pressure(self.calibration, adc_p, t_fine),
                compensate_humidity(self.calibration, adc_h, t_fine))


# The datasheet's integer formulas. C's >> on signed values is an
# arithmetic shift, as Python's is; its int32/int64 never overflow here.
def compensate_temperature(c, adc_t):
    var1 = (((adc_t >> 3) - (c["T1"] << 1)) * c["T2"]) >> 11
    var2 = (((((adc_t >> 4) - c["T1"]) * ((adc_t >> 4) - c["T1"])) >> 12) * c["T3"]) >> 14
    t_fine = var1 + var2
    return t_fine, (t_fine * 5 + 128) >> 8


def compensate_pressure(c, adc_p, t_fine):
    var1 = t_fine - 128000
    var2 = var1 * var1 * c["P6"]
    var2 = var2 + ((var1 * c["P5"]) << 17)
    var2 = var2 + (c["P4"] << 35)
    var1 = ((var1 * var1 * c["P3"]) >> 8) + ((var1 * c["P2"]) << 12)
    var1 = (((1 << 47) + var1) * c["P1"]) >> 33
    if var1 == 0:
        return 0  # avoid a division by zero
    p = 1048576 - adc_p
    # C's division truncates toward zero.
    numerator = ((p << 31) - var2) * 3125
    p = abs(numerator) // abs(var1) * (1 if (numerator < 0) == (var1 < 0) else -1)
    var1 = (c["P9"] * (p >> 13) * (p >> 13)) >> 25
    var2 = (c["P8"] * p) >> 19
    return ((p + var1 + var2) >> 8) + (c["P7"] << 4)


def compensate_humidity(c, adc_h, t_fine):
    v = t_fine - 76800
    v = (((((adc_h << 14) - (c["H4"] << 20) - (c["H5"] * v)) + 16384) >> 15)
         * (((((((v * c["H6"]) >> 10) * (((v * c["H3"]) >> 11) + 32768)) >> 10) + 2097152)
             * c["H2"] + 8192) >> 14))
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * c["H1"]) >> 4)
    v = 0 if v < 0 else v
    v = 419430400 if v > 419430400 else v
    return v >> 12
