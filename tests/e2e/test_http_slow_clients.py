"""Clients that hold connections without finishing a request: trickling one
byte at a time, or sending half a request and leaving. They must not take
the web server from anyone else: health checks from another address stay
fast (p99 under 100 ms) while they go on, a request gets a total deadline
that trickling does not extend, and a client that left gives its slot back
at once. Attackers connect from other loopback addresses (127.0.0.2,
127.0.1.x: all of 127/8 is this machine) so the per-address limit and the
overall one can be told apart."""

import re
import select
import socket
import threading
import time

import pytest

from http_support import (TOKEN, EventStream, http_config, plugin_section, request,
                          web_daemons)  # noqa: F401

HEAD = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def connect_from(port, source, timeout=1.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


class Trickle:
    """`count` connections that each send one more byte of a request head
    that never ends, every `period` s; a connection the server closes is
    opened again on the next round. `sources(i)` is slot i's address."""

    def __init__(self, port, count, sources, period=0.5):
        self.port, self.count, self.sources, self.period = port, count, sources, period
        self.sockets = [None] * count
        self.reconnects = 0
        self.rounds = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            if sock is not None:
                sock.close()

    def _run(self):
        sent = [0] * self.count
        while not self.stopping.is_set():
            began = time.monotonic()
            for i in range(self.count):
                if self.stopping.is_set():
                    return
                sock = self.sockets[i]
                if sock is None:
                    try:
                        sock = connect_from(self.port, self.sources(i), timeout=0.05)
                    except OSError:
                        continue  # the backlog is full: try next round
                    sock.setblocking(False)
                    self.sockets[i], sent[i] = sock, 0
                    self.reconnects += 1
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable and sock.recv(4096) == b"":
                        raise ConnectionResetError
                    byte = HEAD[sent[i]:sent[i] + 1] or b"a"
                    sock.send(byte)
                    sent[i] += 1
                except OSError:
                    sock.close()
                    self.sockets[i] = None
            self.rounds += 1
            self.stopping.wait(max(0.0, self.period - (time.monotonic() - began)))

    def open_count(self):
        return sum(sock is not None for sock in self.sockets)


def health_latencies(port, seconds, timeout=2.0):
    """GET /api/health from 127.0.0.1, one after another, for `seconds`;
    returns the latencies in ms, a request that failed or timed out
    counting as `timeout`."""
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        began = time.perf_counter()
        try:
            ok = request(port, "GET", "/api/health", timeout=timeout).status == 200
        except OSError:
            ok = False
        elapsed = (time.perf_counter() - began) * 1000
        latencies.append(elapsed if ok else max(elapsed, timeout * 1000))
    return latencies


def p99(latencies):
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def metric(port, name):
    text = request(port, "GET", "/metrics").body.decode()
    match = re.search(rf"^{re.escape(name)} (\d+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return int(match.group(1))


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def start(tmp_path, web_daemons):
    def start_with(http_extra=""):
        config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)],
                             http_extra=http_extra)
        daemon = web_daemons(config, tmp_path)
        daemon.next_line()
        return daemon
    return start_with


def assert_fast(latencies, timeout=2.0):
    failed = sum(latency >= timeout * 1000 for latency in latencies)
    assert p99(latencies) < 100, (f"p99 {p99(latencies):.0f} ms over {len(latencies)} checks, "
                                  f"{failed} unanswered in {timeout} s; "
                                  f"slowest {[round(x) for x in sorted(latencies)[-5:]]}")
    assert len(latencies) >= 50, f"only {len(latencies)} health checks in the time"


def test_200_trickling_connections_from_one_address_leave_others_served(start):
    """The default limits: 16 connections per address; the rest are closed
    at once and counted."""
    daemon = start()
    with Trickle(daemon.port, 200, lambda i: "127.0.0.2") as trickle:
        wait_for(lambda: trickle.rounds >= 2, 30, "two rounds of the attack")
        assert_fast(health_latencies(daemon.port, 6))
    assert metric(daemon.port,
                  'pyhost_http_connections_refused_total{reason="per-address"}') > 0


