"""Adversarial plugin: calls sys.exit(3) (without the SDK's guard)."""

import sys

from wit_world import exports
from wit_world.imports.types import SensorReading


class SensorLogic(exports.SensorLogic):
    def poll(self) -> list[SensorReading]:
        sys.exit(3)
