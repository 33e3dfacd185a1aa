"""Plugin settings through the standard wasi:config/store: values from the
plugin's config section, read by a component and by a .py plugin on the
shared runtime, changed by SIGHUP and by the API without a reload (the
plugin's globals live on), bad changes refused by name; and a component
built for the released contract (pyhost:plugin@0.1.0) still runs.

The test plugin tests/plugins/settings-reader reports per poll: sensor
"settings" temperature = float(threshold) or -1 when unset, humidity = its
global poll counter; "unknown" = 1 when an unset key reads as none; "count"
= how many settings get-all returns."""

import signal

from conftest import PYHOST, ROOT, TEST_PLUGINS, call, run_pyhost, write_config
from http_support import TOKEN, WebDaemon, http_config

SETTINGS_WASM = TEST_PLUGINS / "settings-reader.wasm"
SETTINGS_PY = ROOT / "tests" / "plugins" / "settings-reader" / "app.py"


def section(name, path, settings):
    lines = "".join(f"setting.{key} = {value}\n" for key, value in settings.items())
    return (f"[plugin {name}]\nfile = {path}\ninterval_s = 0.2\n"
            f"grants = gpio-provider, logging\n{lines}\n")


def values(line):
    """{(sensor, quantity): value} of one poll's stdout line."""
    return {(r["sensor"], r["quantity"]): r["value"] for r in line["readings"]}


# The first poll may wait for a compile (a cold compiled-code cache: a
# minute or more on a loaded 2-core machine).
START_TIMEOUT = 300


def next_poll(daemon, name, predicate=lambda v: True, timeout=30):
    """The readings of `name`'s next poll that satisfies `predicate`."""
    lines = daemon.read_until(
        lambda line: line["plugin"] == name and line["readings"] and predicate(values(line)),
        timeout=timeout)
    return values(lines[-1])


def both_sections(threshold):
    settings = {"threshold": threshold, "mode": "eco"}
    return (section("settings-wasm", SETTINGS_WASM, settings)
            + section("settings-py", SETTINGS_PY, settings))


def test_a_component_and_a_py_plugin_read_their_settings(tmp_path, daemons):
    config = write_config(tmp_path, both_sections(30))
    daemon = daemons(config, tmp_path)
    for name in ("settings-wasm", "settings-py"):
        seen = next_poll(daemon, name, timeout=START_TIMEOUT)
        assert seen[("settings", "temperature")] == 30.0, (name, seen)
        assert seen[("unknown", "temperature")] == 1.0, (name, seen)  # unset key: none
        assert seen[("count", "temperature")] == 2.0, (name, seen)  # get-all: both


def test_sighup_changes_a_setting_and_the_plugin_keeps_its_globals(tmp_path, daemons):
    config = write_config(tmp_path, both_sections(30))
    daemon = daemons(config, tmp_path)
    counts = {}
    for name in ("settings-wasm", "settings-py"):
        counts[name] = next_poll(daemon, name, lambda v: v[("settings", "humidity")] >= 2,
                                 timeout=START_TIMEOUT)[("settings", "humidity")]
    write_config(tmp_path, both_sections(31.5))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("SIGHUP: settings changed (threshold)", count=2)
    for name in ("settings-wasm", "settings-py"):
        seen = next_poll(daemon, name, lambda v: v[("settings", "temperature")] == 31.5)
        # The same instance: its poll counter (a global) went on counting.
        assert seen[("settings", "humidity")] > counts[name], (name, seen, counts)
    log = daemon.log()
    assert "loaded anew" not in log and "unloaded (SIGHUP)" not in log, log[-2000:]
    assert "the plugins run on as they were" in log


