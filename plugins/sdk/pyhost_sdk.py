"""Helpers shared by pyhost's Python plugins.

componentize-py turns an exception that escapes an export into a trap, and a
trap poisons the whole Wasmtime store: the instance and every Python global
would be lost. `report_errors` turns any exception raised by `poll` into the
`plugin-error` value of the WIT contract instead, so the host logs it with its
traceback and the next poll runs in the same, intact interpreter.
"""

import functools
import traceback

from componentize_py_types import Err
from wit_world.imports import logging as host_log
from wit_world.imports.types import PluginError

__all__ = ["report_errors", "log"]

# Bounds what one failure can send to the host: a plugin stuck in deep
# recursion would otherwise ship megabytes of traceback.
_MAX_MESSAGE = 1024
_MAX_TRACEBACK = 16 * 1024


def report_errors(method):
    """Decorates an export so that exceptions become `Err(PluginError)`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err:
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: never trap
            message = f"{type(exc).__name__}: {exc}"[:_MAX_MESSAGE]
            trace = traceback.format_exc()[-_MAX_TRACEBACK:]
            raise Err(PluginError(message=message, traceback=trace)) from None

    return wrapper


def log(level: str, message: str) -> None:
    """Writes `message` to the host log; `level` is debug, info, warning or error."""
    host_log.log(host_log.Level[level.upper()], message)
