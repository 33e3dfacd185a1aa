"""Adversarial plugin: raises on every call."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import SensorReading


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        raise KeyError("always")
