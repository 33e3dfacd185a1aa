"""pyhost as a systemd service: the sd_notify protocol (READY=1, watchdog
pings while every plugin makes progress, STOPPING=1) against a notify socket
the test binds itself, SIGHUP reloads, the bounded SIGTERM stop, and
`make install`."""

import os
import pathlib
import queue
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import OWNER, PYHOST, READER, ROOT, plugin, write_config

# Generous: the stop itself takes milliseconds; this only bounds a hang.
STOP_BOUND_S = 30


class NotifySocket:
    """A fake systemd: a datagram socket whose messages are collected on a
    thread as (monotonic time, text)."""

    def __init__(self):
        # A short directory: socket paths are limited to 107 bytes.
        self.directory = tempfile.mkdtemp(prefix="pyhost-notify-", dir="/tmp")
        self.path = os.path.join(self.directory, "notify.sock")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.socket.settimeout(0.2)
        self.messages = queue.Queue()
        self.all = []
        self._stop = False
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._stop:
            try:
                data = self.socket.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            message = (time.monotonic(), data.decode())
            self.all.append(message)
            self.messages.put(message)

    def wait_for(self, key, timeout=60):
        """Returns the first message (time, text) with a line `key`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                when, text = self.messages.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if key in text.split("\n"):
                return when, text
        raise AssertionError(f"no {key} within {timeout} s; got {[t for _, t in self.all][-10:]}")

    def close(self):
        self._stop = True
        self._thread.join()
        self.socket.close()
        os.unlink(self.path)
        os.rmdir(self.directory)


@pytest.fixture
def notify(monkeypatch):
    fake = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", fake.path)
    yield fake
    fake.close()


def counter_section(name="counter", interval=0.2, extra=""):
    return (f"[plugin {name}]\nfile = {plugin('counter')}\ninterval_s = {interval}\n"
            f"{READER}{extra}")


def base_config(extra_host=""):
    return f"{extra_host}[http]\nenabled = no\n"


def test_notify_ready_watchdog_and_stopping(tmp_path, daemons, notify, monkeypatch):
    # 400 ms watchdog: pinged every 200 ms.
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    config = write_config(tmp_path, base_config() + counter_section())
    daemon = daemons(config, tmp_path)
    notify.wait_for("READY=1")
    # READY=1 only once the plugins are loaded.
    assert "counter: loaded" in daemon.log()
    daemon.next_line()
    for _ in range(3):
        notify.wait_for("WATCHDOG=1")
    daemon.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert daemon.process.wait(timeout=STOP_BOUND_S) == 0
    texts = [text for _, text in notify.all]
    ready = next(i for i, t in enumerate(texts) if "READY=1" in t.split("\n"))
    stopping = next(i for i, t in enumerate(texts) if t == "STOPPING=1")
    assert ready < stopping
    assert all(t != "WATCHDOG=1" for t in texts[stopping:])


def test_no_watchdog_pings_without_watchdog_usec(tmp_path, daemons, notify, monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    config = write_config(tmp_path, base_config() + counter_section())
    daemon = daemons(config, tmp_path)
    notify.wait_for("READY=1")
    daemon.read(5)
    assert daemon.stop() == 0
    assert not any(text == "WATCHDOG=1" for _, text in notify.all)


def test_a_stuck_poll_stops_the_pings_and_sigterm_is_still_bounded(tmp_path, daemons, notify,
                                                                   monkeypatch):
    """A poll blocked in a host call (the simulated sensor takes 60 s: the CPU
    budget cannot interrupt a host call) is a stall: the watchdog pings stop.
    SIGTERM then cannot wait for that poll; the stop guard flushes the history
    and exits with status 1 after stop_timeout_s."""
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    history = tmp_path / "history.db"
    config = write_config(
        tmp_path,
        base_config("[host]\nstall_timeout_s = 1\nstop_timeout_s = 2\n")
        + "[board]\nread_delay_ms = 60000\n"
        + f"[history]\npath = {history}\nbatch_rows = 100000\nbatch_ms = 3600000\n"
        + "queue_rows = 100000\n"
        + counter_section()
        + f"[plugin sensor-logic]\nfile = {plugin('sensor-logic')}\ninterval_s = 0.5\n{OWNER}")
    daemon = daemons(config, tmp_path)
    notify.wait_for("READY=1")
    daemon.wait_for_log("sensor-logic: has not finished a poll")
    stalled_at = time.monotonic()
    # The counter goes on meanwhile: the stall is one plugin's.
    lines = daemon.read(5)
    assert {line["plugin"] for line in lines} == {"counter"}
    time.sleep(1.0)  # five watchdog periods
    assert not [when for when, text in notify.all if text == "WATCHDOG=1" and when > stalled_at]

    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=STOP_BOUND_S) == 1
    assert time.monotonic() - started < STOP_BOUND_S
    log = daemon.log()
    assert "stop did not finish within 2 s (still waiting for the plugins' polls" in log
    # The history was flushed by the guard: every counter poll printed is there.
    printed = lines + [line for line in iter_queue(daemon.lines)]
    rows = sqlite3.connect(history).execute(
        "SELECT COUNT(*) FROM readings WHERE plugin = 'counter'").fetchone()[0]
    assert rows >= len(printed) > 0


def iter_queue(lines):
    while True:
        try:
            yield lines.get(timeout=2)
        except queue.Empty:
            return


def test_sigterm_finishes_polls_flushes_history_and_exits_0(tmp_path, daemons, notify):
    history = tmp_path / "history.db"
    # Batches that never commit by themselves: only the stop's flush writes.
    config = write_config(
        tmp_path,
        base_config() + f"[history]\npath = {history}\nbatch_rows = 100000\n"
        + "batch_ms = 3600000\nqueue_rows = 100000\n" + counter_section())
    daemon = daemons(config, tmp_path)
    daemon.read(5)
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=STOP_BOUND_S) == 0
    assert time.monotonic() - started < STOP_BOUND_S
    daemon._log.close()
    printed = list(iter_queue(daemon.lines))
    rows = sqlite3.connect(history).execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    assert rows == 5 + len(printed)
    assert "Terminated: stopping" in daemon.log()


def test_sighup_applies_added_plugins_and_new_intervals_live(tmp_path, daemons, notify):
    config = write_config(tmp_path, base_config() + counter_section(interval=0.3))
    daemon = daemons(config, tmp_path)
    notify.wait_for("READY=1")
    before = daemon.read(3)
    last = before[-1]["readings"][0]["value"]

    # Only the counter's interval changes (it keeps its instance and its
    # globals) and a second plugin appears.
    write_config(tmp_path, base_config() + counter_section(interval=0.2)
                 + counter_section(name="second", interval=0.2))
    daemon.signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1")
    notify.wait_for("READY=1")
    seen = daemon.read_until(lambda line: line["plugin"] == "second")
    assert seen[-1]["readings"][0]["value"] == 1.0  # a new instance
    later = daemon.read_until(lambda line: line["plugin"] == "counter")
    # The kept counter went on counting: same instance, not restarted at 1.
    assert later[-1]["readings"][0]["value"] > last
    assert "SIGHUP: applied; 2 plugins polled (1 kept running, 1 loaded anew)" in daemon.log()

    # Removing a plugin stops its polls.
    write_config(tmp_path, base_config() + counter_section(name="second", interval=0.2))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("SIGHUP: applied; 1 plugins polled (1 kept running, 0 loaded anew)")
    daemon.wait_for_log("counter: unloaded (SIGHUP)")
    time.sleep(0.5)
    while not daemon.lines.empty():
        daemon.lines.get()
    assert {line["plugin"] for line in daemon.read(5)} == {"second"}
    assert daemon.stop() == 0


def test_sighup_refuses_a_broken_config_and_keeps_running(tmp_path, daemons, notify):
    config = write_config(tmp_path, base_config() + counter_section())
    daemon = daemons(config, tmp_path)
    notify.wait_for("READY=1")
    daemon.read(2)

    # A key that does not exist: refused, named, and the counter polls on.
    write_config(tmp_path, base_config() + counter_section(extra="intervall_s = 3\n"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("new configuration refused")
    assert "unknown key 'intervall_s'" in daemon.log()
    assert "the running one stays" in daemon.log()

    # A changed plugin whose file is not a component: refused before
    # anything running is touched.
    bogus = tmp_path / "bogus.wasm"
    bogus.write_text("not wasm")
    write_config(tmp_path, base_config()
                 + f"[plugin counter]\nfile = {bogus}\ninterval_s = 0.2\n{READER}")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("new configuration refused", count=2)
    assert "[plugin counter]" in daemon.log().split("new configuration refused")[-1]
    while not daemon.lines.empty():
        daemon.lines.get()
    values = [line["readings"][0]["value"] for line in daemon.read(3)]
    assert values == sorted(values) and values[0] > 2  # the same instance counts on
    assert "unloaded" not in daemon.log()

    # [http] needs a restart: applied later, with a warning; the rest is live.
    write_config(tmp_path, "[http]\nenabled = no\nport = 9999\n" + counter_section())
    daemon.signal(signal.SIGHUP)
    # A typed diff: each changed key is named.
    daemon.wait_for_log("SIGHUP: [http] port changed: applied at the next restart")
    daemon.wait_for_log("SIGHUP: applied; the plugins run on as they were")
    assert daemon.process.poll() is None
    assert daemon.stop() == 0


def test_make_install_puts_the_expected_tree(tmp_path):
    destdir = tmp_path / "root"
    completed = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "install",
                                f"DESTDIR={destdir}", "PREFIX=/usr"],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    files = sorted(str(p.relative_to(destdir)) for p in destdir.rglob("*") if p.is_file())
    assert files == [
        "etc/pyhost/pyhost.ini",
        "usr/bin/pyhost",
        "usr/lib/systemd/system/pyhost.service",
        "usr/lib/sysusers.d/pyhost.conf",
        "usr/share/pyhost/plugins/sensor-logic.wasm",
    ]
    binary = destdir / "usr/bin/pyhost"
    assert os.access(binary, os.X_OK)
    sections = subprocess.run(["readelf", "-S", str(binary)], capture_output=True, text=True)
    assert ".symtab" not in sections.stdout  # stripped

    unit = (destdir / "usr/lib/systemd/system/pyhost.service").read_text()
    for line in ["Type=notify", "ExecStart=/usr/bin/pyhost run --config /etc/pyhost/pyhost.ini",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=30s", "User=pyhost",
                 "SupplementaryGroups=gpio", "StateDirectory=pyhost", "CacheDirectory=pyhost",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"]:
        assert line in unit.splitlines(), line
    assert "@" not in unit.replace("@system-service", "")  # every placeholder filled
    sysusers = (destdir / "usr/lib/sysusers.d/pyhost.conf").read_text()
    assert "m pyhost gpio" in sysusers

    config = (destdir / "etc/pyhost/pyhost.ini").read_text()
    assert "cache_dir = /var/cache/pyhost" in config
    assert "path = /var/lib/pyhost/history.db" in config
    assert "file = /usr/share/pyhost/plugins/sensor-logic.wasm" in config

    # The installed config is valid: the installed binary runs it (paths
    # moved under the test's directory) and polls the installed plugin.
    moved = (config.replace("/var/", f"{tmp_path}/var/")
             .replace("/usr/share/", f"{destdir}/usr/share/")
             .replace("interval_s = 5", "interval_s = 0.5")
             .replace("dht22_min_interval_ms = 2000", "dht22_min_interval_ms = 0"))
    (tmp_path / "var/lib/pyhost").mkdir(parents=True)
    moved_path = tmp_path / "moved.ini"
    moved_path.write_text(moved + "[http]\nenabled = no\n")
    process = subprocess.Popen([str(binary), "run", "--config", str(moved_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert '"plugin":"sensor-logic"' in first
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_BOUND_S) == 0
    assert (tmp_path / "var/lib/pyhost/history.db").exists()

    if subprocess.run(["which", "systemd-analyze"], capture_output=True).returncode == 0:
        local = tmp_path / "pyhost.service"
        local.write_text(unit.replace("/usr/bin/pyhost", str(binary)))
        verify = subprocess.run(["systemd-analyze", "verify", str(local)],
                                capture_output=True, text=True)
        assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr

    # A second install keeps the operator's config.
    (destdir / "etc/pyhost/pyhost.ini").write_text("; edited\n")
    again = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "install",
                            f"DESTDIR={destdir}", "PREFIX=/usr"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (destdir / "etc/pyhost/pyhost.ini").read_text() == "; edited\n"
    assert (destdir / "etc/pyhost/pyhost.ini.new").exists()
