"""Test plugin for settings (wasi:config/store): each poll reads its settings
anew and reports them with a counter kept in a global, so a test sees both a
changed value and that the instance (its globals) lived on.

Readings (all of sensor "settings"): temperature = float(setting "threshold")
or -1 when it is not set; humidity = the number of polls this instance has
served (a global); a third reading, named "unknown", is 1 when the key
"never-set" reads as none; a fourth, "count", is how many settings get-all
returns. Runs as a component and, unchanged, as .py on the shared runtime.
"""

from wit_world import exports
from wit_world.imports import store
from wit_world.imports.types import Quantity, SensorReading, Status

from pyhost_sdk import report_errors

polls = 0


def reading(sensor: str, quantity: Quantity, value: float) -> SensorReading:
    return SensorReading(sensor=sensor, quantity=quantity, value=value, unit="", status=Status.OK)


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        threshold = store.get("threshold")
        unknown = store.get("never-set")
        every = store.get_all()
        return [
            reading("settings", Quantity.TEMPERATURE,
                    float(threshold) if threshold is not None else -1.0),
            reading("settings", Quantity.HUMIDITY, float(polls)),
            reading("unknown", Quantity.TEMPERATURE, 1.0 if unknown is None else 0.0),
            reading("count", Quantity.TEMPERATURE, float(len(every))),
        ]
