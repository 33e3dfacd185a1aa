"""Test plugin that imports an interface pyhost does not provide."""

from wit_world import exports
from wit_world.imports import secret_door
from wit_world.imports.types import SensorReading


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        secret_door.open()
        return []
