#!/usr/bin/env python3
"""What the host costs a device, for bench/run.py (or alone:
`python bench/bench_device.py` merges its figures into
build/bench/results.json, keeping the others). BENCHMARKS.md says how each
figure is measured.

  idle_rss_mib                  VmRSS of `pyhost run` with the example plugin
                                (5 s interval, simulated board, web server
                                on, history on, compiled-code cache warm)
                                after IDLE_SECONDS of polling (60; the
                                environment's PYHOST_IDLE_SECONDS shortens
                                it for a local try, never for the figure)
  idle_rss_anon_mib             its anonymous part (heap, instance memory)
  idle_rss_mib_counter_plugin   the same host with the smallest Python
                                plugin (tests/plugins/counter) instead
  baseline_idle_rss_mib         VmRSS of `sleep` over the same minute: the
                                floor of any dynamically linked process
  pyhost_binary_mib             the host binary, stripped (Wasmtime's C API
                                is linked in statically: no other library
                                of ours is loaded)
  wasmtime_only_binary_mib      a minimal C program that makes a Wasmtime
                                engine and component linker, linked the
                                same way and stripped: Wasmtime's share
  baseline_binary_mib           `int main(void) { return 0; }`, same
                                compiler, flags and stripping
  pyhost_binary_mib_aarch64     the aarch64 host (`make cross-aarch64`),
                                stripped, when it has been built
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
PYHOST = BUILD / "host" / "pyhost"
EXAMPLE = BUILD / "plugins" / "sensor-logic.wasm"
COUNTER = BUILD / "test-plugins" / "counter.wasm"
IDLE_SECONDS = float(os.environ.get("PYHOST_IDLE_SECONDS", "60"))
MIB = 1024 * 1024


def status_kib(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def host_config(directory, plugin, grants):
    path = pathlib.Path(directory) / f"{plugin.stem}.ini"
    path.write_text(
        f"[host]\nlog_level = warning\ncache_dir = {directory}/cache\n"
        f"state_dir = {directory}/state-{plugin.stem}\n"
        "[board]\nbackend = sim\n"
        "[http]\nenabled = yes\nport = 0\n"
        f"[history]\npath = {directory}/{plugin.stem}.db\n"
        f"[plugin {plugin.stem}]\nfile = {plugin}\ninterval_s = 5\n{grants}")
    return path


def idle_figures():
    grants = ("grants = gpio-provider, led-controller, logging\ndht22_pins = 4\n"
              "led_safe_state = yellow, off\n")
    with tempfile.TemporaryDirectory() as directory:
        configs = [host_config(directory, EXAMPLE, grants), host_config(directory, COUNTER, grants)]
        # Warm the compiled-code cache first, as a service's second start.
        for config in configs:
            warm = subprocess.Popen([str(PYHOST), "run", "--config", str(config)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            warm.stdout.readline()
            warm.send_signal(signal.SIGTERM)
            warm.wait(timeout=60)
        processes = [subprocess.Popen([str(PYHOST), "run", "--config", str(config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for config in configs]
        sleeper = subprocess.Popen(["sleep", str(int(IDLE_SECONDS) + 30)])
        time.sleep(IDLE_SECONDS)
        rss = [status_kib(p.pid, "VmRSS") for p in processes]
        anon = status_kib(processes[0].pid, "RssAnon")
        baseline = status_kib(sleeper.pid, "VmRSS")
        for process in processes:
            process.send_signal(signal.SIGTERM)
            if process.wait(timeout=60) != 0:
                sys.exit("bench: pyhost run did not stop cleanly")
        sleeper.kill()
        sleeper.wait()
    return {"idle_rss_mib": round(rss[0] / 1024, 1),
            "idle_rss_anon_mib": round(anon / 1024, 1),
            "idle_rss_mib_counter_plugin": round(rss[1] / 1024, 1),
            "baseline_idle_rss_mib": round(baseline / 1024, 1),
            "idle_seconds": IDLE_SECONDS}


MINIMAL_WASMTIME = r"""
#include <wasmtime.h>
int main(void) {
        wasm_engine_t *engine = wasm_engine_new();
        wasmtime_component_linker_t *linker = wasmtime_component_linker_new(engine);
        wasmtime_component_linker_delete(linker);
        wasm_engine_delete(engine);
        return 0;
}
"""


def stripped_mib(binary, directory, strip="strip"):
    copy = pathlib.Path(directory) / (pathlib.Path(binary).name + ".stripped")
    subprocess.run([strip, "-o", str(copy), str(binary)], check=True)
    return round(copy.stat().st_size / MIB, 2)


def binary_figures():
    wasmtime_dir = pathlib.Path((BUILD / ".wasmtime-dir").read_text().strip())
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        results["pyhost_binary_mib"] = stripped_mib(PYHOST, directory)
        source = pathlib.Path(directory) / "minimal.c"
        flags = ["-O2", "-g", "-std=c11"]  # CMake's RelWithDebInfo, stripped after
        source.write_text("int main(void) { return 0; }\n")
        subprocess.run(["cc", *flags, str(source), "-o", f"{directory}/minimal"], check=True)
        results["baseline_binary_mib"] = stripped_mib(f"{directory}/minimal", directory)
        source.write_text(MINIMAL_WASMTIME)
        subprocess.run(["cc", *flags, f"-I{wasmtime_dir}/include", str(source),
                        str(wasmtime_dir / "lib" / "libpyhost_wasmtime.a"),
                        "-lpthread", "-ldl", "-lm", "-o", f"{directory}/wasmtime_only"],
                       check=True)
        results["wasmtime_only_binary_mib"] = stripped_mib(f"{directory}/wasmtime_only",
                                                           directory)
        cross = BUILD / "aarch64" / "pyhost"
        if cross.exists() and shutil.which("aarch64-linux-gnu-strip"):
            results["pyhost_binary_mib_aarch64"] = stripped_mib(cross, directory,
                                                                "aarch64-linux-gnu-strip")
    return results


def device_figures():
    return {**binary_figures(), **idle_figures()}


if __name__ == "__main__":
    figures = device_figures()
    out = BUILD / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    results.update(figures)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
