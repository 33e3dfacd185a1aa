"""A counter that keeps its count through `lifecycle`: shared by the
stateful-counter test plugins, which differ only in STEP and LABEL."""

import json

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

STEP = 1
LABEL = "counter-v1"
count = 0


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global count
        count += STEP
        return [SensorReading(sensor=LABEL, quantity=Quantity.TEMPERATURE,
                              value=float(count), unit="count", status=Status.OK)]


class Lifecycle(exports.Lifecycle):
    @report_errors
    def save_state(self) -> bytes:
        return json.dumps({"count": count}).encode()

    @report_errors
    def restore_state(self, state: bytes) -> None:
        global count
        count = int(json.loads(state).get("count", 0))
