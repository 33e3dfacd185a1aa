"""Test plugin: a stateful counter whose instances crash on their 3rd poll.

`count` is handed over through `lifecycle`; `polls_here` belongs to one
instance only. So the host sees 1, 2, trap, and a fresh instance restored
from the last checkpoint goes on 3, 4, trap, 5, 6...
"""

import json

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

count = 0
polls_here = 0


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        global count, polls_here
        polls_here += 1
        if polls_here == 3:
            raise RuntimeError("crash on this instance's third poll")  # escapes: a trap
        count += 1
        return [SensorReading(sensor="crasher", quantity=Quantity.TEMPERATURE,
                              value=float(count), unit="count", status=Status.OK)]


class Lifecycle(exports.Lifecycle):
    @report_errors
    def save_state(self) -> bytes:
        return json.dumps({"count": count}).encode()

    @report_errors
    def restore_state(self, state: bytes) -> None:
        global count
        count = int(json.loads(state)["count"])
