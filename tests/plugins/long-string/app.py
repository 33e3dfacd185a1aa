"""Adversarial plugin: returns a reading named with a 10 MB string."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        return [SensorReading(sensor="n" * (10 * 1024 * 1024), quantity=Quantity.TEMPERATURE,
                              value=1.0, unit="u", status=Status.OK)]
