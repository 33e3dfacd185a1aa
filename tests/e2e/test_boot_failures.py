"""Plugins whose files do not load at start-up: the host comes up anyway,
shows each one (state and reason) in the API and metrics, and loads it as
soon as its file is fixed, through the same watch as reloads."""

import os
import shutil
import time

from conftest import READER, plugin, write_config
from http_support import TOKEN, EventStream, web_daemons  # noqa: F401 - a fixture
from test_service import NotifySocket

LOAD_S = 120
BROKEN_PY = 'raise RuntimeError("broken at import")\n'

PY_COUNTER = '''
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

count = 0

class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        global count
        count += 1
        return [SensorReading(sensor="py-fixed", quantity=Quantity.TEMPERATURE,
                              value=float(count), unit="count", status=Status.OK)]
'''


def config_with(tmp_path, sections):
    return write_config(tmp_path,
                        f"state_dir = {tmp_path / 'state'}\nreload_debounce_ms = 50\n"
                        f"[http]\nport = 0\ntoken = {TOKEN}\n" + "".join(sections))


def section(name, path, interval_s=0.2):
    return f"[plugin {name}]\nfile = {path}\ninterval_s = {interval_s}\n{READER}"


def next_event(events, predicate, timeout):
    """The next event (id, name, data) that satisfies `predicate`, within
    `timeout` seconds (other events keep arriving meanwhile)."""
    deadline = time.monotonic() + timeout

    def matches(*event):
        assert time.monotonic() < deadline, f"no matching event within {timeout} s"
        return predicate(*event)

    return events.next_event(matches)


def plugins_by_name(daemon):
    return {p["name"]: p for p in daemon.get_json("/api/plugins")["plugins"]}


def metric_lines(daemon):
    response = daemon.request("GET", "/metrics")
    assert response.status == 200
    return response.body.decode().splitlines()


def test_all_plugins_broken_at_boot_host_runs_shows_them_and_loads_each_once_fixed(
        tmp_path, web_daemons):
    directory = tmp_path / "plugins"
    directory.mkdir()
    garbage = directory / "wasm.wasm"
    garbage.write_bytes(b"not wasm at all")
    py = directory / "py.py"
    py.write_text(BROKEN_PY)
    missing = directory / "missing.wasm"
    config = config_with(tmp_path, [section("wasm", garbage), section("py", py),
                                    section("missing", missing)])
    notify = NotifySocket()
    try:
        daemon = web_daemons(config, tmp_path, env={"NOTIFY_SOCKET": notify.path})
        # The host itself is fine: systemd hears READY=1, the API answers.
        notify.wait_for("READY=1")
    finally:
        notify.close()
    assert daemon.process.poll() is None

    plugins = plugins_by_name(daemon)
    assert set(plugins) == {"wasm", "py", "missing"}
    for name in plugins:
        assert plugins[name]["state"] == "load-failed", plugins[name]
        assert plugins[name]["polls"] == 0
    assert f"{garbage}: not a WebAssembly binary" in plugins["wasm"]["last_error"]["message"]
    assert "RuntimeError: broken at import" in (
        plugins["py"]["last_error"]["message"]
        + daemon.get_json("/api/plugins/py")["last_error"]["traceback"])
    assert str(missing) in plugins["missing"]["last_error"]["message"]
    detail = daemon.get_json("/api/plugins/missing")
    assert [event["kind"] for event in detail["history"]] == ["load-failed"]
    metrics = metric_lines(daemon)
    for name in ("wasm", "py", "missing"):
        assert f'pyhost_plugin_state{{plugin="{name}",state="load-failed"}} 1' in metrics
        assert f'pyhost_plugin_state{{plugin="{name}",state="running"}} 0' in metrics
    events = EventStream(daemon.port)
    try:
        # Its poll thread runs (the watchdog sees progress), each poll is
        # skipped at once and published as the plugin's summary; the
        # reason was logged once, not at every skipped poll.
        for _ in range(3):
            _, _, summary = next_event(
                events, lambda _id, name, data: name == "plugin" and data["name"] == "wasm", 10)
            assert summary["state"] == "load-failed" and summary["polls"] == 0
        assert daemon.log().count(f"not loaded: {garbage}") == 1
        assert "wasm: poll failed" not in daemon.log()

        # A .wasm renamed into place, as a deploy tool does.
        temporary = directory / "wasm.wasm.new"
        shutil.copyfile(plugin("counter"), temporary)
        os.replace(temporary, garbage)
        # The debounce (50 ms) and a load: from the compiled-code cache in
        # milliseconds, or a compile of seconds (a minute on a busy machine).
        next_event(events, lambda _id, name, data: name == "lifecycle"
                   and data["plugin"] == "wasm" and data["kind"] == "loaded", LOAD_S)
        next_event(events, lambda _id, name, data: name == "reading"
                   and data["plugin"] == "wasm", 5)

        # A .py edited in place, as an editor saving does.
        with open(py, "r+") as f:
            f.truncate(0)
            f.write(PY_COUNTER)
        next_event(events, lambda _id, name, data: name == "lifecycle"
                   and data["plugin"] == "py" and data["kind"] == "loaded", LOAD_S)
        _, _, reading = next_event(
            events, lambda _id, name, data: name == "reading" and data["plugin"] == "py", 5)
        assert reading["readings"][0]["sensor"] == "py-fixed"
    finally:
        events.close()

    plugins = plugins_by_name(daemon)
    assert plugins["wasm"]["state"] == "running" and plugins["wasm"]["polls"] >= 1
    assert plugins["py"]["state"] == "running" and plugins["py"]["polls"] >= 1
    assert plugins["missing"]["state"] == "load-failed"
    metrics = metric_lines(daemon)
    assert 'pyhost_plugin_state{plugin="wasm",state="running"} 1' in metrics
    assert 'pyhost_plugin_state{plugin="missing",state="load-failed"} 1' in metrics
    assert daemon.stop() == 0


