"""The JSON API over real HTTP on loopback, against `pyhost run` with real
plugins: each endpoint's contract."""

import hashlib
import time

from conftest import plugin
from http_support import TOKEN, http_config, plugin_section, web_daemons  # noqa: F401


def wait_until(check, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


def test_health_answers_while_plugins_run(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter")]), tmp_path)
    health = daemon.get_json("/api/health")
    assert health["status"] == "ok"
    assert health["plugins"] == 1


def test_readings_are_the_latest_poll_with_its_time(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("sensor-logic", interval_s=0.5)]),
                         tmp_path)
    line = daemon.next_line()
    document = wait_until(
        lambda: (d := daemon.get_json("/api/readings"))["plugins"]["sensor-logic"]["time_ms"]
        and d, what="a reading")
    latest = document["plugins"]["sensor-logic"]
    assert {r["quantity"] for r in latest["readings"]} == {"temperature", "humidity"}
    assert latest["readings"][0]["sensor"] == "greenhouse"
    # The time is the poll's: within the daemon's own timeline.
    assert latest["time_ms"] >= line["time_ms"] - 1
    # Later polls replace it.
    later = wait_until(lambda: (d := daemon.get_json("/api/readings"))["plugins"]["sensor-logic"]
                       ["time_ms"] > latest["time_ms"] and d, what="a newer reading")
    assert later["plugins"]["sensor-logic"]["time_ms"] > latest["time_ms"]


def test_plugins_list_version_state_counters_and_leds(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("sensor-logic"), plugin_section("counter")])
    daemon = web_daemons(config, tmp_path)
    daemon.read(2)
    listing = wait_until(lambda: (d := daemon.get_json("/api/plugins"))
                         and all(p["polls"] >= 1 for p in d["plugins"]) and d, what="polls")
    by_name = {p["name"]: p for p in listing["plugins"]}
    assert set(by_name) == {"sensor-logic", "counter"}
    counter = by_name["counter"]
    assert counter["version"] == hashlib.sha256(plugin("counter").read_bytes()).hexdigest()
    assert counter["state"] == "running"
    assert counter["failures"] == 0
    assert counter["interval_s"] == 1.0
    assert counter["budget_ms"] == 100
    assert counter["last_poll_duration_ms"] > 0
    assert counter["memory_high_water_bytes"] > 0
    assert counter["loaded_at_ms"] <= counter["last_poll_ms"] + 1000
    # sensor-logic drives the LEDs on every good poll.
    assert listing["leds"]["first"] in {"green", "yellow", "red"}


def test_plugin_detail_has_history_readings_and_limits(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter")]), tmp_path)
    daemon.next_line()
    detail = wait_until(lambda: (d := daemon.get_json("/api/plugins/counter"))["readings"] and d,
                        what="readings")
    assert detail["name"] == "counter"
    assert detail["readings"][0]["sensor"] == "counter"
    assert [event["kind"] for event in detail["history"]][0] == "loaded"
    assert detail["instantiations"] >= 1
    assert detail["memory_limit_bytes"] == 64 << 20
    assert detail["last_error"] is None


def test_plugin_detail_shows_last_error_with_python_traceback(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("raises", interval_s=0.2)]),
                         tmp_path)
    detail = wait_until(lambda: (d := daemon.get_json("/api/plugins/raises"))["last_error"] and d,
                        what="an error")
    error = detail["last_error"]
    assert "deliberate failure on poll" in error["message"]
    assert "Traceback" in error["traceback"]
    assert "check_parity" in error["traceback"]
    assert detail["failures"] >= 1
    metrics = daemon.request("GET", "/metrics").body.decode()
    assert 'pyhost_plugin_poll_failures_total{plugin="raises",kind="guest-error"}' in metrics


def test_unknown_plugin_is_404_for_reads_and_actions(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter")]), tmp_path)
    for method, path in [("GET", "/api/plugins/nope"), ("POST", "/api/plugins/nope/poll"),
                         ("POST", "/api/plugins/nope/reload"), ("POST", "/api/plugins/nope/reset"),
                         ("GET", "/api/plugins/bad%20name"), ("GET", "/api/plugins/counter/x")]:
        response = daemon.request(method, path, token=TOKEN)
        assert response.status == 404, (method, path, response.status)
        assert response.json()["error"]["status"] == 404


def test_poll_now_returns_fresh_readings(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=3600)]),
                         tmp_path)
    first = daemon.next_line()["readings"][0]["value"]  # the scheduler's first poll
    response = daemon.request("POST", "/api/plugins/counter/poll", token=TOKEN)
    assert response.status == 200
    body = response.json()
    assert body["readings"][0]["value"] == first + 1  # the same live instance, polled again
    assert daemon.get_json("/api/readings")["plugins"]["counter"]["readings"][0]["value"] == \
        first + 1


def test_failed_poll_now_is_502_with_the_traceback(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("raises", interval_s=3600)]),
                         tmp_path)
    daemon.next_line()  # poll 1 succeeds; poll 2 (ours) raises
    response = daemon.request("POST", "/api/plugins/raises/poll", token=TOKEN)
    assert response.status == 502
    error = response.json()["error"]
    assert error["kind"] == "guest-error"
    assert "deliberate failure on poll 2" in error["message"]
    assert "Traceback" in error["traceback"]


