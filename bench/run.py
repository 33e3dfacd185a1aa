#!/usr/bin/env python3
"""Runs every pyhost benchmark and writes build/bench/results.json: one flat
JSON object of named figures. BENCHMARKS.md says how each is measured.

Figures:
  poll_us_p50, poll_us_p95      one poll of the example plugin (host -> Python
                                -> read-dht22 + set-two -> readings), over
                                5000 polls of one live instance
  baseline_poll_us_p50          the same for a plugin whose poll only returns
                                one reading (no host calls): the floor
  poll_vs_baseline_ratio        poll_us_p50 / baseline_poll_us_p50
  component_compile_s           compiling the example component (Cranelift)
  first_poll_ms_cold            `pyhost call` start to first result, empty cache
  first_poll_ms_warm            the same with the compiled-code cache filled
  cold_vs_warm_ratio            first_poll_ms_cold / first_poll_ms_warm
  limits_overhead_pct           cost of the per-plugin limits (epoch deadline,
                                memory meter, store limiter) on poll_us_p50,
                                against an engine without them, same run
  checkpoint_us_each            one lifecycle checkpoint (save-state) of the
                                example plugin: poll_us_p50 with a checkpoint
                                after every poll minus poll_us_p50 at the
                                default (periodic) setting, same run
  checkpoint_us_per_poll        checkpoint_us_each amortised at the defaults:
                                one checkpoint per checkpoint_interval_s (60 s)
                                of polls every interval_s (5 s)
  deadline_overshoot_ms_p50/p99 how far past a 100 ms budget a runaway plugin
                                runs before it is stopped (50 polls)
  pipeline_publish_us_p50/p99   publishing one poll's record to the five
                                consumers, on the plugin's thread
                                (bench/bench_pipeline.c); baseline_fanout_us_p50:
                                five direct calls, same run
  i2c_transaction_us_p50/p99    one I2C transaction (register write, 8-byte read)
                                on the simulated BME280 (bench/bench_i2c.c)
  i2c_component_transaction_us_p50  the same through the component: a .py
                                plugin's poll of 100 `i2c.transact` calls minus
                                the same loop without them, / 100 (guest ->
                                host -> hw -> guest; bench/plugins/i2c-*)
  history_*, mqtt_*             the history and MQTT: see bench/bench_recorders.py
  http_*                        the web server under wrk: see bench/bench_http.py
  idle_rss_*, *_binary_mib      memory and size on a device: see bench/bench_device.py
  runtime_only_*, first_poll_ms_precompiled*   the runtime-only build beside
                                the full one, started from a shipped artifact:
                                see bench/bench_runtime_only.py
  reload_*, polls_missed_*, rss_*_per_extra_*   hot reloads and memory per
                                plugin in the running daemon: see bench/bench_reload.py
"""

import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_device
import bench_http
import bench_recorders
import bench_reload
import bench_runtime_only

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
BENCH_POLL = BUILD / "host" / "bench_poll"
PYHOST = BUILD / "pyhost"
EXAMPLE = BUILD / "plugins" / "sensor-logic.wasm"
BASELINE = BUILD / "test-plugins" / "counter.wasm"
SPIN = BUILD / "test-plugins" / "spin.wasm"
RUNAWAY_BUDGET_MS = 100


