"""Adversarial plugin: odd values. First poll: NaN, infinities and HTML in
names (accepted, flagged or kept as text); second poll: control characters
in a name (refused)."""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

polls = 0


def reading(name: str, value: float) -> SensorReading:
    return SensorReading(sensor=name, quantity=Quantity.TEMPERATURE, value=value, unit="°C",
                         status=Status.OK)


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        if polls == 1:
            return [reading("nan", float("nan")), reading("inf", float("inf")),
                    reading("-inf", float("-inf")),
                    reading("<script>alert(1)</script>", 1.0)]
        return [reading("evil\x1b[2J\nname", 1.0)]
