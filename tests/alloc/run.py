#!/usr/bin/env python3
"""Allocation failures, curl's torture test as the model.

The host built with -DPYHOST_FAULT_INJECT=ON (and ASan + UBSan) counts the
allocations of its own C code, of jansson and of SQLite, and fails the Nth
when PYHOST_FAIL_ALLOC=N (src/core/fault.h). For each scenario this script
counts what a clean run allocates, then runs it once per N and checks that
the host did not crash (no signal, no sanitizer report, no hang), leaked
nothing (LeakSanitizer at exit), exited with a code the scenario allows, and,
when it stopped with an error, said clearly that memory ran out.

Wasmtime's own allocations (Rust) are never failed: Rust aborts on a failed
allocation by design. The host has threads (a poll thread per plugin, the
pipeline's consumers, the web server's pool, the history writer), so which
code the Nth allocation lands in can vary from run to run, unlike curl's
single-threaded torture tests; a failing N is printed with a one-line
command to run it again and the failing site (OBJECT+OFFSET, resolved with
addr2line when it is in pyhost itself).

Usage: run.py --binary build/fault-inject/pyhost [--scenario NAME ...]
              [--only N] [--max-runs K] [--jobs J] [--keep]
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
PLUGIN = BUILD / "plugins" / "sensor-logic.wasm"
RELOADED = BUILD / "test-plugins" / "counter.wasm"
CACHE_DIR = pathlib.Path(os.environ.get(
    "PYHOST_TEST_CACHE", pathlib.Path.home() / ".cache" / "pyhost" / "test-cache"))
TOKEN = "alloc-test-token-0123456789abcdef"
ASAN_OPTIONS = "handle_segv=0:allow_user_segv_handler=1:detect_leaks=1"
UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1"
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
# What a clear error about a failed allocation says.
CLEAR = re.compile(r"out of memory|Cannot allocate memory", re.IGNORECASE)
FAULT_LINE = re.compile(r"pyhost fault: allocation (\d+) \((\w+)\) fails at (\S+)\+0x([0-9a-f]+)"
                        r"(?: via (\S+)\+0x([0-9a-f]+))?")
COUNT_LINE = re.compile(r"pyhost fault: (\d+) allocations counted")
RUN_TIMEOUT_S = 60


class Outcome:
    def __init__(self, returncode, stdout, stderr, note=""):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.note = note


def environment(fail_at):
    return dict(os.environ, PYHOST_FAIL_ALLOC=str(fail_at), ASAN_OPTIONS=ASAN_OPTIONS,
                UBSAN_OPTIONS=UBSAN_OPTIONS, XDG_CACHE_HOME=str(CACHE_DIR))


def plugin_section(path, interval_s, grants="gpio-provider, led-controller, logging"):
    return (f"[plugin sensor-logic]\nfile = {path}\ninterval_s = {interval_s}\n"
            f"grants = {grants}\ndht22_pins = 4\ndht22_min_interval_ms = 0\n")


def write_config(directory, plugin_text, history_extra="", host_extra=""):
    """A config with the shared compiled-code cache (nothing compiles per
    run), a history, the web server on a free port and one plugin."""
    text = (f"[host]\ncache_dir = {CACHE_DIR}\nstate_dir = {directory / 'state'}\n{host_extra}"
            f"[history]\npath = {directory / 'history.db'}\n{history_extra}"
            f"[http]\nport = 0\ntoken = {TOKEN}\n" + plugin_text)
    path = directory / "pyhost.ini"
    path.write_text(text)
    return path


class Daemon:
    """`pyhost run`: stderr to a file, stdout (JSON lines) to another."""

    def __init__(self, binary, config, directory, fail_at):
        self.log_path = directory / "stderr.txt"
        self.out_path = directory / "stdout.txt"
        self._log = open(self.log_path, "w")
        self._out = open(self.out_path, "w")
        self.process = subprocess.Popen([str(binary), "run", "--config", str(config)],
                                        stdout=self._out, stderr=self._log,
                                        env=environment(fail_at), cwd=directory)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def out(self):
        return self.out_path.read_text(errors="replace")

    def wait_for(self, predicate, timeout):
        """Until predicate() holds or the process exits; False on the
        deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.process.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def port(self, timeout=20):
        def found():
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.log())
            return int(match.group(1)) if match else None
        return self.wait_for(found, timeout)

    def finish(self, timeout=20):
        note = ""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                note = f"did not stop within {timeout} s of SIGTERM"
        self._log.close()
        self._out.close()
        return Outcome(self.process.returncode, self.out(), self.log(), note)


