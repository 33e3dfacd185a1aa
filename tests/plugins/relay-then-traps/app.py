"""Test plugin: owns the relay (line 27), switches it on, then traps on
every poll after the first. The host must drive the relay to its owner's
safe state (gpio_outputs = 27:off) and keep it there."""

from wit_world import exports
from wit_world.imports import gpio
from wit_world.imports.types import SensorReading

polls = 0


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        if polls == 1:
            gpio.claim_output(27, False, False)
            gpio.write(27, True)  # on
        if polls >= 2:
            raise RuntimeError("crash while owning the relay")  # escapes: a trap
        return []
