"""Bench plugin: bench/plugins/i2c-loop's poll without the transactions
(the same loop calling a Python function that returns the same bytes)."""

from wit_world import exports

CALLS = 100
REGISTER = bytes([0xF7])


def no_transaction(bus, address, write, read_length):
    return bytes(read_length)


class SensorLogic(exports.SensorLogic):
    def poll(self):
        for _ in range(CALLS):
            no_transaction(1, 0x76, REGISTER, 8)
        return []