def request(port, method, path, body=None):
    """Status, or None when the connection broke (the host may be failing)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status
    except (OSError, http.client.HTTPException):
        return None


def error_logged(daemon):
    return " error " in daemon.log()


def first_poll_or_error(daemon):
    return daemon.out().strip() or error_logged(daemon)


# --- the scenarios -------------------------------------------------------
# Each takes (binary, directory, fail_at, act) and returns an Outcome; `codes`
# are the exit codes it may end with. With act=False a scenario that acts on
# a running host only starts and stops it: its count tells where the act's
# own allocations begin, and the sweep starts there (start-up and stop are
# the `startup` scenario's).

def scenario_startup(binary, directory, fail_at, act=True):
    """Start-up, the first poll (history, web server on), a clean SIGTERM."""
    config = write_config(directory, plugin_section(PLUGIN, 1))
    daemon = Daemon(binary, config, directory, fail_at)
    daemon.wait_for(lambda: first_poll_or_error(daemon), 20)
    return daemon.finish()


def scenario_call(binary, directory, fail_at, act=True):
    """`pyhost call --polls 2` of the example plugin."""
    completed = subprocess.run([str(binary), "call", "--polls", "2", str(PLUGIN)],
                               capture_output=True, text=True, env=environment(fail_at),
                               cwd=directory, timeout=RUN_TIMEOUT_S)
    note = ""
    if completed.returncode == 0 and len(completed.stdout.splitlines()) != 2:
        note = "exit 0 without a line per poll"
    return Outcome(completed.returncode, completed.stdout, completed.stderr, note)


def started_web_daemon(binary, directory, fail_at, plugin_text, history_extra="", host_extra=""):
    config = write_config(directory, plugin_text, history_extra, host_extra)
    daemon = Daemon(binary, config, directory, fail_at)
    port = daemon.port()
    if port is not None:
        # The first (scheduled) poll is part of start-up.
        daemon.wait_for(lambda: first_poll_or_error(daemon), 20)
    return daemon, port


def scenario_http(binary, directory, fail_at, act=True):
    """GET /api/plugins and POST /api/plugins/NAME/poll against a running
    host (a long interval: no scheduled poll but the first)."""
    daemon, port = started_web_daemon(binary, directory, fail_at, plugin_section(PLUGIN, 3600))
    if port is not None and act:
        request(port, "GET", "/api/plugins")
        request(port, "POST", "/api/plugins/sensor-logic/poll", body="{}")
    return daemon.finish()


def history_rows(path):
    """Rows in the history database, read beside the host (WAL)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT count(*) FROM readings").fetchone()[0]
    except sqlite3.Error:
        return 0


def scenario_history(binary, directory, fail_at, act=True):
    """Three operator polls (2 readings each) with batch_rows = 2: three
    batches after the first poll's; SIGTERM once all 8 rows are in the
    database, or 6 when an error was logged (one lost batch)."""
    daemon, port = started_web_daemon(binary, directory, fail_at, plugin_section(PLUGIN, 3600),
                                      "batch_rows = 2\nbatch_ms = 50\n")
    if port is not None and act:
        for _ in range(3):
            request(port, "POST", "/api/plugins/sensor-logic/poll", body="{}")
        # One failed allocation loses at most one batch (2 rows).
        settled = time.monotonic() + 0.3
        daemon.wait_for(lambda: (rows := history_rows(directory / "history.db")) >= 8
                        or (rows >= 6 and error_logged(daemon) and time.monotonic() > settled),
                        20)
    return daemon.finish()