def test_the_api_shows_and_changes_settings_and_refuses_bad_ones(tmp_path):
    config = http_config(tmp_path, [section("settings-wasm", SETTINGS_WASM, {"threshold": 30}),
                                    section("settings-py", SETTINGS_PY, {"threshold": 30})])
    daemon = WebDaemon(config, tmp_path)
    try:
        path = "/api/plugins/settings-wasm/settings"
        assert daemon.get_json(path, token=TOKEN) == {
            "plugin": "settings-wasm", "settings": {"threshold": "30"}}
        assert daemon.get_json("/api/plugins/settings-py", token=TOKEN)["settings"] == {
            "threshold": "30"}
        for name in ("settings-wasm", "settings-py"):
            before = next_poll(daemon, name, timeout=START_TIMEOUT)[("settings", "humidity")]
            response = daemon.request("PUT", f"/api/plugins/{name}/settings",
                                      body={"threshold": 12.5, "mode": "boost"}, token=TOKEN)
            assert response.status == 200, response.body
            assert response.json()["settings"] == {"threshold": "12.5", "mode": "boost"}
            seen = next_poll(daemon, name, lambda v: v[("settings", "temperature")] == 12.5)
            assert seen[("settings", "humidity")] > before, (name, seen, before)
            assert seen[("count", "temperature")] == 2.0
        daemon.wait_for_log("settings changed over HTTP: threshold, mode", count=2)

        # Refused, each naming the field; nothing changes.
        bad = [({"threshold": [1]}, "field 'threshold'"),
               ({"threshold": {"a": 1}}, "field 'threshold'"),
               ({"bad key!": "1"}, "field 'bad key!'"),
               ({"threshold": "x" * 500}, "field 'threshold'"),
               ({"threshold": "tab\there"}, "field 'threshold'"),
               ({"mode": "ok", "threshold": [2]}, "field 'threshold'"),
               ({}, "non-empty JSON object"),
               ([1, 2], "non-empty JSON object")]
        for body, message in bad:
            response = daemon.request("PUT", path, body=body, token=TOKEN)
            assert response.status == 400, (body, response.status, response.body)
            assert message in response.json()["error"]["message"], (body, response.body)
        response = daemon.request("PUT", path, body="{not json",
                                  headers={"Content-Type": "application/json"}, token=TOKEN)
        assert response.status == 400, response.body
        response = daemon.request("PUT", path, body={"threshold": 99})  # no token
        assert response.status == 401, response.body
        response = daemon.request("POST", path, body={"threshold": 99}, token=TOKEN)
        assert response.status == 405 and "PUT" in response.headers.get("Allow", "")
        assert daemon.get_json(path, token=TOKEN)["settings"] == {
            "threshold": "12.5", "mode": "boost"}

        # null removes a setting: the plugin reads none again.
        response = daemon.request("PUT", path, body={"threshold": None}, token=TOKEN)
        assert response.status == 200 and response.json()["settings"] == {"mode": "boost"}
        next_poll(daemon, "settings-wasm", lambda v: v[("settings", "temperature")] == -1.0)
        response = daemon.request("PUT", "/api/plugins/nope/settings", body={"a": 1},
                                  token=TOKEN)
        assert response.status == 404
    finally:
        daemon.stop()


def test_settings_in_the_config_are_checked(tmp_path):
    for lines, message in [("setting.threshold = 1\nsetting.threshold = 2\n", "repeated"),
                           ("setting.bad/key = 1\n", "setting 'bad/key'"),
                           (f"setting.long = {'v' * 150}\n", "longer than 127 bytes")]:
        config = write_config(tmp_path, f"[plugin p]\nfile = {SETTINGS_WASM}\n{lines}")
        completed = run_pyhost("check-config", config)
        assert completed.returncode == 1, completed.stdout
        assert "[plugin p]" in completed.stderr and message in completed.stderr, completed.stderr


def test_a_component_built_for_0_1_0_still_runs():
    counter = TEST_PLUGINS / "counter.wasm"
    checked = run_pyhost("check", counter)
    assert checked.returncode == 0, checked.stderr
    assert "pyhost:plugin/gpio-provider@0.1.0" in checked.stdout, checked.stdout
    assert "wasi:config" not in checked.stdout
    result = call(counter, polls=3)
    assert result.returncode == 0, result.stderr
    assert len(result.lines) == 3 and all(isinstance(line, list) for line in result.lines)
    # A component built for 0.1.1 is checked and runs beside it.
    checked = run_pyhost("check", SETTINGS_WASM)
    assert checked.returncode == 0, checked.stderr
    assert "wasi:config/store@0.2.0-rc.1" in checked.stdout, checked.stdout
    assert PYHOST.exists()
