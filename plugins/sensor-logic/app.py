"""Example pyhost plugin: a DHT22 with alarm hysteresis and two status LEDs.

The host keeps this module's instance alive between polls, so the
module-level `high_alarm_active` remembers whether the alarm is on. That is
what makes hysteresis possible: the alarm switches on at or above
alarm_on_celsius and only switches off again at or below alarm_off_celsius,
so a temperature hovering around one threshold does not make it flicker.

It exports `lifecycle` too, so the alarm state survives a code update, a
restart after a crash and a restart of the host.

Its thresholds are settings (`setting.alarm_on_celsius = 30` in its section
of the host's config), read through the standard wasi:config/store at every
poll, so a SIGHUP or a PUT to /api/plugins/sensor-logic/settings changes
them without a reload (the alarm state, a global, stays). A threshold that
is not set, or not a number, keeps its default below.
"""

import json

from componentize_py_types import Err
from pyhost_sdk import log, report_errors
from wit_world import exports
from wit_world.imports import gpio_provider, led_controller, store
from wit_world.imports.types import (
    LedColor,
    Quantity,
    SensorError,
    SensorReading,
    Status,
)

SENSOR_NAME = "greenhouse"
DHT22_PIN = 4
# Defaults of the settings of the same names (lower case).
DEFAULTS = {
    "alarm_on_celsius": 30.0,
    "alarm_off_celsius": 27.0,
    "warning_celsius": 25.0,
    "humidity_warning_percent": 80.0,
}

high_alarm_active = False
settings = dict(DEFAULTS)
_refused = {}  # setting -> the value last refused, so it is logged once


def read_settings() -> dict[str, float]:
    """The thresholds as set now: each setting, or its default."""
    current = {}
    for key, default in DEFAULTS.items():
        text = store.get(key)
        try:
            current[key] = default if text is None else float(text)
        except ValueError:
            if _refused.get(key) != text:
                log("warning", f"setting {key} = {text!r} is not a number; using {default}")
            _refused[key] = text
            current[key] = default
    return current


def update_alarm(temperature: float) -> bool:
    """Applies the hysteresis rule and returns the new alarm state."""
    global high_alarm_active
    if not high_alarm_active and temperature >= settings["alarm_on_celsius"]:
        high_alarm_active = True
        log("warning", f"high temperature alarm ON at {temperature:.1f} °C")
    elif high_alarm_active and temperature <= settings["alarm_off_celsius"]:
        high_alarm_active = False
        log("info", f"high temperature alarm OFF at {temperature:.1f} °C")
    return high_alarm_active


def temperature_status(temperature: float) -> Status:
    if high_alarm_active:
        return Status.ALARM
    if temperature >= settings["warning_celsius"]:
        return Status.WARNING
    return Status.OK


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global settings
        settings = read_settings()
        try:
            reading = gpio_provider.read_dht22(DHT22_PIN)
        except Err as err:
            # A failed read is normal for a DHT22: show it on the LEDs, keep
            # the alarm state as it was, and report no values this time.
            error: SensorError = err.value
            log("warning", f"DHT22 on pin {DHT22_PIN} failed: {error.name.lower()}")
            led_controller.set_two(LedColor.YELLOW, LedColor.YELLOW)
            return []

        temperature = reading.temperature_celsius
        humidity = reading.humidity_percent
        alarm = update_alarm(temperature)
        t_status = temperature_status(temperature)
        h_status = (Status.WARNING if humidity >= settings["humidity_warning_percent"]
                    else Status.OK)

        first = {Status.OK: LedColor.GREEN, Status.WARNING: LedColor.YELLOW,
                 Status.ALARM: LedColor.RED}[t_status]
        second = LedColor.RED if alarm else (
            LedColor.YELLOW if h_status == Status.WARNING else LedColor.GREEN)
        led_controller.set_two(first, second)

        return [
            SensorReading(sensor=SENSOR_NAME, quantity=Quantity.TEMPERATURE,
                          value=round(temperature, 2), unit="°C", status=t_status),
            SensorReading(sensor=SENSOR_NAME, quantity=Quantity.HUMIDITY,
                          value=round(humidity, 2), unit="%", status=h_status),
        ]


class Lifecycle(exports.Lifecycle):
    @report_errors
    def save_state(self) -> bytes:
        return json.dumps({"high_alarm_active": high_alarm_active}).encode()

    @report_errors
    def restore_state(self, state: bytes) -> None:
        global high_alarm_active
        saved = json.loads(state) if state else {}
        # Tolerant on purpose: the state may come from an older version.
        high_alarm_active = bool(saved.get("high_alarm_active", False))