def scenario_reload(binary, directory, fail_at, act=True):
    """The plugin file replaced while running (written beside it, renamed
    into place): the reloader loads, trial-polls and swaps it."""
    plugins = directory / "plugins"
    plugins.mkdir()
    shutil.copyfile(PLUGIN, plugins / "sensor-logic.wasm")
    daemon, port = started_web_daemon(binary, directory, fail_at,
                                      plugin_section(plugins / "sensor-logic.wasm", 3600),
                                      host_extra="reload_debounce_ms = 20\n")
    if port is not None and act:
        shutil.copyfile(RELOADED, plugins / ".next.wasm")
        os.rename(plugins / ".next.wasm", plugins / "sensor-logic.wasm")
        daemon.wait_for(lambda: re.search(r"reloaded: version|rejected|error ", daemon.log()), 20)
    return daemon.finish()


# name: (function, allowed exit codes, acts on a running host). 2 is what a
# config that cannot be loaded (here: for memory) exits with.
SCENARIOS = {
    "startup": (scenario_startup, {0, 1, 2}, False),
    "call": (scenario_call, {0, 1, 2}, False),
    "http": (scenario_http, {0, 1, 2}, True),
    "history": (scenario_history, {0, 1, 2}, True),
    "reload": (scenario_reload, {0, 1, 2}, True),
}


# --- checking one run ----------------------------------------------------

def resolve(where, offset):
    """FUNCTION FILE:LINE (inlined frames joined) for an address in pyhost."""
    text = f"{where}+0x{offset}"
    if ".so" in pathlib.Path(where).name or not shutil.which("addr2line"):
        return text
    resolved = subprocess.run(["addr2line", "-f", "-i", "-e", where, f"0x{offset}"],
                              capture_output=True, text=True, cwd=ROOT)
    lines = [line.split(" (discriminator")[0] for line in resolved.stdout.splitlines()]
    if resolved.returncode != 0 or len(lines) < 2:
        return text
    return " <- ".join(f"{lines[i]} {pathlib.Path(lines[i + 1]).name}"
                       for i in range(0, len(lines) - 1, 2))


def failing_site(stderr):
    match = FAULT_LINE.search(stderr)
    if match is None:
        return None
    text = f"{match.group(2)} in {resolve(match.group(3), match.group(4))}"
    if match.group(5):
        text += f", called from {resolve(match.group(5), match.group(6))}"
    return text


def problems(outcome, codes, fail_at):
    found = []
    if outcome.note:
        found.append(outcome.note)
    if outcome.returncode is None:
        pass  # hung: said by the note
    elif outcome.returncode < 0:
        found.append(f"died by signal {-outcome.returncode}")
    elif outcome.returncode not in codes:
        found.append(f"exit code {outcome.returncode}, expected one of {sorted(codes)}")
    for report in SANITIZER_REPORTS:
        if report in outcome.stderr:
            start = outcome.stderr.index(report)
            found.append("sanitizer report:\n" + outcome.stderr[start:start + 2500])
    # The clean run (N = 0) filled the compiled-code cache: a run that
    # compiles took a failed allocation for a cache miss (seconds of CPU,
    # and far more memory, on a device that is short of it).
    if fail_at > 0 and "not in the compiled-code cache yet" in outcome.stderr:
        found.append("compiled again instead of loading from the compiled-code cache")
    if outcome.returncode not in (None, 0) and fail_at > 0 and FAULT_LINE.search(outcome.stderr):
        messages = [line for line in outcome.stderr.splitlines()
                    if not line.startswith("pyhost fault:")]
        if not any(CLEAR.search(line) for line in messages):
            found.append(f"exit {outcome.returncode} without saying that memory ran out")
    return found