def test_200_trickling_connections_from_200_addresses_leave_others_served(start):
    """Past the per-address limit: all 64 slots fill, and a new connection
    takes the slot of the one that has waited longest for its request."""
    daemon = start()
    with Trickle(daemon.port, 200, lambda i: f"127.0.1.{i + 1}") as trickle:
        wait_for(lambda: trickle.rounds >= 2, 30, "two rounds of the attack")
        assert_fast(health_latencies(daemon.port, 6))
    assert metric(daemon.port, 'pyhost_http_connections_closed_total{reason="evicted"}') > 0


def test_half_request_bursts_cost_no_outage_and_give_slots_back(start):
    """Bursts of 300 connections, each sending half a request and closing,
    from many addresses: health checks stay fast, and once a burst is over
    the server holds no connection of it (it used to keep each for the
    whole idle timeout)."""
    daemon = start()
    stopping = threading.Event()

    def bursts():
        while not stopping.is_set():
            for i in range(300):
                try:
                    with connect_from(daemon.port, f"127.0.2.{i % 250 + 1}", timeout=0.5) as s:
                        s.sendall(HEAD)
                except OSError:
                    pass

    thread = threading.Thread(target=bursts, daemon=True)
    thread.start()
    try:
        latencies = health_latencies(daemon.port, 6)
    finally:
        stopping.set()
        thread.join(timeout=30)
    assert_fast(latencies)
    # Only our own /metrics request is left, long before the 10 s timeouts.
    wait_for(lambda: metric(daemon.port, "pyhost_http_connections") <= 1, 3,
             "the burst's connections closed")


def test_a_request_head_has_a_total_deadline(start):
    """One byte every 0.2 s would keep an idle timeout from ever firing;
    the request deadline closes it anyway."""
    daemon = start("request_deadline_s = 1\n")
    with connect_from(daemon.port, "127.0.0.2", timeout=5) as sock:
        began = time.monotonic()
        closed_after = None
        for byte in HEAD + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable and sock.recv(4096) == b"":
                    closed_after = time.monotonic() - began
                    break
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - began
                break
    assert closed_after is not None, "the trickling connection was never closed"
    assert 0.8 <= closed_after < 3, closed_after
    assert metric(daemon.port, 'pyhost_http_connections_closed_total{reason="deadline"}') == 1


def test_event_stream_outlives_the_request_deadline(start):
    daemon = start("request_deadline_s = 1\n")
    stream = EventStream(daemon.port)
    try:
        assert stream.status == 200
        began = time.monotonic()
        # A poll every 0.5 s (POST) makes a reading event; the stream
        # delivers them for 3 s, three times the deadline.
        while time.monotonic() - began < 3:
            assert request(daemon.port, "POST", "/api/plugins/counter/poll",
                           token=TOKEN).status == 200
            stream.next_event(lambda _id, name, _data: name == "reading")
            time.sleep(0.5)
    finally:
        stream.close()
    assert metric(daemon.port, 'pyhost_http_connections_closed_total{reason="deadline"}') == 0


def test_per_address_limit_refuses_the_extra_connections(start):
    daemon = start("max_connections_per_address = 4\n")
    held = [connect_from(daemon.port, "127.0.0.2", timeout=2) for _ in range(6)]
    try:
        closed = 0
        for sock in held:
            readable, _, _ = select.select([sock], [], [], 0.5)
            if readable and sock.recv(1) == b"":
                closed += 1
        assert closed == 2
        # Another address is served meanwhile.
        with connect_from(daemon.port, "127.0.0.3", timeout=2) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Connection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()
    assert metric(daemon.port,
                  'pyhost_http_connections_refused_total{reason="per-address"}') == 2


def test_request_rate_per_address_is_limited_with_429(start):
    daemon = start("max_requests_per_s_per_address = 5\n")
    statuses = [request(daemon.port, "GET", "/api/health") for _ in range(20)]
    codes = [response.status for response in statuses]
    assert codes.count(200) >= 5 and codes.count(429) >= 10, codes
    refused = next(r for r in statuses if r.status == 429)
    assert refused.headers["Retry-After"] == "1"
    # The bucket refills: a moment later requests are served again.
    answers = []
    wait_for(lambda: answers.append(request(daemon.port, "GET", "/metrics")) or
             answers[-1].status == 200, 3, "served again")
    match = re.search(r'^pyhost_http_requests_refused_total\{reason="rate"\} (\d+)$',
                      answers[-1].body.decode(), re.MULTILINE)
    assert match and int(match.group(1)) == codes.count(429) + len(answers) - 1
