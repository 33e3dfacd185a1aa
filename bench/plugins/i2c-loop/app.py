"""Bench plugin (a .py on the shared runtime): each poll runs CALLS I2C
transactions on the simulated BME280 (write the register 0xF7, read 8
bytes), so (its poll - bench/plugins/i2c-none's poll) / CALLS is the cost
of one transaction through the component: guest -> host -> hw -> guest."""

from wit_world import exports
from wit_world.imports import i2c

CALLS = 100
REGISTER = bytes([0xF7])


class SensorLogic(exports.SensorLogic):
    def poll(self):
        for _ in range(CALLS):
            i2c.transact(1, 0x76, REGISTER, 8)
        return []
