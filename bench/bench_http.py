#!/usr/bin/env python3
"""The web server under load: wrk (Debian's) against GET /api/readings for
10 s while `pyhost run` polls three plugins every second, then the same with
a fourth plugin that burns its whole 100 ms CPU budget every 100 ms (a full
core of runaway guest code). bench/run.py includes these figures; run alone,
this script prints them and merges them into build/bench/results.json.

Figures:
  http_readings_rps                requests per second (wrk -t2 -c32, 10 s)
  http_readings_p50_ms, _p99_ms    latency percentiles wrk reports
  http_p99_ms_with_runaway_plugin  p99 with the runaway plugin added
  http_runaway_vs_calm_p99_ratio   the two p99s' ratio (goal: at most 2)
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
PYHOST = BUILD / "pyhost"
DURATION_S = 10


def section(name, path, interval_s, extra=""):
    grants = "gpio-provider, logging" + (", led-controller" if name == "sensor-logic" else "")
    return (f"[plugin {name}]\nfile = {path}\ninterval_s = {interval_s}\ngrants = {grants}\n"
            f"dht22_pins = 4\n{extra}\n")


def start(directory, with_runaway):
    plugins = [section("sensor-logic", BUILD / "plugins/sensor-logic.wasm", 1),
               section("counter", BUILD / "test-plugins/counter.wasm", 1),
               section("stateful-counter", BUILD / "test-plugins/stateful-counter.wasm", 1)]
    if with_runaway:
        plugins.append(section("spin", BUILD / "test-plugins/spin.wasm", 0.1,
                               "max_failures = 1000000\nrestart_backoff_ms = 0\n"))
    config = pathlib.Path(directory) / "bench.ini"
    # log_level info: the line that says the port (and LED changes, rare).
    config.write_text(f"[host]\nlog_level = info\ncache_dir = {BUILD / 'test-cache'}\n"
                      f"state_dir = {directory}/state\n[http]\nport = 0\n"
                      # wrk's 32 connections all come from 127.0.0.1.
                      f"max_connections_per_address = 64\n" + "".join(plugins))
    log = open(pathlib.Path(directory) / "pyhost.log", "w+")
    process = subprocess.Popen([str(PYHOST), "run", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log.seek(0)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log.read())
        if match:
            time.sleep(3)  # every plugin has polled
            return process, int(match.group(1))
        time.sleep(0.05)
    process.kill()
    sys.exit("bench_http: the web server did not start")


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port):
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{DURATION_S}s", "--latency",
                          f"http://127.0.0.1:{port}/api/readings"],
                         check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"bench_http: wrk saw errors:\n{out}")
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.MULTILINE))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": to_ms(percentiles["50"]), "p99_ms": to_ms(percentiles["99"])}


def measure(with_runaway):
    with tempfile.TemporaryDirectory() as directory:
        process, port = start(directory, with_runaway)
        try:
            return wrk(port)
        finally:
            process.terminate()
            process.wait(timeout=30)


def http_figures():
    calm = measure(False)
    runaway = measure(True)
    return {
        "http_readings_rps": round(calm["rps"]),
        "http_readings_p50_ms": round(calm["p50_ms"], 3),
        "http_readings_p99_ms": round(calm["p99_ms"], 3),
        "http_p99_ms_with_runaway_plugin": round(runaway["p99_ms"], 3),
        "http_runaway_vs_calm_p99_ratio": round(runaway["p99_ms"] / calm["p99_ms"], 2),
        "http_readings_rps_with_runaway_plugin": round(runaway["rps"]),
    }


if __name__ == "__main__":
    figures = http_figures()
    results_path = BUILD / "bench" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.update(figures)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
