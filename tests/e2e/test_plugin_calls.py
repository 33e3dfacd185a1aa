"""`pyhost call`: one instance, N polls, through the real Wasmtime."""

import os

from conftest import call, plugin, write_config


def temperatures(result):
    return [[r for r in line if r["quantity"] == "temperature"][0] for line in result.lines]


def test_poll_follows_scripted_temperatures_and_hysteresis_flips_at_thresholds(config_dir):
    # Alarm on at >= 30, off only at <= 27; warning from 25.
    script = [20, 29.9, 30, 29, 27.1, 27, 26, 30.5, 24]
    expected = ["ok", "warning", "alarm", "alarm", "alarm", "warning", "warning", "alarm", "ok"]
    config = write_config(config_dir, "[board]\nscript_celsius = "
                          + ", ".join(map(str, script)) + "\n")
    result = call(plugin("sensor-logic"), polls=len(script), config=config)
    assert result.returncode == 0, result.stderr
    readings = temperatures(result)
    assert [r["value"] for r in readings] == script
    assert [r["status"] for r in readings] == expected
    assert all(r["sensor"] == "greenhouse" and r["unit"] == "°C" for r in readings)
    humidity = [[r for r in line if r["quantity"] == "humidity"][0] for line in result.lines]
    assert all(r["unit"] == "%" and 0 <= r["value"] <= 100 for r in humidity)
    assert "alarm ON at 30.0" in result.stderr
    assert "alarm OFF at 27.0" in result.stderr


def test_led_calls_reach_the_board_with_the_right_colours(config_dir):
    config = write_config(config_dir, "[board]\nscript_celsius = 20, 26, 31, 27\n")
    result = call(plugin("sensor-logic"), polls=4, config=config)
    assert result.returncode == 0, result.stderr
    changes = [line.split("board: ")[1] for line in result.stderr.splitlines()
               if "board: LEDs" in line]
    assert changes == [
        "LEDs off/off -> green/green",      # 20 °C: ok
        "LEDs green/green -> yellow/green",  # 26 °C: warning
        "LEDs yellow/green -> red/red",      # 31 °C: alarm on
        "LEDs red/red -> yellow/green",      # 27 °C: alarm off, still warm
        "LEDs yellow/green -> off/off",      # unloaded: the owner's safe state
    ]
    assert "LEDs driven to safe state off/off: their owner is unloaded" in result.stderr


def test_globals_persist_between_polls_of_one_instance():
    result = call(plugin("counter"), polls=3)
    assert result.returncode == 0, result.stderr
    assert [line[0]["value"] for line in result.lines] == [1.0, 2.0, 3.0]


def test_python_exception_is_an_error_value_and_keeps_the_instance():
    result = call(plugin("raises"), polls=3)
    assert result.returncode == 1
    first, second, third = result.lines
    assert first[0]["value"] == 1.0
    error = second["error"]
    assert error["kind"] == "guest-error"
    assert error["message"] == "ValueError: deliberate failure on poll 2"
    assert "check_parity" in error["traceback"]
    # Same instance: the counter went on from 2 to 3, nothing was lost.
    assert third[0]["value"] == 3.0
    assert "deliberate failure on poll 2" in result.stderr


def test_trap_discards_the_poisoned_instance_and_polling_goes_on():
    result = call(plugin("traps"), polls=4)
    assert result.returncode == 1
    assert result.lines[0][0]["value"] == 1.0
    assert result.lines[1]["error"]["kind"] == "trap"
    assert "unreachable" in result.lines[1]["error"]["message"]
    assert "wasm backtrace" in result.lines[1]["error"]["traceback"]
    # A fresh instance: its counter starts again at 1, then traps again.
    assert result.lines[2][0]["value"] == 1.0
    assert result.lines[3]["error"]["kind"] == "trap"
    # The guest's own traceback went to the log under its name.
    assert "traps: RuntimeError: unhandled error escaping the export" in result.stderr


def test_runaway_loop_is_interrupted_at_its_budget():
    result = call(plugin("spin"), polls=2)
    assert result.returncode == 1
    for line in result.lines:
        assert line["error"]["kind"] == "budget-exceeded"
        assert line["error"]["message"] == "plugin spin exceeded its 100 ms budget in poll"


def test_sensor_errors_reach_the_plugin_as_values(config_dir):
    config = write_config(config_dir, "[board]\nerror_probability = 1.0\n")
    result = call(plugin("sensor-logic"), polls=2, config=config)
    assert result.returncode == 0, result.stderr
    assert result.lines == [[], []]
    assert "DHT22 on pin 4 failed: timeout" in result.stderr
    assert "DHT22 on pin 4 failed: checksum" in result.stderr
    assert "LEDs off/off -> yellow/yellow" in result.stderr


def test_wasi_grants_no_files_environment_arguments_or_stdin():
    result = call(plugin("probe"))
    assert result.returncode == 0, result.stderr
    granted = {r["sensor"]: r["value"] for r in result.lines[0]}
    assert set(granted.values()) == {0.0}
    assert {"open-etc-passwd", "list-root", "environment", "socket", "spawn"} <= set(granted)
    # stdout and stderr reach the host log, prefixed with the plugin's name.
    assert "info    probe: probe says hello on stdout" in result.stderr
    assert "warning probe: probe says hello on stderr" in result.stderr


