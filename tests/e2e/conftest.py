"""Shared helpers for the end-to-end tests: they drive the real `pyhost`
binary with real componentize-py components through the real Wasmtime."""

import json
import os
import pathlib
import queue
import signal
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
# PYHOST_BINARY lets `make test-sanitize-host` and `make test-tsan-host` run
# these tests against the host built with AddressSanitizer and
# UndefinedBehaviorSanitizer, or with ThreadSanitizer.
PYHOST = pathlib.Path(os.environ.get("PYHOST_BINARY", BUILD / "pyhost"))
PLUGINS = BUILD / "plugins"
TEST_PLUGINS = BUILD / "test-plugins"
# Compiled components are cached across tests, runs and clones: compiling an
# 18 MB Python component takes seconds, loading it from the cache
# milliseconds. Entries are named by the component's SHA-256, and
# scripts/componentize.sh gives the same sources the same component bytes,
# so sharing is safe and the cache grows only when plugins change.
CACHE_DIR = pathlib.Path(os.environ.get(
    "PYHOST_TEST_CACHE", pathlib.Path.home() / ".cache" / "pyhost" / "test-cache"))


# The grants of a plugin section: one that only reads sensors and logs, and
# one that also owns the LEDs. No rate limit, so tests can poll quickly.
READER = "grants = gpio-provider, logging\ndht22_pins = 4\ndht22_min_interval_ms = 0\n"
OWNER = "grants = gpio-provider, led-controller, logging\ndht22_pins = 4\ndht22_min_interval_ms = 0\n"


def plugin(name: str) -> pathlib.Path:
    path = PLUGINS / f"{name}.wasm"
    return path if path.exists() else TEST_PLUGINS / f"{name}.wasm"


def write_config(directory: pathlib.Path, text: str, cache: bool = True) -> pathlib.Path:
    """Writes `text` as pyhost.ini with the shared cache in [host]: into the
    text's own [host] section if it has one (a repeated section is refused)."""
    if cache:
        line = f"cache_dir = {CACHE_DIR}\n"
        if text.startswith("[host]\n") or "\n[host]\n" in text:
            head, _, tail = text.partition("[host]\n")
            text = f"{head}[host]\n{line}{tail}"
        else:
            text = f"[host]\n{line}{text}"
    if not text.startswith("[http]\n") and "\n[http]\n" not in text:
        # No web server unless the test asks for one (http_config, port 0):
        # the default port 8080 may be taken on the machine running the tests.
        text += "\n[http]\nenabled = false\n"
    path = directory / "pyhost.ini"
    path.write_text(text)
    return path


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "FATAL: ThreadSanitizer")


def assert_no_sanitizer_report(stderr: str) -> None:
    for report in SANITIZER_REPORTS:
        assert report not in stderr, stderr[stderr.index(report) - 200:][:3000]


# `make test-tsan-host` has ThreadSanitizer write its reports to files in
# this directory (TSAN_OPTIONS log_path), one per process: that catches
# reports of every pyhost process a test starts, whether or not the test
# reads its stderr and whether or not the process is still running.
SANITIZER_LOG_DIR = os.environ.get("PYHOST_SANITIZER_LOG_DIR")


@pytest.fixture(autouse=True)
def no_sanitizer_report_files():
    """Fails the test during which a sanitizer wrote a report file. Set up
    before the test's other fixtures, so checked after they stopped their
    daemons."""
    if SANITIZER_LOG_DIR is None:
        yield
        return
    directory = pathlib.Path(SANITIZER_LOG_DIR)
    before = set(directory.iterdir()) if directory.is_dir() else set()
    yield
    new = sorted(set(directory.iterdir()) - before) if directory.is_dir() else []
    assert not new, "sanitizer report(s):\n" + "\n".join(
        f"--- {path}\n{path.read_text(errors='replace')[:6000]}" for path in new)


class CallResult:
    def __init__(self, completed: subprocess.CompletedProcess):
        assert_no_sanitizer_report(completed.stderr)
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.lines = [json.loads(line) for line in completed.stdout.splitlines()]


def call(plugin_path, polls=1, config=None, timeout=120) -> CallResult:
    args = [str(PYHOST), "call", "--polls", str(polls)]
    if config is not None:
        args += ["--config", str(config)]
    args.append(str(plugin_path))
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    return CallResult(completed)


def run_pyhost(*args, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    return subprocess.run([str(PYHOST), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def config_dir(tmp_path):
    return tmp_path


class Daemon:
    """`pyhost run` in the background: stdout lines (JSON) are collected on a
    thread, stderr goes to a file that tests can read at any time."""

    def __init__(self, config, tmp_path, *extra):
        env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
        self.log_path = tmp_path / "pyhost.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([str(PYHOST), "run", "--config", str(config), *extra],
                                        stdout=subprocess.PIPE, stderr=self._log, text=True,
                                        env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next_line(self, timeout=30):
        return self.lines.get(timeout=timeout)

    def read(self, count, timeout=30):
        return [self.next_line(timeout) for _ in range(count)]

    def read_until(self, predicate, timeout=30):
        """Lines up to and including the first that satisfies `predicate`."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.next_line(max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError(f"no matching line within {timeout} s; saw {seen[-5:]}")

    def log(self):
        return self.log_path.read_text()

    def wait_for_log(self, text, timeout=30, count=1):
        """Waits until `text` has been logged `count` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.log()[-3000:]}")

    def signal(self, number):
        self.process.send_signal(number)

    def stop(self, timeout=10):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
            self._log.close()
        assert_no_sanitizer_report(self.log())
        return self.process.returncode


@pytest.fixture
def daemons():
    """Starts daemons with daemons(config, tmp_path, *args); stops them all."""
    started = []

    def start(config, tmp_path, *extra):
        daemon = Daemon(config, tmp_path, *extra)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.stop()
