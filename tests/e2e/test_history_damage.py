"""A damaged history database, through the real binary and a real SQLite file.

Garbage over pages of a real history file, a text file where the database
should be, damage that appears while the host runs, a full disk: the host
keeps polling, moves a damaged file aside (kept byte for byte, named with
the UTC time), records in a fresh database, and says so in the log,
/api/health and /metrics."""

import os
import re
import sqlite3
import subprocess
import threading
import time

from conftest import CACHE_DIR, PYHOST, Daemon, run_pyhost
from http_support import (TOKEN, WebDaemon, http_config, plugin_section, request,  # noqa: F401
                          web_daemons)
from test_history import NamespacedDaemon, history_config, needs_mount_namespace

PAGE = 4096
ASIDE = re.compile(r"history\.db\.corrupt-\d{8}T\d{6}Z$")


def web_history_config(directory, database, history_keys="", http_extra=""):
    history = f"[history]\npath = {database}\n{history_keys}\n"
    return http_config(directory, [history, plugin_section("counter", interval_s=0.05)],
                       http_extra)


def first_run(tmp_path, database, rows):
    """A real history file: a first run of the host records a few readings,
    then `rows` more, (time_ms, value) each, are added."""
    directory = tmp_path / "first-run"
    directory.mkdir()
    daemon = Daemon(history_config(directory, database), directory)
    daemon.read(3)
    assert daemon.stop() == 0
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO readings (time_ms, plugin, sensor, quantity, value, unit, status)"
            " VALUES (?, 'counter', 'counter', 'temperature', ?, 'polls', 'ok')", rows)
    connection.close()
    assert not (tmp_path / "history.db-wal").exists()


