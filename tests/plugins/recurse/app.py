"""Adversarial plugin: recurses without bound."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import SensorReading


def deeper(n: int) -> int:
    return deeper(n + 1) + 1


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        deeper(0)
        return []
