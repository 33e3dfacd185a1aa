"""History: the real daemon appends every reading to a real SQLite file.

The counter plugin reports 1, 2, 3, ... (its poll count), so the rows in
the database say exactly which readings were kept and which were lost."""

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import threading

import pytest

from conftest import CACHE_DIR, PYHOST, Daemon, plugin, run_pyhost, write_config

GRANTS = "grants = gpio-provider, led-controller, logging\n"


def history_config(directory, database, history_keys="", interval_s=0.05):
    return write_config(directory,
                        f"[http]\nenabled = no\n"
                        f"[history]\npath = {database}\n{history_keys}"
                        f"[plugin counter]\nfile = {plugin('counter')}\n{GRANTS}"
                        f"interval_s = {interval_s}\n")


def counter_values(lines):
    return [line["readings"][0]["value"] for line in lines]


def rest_of_output(daemon):
    """Every stdout line still queued once the daemon has exited."""
    daemon.process.wait(timeout=30)
    lines = []
    while True:
        try:
            lines.append(daemon.next_line(timeout=2))
        except queue.Empty:
            return lines


def latest_value(daemon):
    """The counter's value in the newest line printed so far."""
    lines = [daemon.next_line()]
    while True:
        try:
            lines.append(daemon.lines.get_nowait())
        except queue.Empty:
            return counter_values(lines)[-1]


def stored_values(database):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [row[0] for row in connection.execute("SELECT value FROM readings ORDER BY id")]


def test_sigkill_loses_at_most_the_open_batch(tmp_path, daemons):
    database = tmp_path / "history.db"
    # Only the count commits (batch_ms is an hour): every commit holds 5.
    config = history_config(tmp_path, database, "batch_rows = 5\nbatch_ms = 3600000\n")
    daemon = daemons(config, tmp_path)
    printed = daemon.read_until(lambda line: counter_values([line])[0] >= 23)
    daemon.signal(signal.SIGKILL)
    printed += rest_of_output(daemon)
    assert daemon.process.returncode == -signal.SIGKILL

    values = stored_values(database)
    made = int(max(counter_values(printed)))
    # Whole batches, in order, none torn, none missing ...
    assert values == [float(v) for v in range(1, len(values) + 1)]
    assert len(values) % 5 == 0
    # ... and only the batch that was open (or being committed) at the kill
    # is lost: every reading of a batch that filled before it is there.
    assert made - len(values) <= 5, (made, len(values))
    assert len(values) >= 20


def test_sigterm_commits_the_open_batch(tmp_path, daemons):
    database = tmp_path / "history.db"
    # Nothing would commit for an hour or 1000 readings: only the shutdown.
    config = history_config(tmp_path, database, "batch_rows = 1000\nbatch_ms = 3600000\n")
    daemon = daemons(config, tmp_path)
    printed = daemon.read(7)
    assert daemon.stop() == 0
    printed += rest_of_output(daemon)
    assert stored_values(database) == counter_values(printed)
    assert "history: closed: %d readings written, 0 lost" % len(printed) in daemon.log()


def test_history_command_prints_json_lines_filtered_by_sensor_since_and_limit(tmp_path, daemons):
    database = tmp_path / "history.db"
    config = history_config(tmp_path, database)
    daemon = daemons(config, tmp_path)
    printed = daemon.read(6)
    assert daemon.stop() == 0
    printed += rest_of_output(daemon)
    last = counter_values(printed)[-1]

    result = run_pyhost("history", "--config", config, "--sensor", "counter", "--limit", "3")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["value"] for row in rows] == [last - 2, last - 1, last]
    assert {row["plugin"] for row in rows} == {"counter"}
    assert {row["quantity"] for row in rows} == {"temperature"}
    assert rows[0]["time_ms"] <= rows[1]["time_ms"] <= rows[2]["time_ms"]

    since = rows[1]["time_ms"]
    result = run_pyhost("history", "--config", config, "--since", since)
    assert [json.loads(line)["time_ms"] >= since for line in result.stdout.splitlines()] == \
        [True] * len(result.stdout.splitlines())
    assert len(result.stdout.splitlines()) >= 2

    result = run_pyhost("history", "--config", config, "--sensor", "elsewhere")
    assert result.returncode == 0 and result.stdout == ""
    result = run_pyhost("history", "--config", config, "--since", "1h")
    assert len(result.stdout.splitlines()) == len(printed)

    result = run_pyhost("history", "--config", config, "--limit", "many")
    assert result.returncode == 2 and "--limit" in result.stderr


def test_unknown_history_key_is_refused_with_its_name(tmp_path):
    config = history_config(tmp_path, tmp_path / "h.db", "batch_rowz = 5\n")
    result = run_pyhost("run", "--config", config)
    assert result.returncode == 2
    assert "[history]: unknown key 'batch_rowz'" in result.stderr


# --- storage failures, in a private mount namespace -----------------------

def can_mount_privately():
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_mount_namespace = pytest.mark.skipif(
    not can_mount_privately(),
    reason="needs `unshare -rm` (user + mount namespaces) to make a full or read-only "
           "file system without touching the machine's mounts")


class NamespacedDaemon(Daemon):
    """`pyhost run` in a new user + mount namespace, after `setup` (shell
    commands, e.g. mounting a small tmpfs); the mounts vanish with it."""

    def __init__(self, config, tmp_path, setup):
        env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
        self.log_path = tmp_path / "pyhost.log"
        self._log = open(self.log_path, "w")
        script = f'{setup} && exec "$0" run --config "$1"'
        self.process = subprocess.Popen(["unshare", "-rm", "sh", "-c", script, str(PYHOST),
                                         str(config)], stdout=subprocess.PIPE, stderr=self._log,
                                        text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()


@needs_mount_namespace
def test_full_disk_is_logged_once_counted_and_polling_goes_on(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    database = mount / "history.db"
    config = history_config(tmp_path, database, "batch_rows = 1\nbatch_ms = 1\n")
    # 128 KiB: the write-ahead log fills it after a few dozen commits.
    daemon = NamespacedDaemon(config, tmp_path,
                              f"mount -t tmpfs -o size=128k tmpfs '{mount}'")
    try:
        daemon.wait_for_log("database or disk is full", timeout=60)
        printed_at_failure = latest_value(daemon)
        # Polling goes on: 20 more polls after the disk filled up.
        daemon.read_until(lambda line: counter_values([line])[0] >= printed_at_failure + 20)
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
    log = daemon.log()
    assert log.count("readings are dropped (and counted)") == 1, log
    closed = next(line for line in log.splitlines() if "history: closed:" in line)
    lost = int(closed.split(" lost in ")[0].rsplit(" ", 1)[1])
    assert lost >= 20, closed


@needs_mount_namespace
def test_read_only_database_is_logged_once_and_polling_goes_on(tmp_path, daemons):
    directory = tmp_path / "data"
    directory.mkdir()
    database = directory / "history.db"
    config = history_config(tmp_path, database)
    first = daemons(config, tmp_path)
    first.read(3)
    assert first.stop() == 0
    before = stored_values(database)
    assert len(before) >= 3

    # The same database, its directory now mounted read-only.
    run_dir = tmp_path / "second"
    run_dir.mkdir()
    daemon = NamespacedDaemon(config, run_dir,
                              f"mount --bind '{directory}' '{directory}' && "
                              f"mount -o remount,bind,ro '{directory}'")
    try:
        daemon.wait_for_log("read-only", timeout=60)
        printed = daemon.read(10)
        assert len(printed) == 10
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
    log = daemon.log()
    assert log.count("readings are dropped (and counted)") == 1, log
    assert stored_values(database) == before