def test_reset_lifts_quarantine_and_refuses_when_not_quarantined(tmp_path, web_daemons):
    section = plugin_section("traps", interval_s=0.2,
                             extra="max_failures = 1\nrestart_backoff_ms = 0\n")
    daemon = web_daemons(http_config(tmp_path, [section]), tmp_path)
    wait_until(lambda: daemon.get_json("/api/plugins/traps")["state"] == "quarantined",
               what="quarantine")
    response = daemon.request("POST", "/api/plugins/traps/reset", token=TOKEN)
    assert response.status == 200
    assert response.json()["quarantine_lifted"] is True
    kinds = [e["kind"] for e in daemon.get_json("/api/plugins/traps")["history"]]
    assert "quarantined" in kinds and kinds[-1] in {"reset", "restarted", "quarantined"}
    assert "reset" in kinds
    healthy = daemon.request("POST", "/api/plugins/traps/reset", token=TOKEN)
    if healthy.status != 200:  # it may already have trapped into quarantine again
        assert healthy.status == 409


def test_reload_swaps_in_a_changed_file(tmp_path, web_daemons):
    wasm = tmp_path / "live.wasm"
    wasm.write_bytes(plugin("counter").read_bytes())
    config = http_config(tmp_path, [plugin_section("live", wasm=wasm, interval_s=0.5)],
                         http_extra="", board="")
    daemon = web_daemons(config, tmp_path)
    daemon.next_line()
    old_version = daemon.get_json("/api/plugins/live")["version"]
    response = daemon.request("POST", "/api/plugins/live/reload", token=TOKEN,
                              body={"reason": "deploy 42"})
    assert response.status == 202
    assert daemon.get_json("/api/plugins/live")["state"] == "reloading"
    daemon.wait_for_log("reload requested over HTTP (reason: deploy 42)")
    # A new version in place: the reload request brings it in.
    new_bytes = plugin("stateful-counter").read_bytes()
    (tmp_path / "live.tmp").write_bytes(new_bytes)
    (tmp_path / "live.tmp").rename(wasm)
    response = daemon.request("POST", "/api/plugins/live/reload", token=TOKEN)
    assert response.status == 202
    detail = wait_until(lambda: (d := daemon.get_json("/api/plugins/live"))["version"]
                        != old_version and d, what="the new version")
    assert detail["version"] == hashlib.sha256(new_bytes).hexdigest()
    assert "reloaded" in [e["kind"] for e in detail["history"]]


def test_history_has_the_last_hour_for_the_charts(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("sensor-logic", interval_s=0.2)]),
                         tmp_path)
    daemon.read(3)
    series = wait_until(lambda: (h := daemon.get_json("/api/history"))
                        and all(len(s["values"]) >= 2 for s in h) and h, what="history")
    by_quantity = {s["quantity"]: s for s in series}
    assert set(by_quantity) == {"temperature", "humidity"}
    temperature = by_quantity["temperature"]
    assert temperature["plugin"] == "sensor-logic" and temperature["unit"] == "°C"
    assert len(temperature["time_ms"]) == len(temperature["values"])
    assert temperature["time_ms"] == sorted(temperature["time_ms"])


def test_metrics_are_prometheus_text_with_histograms(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=0.2)]),
                         tmp_path)
    daemon.read(2)
    for _ in range(3):
        daemon.get_json("/api/readings")
    response = daemon.request("GET", "/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.body.decode()
    assert "# TYPE pyhost_plugin_poll_duration_seconds histogram" in text
    assert 'pyhost_plugin_poll_duration_seconds_bucket{plugin="counter",le="+Inf"}' in text
    assert "# TYPE pyhost_http_request_duration_seconds histogram" in text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    assert samples['pyhost_http_requests_total{route="/api/readings",code="200"}'] >= 3
    assert samples['pyhost_plugin_polls_total{plugin="counter"}'] >= 2
    assert samples['pyhost_plugin_state{plugin="counter",state="running"}'] == 1
    assert samples['pyhost_plugin_memory_high_water_bytes{plugin="counter"}'] > 0
    # Histogram buckets are cumulative and end at the count.
    buckets = [v for k, v in samples.items()
               if k.startswith('pyhost_plugin_poll_duration_seconds_bucket{plugin="counter"')]
    assert buckets == sorted(buckets)
    assert buckets[-1] == samples['pyhost_plugin_poll_duration_seconds_count{plugin="counter"}']


def test_dashboard_and_its_assets_are_embedded(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter")]), tmp_path)
    page = daemon.request("GET", "/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.body.decode()
    for asset in ["/assets/app.js", "/assets/style.css", "/assets/uPlot.js", "/assets/uPlot.css"]:
        assert asset in html
        response = daemon.request("GET", asset)
        assert response.status == 200, asset
        again = daemon.request("GET", asset, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status == 304
    assert b"uPlot" in daemon.request("GET", "/assets/uPlot.js").body
    assert "http" not in html.replace("http-equiv", "")  # no CDN, nothing from outside
