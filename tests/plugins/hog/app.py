"""Adversarial plugin: allocates without bound, keeping everything."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import SensorReading

hoard = []


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        while True:
            hoard.append(bytearray(1 << 20))