def run_one(binary, name, fail_at, keep, act=True):
    function, codes, _ = SCENARIOS[name]
    directory = pathlib.Path(tempfile.mkdtemp(prefix=f"pyhost-alloc-{name}-{fail_at}-"))
    try:
        try:
            outcome = function(binary, directory, fail_at, act)
        except subprocess.TimeoutExpired:
            outcome = Outcome(None, "", "", f"hung: no exit within {RUN_TIMEOUT_S} s")
        return outcome, problems(outcome, codes, fail_at)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def chosen(first, last, max_runs):
    """Every N from first to last, or when that is more than max_runs a
    deterministic stride through them (always with first and last)."""
    if last - first + 1 <= max_runs:
        return list(range(first, last + 1))
    stride = -(-(last - first + 1) // max_runs)
    picked = list(range(first, last + 1, stride))
    if picked[-1] != last:
        picked.append(last)
    return picked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(BUILD / "fault-inject" / "pyhost"))
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--only", type=int, help="run only this N (with one --scenario)")
    parser.add_argument("--max-runs", type=int, default=int(os.environ.get(
        "PYHOST_ALLOC_MAX_RUNS", "150")), help="most N per scenario (stride beyond); 0: all")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep each run's directory")
    arguments = parser.parse_args()
    binary = pathlib.Path(arguments.binary).resolve()
    names = arguments.scenario or list(SCENARIOS)
    for needed in (binary, PLUGIN, RELOADED):
        if not needed.exists():
            sys.exit(f"run.py: {needed} is missing: run `make test-alloc-failures`")

    def reproduce(name, fail_at):
        return (f"{shlex.quote(sys.executable)} tests/alloc/run.py --binary {shlex.quote(str(binary))}"
                f" --scenario {name} --only {fail_at} --keep")

    if arguments.only is not None:
        if len(names) != 1:
            sys.exit("run.py: --only needs exactly one --scenario")
        outcome, found = run_one(binary, names[0], arguments.only, arguments.keep)
        sys.stdout.write(outcome.stderr)
        print(f"exit {outcome.returncode}; failing site: {failing_site(outcome.stderr)}")
        for problem in found:
            print(f"PROBLEM: {problem}")
        sys.exit(1 if found else 0)

    started = time.monotonic()
    failures = 0
    for name in names:
        scenario_start = time.monotonic()
        clean, found = run_one(binary, name, 0, False)
        match = COUNT_LINE.search(clean.stderr)
        if found or clean.returncode != 0 or match is None:
            print(f"{name}: the clean run failed (exit {clean.returncode}): {found}\n"
                  f"{clean.stderr[-3000:]}")
            failures += 1
            continue
        # A little past the clean count: threads make the count vary.
        count = int(match.group(1)) + 5
        first = 1
        if SCENARIOS[name][2]:
            bare, _ = run_one(binary, name, 0, False, act=False)
            bare_match = COUNT_LINE.search(bare.stderr)
            # The stop's allocations come after the act's: start a little
            # before the bare run's count.
            first = max(1, int(bare_match.group(1)) - 60) if bare_match else 1
        picked = chosen(first, count, arguments.max_runs or count)
        bad = []
        exits = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
            futures = {pool.submit(run_one, binary, name, n, False): n for n in picked}
            for future in concurrent.futures.as_completed(futures):
                outcome, found = future.result()
                exits[outcome.returncode] = exits.get(outcome.returncode, 0) + 1
                if found:
                    bad.append((futures[future], outcome, found))
        bad.sort(key=lambda item: item[0])
        stride = ("every N" if len(picked) == count - first + 1
                  else f"{len(picked)} N, stride {picked[1] - picked[0]}")
        print(f"{name}: {int(match.group(1))} allocations in a clean run; ran N = {first}..{count} "
              f"({stride}) in {time.monotonic() - scenario_start:.1f} s: "
              f"{'ok' if not bad else f'{len(bad)} failed'} (exit codes: "
              + ", ".join(f"{code}: {exits[code]}" for code in sorted(exits, key=str)) + ")",
              flush=True)
        for fail_at, outcome, found in bad:
            failures += 1
            print(f"  N={fail_at}: failing site: {failing_site(outcome.stderr)}")
            for problem in found:
                print("    " + problem.replace("\n", "\n    "))
            print(f"    again: {reproduce(name, fail_at)}")
    print(f"allocation failures: {len(names)} scenarios in {time.monotonic() - started:.1f} s, "
          f"{failures} problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
