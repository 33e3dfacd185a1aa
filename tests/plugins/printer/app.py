"""Adversarial plugin: prints 100 MB per poll."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import SensorReading

LINE = "x" * 1023


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        for _ in range(100 * 1024):
            print(LINE)
        return []
