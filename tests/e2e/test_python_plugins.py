"""Plugins given as Python source (`.py` files and directories) on the shared
runtime: the whole standard library, the sandbox's refusals in words, and
errors that point at the author's own files."""

from conftest import call, plugin

HEADER = '''
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status


def reading(value):
    return [SensorReading(sensor="t", quantity=Quantity.TEMPERATURE, value=float(value),
                          unit="x", status=Status.OK)]
'''

# csv, decimal and fractions are none of the modules the runtime imports
# while it is built: they come from the standard-library directory.
STDLIB_PLUGIN = HEADER + '''
import csv
import decimal
import fractions
import io
import statistics


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        rows = list(csv.reader(io.StringIO("a,1.25\\nb,2.50\\nc,4.00\\n")))
        total = sum(decimal.Decimal(row[1]) for row in rows)           # exactly 7.75
        third = fractions.Fraction(1, 3) * 3                               # exactly 1
        median = statistics.median(decimal.Decimal(row[1]) for row in rows)  # 2.50
        return reading(float(total * int(third) + median))
'''

REFUSED_PLUGIN = HEADER + '''
import threading  # importable: starting a thread is what is refused

polls = 0


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        global polls
        polls += 1
        if polls == 1:
            import socket  # noqa: F401
        if polls == 2:
            import subprocess  # noqa: F401
        if polls == 3:
            threading.Thread(target=print).start()
        return reading(polls)
'''

LIBRARY_PLUGIN = HEADER + '''
def denied(action):
    try:
        action()
    except OSError:
        return True
    return False


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        with open("/python/csv.py") as f:
            readable = "class DictReader" in f.read()
        writable = not denied(lambda: open("/python/csv.py", "a"))
        creatable = not denied(lambda: open("/python/new.py", "w"))
        escapes = not denied(lambda: open("/python/../etc/passwd").read())
        outside = not denied(lambda: open("/etc/passwd").read())
        return reading(readable * 1 + writable * 2 + creatable * 4 + escapes * 8 + outside * 16)
'''


def line_of(source, text):
    """The number of the first line of `source` that holds `text`."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_stdlib_modules_the_runtime_never_imported_work_in_a_py_plugin(tmp_path):
    path = tmp_path / "stdlib.py"
    path.write_text(STDLIB_PLUGIN)
    result = call(path, polls=2)
    assert result.returncode == 0, result.stderr
    assert [line[0]["value"] for line in result.lines] == [10.25, 10.25]


def test_modules_the_sandbox_denies_fail_with_a_message_that_says_so(tmp_path):
    path = tmp_path / "refused.py"
    path.write_text(REFUSED_PLUGIN)
    result = call(path, polls=4)
    assert result.returncode == 1
    socket, subprocess, thread, fourth = result.lines
    assert socket["error"]["message"] == (
        "ModuleNotFoundError: socket: not available in the pyhost sandbox (no network access)")
    assert subprocess["error"]["message"].startswith(
        "ModuleNotFoundError: subprocess: not available in the pyhost sandbox (no processes")
    assert thread["error"]["message"].startswith(
        "RuntimeError: threading: not available in the pyhost sandbox (no threads")
    assert fourth[0]["value"] == 4.0  # refusals are errors, the instance goes on


def test_the_stdlib_directory_is_read_only_and_opens_nothing_else(tmp_path):
    path = tmp_path / "library.py"
    path.write_text(LIBRARY_PLUGIN)
    result = call(path)
    assert result.returncode == 0, result.stderr
    # Readable (1); not writable (2), no new files (4), no way out of it (8),
    # and the rest of the host's files stay out of reach (16).
    assert result.lines[0][0]["value"] == 1.0


def test_traceback_names_the_authors_files_and_lines_only(tmp_path):
    directory = tmp_path / "plugins" / "weather"
    directory.mkdir(parents=True)
    app = HEADER + '''
import helpers


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        return reading(helpers.average([]))
'''
    (directory / "app.py").write_text(app)
    line = line_of(app, "return reading(helpers.average([]))")
    (directory / "helpers.py").write_text(
        "def average(values):\n    count = len(values)\n    return sum(values) / count\n")
    result = call(directory)
    assert result.returncode == 1
    error = result.lines[0]["error"]
    assert error["message"] == "ZeroDivisionError: division by zero"
    trace = error["traceback"]
    assert f'File "{directory}/app.py", line {line}, in poll' in trace
    assert "return reading(helpers.average([]))" in trace
    assert f'File "{directory}/helpers.py", line 3, in average' in trace
    assert "return sum(values) / count" in trace
    # Nothing of the runtime, the SDK or the guest's internal paths.
    for internal in ("/plugin/", "pyhost_sdk", "/0/", "/1/", "wrapper"):
        assert internal not in trace, trace


def test_syntax_error_names_the_authors_file(tmp_path):
    path = tmp_path / "broken.py"
    source = HEADER + "\n\ndef poll(:\n    pass\n"
    path.write_text(source)
    result = call(path)
    assert result.returncode != 0
    line = line_of(source, "def poll(:")
    assert f"SyntaxError: invalid syntax ({path}, line {line})" in result.stderr, result.stderr
    assert "/plugin/" not in result.stderr


def test_call_of_a_plugin_that_never_drove_the_leds_gives_no_safe_state_warning(tmp_path):
    # The runtime of .py plugins imports led-controller (every plugin's
    # grants are checked per call): neither a plugin that works nor one
    # whose instance is discarded touched the LEDs, so nothing is undone.
    quiet = tmp_path / "quiet.py"
    quiet.write_text(STDLIB_PLUGIN)
    spins = tmp_path / "spins.py"
    spins.write_text(HEADER + """
class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        while True:
            pass
""")
    for target, code in ((quiet, 0), (spins, 1)):
        result = call(target, polls=2)
        assert result.returncode == code and len(result.lines) == 2, result.stderr
        assert "safe state" not in result.stderr, result.stderr
    # A plugin that did drive them still leaves them in its safe state.
    result = call(plugin("sensor-logic"))
    assert "LEDs driven to safe state off/off: their owner is unloaded" in result.stderr
