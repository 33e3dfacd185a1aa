"""Test plugin: raises a Python exception on every even poll.

Odd polls return the poll count, so a test can check that an exception is
reported as an error value and leaves the interpreter and its globals intact.
"""

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

poll_count = 0


def check_parity(count: int) -> None:
    if count % 2 == 0:
        raise ValueError(f"deliberate failure on poll {count}")


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global poll_count
        poll_count += 1
        check_parity(poll_count)
        return [SensorReading(sensor="raises", quantity=Quantity.TEMPERATURE,
                              value=float(poll_count), unit="polls", status=Status.OK)]
