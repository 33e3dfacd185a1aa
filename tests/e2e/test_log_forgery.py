"""Text from outside the host cannot forge host log lines or drive the
operator's terminal: the real binary, the real `forger` plugin (hostile text
in its logging calls, its stdout, an exception and a reading's names) and a
hostile HTTP `reason`. Everything the host writes to stderr (the log, which
journald reads line by line) and stdout (JSON lines) must be one genuine
line per event with no raw control, C1 or bidi character."""

import json
import re
import time

from conftest import READER, Daemon, call, plugin, run_pyhost, write_config
from http_support import TOKEN, http_config, plugin_section, web_daemons  # noqa: F401

# What the plugin and the HTTP client send: a newline and a line that looks
# like the host's, a screen clear and a right-to-left override.
HOSTILE = "x\n2026-01-01 00:00:00.000 info    host: forged\x1b[2J\u202e"
# The same once escaped: visible, on the line of whoever sent it.
ESCAPED_TAIL = "2026-01-01 00:00:00.000 info    host: forged\\x1b[2J\\u202e"

GENUINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error) +"
                     r"(?P<tag>[^ :]+): ")

# Characters that must never leave the host raw: C0 controls but the line
# end, DEL, C1 controls, bidi controls, line and paragraph separators.
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def assert_terminal_safe(text, what):
    match = FORBIDDEN.search(text)
    assert match is None, (f"raw {match.group()!r} in {what}: "
                           f"{text[max(0, match.start() - 80):match.end() + 20]!r}")


def assert_no_forged_lines(log, sender):
    """Every line that carries the hostile text is a genuine line of
    `sender`; none begins like the forged host line."""
    forged = [line for line in log.split("\n") if "forged" in line]
    assert forged, log[-3000:]
    for line in forged:
        match = GENUINE.match(line)
        assert match is not None and match.group("tag") == sender, line
    assert not any(line.startswith("2026-01-01") for line in log.split("\n")), log[-3000:]


def wait_for(check, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


class RawDaemon(Daemon):
    """A daemon whose stdout lines are also kept as written."""

    def _read(self):
        self.raw_lines = []
        for line in self.process.stdout:
            self.raw_lines.append(line)
            self.lines.put(json.loads(line))


def test_a_plugin_cannot_forge_log_lines_or_send_escape_codes(tmp_path):
    database = tmp_path / "history.sqlite"
    config = write_config(tmp_path, f"[http]\nenabled = no\n[history]\npath = {database}\n"
                                    f"[plugin forger]\nfile = {plugin('forger')}\n{READER}"
                                    "interval_s = 0.2\n")
    daemon = RawDaemon(config, tmp_path)
    try:
        # Odd polls return a reading, even ones raise.
        daemon.read_until(lambda line: line["readings"])
        wait_for(lambda: daemon.log_path.read_bytes().count(b"poll failed") >= 1,
                 what="a failed poll")
        wait_for(lambda: daemon.log_path.read_bytes().count(b"printed") >= 3,
                 what="the poll after the failed one")
    finally:
        assert daemon.stop() == 0
    raw_log = daemon.log_path.read_bytes()
    log = raw_log.decode("utf-8")  # strict: no invalid UTF-8 either
    assert_terminal_safe(log, "stderr")
    assert_no_forged_lines(log, "forger")
    # Each path was taken and kept the text, escaped: the exception's
    # message (one line), its traceback, the logging call and stdout (split
    # at the newline into lines of the plugin's own).
    assert re.search(r"forger: poll failed \(guest-error\).*RuntimeError: x\\n"
                     + re.escape(ESCAPED_TAIL), log), log[-3000:]
    assert "forger: logged x\n" in log
    assert "forger: printed x\n" in log
    assert log.count(f"forger: {ESCAPED_TAIL}\n") >= 3, log[-3000:]

    stdout = "".join(daemon.raw_lines)
    assert_terminal_safe(stdout, "stdout")
    readings = [json.loads(line) for line in daemon.raw_lines]
    reading = next(line for line in readings if line["readings"])["readings"][0]
    # The same values, escaped on the wire; "°C" stays readable.
    assert reading["sensor"] == "t\u202e\u2066\u009b"
    assert reading["unit"] == "\u00b0C\u200f"
    assert '"sensor":"t\\u202e\\u2066\\u009b"' in stdout
    assert '"unit":"\u00b0C\\u200f"' in stdout

    # The names recorded in the history come back out escaped too.
    history = run_pyhost("history", "--config", config, "--sensor", "t\u202e\u2066\u009b")
    assert history.returncode == 0, history.stderr
    assert history.stdout, "nothing recorded"
    assert_terminal_safe(history.stdout, "pyhost history")
    assert json.loads(history.stdout.splitlines()[0])["unit"] == "\u00b0C\u200f"


def test_pyhost_call_prints_plugin_text_escaped():
    result = call(plugin("forger"), polls=2)
    assert result.returncode == 1, result.stderr
    assert_terminal_safe(result.stderr, "stderr")
    assert_terminal_safe(result.stdout, "stdout")
    assert not any(line.startswith("2026-01-01") for line in result.stderr.split("\n"))
    assert ("pyhost: forger: poll 2 failed (guest-error): RuntimeError: x\\n"
            + ESCAPED_TAIL + "\n") in result.stderr
    assert result.lines[0][0]["sensor"] == "t\u202e\u2066\u009b"
    assert HOSTILE in result.lines[1]["error"]["traceback"]


def test_an_http_reason_cannot_forge_log_lines(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter")]), tmp_path)
    response = daemon.request("POST", "/api/plugins/counter/reload", token=TOKEN,
                              body={"reason": HOSTILE + "\u009b\u2067"})
    assert response.status == 202
    daemon.wait_for_log("reload requested over HTTP")
    daemon.stop()
    log = daemon.log_path.read_bytes().decode("utf-8")
    assert_terminal_safe(log, "stderr")
    assert_no_forged_lines(log, "counter")
    assert ("counter: reload requested over HTTP (reason: x\\n" + ESCAPED_TAIL
            + "\\u009b\\u2067)\n") in log
