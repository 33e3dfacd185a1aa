"""SIGTERM while the reloader compiles a new version: the stop does not wait
for the compile (Wasmtime cannot interrupt one), it abandons it and exits 0
within stop_timeout_s, with the plugins' states written as on any stop."""

import hashlib
import json
import os
import shutil
import signal
import time

from conftest import CACHE_DIR, READER, assert_no_sanitizer_report, plugin, write_config

STOP_TIMEOUT_S = 2.0
# Process exit and the last writes; far less than a compile (seconds).
MARGIN_S = 1.5


def assert_stopped_in_time(daemon, returncode, took):
    """A clean, prompt stop: exit 0 within stop_timeout_s and the margin, no
    sanitizer report. Returns the log."""
    log = daemon.log()
    assert_no_sanitizer_report(log)
    assert returncode == 0, log[-3000:]
    assert took < STOP_TIMEOUT_S + MARGIN_S, f"the stop took {took:.2f} s:\n{log[-3000:]}"
    return log


def leb128(number):
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def with_custom_section(component, payload):
    """The same component with a custom section appended: new bytes, so a
    new digest that no compiled-code cache holds, and a full compile."""
    name = b"pyhost-test"
    content = leb128(len(name)) + name + payload
    return component + b"\x00" + leb128(len(content)) + content


def remove_cache_entries(digest):
    for entry in CACHE_DIR.glob(f"*/{digest}.*"):
        entry.unlink()


def test_sigterm_during_a_reload_compile_exits_0_within_stop_timeout(tmp_path, daemons):
    watched = tmp_path / "plugins" / "counter.wasm"
    watched.parent.mkdir()
    shutil.copyfile(plugin("stateful-counter"), watched)
    state = tmp_path / "state"
    config = write_config(tmp_path,
                          f"state_dir = {state}\nstate_write_interval_s = 3600\n"
                          f"reload_debounce_ms = 50\nstop_timeout_s = {STOP_TIMEOUT_S}\n"
                          "[http]\nenabled = false\n"
                          f"[plugin counter]\nfile = {watched}\ninterval_s = 0.1\n{READER}")
    daemon = daemons(config, tmp_path)
    daemon.next_line(timeout=180)  # a compile of its own if the shared cache is cold
    daemon.read(2)

    fresh = with_custom_section(plugin("stateful-counter-v2").read_bytes(), os.urandom(16))
    digest = hashlib.sha256(fresh).hexdigest()
    try:
        compiles_before = daemon.log().count(f"compiling {watched}")
        temporary = watched.with_name("counter.wasm.new")
        temporary.write_bytes(fresh)
        os.replace(temporary, watched)
        # The compile of the new version: logged after the deploy (the
        # start-up may have logged one of its own if the cache was cold).
        daemon.wait_for_log(f"compiling {watched}", count=compiles_before + 1, timeout=60)
        seen = []
        while not daemon.lines.empty():
            seen.append(daemon.lines.get())
        last_count = seen[-1]["readings"][0]["value"] if seen else 3.0
        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        returncode = daemon.process.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        daemon.process.kill()
        remove_cache_entries(digest)
    log = assert_stopped_in_time(daemon, returncode, took)
    assert "stop did not finish" not in log
    assert "compile abandoned" in log
    # The stop still wrote the state of the running version (the polls
    # before the stop had counted at least this far).
    assert json.loads((state / "counter.state").read_text())["count"] >= last_count


def uncached_counter(tmp_path):
    """tmp_path/fresh.wasm: the counter with new bytes (no cache holds
    them); returns its path and digest."""
    fresh = tmp_path / "fresh.wasm"
    content = with_custom_section(plugin("counter").read_bytes(), os.urandom(16))
    fresh.write_bytes(content)
    return fresh, hashlib.sha256(content).hexdigest()


def stop_while_compiling(daemon, path, count=1):
    """Waits for the compile of `path` (the `count`th), sends SIGTERM, and
    returns the exit code and how long the stop took."""
    daemon.wait_for_log(f"compiling {path}", count=count, timeout=60)
    started = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    returncode = daemon.process.wait(timeout=60)
    return returncode, time.monotonic() - started


def test_sigterm_during_the_start_up_compile_exits_0_at_once(tmp_path, daemons):
    fresh, digest = uncached_counter(tmp_path)
    config = write_config(tmp_path,
                          f"stop_timeout_s = {STOP_TIMEOUT_S}\n[http]\nenabled = false\n"
                          f"[plugin fresh]\nfile = {fresh}\ninterval_s = 0.1\n{READER}")
    daemon = daemons(config, tmp_path)
    try:
        returncode, took = stop_while_compiling(daemon, fresh)
    finally:
        daemon.process.kill()
        remove_cache_entries(digest)
    log = assert_stopped_in_time(daemon, returncode, took)
    assert "while loading the plugins: stopped" in log


def test_sigterm_during_a_sighup_check_exits_0_at_once(tmp_path, daemons):
    base = (f"stop_timeout_s = {STOP_TIMEOUT_S}\n[http]\nenabled = false\n"
            f"[plugin counter]\nfile = {plugin('counter')}\ninterval_s = 0.1\n{READER}")
    config = write_config(tmp_path, base)
    daemon = daemons(config, tmp_path)
    daemon.next_line(timeout=180)
    fresh, digest = uncached_counter(tmp_path)
    write_config(tmp_path, base + f"[plugin fresh]\nfile = {fresh}\ninterval_s = 0.1\n{READER}")
    daemon.signal(signal.SIGHUP)
    try:
        returncode, took = stop_while_compiling(daemon, fresh)
    finally:
        daemon.process.kill()
        remove_cache_entries(digest)
    log = assert_stopped_in_time(daemon, returncode, took)
    assert "while checking the new plugins" in log and "the running one stays" in log
