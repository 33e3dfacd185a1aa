"""Helpers for the web server's end-to-end tests: a `pyhost run` daemon with
an [http] section on a free port (port 0; the port is read from the log),
and small HTTP clients over real sockets on loopback."""

import http.client
import json
import os
import queue
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import CACHE_DIR, PYHOST, Daemon, plugin, write_config

TOKEN = "test-token-0123456789abcdef"
# The example plugin drives the LEDs (they have one owner); the test
# plugins are sensor readers.
LED_OWNERS = {"sensor-logic"}


def plugin_section(name, wasm=None, interval_s=1, extra=""):
    path = wasm if wasm is not None else plugin(name)
    grants = "gpio-provider, logging" + (", led-controller" if name in LED_OWNERS else "")
    return (f"[plugin {name}]\nfile = {path}\ninterval_s = {interval_s}\n"
            f"grants = {grants}\ndht22_pins = 4\ndht22_min_interval_ms = 0\n{extra}\n")


def http_config(tmp_path, plugins, http_extra="", board="", token=TOKEN):
    token_line = f"token = {token}\n" if token else ""
    text = (f"[host]\nstate_dir = {tmp_path / 'state'}\n"
            f"[board]\n{board}\n"
            f"[http]\nport = 0\n{token_line}{http_extra}\n" + "".join(plugins))
    # write_config adds the shared compiled-code cache to this [host].
    return write_config(tmp_path, text)


class WebDaemon(Daemon):
    """A daemon whose web server is up; `port` is where it listens. `env`
    adds environment variables (PYHOST_API_TOKEN, ...)."""

    def __init__(self, config, tmp_path, *extra, env=None, wait=True):
        full_env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR), **(env or {}))
        self.log_path = tmp_path / "pyhost.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([str(PYHOST), "run", "--config", str(config), *extra],
                                        stdout=subprocess.PIPE, stderr=self._log, text=True,
                                        env=full_env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.wait_for_port() if wait else None

    def wait_for_port(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.log())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"web server did not start:\n{self.log()[-3000:]}")

    def request(self, method, path, body=None, headers=None, token=None, timeout=10):
        return request(self.port, method, path, body, headers, token, timeout)

    def get_json(self, path, token=None):
        response = self.request("GET", path, token=token)
        assert response.status == 200, (path, response.status, response.body)
        return response.json()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def request(port, method, path, body=None, headers=None, token=None, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return Response(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def raw_exchange(port, data, timeout=5):
    """Sends raw bytes and reads until the server closes or `timeout`.
    Returns the bytes received (b"" when the server just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received and _is_complete(received):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return received


def _is_complete(data):
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
    return match is not None and len(body) >= int(match.group(1))


def status_of(raw):
    match = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(match.group(1)) if match else None


class EventStream:
    """GET /api/events read line by line over a raw socket."""

    def __init__(self, port, token=None, last_event_id=None, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        headers = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if token:
            headers += f"Authorization: Bearer {token}\r\n"
        if last_event_id is not None:
            headers += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((headers + "\r\n").encode())
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n")
        self.status = status_of(head)
        self.head = head.decode("latin-1")

    def _read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buffer += chunk
        data, _, self.buffer = self.buffer.partition(marker)
        return data + marker

    def _chunk_payload(self):
        """The body is chunked: returns the next chunk's bytes."""
        size_line = self._read_until(b"\r\n")
        size = int(size_line.strip().split(b";")[0], 16)
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buffer += chunk
        payload, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        return payload

    def events(self):
        """Yields (id, name, data) of each event."""
        text = b""
        while True:
            text += self._chunk_payload()
            while b"\n\n" in text:
                block, _, text = text.partition(b"\n\n")
                fields = {}
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        continue
                    key, _, value = line.partition(": ")
                    fields[key] = value
                if "data" in fields:
                    yield fields.get("id"), fields.get("event"), json.loads(fields["data"])

    def next_event(self, predicate=lambda *_: True):
        for event in self.events():
            if predicate(*event):
                return event
        raise EOFError("stream ended")

    def close(self):
        self.sock.close()


@pytest.fixture
def web_daemons():
    """Starts daemons with web_daemons(config, tmp_path, env=...); stops them."""
    started = []

    def start(config, tmp_path, *extra, **options):
        daemon = WebDaemon(config, tmp_path, *extra, **options)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.stop()
