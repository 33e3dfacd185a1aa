"""A SIGHUP that adds or removes plugins leaves the web server running: the
same port, open event streams, the chart history and counters of the
plugins that stay; the new plugin is served at once and the removed one
is gone from every resource."""

import re
import signal
import time

from conftest import plugin
from http_support import TOKEN, EventStream, http_config, plugin_section, web_daemons  # noqa: F401


def requests_total(daemon, route):
    text = daemon.request("GET", "/metrics", token=TOKEN).body.decode()
    return sum(int(value) for value in re.findall(
        rf'^pyhost_http_requests_total{{route="{route}",code="\d+"}} (\d+)$', text, re.M))


def counter_samples(daemon):
    series = daemon.get_json("/api/history", token=TOKEN)
    return [t for s in series if s["plugin"] == "counter" for t in s["time_ms"]]


def wait_until(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_sighup_changing_the_plugins_keeps_the_web_server(tmp_path, web_daemons):
    counter = plugin_section("counter", interval_s=0.2)
    other = plugin_section("other", wasm=plugin("counter"), interval_s=0.2)
    config = http_config(tmp_path, [counter])
    daemon = web_daemons(config, tmp_path)
    port = daemon.port
    wait_until(lambda: len(counter_samples(daemon)) >= 3)
    before = counter_samples(daemon)
    for _ in range(3):
        assert daemon.request("GET", "/api/health").status == 200
    health_requests = requests_total(daemon, "/api/health")
    stream = EventStream(port, token=TOKEN)
    stream.next_event(lambda _id, name, data: name == "reading")

    # Add a plugin.
    config.write_text(config.read_text() + other)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("SIGHUP: applied; 2 plugins polled")
    # The stream that was open before carries the new plugin's readings.
    stream.next_event(lambda _id, name, data: name == "reading" and data["plugin"] == "other")
    stream.close()
    # Same port; counters and chart history carried over.
    assert daemon.request("GET", "/api/health").status == 200
    assert requests_total(daemon, "/api/health") >= health_requests + 1
    assert set(before) <= set(counter_samples(daemon))
    names = [p["name"] for p in daemon.get_json("/api/plugins", token=TOKEN)["plugins"]]
    assert names == ["counter", "other"]
    assert daemon.get_json("/api/health")["plugins"] == 2
    assert daemon.request("POST", "/api/plugins/other/poll", token=TOKEN).status == 200

    # Remove the first one: gone from every resource, the rest serves on.
    config.write_text(config.read_text().replace(counter, ""))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("SIGHUP: applied; 1 plugins polled")
    names = [p["name"] for p in daemon.get_json("/api/plugins", token=TOKEN)["plugins"]]
    assert names == ["other"]
    assert daemon.request("GET", "/api/plugins/counter", token=TOKEN).status == 404
    assert daemon.request("POST", "/api/plugins/counter/reload", token=TOKEN).status == 404
    assert counter_samples(daemon) == []
    assert "counter" not in daemon.get_json("/api/readings", token=TOKEN)["plugins"]
    assert daemon.request("POST", "/api/plugins/other/reload", token=TOKEN).status == 202
    # One server all along (port 0 would have given a restarted one another port).
    assert daemon.log().count("listening on http://") == 1
