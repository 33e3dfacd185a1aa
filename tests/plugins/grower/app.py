"""Test plugin: grows by a known amount on every poll.

Each poll keeps one more 8 MiB bytearray alive, so its linear memory grows
by about 8 MiB a poll (plus the allocator's rounding), and reports how many
MiB it holds.
"""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

STEP = 8 << 20
held = []


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        held.append(bytearray(STEP))
        return [SensorReading(sensor="grower", quantity=Quantity.TEMPERATURE,
                              value=float(len(held) * (STEP >> 20)), unit="MiB",
                              status=Status.OK)]
