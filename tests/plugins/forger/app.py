"""Adversarial plugin: tries to forge host log lines and drive the terminal.

Every poll sends the same hostile text, a newline followed by what looks like
a host log line, a screen clear and a right-to-left override, through its
`logging` import and its stdout. Odd polls return a reading whose sensor name
and unit carry a bidi control and a C1 control (the contract refuses only C0
controls and DEL); even polls raise it as an exception, so it reaches the
host as a message and inside a traceback.
"""

from pyhost_sdk import log, report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

HOSTILE = "x\n2026-01-01 00:00:00.000 info    host: forged\x1b[2J\u202e"

polls = 0


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        global polls
        polls += 1
        log("info", "logged " + HOSTILE)
        print("printed " + HOSTILE, flush=True)
        if polls % 2 == 0:
            raise RuntimeError(HOSTILE)
        return [SensorReading(sensor="t\u202e\u2066\u009b", quantity=Quantity.TEMPERATURE,
                              value=float(polls), unit="\u00b0C\u200f", status=Status.OK)]