def test_a_good_plugin_and_broken_ones_are_all_visible(tmp_path, web_daemons):
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"\0asm\x01\0\0\0 a core module")
    no_class = tmp_path / "no-class.py"
    no_class.write_text("x = 1\n")
    config = config_with(tmp_path, [section("good", plugin("counter"), interval_s=0.1),
                                    section("core", garbage), section("no-class", no_class)])
    daemon = web_daemons(config, tmp_path)
    daemon.read_until(lambda line: line["plugin"] == "good")

    plugins = plugins_by_name(daemon)
    assert set(plugins) == {"good", "core", "no-class"}
    assert plugins["good"]["state"] == "running"
    assert "a core WebAssembly module, not a component" in plugins["core"]["last_error"]["message"]
    assert plugins["core"]["state"] == "load-failed"
    assert plugins["no-class"]["state"] == "load-failed"
    assert "app.py defines no SensorLogic class" in plugins["no-class"]["last_error"]["message"]
    detail = daemon.get_json("/api/plugins/no-class")
    assert detail["history"][-1]["kind"] == "load-failed"
    assert detail["version"] == "" and detail["loaded_at_ms"] is None
    # Polling it by hand says why it is not polled, and changes nothing.
    response = daemon.request("POST", "/api/plugins/core/poll", token=TOKEN)
    assert response.status == 409
    assert "not-loaded" in response.json()["error"]["message"]
    metrics = metric_lines(daemon)
    assert 'pyhost_plugin_state{plugin="good",state="running"} 1' in metrics
    assert 'pyhost_plugin_state{plugin="core",state="load-failed"} 1' in metrics
    assert 'pyhost_plugin_state{plugin="no-class",state="load-failed"} 1' in metrics
    # The good one polls on beside them.
    daemon.read_until(lambda line: line["plugin"] == "good")
    assert daemon.stop() == 0
