"""Test plugin: loops forever in poll, to prove the CPU budget stops it."""

from wit_world import exports
from wit_world.imports.types import SensorReading


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        while True:
            pass
