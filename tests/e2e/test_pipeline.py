"""The poll pipeline through the real binary: a poll of any origin is one
record that every consumer takes (stdout, history, the web state, the event
stream, metrics), and an operator's poll runs on the plugin's own thread,
so no web-server thread ever waits for a plugin."""

import json
import sqlite3
import threading
import time

from http_support import TOKEN, EventStream, http_config, plugin_section, web_daemons  # noqa: F401


def history_rows(database):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [value for (value,) in connection.execute(
            "SELECT value FROM readings WHERE sensor = 'counter' ORDER BY value")]


def test_an_operator_poll_reaches_every_consumer(tmp_path, web_daemons):
    database = tmp_path / "history.db"
    # One scheduled poll at the start, then only the operator's.
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)])
    config.write_text(config.read_text().replace(
        "[http]", f"[history]\npath = {database}\nbatch_ms = 50\n[http]", 1))
    daemon = web_daemons(config, tmp_path)
    first = daemon.next_line()
    assert first["origin"] == "scheduled" and first["readings"][0]["value"] == 1.0
    stream = EventStream(daemon.port)
    try:
        response = daemon.request("POST", "/api/plugins/counter/poll", token=TOKEN)
        assert response.status == 200, response.body
        answer = response.json()
        assert answer["origin"] == "operator"
        assert answer["readings"][0]["value"] == 2.0
        # stdout: the same record, marked as the operator's.
        line = daemon.next_line()
        assert (line["origin"], line["readings"][0]["value"]) == ("operator", 2.0)
        assert line["version"] == answer["version"] and len(answer["version"]) == 12
        # The event stream and the web state. (The scheduled poll's event
        # may reach a stream opened just after it; the operator's follows.)
        _, _, event = stream.next_event(
            lambda _id, name, data: name == "reading" and data["readings"][0]["value"] != 1.0)
        assert event["readings"][0]["value"] == 2.0
        plugins = daemon.get_json("/api/plugins")["plugins"]
        assert plugins[0]["polls"] == 2
        assert plugins[0]["readings_ms"] == answer["time_ms"]
    finally:
        stream.close()
    # The history: both polls, once each (after the stop's final commit).
    daemon.stop()
    assert history_rows(database) == [1.0, 2.0]


def test_an_operator_poll_never_holds_a_web_thread(tmp_path, web_daemons):
    # One server thread only, and a plugin whose poll runs 1.5 s (until its
    # budget stops it): while that poll runs, the server answers others.
    config = http_config(tmp_path, [plugin_section("spin", interval_s=3600,
                                                   extra=("budget_ms = 1500\nrestart_backoff_ms = 0\n"
                                                          "max_failures = 100"))],
                         http_extra="threads = 1")
    daemon = web_daemons(config, tmp_path)
    daemon.wait_for_log("spin: poll failed (budget-exceeded)")  # the scheduled one
    answers = []
    poller = threading.Thread(target=lambda: answers.append(
        daemon.request("POST", "/api/plugins/spin/poll", token=TOKEN, timeout=30)))
    poller.start()
    try:
        daemon.wait_for_log("spin: poll requested over HTTP")
        for _ in range(5):
            health = daemon.request("GET", "/api/health", timeout=30)
            assert health.status == 200
        # Answered while the operator's poll was still running.
        assert poller.is_alive(), "the operator's poll ended before the health checks"
    finally:
        poller.join(30)
    assert answers[0].status == 502
    body = answers[0].json()
    assert body["error"]["kind"] == "budget-exceeded"


def test_consumers_queues_and_plugin_counts_are_visible(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=0.2)])
    daemon = web_daemons(config, tmp_path)
    daemon.read(3)
    health = daemon.get_json("/api/health")
    consumers = {item["name"]: item for item in health["consumers"]}
    assert {"stdout", "liveness", "web"} <= set(consumers)
    assert consumers["stdout"]["delivered"] >= 3
    assert all(item["dropped"] == 0 for item in consumers.values())
    # stdout and the web have queues and threads of their own; liveness is
    # inline (delivered on the plugin's thread, no queue).
    assert consumers["stdout"]["queue_capacity"] > 0 and consumers["web"]["queue_capacity"] > 0
    assert consumers["liveness"]["queue_capacity"] == 0
    assert consumers["liveness"]["delivered"] >= 3
    summary = daemon.get_json("/api/plugins")["plugins"][0]
    for key in ("denied_calls", "dropped_log_lines", "budget_hits", "restarts"):
        assert summary[key] == 0, (key, summary)
    metrics = daemon.request("GET", "/metrics").body.decode()
    assert 'pyhost_consumer_dropped_total{consumer="web"} 0' in metrics
    assert 'pyhost_consumer_queue_capacity{consumer="stdout"}' in metrics
    assert 'pyhost_plugin_denied_calls_total{plugin="counter"} 0' in metrics
    assert 'pyhost_plugin_dropped_log_lines_total{plugin="counter"} 0' in metrics


def test_a_plugin_busy_in_long_calls_delays_no_other_plugins_events(tmp_path, web_daemons):
    # spin holds its lock 1.5 s per poll, back to back; the web's consumer
    # copies each plugin's status after each of its polls and must never
    # wait for spin's lock, or counter's events would stall behind it.
    spin = plugin_section("spin", interval_s=0.1,
                          extra=("budget_ms = 1500\nrestart_backoff_ms = 0\n"
                                 "max_failures = 1000000"))
    config = http_config(tmp_path, [spin, plugin_section("counter", interval_s=0.1)])
    daemon = web_daemons(config, tmp_path)
    daemon.wait_for_log("spin: poll failed (budget-exceeded)", count=2)
    stream = EventStream(daemon.port)
    arrivals = []
    try:
        while len(arrivals) < 40:
            _, _, event = stream.next_event(
                lambda _id, name, data: name == "reading" and data["plugin"] == "counter")
            arrivals.append(time.monotonic())
    finally:
        stream.close()
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    # counter polls every 0.1 s; a wait for spin's lock would be up to 1.5 s.
    assert max(gaps) < 0.75, f"counter's events stalled: largest gap {max(gaps):.2f} s"
