"""GET /api/events: Server-Sent Events of readings, LED changes, plugin
statuses and lifecycle events."""

import json
import time

from conftest import plugin
from http_support import (TOKEN, EventStream, http_config, plugin_section,
                          web_daemons)  # noqa: F401


def test_a_reading_arrives_within_one_poll_interval(tmp_path, web_daemons):
    """The event for poll N arrives before poll N+1 has even been printed:
    within one interval, measured by the daemon's own polls, not a clock."""
    daemon = web_daemons(http_config(tmp_path, [plugin_section("sensor-logic", interval_s=1)]),
                         tmp_path)
    printed = [daemon.next_line()]
    stream = EventStream(daemon.port)
    assert stream.status == 200
    assert "Content-Type: text/event-stream" in stream.head
    _, name, data = stream.next_event(lambda _id, name, _data: name == "reading")
    assert data["plugin"] == "sensor-logic"
    # The printed line of the same poll (the same record, the same time):
    # it may be the first line, read before the stream opened, when the
    # web's consumer delivered that poll after the stream connected.
    deadline = time.monotonic() + 10
    while not any(line["time_ms"] == data["time_ms"] for line in printed):
        assert time.monotonic() < deadline, (data, printed)
        printed.append(daemon.next_line(timeout=max(0.1, deadline - time.monotonic())))
    same = next(line for line in printed if line["time_ms"] == data["time_ms"])
    assert data["readings"] == same["readings"]
    # Nothing printed after it: poll N+1 has not happened.
    assert printed[-1] is same and daemon.lines.empty()
    stream.close()


def test_plugin_status_and_led_events_follow_polls(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("sensor-logic", interval_s=0.3)]),
                         tmp_path)
    stream = EventStream(daemon.port)
    names = set()
    for _id, name, data in stream.events():
        names.add(name)
        if name == "plugin":
            assert data["name"] == "sensor-logic" and data["state"] == "running"
        if name == "leds":
            assert data["first"] in {"green", "yellow", "red"}
        if {"reading", "plugin", "leds"} <= names:
            break
    stream.close()


def test_lifecycle_events_are_streamed(tmp_path, web_daemons):
    section = plugin_section("traps", interval_s=0.2,
                             extra="max_failures = 1\nrestart_backoff_ms = 0\n")
    daemon = web_daemons(http_config(tmp_path, [section]), tmp_path)
    stream = EventStream(daemon.port)
    seen = []
    for count, (_id, name, data) in enumerate(stream.events()):
        assert count < 100, f"no quarantine event; lifecycle events seen: {seen}"
        if name == "poll-failed":
            assert data["kind"] == "trap"
        if name == "lifecycle":
            seen.append(data["kind"])
            assert data["plugin"] == "traps"
            if data["kind"] == "quarantined":
                break
    assert seen[-1] == "quarantined"
    # An operator's reset is an event too.
    assert daemon.request("POST", "/api/plugins/traps/reset", token=TOKEN).status == 200
    _, _, data = stream.next_event(lambda _id, name, data: name == "lifecycle"
                                   and data["kind"] == "reset")
    assert data["message"] == "quarantine lifted"
    stream.close()


def test_last_event_id_resumes_without_loss(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=0.2)]),
                         tmp_path)
    stream = EventStream(daemon.port)
    first_id, _, first = stream.next_event(lambda _i, name, _d: name == "reading")
    stream.close()
    daemon.read(3)  # events pile up meanwhile
    resumed = EventStream(daemon.port, last_event_id=first_id)
    next_id, _, data = resumed.next_event(lambda _i, name, _d: name == "reading")
    assert int(next_id) > int(first_id)
    # The very next poll's reading: nothing skipped.
    assert data["readings"][0]["value"] == first["readings"][0]["value"] + 1
    resumed.close()


def test_streams_need_the_token_when_reads_are_closed(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=0.2)],
                                     http_extra="open_reads = false\n"), tmp_path)
    assert EventStream(daemon.port).status == 401
    stream = EventStream(daemon.port, token=TOKEN)
    assert stream.status == 200
    _, name, data = stream.next_event(lambda _i, name, _d: name == "reading")
    assert json.dumps(data)
    stream.close()
