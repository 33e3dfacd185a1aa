#!/usr/bin/env python3
"""Reload benchmarks (lifecycle issue): the real `pyhost run` daemon, real
components, real files. BENCHMARKS.md says how each figure is measured.

Figures:
  reload_wasm_warm_ms_p50/p95   a component renamed into place (os.replace) to
                                the first stdout line answered by it; two
                                versions alternating, both already in the
                                compiled-code cache; 0.01 s poll interval
  reload_wasm_cold_ms_p50/p95   the same, each version's bytes unique (a custom
                                section appended) and the cache emptied before
                                each reload, so each reload compiles; 0.1 s
                                interval
  polls_missed_during_cold_reload   in those cold reloads: polls of the running
                                version expected from the elapsed time but
                                not seen (sum over all reloads)
  reload_py_ms_p50/p95          a .py plugin on the shared Python runtime,
                                edited in place; 0.01 s interval
  rss_mib_py_plugins_1/4/16     VmRSS with 1, 4, 16 .py plugins
  rss_mib_per_extra_py_plugin   (rss 16 - rss 1) / 15
  (and the same for .wasm plugins as a baseline)

Run alone (`python bench/bench_reload.py`) it merges its figures into
build/bench/results.json, keeping the others; bench/run.py calls
reload_figures(). PYHOST_COLD_RELOADS overrides the number of cold reloads.
"""

import json
import os
import pathlib
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
PYHOST = BUILD / "pyhost"
V1 = BUILD / "test-plugins" / "stateful-counter.wasm"  # reports "counter-v1"
V2 = BUILD / "test-plugins" / "stateful-counter-v2.wasm"  # reports "counter-v2"
RUNTIME = BUILD / "plugins" / "python-runtime.wasm"

GRANTS = "grants = gpio-provider, logging\n"
DEBOUNCE_MS = 5           # the host waits 2 x this before loading a change
FAST_INTERVAL_S = 0.01    # warm and .py reloads
RHYTHM_INTERVAL_S = 0.1   # cold reloads (latency and missed polls)
WARM_RELOADS = 30
PY_RELOADS = 30
# Each cold reload compiles the 18 MB component with Cranelift: 5 s on an
# idle 2-core machine, 15-20 s on a busy one (20 reloads: up to 7 minutes).
COLD_RELOADS = int(os.environ.get("PYHOST_COLD_RELOADS", "20"))
RSS_COUNTS = (1, 4, 16)
RSS_POLL_S = 5.0          # how long the plugins poll before VmRSS is read
RSS_INTERVAL_S = 0.5

PY_PLUGIN = '''
import json
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status

NAME = "{name}"
count = 0

class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self):
        global count
        count += 1
        return [SensorReading(sensor=NAME, quantity=Quantity.TEMPERATURE,
                              value=float(count), unit="count", status=Status.OK)]

class Lifecycle(exports.Lifecycle):
    @report_errors
    def save_state(self):
        return json.dumps({{"count": count}}).encode()

    @report_errors
    def restore_state(self, state):
        global count
        count = json.loads(state)["count"]
'''


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def leb128(number):
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def with_custom_section(data, name, payload):
    """A component (or module) with a custom section appended: id 0, size,
    name length, name, payload. Still valid, but different bytes: a
    different cache key."""
    body = leb128(len(name)) + name + payload
    return data + b"\x00" + leb128(len(body)) + body


def config_text(cache, plugins, debounce_ms=DEBOUNCE_MS):
    """plugins: (name, file, interval_s) triples."""
    text = (f"[host]\ncache_dir = {cache}\npython_runtime = {RUNTIME}\nlog_level = info\n"
            f"reload_debounce_ms = {debounce_ms}\n[http]\nenabled = no\n")
    for name, path, interval in plugins:
        text += f"[plugin {name}]\nfile = {path}\ninterval_s = {interval}\n{GRANTS}"
    return text


