"""Test plugin: counts its polls in a module-level global.

Returns one reading whose value is the number of polls this instance has
served, so a test can see that the instance (and its globals) persists.
"""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

poll_count = 0


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global poll_count
        poll_count += 1
        return [SensorReading(sensor="counter", quantity=Quantity.TEMPERATURE,
                              value=float(poll_count), unit="polls", status=Status.OK)]
