"""Adversarial plugin: asks for 1 GiB of random bytes."""

import os

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import SensorReading


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        os.urandom(1 << 30)
        return []
