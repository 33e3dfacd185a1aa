"""Example pyhost plugin: a BME280 on I2C with its own driver (bme280.py,
written from the datasheet) and a relay (a fan, say) switched on when the
room is too warm.

Thresholds are settings read through wasi:config/store at every poll
(`setting.relay_on_celsius`, `setting.relay_off_celsius`, and the bus and
address), so SIGHUP or PUT /api/plugins/NAME/settings changes them without a
reload; the relay's state is a global, so the hysteresis survives that. The
relay's line is an output the plugin owns: if the plugin crashes, the host
drives it to the safe state of its config (`gpio_outputs = 27:off`).
Readings: temperature and humidity; the pressure goes to the log (the
contract's quantities are temperature and humidity).
"""

from componentize_py_types import Err
from bme280 import Bme280, Bme280Error
from pyhost_sdk import log, report_errors
from wit_world import exports
from wit_world.imports import gpio, store
from wit_world.imports.types import Quantity, SensorReading, Status

SENSOR_NAME = "climate"
DEFAULTS = {
    "i2c_bus": 1.0,
    "i2c_address": float(0x76),
    "relay_line": 27.0,
    "relay_on_celsius": 26.0,
    "relay_off_celsius": 25.0,
    "humidity_warning_percent": 70.0,
}

sensor = None
relay_claimed = False
relay_on = False


def read_settings() -> dict[str, float]:
    current = {}
    for key, default in DEFAULTS.items():
        text = store.get(key)
        try:
            if text is None:
                current[key] = default
            elif text.lower().startswith("0x"):
                current[key] = float(int(text, 16))
            else:
                current[key] = float(text)
        except ValueError:
            current[key] = default
    return current


def drive_relay(settings, temperature: float) -> None:
    global relay_claimed, relay_on
    line = int(settings["relay_line"])
    want = relay_on
    if not relay_on and temperature >= settings["relay_on_celsius"]:
        want = True
    elif relay_on and temperature <= settings["relay_off_celsius"]:
        want = False
    try:
        if not relay_claimed:
            # Claimed off (a new instance after a crash finds it in its
            # safe state), then switched as the rule says.
            gpio.claim_output(line, False, False)
            relay_claimed, relay_on = True, False
        if want != relay_on:
            gpio.write(line, want)
    except Err as err:
        log("error", f"relay on line {line}: {err.value.name.lower()}")
        return
    if want != relay_on:
        log("info", f"relay {'ON' if want else 'OFF'} at {temperature:.2f} °C")
    relay_on = want


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global sensor
        settings = read_settings()
        bus, address = int(settings["i2c_bus"]), int(settings["i2c_address"])
        if sensor is None or (sensor.bus, sensor.address) != (bus, address):
            sensor = Bme280(bus, address)
        try:
            centi_celsius, pa_256, rh_1024 = sensor.measure()
        except Bme280Error as error:
            log("warning", f"BME280 on bus {bus} at 0x{address:02x}: {error}")
            sensor = None  # start again (chip id, calibration) next time
            return []
        temperature = centi_celsius / 100
        humidity = rh_1024 / 1024
        log("info", f"BME280 {temperature:.2f} °C {pa_256 / 256:.2f} Pa {humidity:.2f} %RH")
        drive_relay(settings, temperature)
        t_status = Status.ALARM if relay_on else Status.OK
        h_status = (Status.WARNING if humidity >= settings["humidity_warning_percent"]
                    else Status.OK)
        return [
            SensorReading(sensor=SENSOR_NAME, quantity=Quantity.TEMPERATURE,
                          value=temperature, unit="°C", status=t_status),
            SensorReading(sensor=SENSOR_NAME, quantity=Quantity.HUMIDITY,
                          value=round(humidity, 2), unit="%", status=h_status),
        ]