def damage_middle(database, pages):
    """Garbage over `pages` pages from the middle of the file."""
    size = database.stat().st_size
    assert size // PAGE > 4 * pages
    with open(database, "r+b") as file:
        file.seek(size // PAGE // 2 * PAGE)
        file.write(bytes((i * 7 + 13) % 256 for i in range(PAGE)) * pages)


def stored_rows(database):
    """The rows, or [] while there is no database (with its table) to read."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(
                "SELECT id, plugin, value FROM readings ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []


def wait_for(condition, timeout=30, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout} s")


def metric(text, name):
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def get(port, path):
    response = request(port, "GET", path, token=TOKEN)
    assert response.status == 200, (path, response.status, response.body)
    return response


def assert_recovered_and_recording(daemon, database, kept_bytes):
    """What every recovery must show: the log, /api/health, /metrics, the
    kept file and new rows in a fresh database."""
    daemon.wait_for_log("DAMAGED DATABASE")
    health = get(daemon.port, "/api/health").json()
    assert health["status"] == "degraded", health
    history = health["history"]
    assert history["recoveries"] == 1, history
    assert history["degraded"] is True
    moved_to = history["last_recovery"]["moved_to"]
    assert ASIDE.search(moved_to), moved_to
    assert moved_to in daemon.log()
    assert history["last_error"]["message"]
    # Kept, byte for byte, beside the new database.
    aside = database.parent / moved_to.rsplit("/", 1)[1]
    assert aside.read_bytes() == kept_bytes
    metrics = get(daemon.port, "/metrics").body.decode()
    assert metric(metrics, "pyhost_history_recoveries_total") == 1
    assert metric(metrics, "pyhost_history_degraded") == 1
    assert metric(metrics, "pyhost_history_last_recovery_timestamp_seconds") > 0
    # Recording goes on, in a fresh database: only new rows of the counter.
    rows = wait_for(lambda: len(stored_rows(database)) >= 5 and stored_rows(database),
                    what="five rows in the fresh database")
    assert rows[0][0] == 1, rows[:3]
    assert {row[1] for row in rows} == {"counter"}
    assert wait_for(lambda: get(daemon.port, "/api/health").json()["history"]["written"] >= 5)
    return aside


def test_damaged_pages_found_at_start_are_moved_aside_and_recording_goes_on(tmp_path,
                                                                            web_daemons):
    database = tmp_path / "history.db"
    now_ms = int(time.time() * 1000)
    first_run(tmp_path, database, [(now_ms - 30000 + i, float(i)) for i in range(30000)])
    damage_middle(database, 8)
    damaged = database.read_bytes()

    config = web_history_config(tmp_path, database)
    daemon = web_daemons(config, tmp_path)
    aside = assert_recovered_and_recording(daemon, database, damaged)
    assert "quick_check" in daemon.log()
    # The damaged file was checked, not written: its log and shared memory
    # went with it, none is left for the fresh database to pick up.
    assert (aside.parent / (aside.name + "-shm")).exists()
    # `pyhost history` reads the fresh database.
    result = run_pyhost("history", "--config", config, "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert daemon.stop() == 0


def test_file_that_is_not_a_database_is_moved_aside_and_recording_goes_on(tmp_path,
                                                                          web_daemons):
    database = tmp_path / "history.db"
    text = b"this is a text file, not a database\n" * 100
    database.write_bytes(text)

    # Reads need the token here: /api/health stays open, but without the
    # token it keeps the history's paths and error messages to itself.
    daemon = web_daemons(web_history_config(tmp_path, database, http_extra="open_reads = false"),
                         tmp_path)
    assert_recovered_and_recording(daemon, database, text)
    assert "not a database" in daemon.log()
    anonymous = request(daemon.port, "GET", "/api/health")
    assert anonymous.status == 200
    history = anonymous.json()["history"]
    assert anonymous.json()["status"] == "degraded" and history["recoveries"] == 1
    assert history["last_recovery"]["time_ms"] > 0 and "moved_to" not in history["last_recovery"]
    assert "message" not in history["last_error"]
    assert str(tmp_path) not in anonymous.body.decode()
    assert daemon.stop() == 0


def test_damage_met_while_running_is_moved_aside_and_recording_goes_on(tmp_path, web_daemons):
    database = tmp_path / "history.db"
    # 100000 rows (10 MB, more than the writer's page cache) that the
    # retention deletes all at once, 15 s from now: until then every batch
    # goes into the old database, untouched by the damage.
    max_age_s = 60
    expires_ms = int(time.time() * 1000) + 15000
    old_time_ms = expires_ms - max_age_s * 1000 - 1
    first_run(tmp_path, database, [(old_time_ms, float(i)) for i in range(100000)])
    first_rows = len(stored_rows(database))

    config = web_history_config(tmp_path, database,
                                f"batch_ms = 500\nmax_age_days = {max_age_s / 86400}\n")
    daemon = web_daemons(config, tmp_path)

    # The writer checked the file at its start, before its first batch: once
    # new rows are in, the damage below can only be met by writing.
    def count(where):
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(f"SELECT count(*) FROM readings WHERE {where}").fetchone()[0]

    wait_for(lambda: count(f"id > {first_rows}") >= 3,
             what="batches written into the old database")
    assert count(f"time_ms = {old_time_ms}") == 100000, \
        "the old rows expired before the test could damage them (slow start?)"

    damage_middle(database, 64)
    damaged = database.read_bytes()
    # Readers while the writer meets the damage and moves the file: they
    # answer (an error is fine), never crash or hang.
    outcomes = []
    stop = threading.Event()

    def read_history():
        while not stop.is_set():
            try:
                result = subprocess.run([str(PYHOST), "history", "--config", str(config),
                                         "--limit", "5"], capture_output=True, timeout=20,
                                        env=dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR)))
                outcomes.append(result.returncode)
            except subprocess.TimeoutExpired:
                outcomes.append("hung")
            outcomes.append(request(daemon.port, "GET", "/api/history", token=TOKEN).status)

    reader = threading.Thread(target=read_history)
    reader.start()
    try:
        daemon.wait_for_log("DAMAGED DATABASE", timeout=60)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert outcomes and set(outcomes) <= {0, 1, 200}, outcomes

    log = daemon.log()
    assert log.index("quick_check ok") < log.index("DAMAGED DATABASE")
    assert "cannot apply retention" in log
    aside = assert_recovered_and_recording(daemon, database, damaged)
    # The old database's log and shared memory went with it.
    assert (aside.parent / (aside.name + "-wal")).exists()
    assert (aside.parent / (aside.name + "-shm")).exists()
    # No reading was lost: the batch that met the damage went into the
    # fresh database.
    assert get(daemon.port, "/api/health").json()["history"]["dropped_write_failed"] == 0
    assert daemon.stop() == 0


class NamespacedWebDaemon(NamespacedDaemon):
    def __init__(self, config, tmp_path, setup):
        super().__init__(config, tmp_path, setup)
        self.port = WebDaemon.wait_for_port(self)


@needs_mount_namespace
def test_full_disk_is_shown_in_health_and_metrics(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    database = mount / "history.db"
    config = web_history_config(tmp_path, database, "batch_rows = 1\nbatch_ms = 1\n")
    # 128 KiB: the write-ahead log fills it after a few dozen commits.
    daemon = NamespacedWebDaemon(config, tmp_path,
                                 f"mount -t tmpfs -o size=128k tmpfs '{mount}'")
    try:
        daemon.wait_for_log("database or disk is full", timeout=60)
        def failed_batches_counted():
            health = get(daemon.port, "/api/health").json()
            return health if health["history"]["dropped_write_failed"] >= 3 else None

        health = wait_for(failed_batches_counted, what="failed batches counted")
        assert health["status"] == "degraded", health
        history = health["history"]
        assert history["state"] == "disk-full", history
        assert history["write_errors"] >= 3
        assert "full" in history["last_error"]["message"]
        assert history["recoveries"] == 0
        metrics = get(daemon.port, "/metrics").body.decode()
        assert metric(metrics, 'pyhost_history_state{state="disk-full"}') == 1
        assert metric(metrics, 'pyhost_history_state{state="ok"}') == 0
        assert metric(metrics, "pyhost_history_degraded") == 1
        assert metric(metrics, 'pyhost_history_dropped_total{reason="write-failed"}') >= 3
        assert metric(metrics, "pyhost_history_queue_capacity_rows") == 10000
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
