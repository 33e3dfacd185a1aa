"""Helpers shared by pyhost's Python plugins.

componentize-py turns an exception that escapes an export into a trap, and a
trap poisons the whole Wasmtime store: the instance and every Python global
would be lost. `report_errors` turns any exception raised by `poll` into the
`plugin-error` value of the WIT contract instead, so the host logs it with its
traceback and the next poll runs in the same, intact interpreter.

The traceback shows the author's frames only: this module's wrapper, the
Python runtime's own code and the import machinery are left out (unless
nothing else is left), so the first line an author reads is their own.
"""

import functools
import traceback

from componentize_py_types import Err
from wit_world.imports import logging as host_log
from wit_world.imports.types import PluginError

__all__ = ["report_errors", "log", "format_error"]

# Bounds what one failure can send to the host: a plugin stuck in deep
# recursion would otherwise ship megabytes of traceback.
_MAX_MESSAGE = 1024
_MAX_TRACEBACK = 16 * 1024

# Files whose frames a plugin's author never needs to read.
_HIDDEN_FILES = {__file__}
_HIDDEN_PREFIXES = ("<frozen importlib.",)


def _hide_frames_of(file_name: str) -> None:
    """Leaves `file_name`'s frames out of tracebacks (the Python runtime's own)."""
    _HIDDEN_FILES.add(file_name)


def _is_hidden(frame: traceback.FrameSummary) -> bool:
    return frame.filename in _HIDDEN_FILES or frame.filename.startswith(_HIDDEN_PREFIXES)


def _strip_frames(summary: traceback.TracebackException, seen: set) -> None:
    if id(summary) in seen:
        return
    seen.add(id(summary))
    kept = [frame for frame in summary.stack if not _is_hidden(frame)]
    if kept:
        summary.stack = traceback.StackSummary.from_list(kept)
    for chained in (summary.__cause__, summary.__context__, *(summary.exceptions or ())):
        if chained is not None:
            _strip_frames(chained, seen)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        # str() of a SyntaxError names only the file's base name.
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


def format_error(exc: BaseException) -> str:
    """The traceback of `exc` as report_errors sends it: the author's frames."""
    summary = traceback.TracebackException.from_exception(exc)
    _strip_frames(summary, set())
    return "".join(summary.format())


def report_errors(method):
    """Decorates an export so that exceptions become `Err(PluginError)`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err:
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: never trap
            message = _one_line(exc)[:_MAX_MESSAGE]
            trace = format_error(exc)[-_MAX_TRACEBACK:]
            raise Err(PluginError(message=message, traceback=trace)) from None

    return wrapper


def log(level: str, message: str) -> None:
    """Writes `message` to the host log; `level` is debug, info, warning or error."""
    host_log.log(host_log.Level[level.upper()], message)