def test_compiled_code_cache_is_filled_and_reused(tmp_path):
    cache = tmp_path / "deep" / "cache"  # missing parents are created
    config = tmp_path / "cache.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\n")
    first = call(plugin("counter"), config=config)
    assert first.returncode == 0, first.stderr
    entries = [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert entries, "nothing was written to the compiled-code cache"
    second = call(plugin("counter"), config=config)
    assert second.lines == first.lines


def test_unusable_cache_directory_is_a_warning_not_a_failure(tmp_path):
    config = tmp_path / "cache.ini"
    config.write_text("[host]\ncache_dir = /dev/null/cache\n")
    result = call(plugin("counter"), config=config)
    assert result.returncode == 0, result.stderr
    assert result.lines == [[{"sensor": "counter", "quantity": "temperature", "value": 1.0,
                              "unit": "polls", "status": "ok", "valid": True}]]
    assert "compiled-code cache disabled: /dev/null" in result.stderr


def cache_entries(cache):
    return sorted(cache.rglob("*.cwasm"))


def test_corrupt_cache_entry_is_detected_and_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    config = tmp_path / "cache.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\n")
    assert call(plugin("counter"), config=config).returncode == 0
    [entry] = cache_entries(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    result = call(plugin("counter"), config=config)
    assert result.returncode == 0, result.stderr
    assert f"entry {entry} for" in result.stderr and "is corrupt" in result.stderr
    again = call(plugin("counter"), config=config)  # rebuilt: trusted again
    assert "corrupt" not in again.stderr and again.lines == result.lines


def test_foreign_cache_entry_is_refused_and_rebuilt(tmp_path):
    import hashlib
    cache = tmp_path / "cache"
    config = tmp_path / "cache.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\n")
    assert call(plugin("counter"), config=config).returncode == 0
    [entry] = cache_entries(cache)
    foreign = b"\x7fELF" + b"\0" * 4096  # checksummed, but not Wasmtime's
    entry.write_bytes(foreign)
    entry.with_suffix(".sha256").write_text(hashlib.sha256(foreign).hexdigest() + "\n")
    result = call(plugin("counter"), config=config)
    assert result.returncode == 0, result.stderr
    assert "is foreign" in result.stderr
    assert result.lines[0][0]["value"] == 1.0


def test_time_waiting_for_a_slow_sensor_does_not_count_against_the_budget(config_dir):
    # A 300 ms sensor read inside a poll with a 100 ms CPU budget: the
    # budget is for the plugin's own computing, not for the host's hardware.
    config = write_config(config_dir, "[board]\nread_delay_ms = 300\n")
    result = call(plugin("sensor-logic"), polls=2, config=config)
    assert result.returncode == 0, result.stderr
    assert [len(line) for line in result.lines] == [2, 2]


def high_water_mib(result):
    """The high-water mark `pyhost call` logs at the end (0.1 MiB steps)."""
    import re
    match = re.search(r"linear memory: [0-9.]+ MiB now, ([0-9.]+) MiB at most", result.stderr)
    assert match, result.stderr
    return float(match.group(1))


def test_the_memory_high_water_mark_follows_a_known_growth():
    # `grower` keeps 8 MiB more on each poll: four polls more, 32 MiB more,
    # within the allocator's rounding (64 KiB pages, a little headroom).
    one, five = call(plugin("grower"), polls=1), call(plugin("grower"), polls=5)
    assert one.returncode == 0 and five.returncode == 0, five.stderr
    assert five.lines[-1][0]["value"] == 40.0
    grown = high_water_mib(five) - high_water_mib(one)
    assert 31.5 <= grown <= 33.0, (high_water_mib(one), high_water_mib(five))


def with_custom_section(data, name, payload):
    """The component with a custom section appended (id 0, size, name
    length, name, payload): still valid, other bytes. Sizes under 128."""
    body = bytes([len(name)]) + name + payload
    return data + b"\x00" + bytes([len(body)]) + body


def debug_cache_config(tmp_path):
    cache = tmp_path / "cache"
    config = tmp_path / "cache.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\nlog_level = debug\n")
    return cache, config


SHORTCUT = "unchanged since it was hashed: loaded"


def test_a_tampered_cache_entry_is_refused_after_the_identity_shortcut(tmp_path):
    cache, config = debug_cache_config(tmp_path)
    first = call(plugin("counter"), config=config)  # compiles; notes the .wasm's identity
    assert first.returncode == 0, first.stderr
    unchanged = call(plugin("counter"), config=config)
    # The .wasm is not read again: its digest comes from its identity.
    assert SHORTCUT in unchanged.stderr, unchanged.stderr
    [entry] = cache_entries(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(entry, "r+b") as f:  # in place, as bit rot or a stray tool would
        f.write(bytes(data))
    result = call(plugin("counter"), config=config)
    assert result.returncode == 0, result.stderr
    assert "(known by the file's identity) is corrupt" in result.stderr, result.stderr
    assert SHORTCUT not in result.stderr
    assert result.lines == first.lines
    again = call(plugin("counter"), config=config)  # rebuilt: trusted again
    assert SHORTCUT in again.stderr and "corrupt" not in again.stderr


def test_a_changed_wasm_of_the_same_size_is_hashed_and_compiled_again(tmp_path):
    import time
    cache, config = debug_cache_config(tmp_path)
    original = plugin("counter").read_bytes()
    target = tmp_path / "counter.wasm"
    target.write_bytes(with_custom_section(original, b"pyhost-test", b"A" * 16))
    # An identity is noted only once the file's times are 2 s old.
    while time.time() < target.stat().st_ctime + 2.1:
        time.sleep(0.1)
    assert call(target, config=config).returncode == 0
    assert SHORTCUT in call(target, config=config).stderr
    times = target.stat()
    with open(target, "r+b") as f:  # same inode, same size, other bytes
        f.write(with_custom_section(original, b"pyhost-test", b"B" * 16))
    os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))  # only ctime tells
    changed = call(target, config=config)
    assert changed.returncode == 0, changed.stderr
    assert SHORTCUT not in changed.stderr
    assert f"compiling {target}" in changed.stderr
    assert len(cache_entries(cache)) == 2
