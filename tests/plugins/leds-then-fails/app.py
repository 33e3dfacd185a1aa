"""Test plugin: turns both LEDs red, then fails its poll. As a new version
on trial it must be rejected without the LEDs ever changing."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports import led_controller
from wit_world.imports.types import LedColor, SensorReading


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        led_controller.set_two(LedColor.RED, LedColor.RED)
        raise RuntimeError("this version is broken")
