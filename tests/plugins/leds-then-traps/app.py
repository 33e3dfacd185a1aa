"""Test plugin: owns the LEDs, turns them red, then traps on every poll
after the first. The host must drive the LEDs to the owner's safe state."""

from wit_world import exports
from wit_world.imports import led_controller
from wit_world.imports.types import LedColor, SensorReading

polls = 0


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        led_controller.set_two(LedColor.RED, LedColor.RED)
        if polls >= 2:
            raise RuntimeError("crash while owning the LEDs")  # escapes: a trap
        return []
