"""Test plugin: tries every hardware interface once per poll, on targets
that its config may or may not grant, and reports each outcome as a
reading of sensor "hw": the quantity is always temperature, the value 0
for a success and 1 for not-permitted, 2 for rate-limited, 3 for any
other error. Run as a .py plugin on the shared runtime (which imports every
interface) it shows the per-call checks; the probes are (sensor name):
i2c-granted (bus 1, 0x76: register 0xD0), i2c-other-address (1, 0x77),
i2c-other-bus (2, 0x76), gpio-out (claim 27 as output), gpio-out-other
(claim 22), gpio-in (claim 17 as input), pwm (channel 0), pwm-other (1),
iio (device 0), onewire (the simulated DS18B20), and i2c-chip-id (the
byte read, or -1)."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import gpio, i2c, iio, onewire, pwm
from wit_world.imports.types import Quantity, SensorReading, Status

CODES = {"NOT_PERMITTED": 1.0, "RATE_LIMITED": 2.0}


def outcome(call):
    try:
        return 0.0, call()
    except Err as err:
        return CODES.get(err.value.name, 3.0), None


def reading(name, value):
    return SensorReading(sensor=name, quantity=Quantity.TEMPERATURE, value=value, unit="",
                         status=Status.OK)


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        options = gpio.InputOptions(bias=gpio.Bias.PULL_UP, active_low=True, debounce_us=1000)
        probes = {
            "i2c-granted": lambda: i2c.transact(1, 0x76, bytes([0xD0]), 1),
            "i2c-other-address": lambda: i2c.transact(1, 0x77, bytes([0xD0]), 1),
            "i2c-other-bus": lambda: i2c.transact(2, 0x76, bytes([0xD0]), 1),
            "gpio-out": lambda: gpio.claim_output(27, False, False),
            "gpio-out-other": lambda: gpio.claim_output(22, False, False),
            "gpio-in": lambda: gpio.claim_input(17, options),
            "pwm": lambda: pwm.set(0, 20000000, 1500000, True),
            "pwm-other": lambda: pwm.set(1, 20000000, 1500000, True),
            "iio": lambda: iio.read(0, "temp", iio.IioValue.PROCESSED),
            "onewire": lambda: onewire.read_celsius("28-000000000001"),
        }
        readings = []
        chip_id = -1.0
        for name, probe in probes.items():
            code, value = outcome(probe)
            if name == "i2c-granted" and code == 0.0:
                chip_id = float(value[0])
            readings.append(reading(name, code))
        readings.append(reading("i2c-chip-id", chip_id))
        return readings
