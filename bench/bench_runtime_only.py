#!/usr/bin/env python3
"""The runtime-only build (`make runtime-only`) beside the full build, for
bench/run.py (or alone: `python bench/bench_runtime_only.py` merges its
figures into build/bench/results.json). Both start device-style: the example
plugin with its artifact from `pyhost compile` beside it (NAME.cwasm) and an
empty compiled-code cache.

  runtime_only_binary_mib          the runtime-only host, stripped (no
                                   Cranelift, no Winch); full_binary_mib: the
                                   full host, stripped, same run
  runtime_only_idle_rss_mib        VmRSS of the runtime-only `pyhost run` with
                                   the example plugin (bench_device's config:
                                   5 s interval, web server, history) after
                                   IDLE_SECONDS; full_idle_rss_mib_precompiled:
                                   the full host started the same way, at
                                   the same time
  first_poll_ms_precompiled        runtime-only `pyhost call`, start to first
                                   result, with only the shipped artifact
                                   (checked, installed into the cache,
                                   loaded); median of 5, a fresh cache each;
                                   first_poll_ms_precompiled_full: the full
                                   host, same way
  runtime_only_binary_mib_aarch64  not measured: the aarch64 runtime-only
                                   Wasmtime is not built here (a cold cross
                                   build takes ~12 min on 2 cores)
"""

import json
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import bench_device

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
FULL = BUILD / "host" / "pyhost"
RUNTIME_ONLY = BUILD / "runtime-only" / "pyhost"
EXAMPLE = BUILD / "plugins" / "sensor-logic.wasm"


def ship(directory):
    """The example plugin and its artifact, as a package would ship them."""
    shipped = pathlib.Path(directory) / "plugins"
    shipped.mkdir()
    wasm = shipped / EXAMPLE.name
    shutil.copyfile(EXAMPLE, wasm)
    subprocess.run([str(FULL), "compile", str(wasm)], check=True, capture_output=True)
    return wasm


def first_poll_ms(binary, wasm, directory):
    cache = pathlib.Path(tempfile.mkdtemp(dir=directory))
    config = cache / "bench.ini"
    config.write_text(f"[host]\ncache_dir = {cache}/cache\nlog_level = error\n"
                      f"state_dir = {cache}/state\n")
    start = time.perf_counter()
    process = subprocess.Popen([str(binary), "call", "--config", str(config), str(wasm)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    process.wait()
    if process.returncode != 0 or not line.startswith("["):
        sys.exit(f"bench: {binary} call failed: {line!r}")
    return elapsed


def idle_rss_mib(wasm, directory):
    grants = ("grants = gpio-provider, led-controller, logging\ndht22_pins = 4\n"
              "led_safe_state = yellow, off\n")
    processes = []
    for binary in (RUNTIME_ONLY, FULL):
        own = pathlib.Path(directory) / binary.parent.name
        own.mkdir()
        config = bench_device.host_config(own, wasm, grants)
        processes.append(subprocess.Popen([str(binary), "run", "--config", str(config)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(bench_device.IDLE_SECONDS)
    rss = [bench_device.status_kib(p.pid, "VmRSS") for p in processes]
    for process in processes:
        process.send_signal(signal.SIGTERM)
        if process.wait(timeout=60) != 0:
            sys.exit("bench: pyhost run did not stop cleanly")
    return [round(kib / 1024, 1) for kib in rss]


def runtime_only_figures():
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        results["runtime_only_binary_mib"] = bench_device.stripped_mib(RUNTIME_ONLY, directory)
        results["full_binary_mib"] = bench_device.stripped_mib(FULL, directory)
        wasm = ship(directory)
        precompiled, full = [], []
        for _ in range(5):  # interleaved, so drifting machine load hits both
            precompiled.append(first_poll_ms(RUNTIME_ONLY, wasm, directory))
            full.append(first_poll_ms(FULL, wasm, directory))
        results["first_poll_ms_precompiled"] = round(statistics.median(precompiled), 1)
        results["first_poll_ms_precompiled_full"] = round(statistics.median(full), 1)
        runtime_only, full_rss = idle_rss_mib(wasm, directory)
        results["runtime_only_idle_rss_mib"] = runtime_only
        results["full_idle_rss_mib_precompiled"] = full_rss
    return results


if __name__ == "__main__":
    figures = runtime_only_figures()
    out = BUILD / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    results.update(figures)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
