"""`pyhost run`: the daemon polls its plugins side by side and stops
cleanly."""

import json
import os
import signal
import subprocess
import time

from conftest import CACHE_DIR, OWNER, PYHOST, READER, plugin, run_pyhost, write_config


def start(config, *extra):
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    return subprocess.Popen([str(PYHOST), "run", "--config", str(config), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def read_lines(process, count, timeout=60):
    """Reads `count` JSON lines from the daemon's stdout."""
    lines = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(json.loads(line))
    return lines


def stop(process, timeout=10):
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, stderr


def test_daemon_polls_on_schedule_and_stops_on_sigterm(config_dir):
    config = write_config(config_dir, f"[plugin greenhouse]\nfile = {plugin('sensor-logic')}\n{OWNER}"
                                      "interval_s = 0.2\n")
    process = start(config)
    lines = read_lines(process, 5)
    started = [line["time_ms"] for line in lines]
    returncode, stderr = stop(process)
    assert returncode == 0, stderr
    assert len(lines) == 5
    assert all(line["plugin"] == "greenhouse" for line in lines)
    assert all(len(line["readings"]) == 2 for line in lines)
    # The simulated curve rises: the first polls read rising temperatures.
    temps = [line["readings"][0]["value"] for line in lines]
    assert temps == sorted(temps)
    assert started[-1] - started[0] <= 3000
    assert "loaded" in stderr and "stopping" in stderr


def test_interval_flag_overrides_the_config(config_dir):
    config = write_config(config_dir, f"[plugin slow]\nfile = {plugin('counter')}\n{READER}"
                                      "interval_s = 3600\n")
    process = start(config, "--interval", "0.1")
    lines = read_lines(process, 3, timeout=30)
    stop(process)
    assert [line["readings"][0]["value"] for line in lines] == [1.0, 2.0, 3.0]


def test_a_stuck_plugin_does_not_delay_another(config_dir):
    config = write_config(config_dir,
                          f"[plugin stuck]\nfile = {plugin('spin')}\n{READER}interval_s = 0.05\n"
                          "budget_ms = 1000\n"
                          f"[plugin counter]\nfile = {plugin('counter')}\n{READER}interval_s = 0.1\n")
    process = start(config)
    lines = read_lines(process, 10, timeout=30)
    returncode, stderr = stop(process)
    assert returncode == 0
    # The spinning plugin burns 1 s per poll; the counter still polled
    # 10 times in far less than 10 of its budgets.
    counts = [line["readings"][0]["value"] for line in lines if line["plugin"] == "counter"]
    assert counts == [float(n) for n in range(1, 11)]
    assert "stuck: poll failed (budget-exceeded)" in stderr


def test_a_bad_plugin_is_reported_and_the_others_run(config_dir, tmp_path):
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"not wasm at all")
    config = write_config(config_dir, f"[plugin broken]\nfile = {garbage}\n{READER}"
                                      f"[plugin counter]\nfile = {plugin('counter')}\n{READER}"
                                      "interval_s = 0.1\n")
    process = start(config)
    lines = read_lines(process, 2)
    returncode, stderr = stop(process)
    assert returncode == 0
    assert [line["plugin"] for line in lines] == ["counter", "counter"]
    assert f"broken: not loaded: {garbage}: not a WebAssembly binary" in stderr


def test_a_bad_config_is_refused_with_the_field_named(config_dir):
    config = write_config(config_dir, "[plugin a]\nfile = x.wasm\ninterval_s = often\n")
    result = run_pyhost("run", "--config", config)
    assert result.returncode == 2
    assert f"{config}:5: [plugin a] interval_s: invalid value 'often'" in result.stderr


def test_trapping_plugin_keeps_being_polled_by_the_daemon(config_dir):
    config = write_config(config_dir, f"[plugin traps]\nfile = {plugin('traps')}\n{READER}"
                                      "interval_s = 0.05\n")
    process = start(config)
    lines = read_lines(process, 3)
    returncode, stderr = stop(process)
    assert returncode == 0
    # poll 1 ok, poll 2 traps (no line), fresh instance: 1 again, then trap...
    assert [line["readings"][0]["value"] for line in lines] == [1.0, 1.0, 1.0]
    assert "traps: poll failed (trap)" in stderr
