"""Hot reload while the web server is busy: a plugin's file is replaced
again and again (good versions, a broken one, one that fails on probation)
while HTTP clients read the API, the metrics and the event stream and ask
for polls. Every reload, rejection and rollback shows up, every
request is answered, and the count handed from version to version never
goes back. `make test-tsan-host` runs this against the ThreadSanitizer
build, where the reloader, the poll loop and the web server's threads all
touch the same plugin at once."""

import threading
import time

from conftest import plugin
from http_support import TOKEN, EventStream, http_config, plugin_section, request, web_daemons  # noqa: F401
from test_lifecycle import deploy, sensor, value

READS = ["/api/plugins", "/api/plugins/counter", "/api/readings", "/metrics", "/api/health"]


class Clients:
    """Threads that read the API (and now and then ask for a poll) until
    stopped; they count requests and keep any bad answer."""

    def __init__(self, port, count=3):
        self.port = port
        self.requests = 0
        self.errors = []
        self.lock = threading.Lock()
        self.is_stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(count)]
        for thread in self.threads:
            thread.start()

    def _run(self, seed):
        i = seed
        while not self.is_stopping.is_set():
            i += 1
            if i % 7 == 0:
                method, path, expected = "POST", "/api/plugins/counter/poll", {200, 409, 502}
            else:
                method, path, expected = "GET", READS[i % len(READS)], {200}
            try:
                response = request(self.port, method, path, token=TOKEN, timeout=30)
                status = response.status
            except OSError as error:
                status = repr(error)
            with self.lock:
                self.requests += 1
                if status not in expected:
                    self.errors.append((method, path, status))

    def count(self):
        with self.lock:
            return self.requests

    def stop(self):
        self.is_stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


class Lifecycle:
    """Collects the lifecycle events of the SSE stream on a thread."""

    def __init__(self, port):
        self.stream = EventStream(port, token=TOKEN, timeout=120)
        assert self.stream.status == 200
        self.kinds = []
        self.condition = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            for _id, name, data in self.stream.events():
                if name == "lifecycle" and data["plugin"] == "counter":
                    with self.condition:
                        self.kinds.append(data["kind"])
                        self.condition.notify_all()
        except (OSError, EOFError):
            pass

    def wait_for(self, kind, count, timeout=120):
        with self.condition:
            if not self.condition.wait_for(lambda: self.kinds.count(kind) >= count, timeout):
                raise AssertionError(f"{count} {kind!r} events not streamed; saw {self.kinds}")


def test_reloads_under_http_load_all_land_and_every_request_is_answered(tmp_path, web_daemons):
    watched = tmp_path / "plugins" / "counter.wasm"
    watched.parent.mkdir()
    deploy(plugin("stateful-counter"), watched)
    section = plugin_section("counter", wasm=watched, interval_s=0.05,
                             extra="probation_polls = 2\nrestart_backoff_ms = 10\n")
    config = http_config(tmp_path, [section])
    config.write_text(config.read_text().replace("[board]", "reload_debounce_ms = 50\n[board]"))
    daemon = web_daemons(config, tmp_path)
    events = Lifecycle(daemon.port)
    counts = [value(line) for line in daemon.read(2)]
    clients = Clients(daemon.port)
    try:
        # Good versions in turn, each one's count going on from the last.
        reloads = 0
        for version in ["stateful-counter-v2", "stateful-counter"] * 3:
            before = clients.count()
            deploy(plugin(version), watched)
            # An operator's reload request on top of the file's change: the
            # same reload, asked for from a web server thread.
            assert daemon.request("POST", "/api/plugins/counter/reload",
                                  token=TOKEN).status == 202
            reloads += 1
            events.wait_for("reloaded", reloads)
            label = "counter-v2" if version.endswith("v2") else "counter-v1"
            lines = daemon.read_until(lambda line: sensor(line) == label)
            counts += [value(line) for line in lines]
            # The clients were busy during this very reload.
            assert clients.count() > before
        # A broken file: rejected, the running version carries on.
        deploy(plugin("other-world"), watched)
        events.wait_for("rejected", 1)
        # A version that passes its trial poll and traps on probation:
        # rolled back to the last good one.
        deploy(plugin("traps"), watched)
        events.wait_for("rolled-back", 1)
        while not daemon.lines.empty():  # what was printed up to the rollback
            line = daemon.next_line()
            if sensor(line) != "traps":
                counts.append(value(line))
        # Then the last good version polls on (a line of the trapping one
        # may still have been in the pipe).
        after = []
        while sum(sensor(line) == "counter-v1" for line in after) < 3:
            after.append(daemon.next_line())
        first = next(i for i, line in enumerate(after) if sensor(line) == "counter-v1")
        assert all(sensor(line) == "counter-v1" for line in after[first:]), after
        counts += [value(line) for line in after if sensor(line) != "traps"]
    finally:
        clients.stop()
        events.stream.close()

    assert clients.errors == []
    assert clients.requests >= 50
    # The state was handed over at every swap and restored at the rollback:
    # the count never went back (HTTP polls make it jump ahead).
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts
    detail = daemon.get_json("/api/plugins/counter")
    assert detail["reloads"] == reloads + 1  # the traps version was swapped in too
    assert detail["rollbacks"] == 1
    assert detail["rejected_reloads"] >= 1
    assert daemon.process.poll() is None
