"""Adversarial plugin: reads a pin it was not granted, then its own pin
1000 times in a loop. Reports how each read went, as readings."""

from componentize_py_types import Err
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports import gpio_provider
from wit_world.imports.types import Quantity, SensorReading, Status


def outcome(pin: int) -> str:
    try:
        gpio_provider.read_dht22(pin)
        return "ok"
    except Err as err:
        return err.value.name.lower()


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        counts = {}
        for result in [outcome(5)] + [outcome(4) for _ in range(1000)]:
            counts[result] = counts.get(result, 0) + 1
        return [SensorReading(sensor=name, quantity=Quantity.TEMPERATURE, value=float(n),
                              unit="reads", status=Status.OK)
                for name, n in sorted(counts.items())]