class Daemon:
    """`pyhost run`; each stdout line is stamped with its arrival time
    (time.perf_counter()) by a reader thread."""

    def __init__(self, directory, text):
        config = directory / "pyhost.ini"
        config.write_text(text)
        self.log_path = directory / "pyhost.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([str(PYHOST), "run", "--config", str(config)],
                                        stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.lines = queue.Queue()
        self.last = None  # the last line taken from the queue
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), json.loads(line)))

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.last = self.lines.get(timeout=min(1.0, timeout))
                return self.last
            except queue.Empty:
                if self.process.poll() is not None:
                    break
        sys.exit(f"bench_reload: no output for {timeout} s; log:\n"
                     + self.log_path.read_text()[-3000:])

    def drain(self):
        """Discards queued lines; returns the last line seen (or None)."""
        while True:
            try:
                self.last = self.lines.get_nowait()
            except queue.Empty:
                return self.last

    def wait_for(self, predicate, timeout=120):
        """Lines up to and including the first that satisfies `predicate`."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            item = self.next(max(0.1, deadline - time.monotonic()))
            seen.append(item)
            if predicate(item[1]):
                return seen
            if time.monotonic() > deadline:
                sys.exit(f"bench_reload: nothing matched within {timeout} s; log:\n"
                         + self.log_path.read_text()[-3000:])

    def rss_mib(self):
        """VmRSS, RssAnon and RssFile from /proc/PID/status, in MiB."""
        fields = {}
        for line in open(f"/proc/{self.process.pid}/status"):
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
        return fields

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._log.close()


def sensor(line):
    return line["readings"][0]["sensor"] if line.get("readings") else None


def rename_into_place(data, target):
    temporary = target.with_name(target.name + ".new")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def timed_reload(daemon, deploy, expected_sensor, timeout=120):
    """Deploys; returns the ms from just before the deploy to the arrival of
    the first line from the new version, the last line seen before the
    deploy and the lines up to the switch (arrival time, line)."""
    before = daemon.drain()
    start = time.perf_counter()
    deploy()
    lines = daemon.wait_for(lambda line: sensor(line) == expected_sensor, timeout)
    return (lines[-1][0] - start) * 1000, before, lines


def settle(daemon, rng, interval):
    """After a switch: a few polls (probation passes), then a random part of
    an interval, so deploys land at all phases of the poll schedule."""
    for _ in range(5):
        daemon.next(30)
    time.sleep(rng.uniform(0, interval))


def warm_wasm(tmp, rng):
    directory = tmp / "warm"
    directory.mkdir()
    watched = directory / "counter.wasm"
    shutil.copyfile(V1, watched)
    daemon = Daemon(directory, config_text(directory / "cache",
                                           [("counter", watched, FAST_INTERVAL_S)]))
    try:
        versions = [(V1.read_bytes(), "counter-v1"), (V2.read_bytes(), "counter-v2")]
        daemon.wait_for(lambda line: sensor(line) == "counter-v1")  # compiles v1
        rename_into_place(versions[1][0], watched)                   # compiles v2
        daemon.wait_for(lambda line: sensor(line) == "counter-v2")
        settle(daemon, rng, FAST_INTERVAL_S)
        times = []
        for i in range(WARM_RELOADS):
            data, expected = versions[i % 2]
            ms, _, _ = timed_reload(daemon, lambda: rename_into_place(data, watched), expected)
            times.append(ms)
            settle(daemon, rng, FAST_INTERVAL_S)
        compiled = daemon.log_path.read_text().count("reloaded: version")
    finally:
        daemon.stop()
    if compiled != WARM_RELOADS + 1:
        sys.exit(f"bench_reload: expected {WARM_RELOADS + 1} reloads, the log has {compiled}")
    return times


def cold_wasm(tmp, rng):
    """Cold reloads at RHYTHM_INTERVAL_S: latency, and the polls of the old
    version missed while the new one compiles."""
    directory = tmp / "cold"
    directory.mkdir()
    cache = directory / "cache"
    watched = directory / "counter.wasm"
    shutil.copyfile(V1, watched)
    daemon = Daemon(directory, config_text(cache, [("counter", watched, RHYTHM_INTERVAL_S)]))
    times, missed, expected_total, seen_total = [], [], 0, 0
    try:
        daemon.wait_for(lambda line: sensor(line) == "counter-v1")
        settle(daemon, rng, RHYTHM_INTERVAL_S)
        sources = [(V2.read_bytes(), "counter-v2"), (V1.read_bytes(), "counter-v1")]
        for i in range(COLD_RELOADS):
            source, expected = sources[i % 2]
            data = with_custom_section(source, b"pyhost-bench",
                                       f"cold reload {i} {time.time_ns()}".encode())
            for entry in cache.rglob("*"):  # an empty compile cache
                if entry.is_file():
                    entry.unlink()
            ms, before, lines = timed_reload(daemon, lambda: rename_into_place(data, watched),
                                             expected, timeout=300)
            times.append(ms)
            # Polls expected between the last line before the deploy and the
            # first line of the new version, from the elapsed time; the
            # scheduler does not catch up, so a late poll is a lost one.
            if before is None:
                sys.exit("bench_reload: no line before a cold deploy")
            elapsed = lines[-1][0] - before[0]
            expected_polls = round(elapsed / RHYTHM_INTERVAL_S)
            expected_total += expected_polls
            seen_total += len(lines)
            missed.append(max(0, expected_polls - len(lines)))
            settle(daemon, rng, RHYTHM_INTERVAL_S)
        log = daemon.log_path.read_text()
    finally:
        daemon.stop()
    if log.count("reloaded: version") != COLD_RELOADS:
        sys.exit("bench_reload: a cold reload was not a reload; log:\n" + log[-3000:])
    return times, missed, expected_total, seen_total


def python_reloads(tmp, rng):
    directory = tmp / "py"
    directory.mkdir()
    watched = directory / "plugin.py"
    watched.write_text(PY_PLUGIN.format(name="py-start"))
    daemon = Daemon(directory, config_text(directory / "cache",
                                           [("py", watched, FAST_INTERVAL_S)]))
    times = []
    try:
        daemon.wait_for(lambda line: sensor(line) == "py-start", timeout=300)
        settle(daemon, rng, FAST_INTERVAL_S)
        for i in range(PY_RELOADS):
            name = f"py-{i}"

            def edit():
                with open(watched, "r+") as f:  # in place, as an editor saving
                    f.truncate(0)
                    f.write(PY_PLUGIN.format(name=name))

            ms, _, _ = timed_reload(daemon, edit, name)
            times.append(ms)
            settle(daemon, rng, FAST_INTERVAL_S)
        log = daemon.log_path.read_text()
    finally:
        daemon.stop()
    if log.count("reloaded: version") != PY_RELOADS or "rejected" in log:
        sys.exit("bench_reload: unexpected .py reloads; log:\n" + log[-3000:])
    return times


def rss_with(tmp, kind, count, cache):
    directory = pathlib.Path(tempfile.mkdtemp(prefix=f"rss-{kind}-{count}-", dir=tmp))
    plugins = []
    for i in range(count):
        if kind == "py":
            path = directory / f"plugin{i}.py"
            path.write_text(PY_PLUGIN.format(name=f"p{i}"))
        else:
            path = V1  # one file: one compiled component, an instance each
        plugins.append((f"p{i}", path, RSS_INTERVAL_S))
    daemon = Daemon(directory, config_text(cache, plugins))
    try:
        seen = set()
        deadline = time.monotonic() + 300
        while len(seen) < count and time.monotonic() < deadline:
            seen.add(daemon.next(300)[1]["plugin"])
        if len(seen) < count:
            sys.exit(f"bench_reload: only {len(seen)} of {count} plugins polled")
        time.sleep(RSS_POLL_S)
        rss = daemon.rss_mib()
    finally:
        daemon.stop()
    return rss


def rss_figures(tmp):
    cache = tmp / "rss-cache"
    results = {}
    for kind in ("py", "wasm"):
        rss_with(tmp, kind, 1, cache)  # fills the cache: every measured start is warm
        raw = {n: rss_with(tmp, kind, n, cache) for n in RSS_COUNTS}
        for n, fields in raw.items():
            results[f"rss_mib_{kind}_plugins_{n}"] = round(fields["VmRSS"], 1)
            results[f"rss_anon_mib_{kind}_plugins_{n}"] = round(fields["RssAnon"], 1)
        first, last = RSS_COUNTS[0], RSS_COUNTS[-1]
        for key, name in (("VmRSS", "rss"), ("RssAnon", "rss_anon")):
            results[f"{name}_mib_per_extra_{kind}_plugin"] = round(
                (raw[last][key] - raw[first][key]) / (last - first), 2)
    return results


def snapshot_inputs(tmp):
    """Copies the binary and the components into `tmp`: on a shared machine
    someone may rebuild build/ while the benchmark runs."""
    global PYHOST, V1, V2, RUNTIME
    inputs = tmp / "inputs"
    inputs.mkdir()
    library = RUNTIME.with_suffix(".stdlib")  # beside the runtime, as the host looks for it
    PYHOST, V1, V2, RUNTIME = (pathlib.Path(shutil.copy2(path.resolve(), inputs / path.name))
                               for path in (PYHOST, V1, V2, RUNTIME))
    if library.is_dir():
        shutil.copytree(library.resolve(), RUNTIME.with_suffix(".stdlib"))


def reload_figures():
    if not (PYHOST.exists() and V1.exists() and V2.exists() and RUNTIME.exists()):
        sys.exit("bench_reload: run `make build test-plugins` first")
    rng = random.Random(4)
    (BUILD / "bench").mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-reload-", dir=BUILD / "bench") as tmp_name:
        tmp = pathlib.Path(tmp_name)
        snapshot_inputs(tmp)
        warm = warm_wasm(tmp, rng)
        results["reload_wasm_warm_ms_p50"] = round(statistics.median(warm), 1)
        results["reload_wasm_warm_ms_p95"] = round(percentile(warm, 0.95), 1)
        results["reload_wasm_warm_count"] = len(warm)

        py = python_reloads(tmp, rng)
        results["reload_py_ms_p50"] = round(statistics.median(py), 1)
        results["reload_py_ms_p95"] = round(percentile(py, 0.95), 1)
        results["reload_py_count"] = len(py)
        results["reload_py_vs_wasm_warm_ratio"] = round(
            results["reload_py_ms_p50"] / results["reload_wasm_warm_ms_p50"], 2)

        cold, missed, expected, seen = cold_wasm(tmp, rng)
        results["reload_wasm_cold_ms_p50"] = round(statistics.median(cold), 1)
        results["reload_wasm_cold_ms_p95"] = round(percentile(cold, 0.95), 1)
        results["reload_wasm_cold_count"] = len(cold)
        results["reload_cold_vs_warm_ratio"] = round(
            results["reload_wasm_cold_ms_p50"] / results["reload_wasm_warm_ms_p50"], 1)
        results["reload_cold_vs_py_ratio"] = round(
            results["reload_wasm_cold_ms_p50"] / results["reload_py_ms_p50"], 1)
        results["polls_missed_during_cold_reload"] = sum(missed)
        results["polls_missed_during_cold_reload_max"] = max(missed)
        results["polls_expected_during_cold_reloads"] = expected
        results["polls_seen_during_cold_reloads"] = seen

        results.update(rss_figures(tmp))
    return results


def main():
    results = reload_figures()
    out = BUILD / "bench" / "results.json"
    merged = json.loads(out.read_text()) if out.exists() else {}
    merged.update(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