def bench_poll(plugin, polls, cache_dir=None, *extra):
    args = [str(BENCH_POLL), str(plugin), str(polls), *extra]
    if cache_dir:
        args += ["--cache", str(cache_dir)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def limits_figures(cache):
    """What the per-plugin limits cost on a normal poll, and how far past its
    budget a runaway plugin runs before it is stopped."""
    limited, unlimited = [], []
    for _ in range(3):  # interleaved, so drifting machine load hits both
        limited.append(bench_poll(EXAMPLE, 3000, cache)["poll_us_p50"])
        unlimited.append(bench_poll(EXAMPLE, 3000, cache, "--unlimited")["poll_us_p50"])
    with_limits, without = statistics.median(limited), statistics.median(unlimited)
    # Every poll of a runaway plugin runs in a fresh instance (the last one
    # was stopped), so its duration is instantiation + budget + overshoot;
    # the instantiation is measured alone, on a plugin of the same size.
    runaway = bench_poll(SPIN, 50, cache, "--budget", str(RUNAWAY_BUDGET_MS))
    restart = bench_poll(BASELINE, 50, cache, "--restart-every-poll")
    instantiate_ms = restart["poll_us_p50"] / 1000
    return {
        "restart_ms_p50": round(instantiate_ms, 2),
        "poll_us_p50_without_limits": without,
        "poll_us_p50_with_limits": with_limits,
        "limits_overhead_pct": round((with_limits - without) / without * 100, 1),
        "deadline_overshoot_ms_p50": round(
            runaway["poll_us_p50"] / 1000 - instantiate_ms - RUNAWAY_BUDGET_MS, 2),
        "deadline_overshoot_ms_p99": round(
            runaway["poll_us_p99"] / 1000 - instantiate_ms - RUNAWAY_BUDGET_MS, 2),
    }


# The defaults of [plugin] interval_s and checkpoint_interval_s.
DEFAULT_INTERVAL_S = 5
DEFAULT_CHECKPOINT_INTERVAL_S = 60


def checkpoint_figures(cache):
    """What a lifecycle checkpoint costs, alone and per poll at the defaults."""
    every, periodic = [], []
    for _ in range(3):  # interleaved
        every.append(bench_poll(EXAMPLE, 3000, cache, "--checkpoint-every-poll")["poll_us_p50"])
        periodic.append(bench_poll(EXAMPLE, 3000, cache)["poll_us_p50"])
    each = max(0.0, statistics.median(every) - statistics.median(periodic))
    polls_per_checkpoint = max(1.0, DEFAULT_CHECKPOINT_INTERVAL_S / DEFAULT_INTERVAL_S)
    return {"poll_us_p50_checkpoint_every_poll": statistics.median(every),
            "checkpoint_us_each": round(each, 2),
            "checkpoint_us_per_poll": round(each / polls_per_checkpoint, 2)}


def first_poll_ms(cache_dir):
    """Wall time from starting `pyhost call` to its first line of output."""
    config = pathlib.Path(cache_dir) / "bench.ini"
    config.write_text(f"[host]\ncache_dir = {cache_dir}\nlog_level = error\n")
    start = time.perf_counter()
    process = subprocess.Popen([str(PYHOST), "call", "--config", str(config), str(EXAMPLE)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    process.wait()
    if process.returncode != 0 or not line.startswith("["):
        sys.exit(f"bench: pyhost call failed: {line!r}")
    return elapsed


def pipeline_figures():
    """What publishing one poll's record costs the plugin's thread, against
    the hand-wired fan-out it replaced, in the same run (bench_pipeline.c)."""
    out = subprocess.run([str(BUILD / "host" / "bench_pipeline"), "20000"], check=True,
                         capture_output=True, text=True).stdout
    figures = json.loads(out)
    return {"pipeline_publish_us_p50": round(figures["publish_ns_p50"] / 1000, 2),
            "pipeline_publish_us_p99": round(figures["publish_ns_p99"] / 1000, 2),
            "baseline_fanout_us_p50": round(figures["baseline_fanout_ns_p50"] / 1000, 3)}


def i2c_figures():
    """The host's overhead per I2C transaction on the simulated bus: a
    register write and an 8-byte read of the BME280 (bench_i2c.c)."""
    out = subprocess.run([str(BUILD / "host" / "bench_i2c"), "20000"], check=True,
                         capture_output=True, text=True).stdout
    figures = json.loads(out)
    return {"i2c_transaction_us_p50": round(figures["transaction_ns_p50"] / 1000, 3),
            "i2c_transaction_us_p99": round(figures["transaction_ns_p99"] / 1000, 3)}


def i2c_component_figures(cache):
    """One `i2c.transact` through the component, from its guest's call to
    its return (bench/plugins/i2c-loop minus i2c-none, per call)."""
    plugins = ROOT / "bench" / "plugins"
    with_calls = bench_poll(plugins / "i2c-loop" / "app.py", 2000, cache)
    without = bench_poll(plugins / "i2c-none" / "app.py", 2000, cache)
    per_call = (with_calls["poll_us_p50"] - without["poll_us_p50"]) / 100
    return {"i2c_component_transaction_us_p50": round(per_call, 2)}


def main():
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        # Compile once without cache: the compile time.
        compiled = bench_poll(EXAMPLE, 10)
        results["component_compile_s"] = round(compiled["load_ms"] / 1000, 3)

        results.update(limits_figures(cache))
        results.update(checkpoint_figures(cache))
        example = bench_poll(EXAMPLE, 5000, cache)
        baseline = bench_poll(BASELINE, 5000, cache)
        results["poll_us_p50"] = example["poll_us_p50"]
        results["poll_us_p95"] = example["poll_us_p95"]
        results["baseline_poll_us_p50"] = baseline["poll_us_p50"]
        results["poll_vs_baseline_ratio"] = round(example["poll_us_p50"]
                                                  / baseline["poll_us_p50"], 2)

    cold, warm = [], []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(first_poll_ms(cache))
            # The warm runs load the host's serialized component (.cwasm,
            # deserialized from the file), not a compile.
            if not list(pathlib.Path(cache).glob("wasmtime-*/*.cwasm")):
                sys.exit("bench: the cold run left no serialized component in the cache")
            warm.extend(first_poll_ms(cache) for _ in range(5))
    results["first_poll_ms_cold"] = round(statistics.median(cold), 1)
    results["first_poll_ms_warm"] = round(statistics.median(warm), 1)
    results["cold_vs_warm_ratio"] = round(results["first_poll_ms_cold"]
                                          / results["first_poll_ms_warm"], 1)

    results.update(pipeline_figures())
    results.update(i2c_figures())
    with tempfile.TemporaryDirectory() as cache:
        results.update(i2c_component_figures(cache))
    results.update(bench_recorders.history_figures())
    results.update(bench_recorders.mqtt_figures())
    results.update(bench_http.http_figures())
    results.update(bench_device.device_figures())
    results.update(bench_runtime_only.runtime_only_figures())
    results.update(bench_reload.reload_figures())

    out_dir = BUILD / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    print(f"# {cpu}, {os.cpu_count()} cores, {platform.platform()}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
