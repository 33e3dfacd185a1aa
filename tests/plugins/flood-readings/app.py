"""Adversarial plugin: too many readings. Its first poll returns 300 (over
the host's limit of 256); every later poll a million."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

polls = 0


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        one = SensorReading(sensor="s", quantity=Quantity.TEMPERATURE, value=1.0, unit="u",
                            status=Status.OK)
        return [one] * (300 if polls == 1 else 1_000_000)
