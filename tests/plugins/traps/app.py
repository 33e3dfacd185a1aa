"""Test plugin: really traps on its second poll.

It does not use pyhost_sdk.report_errors, so the exception escapes the
export and componentize-py turns it into a WebAssembly trap. The host must
discard the poisoned instance and carry on with a fresh one, whose counter
starts again from 1.
"""

from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

poll_count = 0


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        global poll_count
        poll_count += 1
        if poll_count == 2:
            raise RuntimeError("unhandled error escaping the export")
        return [SensorReading(sensor="traps", quantity=Quantity.TEMPERATURE,
                              value=float(poll_count), unit="polls", status=Status.OK)]
