"""DNS rebinding: a page on another origin that points its own name at the
server's address makes the browser send that name in Host (and its origin
in Origin). Such requests are refused (421 for the Host, 403 for the
Origin) on every route; the server's own names are served: its address
with and without a port, localhost on loopback, [http] allowed_hosts, and
the bracketed IPv6 form."""

import http.client
import re
import time

import pytest

from http_support import (TOKEN, WebDaemon, http_config, plugin_section, request,
                          web_daemons)  # noqa: F401

ROUTES = ["/api/health", "/api/readings", "/api/plugins/counter", "/metrics",
          "/"]


@pytest.fixture
def daemon(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)],
                         http_extra="allowed_hosts = pyhost.example, Sensors.lan., [fd00::7]\n")
    started = web_daemons(config, tmp_path)
    started.next_line()
    return started


def get(port, path, host, origin=None, address="127.0.0.1", method="GET", token=None):
    connection = http.client.HTTPConnection(address, port, timeout=10)
    headers = {"Host": host}
    if origin is not None:
        headers["Origin"] = origin
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:{port}", "localhost",
                                  "localhost:{port}", "LocalHost.", "pyhost.example",
                                  "pyhost.example:80", "PYHOST.EXAMPLE:{port}", "sensors.lan",
                                  "[fd00::7]:{port}"])
def test_the_servers_own_names_are_served(daemon, host):
    host = host.format(port=daemon.port)
    for path in ROUTES:
        status, _ = get(daemon.port, path, host)
        assert status == 200, (host, path, status)


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}",
                                  "127.0.0.1.attacker.example", "localhost.attacker.example",
                                  "pyhost.example.attacker.example", "127.0.0.2", "[::1]:{port}",
                                  "fd00::7", "127.0.0.1:abc", "127.0.0.1:{port}:1", "[fd00::7"])
def test_a_rebound_host_is_refused_with_421_on_every_route(daemon, host):
    host = host.format(port=daemon.port)
    for path in ROUTES:
        status, body = get(daemon.port, path, host)
        assert status == 421, (host, path, status)
        assert b"allowed_hosts" in body
        assert b"readings" not in body and b"traceback" not in body


def test_by_default_only_the_address_and_localhost_are_served(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)])
    started = web_daemons(config, tmp_path)
    started.next_line()
    port = started.port
    for host in ["127.0.0.1", f"127.0.0.1:{port}", "localhost", f"localhost:{port}"]:
        assert get(port, "/api/readings", host)[0] == 200, host
    for host in ["attacker.example", f"attacker.example:{port}", "pyhost.example"]:
        status, body = get(port, "/api/plugins/counter", host)
        assert status == 421, (host, status, body[:200])
    status, _ = get(port, "/api/readings", "127.0.0.1", f"http://attacker.example:{port}")
    assert status == 403


def test_a_rebound_host_cannot_act_even_with_the_token(daemon):
    before = daemon.get_json("/api/plugins/counter")["polls"]
    status, _ = get(daemon.port, "/api/plugins/counter/poll", "attacker.example", method="POST",
                    token=TOKEN)
    assert status == 421
    assert daemon.get_json("/api/plugins/counter")["polls"] == before


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "http://localhost:{port}",
                                    "https://pyhost.example", "http://[fd00::7]:8080"])
def test_the_servers_own_origins_are_served(daemon, origin):
    origin = origin.format(port=daemon.port)
    assert get(daemon.port, "/api/readings", f"127.0.0.1:{daemon.port}", origin)[0] == 200
    status, _ = get(daemon.port, "/api/plugins/counter/poll", f"127.0.0.1:{daemon.port}",
                    origin, method="POST", token=TOKEN)
    assert status == 200


@pytest.mark.parametrize("origin", ["http://attacker.example", "http://attacker.example:{port}",
                                    "null", "http://127.0.0.1.attacker.example:{port}",
                                    "ftp://127.0.0.1:{port}", "http://127.0.0.1:{port}/path",
                                    "http://user@127.0.0.1:{port}"])
def test_a_foreign_origin_is_refused_with_403(daemon, origin):
    origin = origin.format(port=daemon.port)
    for method, path, token in [("GET", "/api/readings", None), ("GET", "/api/health", None),
                                ("POST", "/api/plugins/counter/poll", TOKEN)]:
        status, body = get(daemon.port, path, f"127.0.0.1:{daemon.port}", origin,
                           method=method, token=token)
        assert status == 403, (origin, path, status)
        assert b"readings" not in body


def test_refusals_are_counted_in_metrics(daemon):
    get(daemon.port, "/api/readings", "attacker.example")
    get(daemon.port, "/api/readings", "127.0.0.1", "http://attacker.example")
    text = request(daemon.port, "GET", "/metrics").body.decode()
    assert 'pyhost_http_requests_refused_total{reason="host"} 1' in text
    assert 'pyhost_http_requests_refused_total{reason="origin"} 1' in text
    assert 'pyhost_http_requests_total{route="/api/readings",code="421"} 1' in text


def wait_for_listening(daemon, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, daemon.log())
        if match:
            return int(match.group(1))
        assert daemon.process.poll() is None, daemon.log()[-3000:]
        time.sleep(0.05)
    raise AssertionError(daemon.log()[-3000:])


def test_ipv6_loopback_serves_its_bracketed_address_and_localhost(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)],
                         http_extra="address = ::1\n")
    started = web_daemons(config, tmp_path, wait=False)
    port = wait_for_listening(started, r"listening on http://\[::1\]:(\d+)/")
    for host in ["[::1]", f"[::1]:{port}", "[0:0:0:0:0:0:0:1]", "localhost", f"localhost:{port}"]:
        assert get(port, "/api/readings", host, address="::1")[0] == 200, host
    for host in ["::1", "127.0.0.1", "attacker.example", f"[::2]:{port}"]:
        assert get(port, "/api/readings", host, address="::1")[0] == 421, host
    assert get(port, "/api/readings", "[::1]", f"http://[::1]:{port}", address="::1")[0] == 200


def test_any_address_serves_ip_literals_but_not_other_names(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)],
                         http_extra="address = 0.0.0.0\n")
    started = web_daemons(config, tmp_path, wait=False)
    port = wait_for_listening(started, r"listening on http://0\.0\.0\.0:(\d+)/")
    for host in ["127.0.0.1", f"192.168.1.20:{port}", "[fe80::1]", "localhost"]:
        assert get(port, "/api/health", host)[0] == 200, host
    assert get(port, "/api/health", "attacker.example")[0] == 421


def test_a_star_allows_any_host(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)],
                         http_extra="allowed_hosts = *\n")
    started = web_daemons(config, tmp_path)
    assert get(started.port, "/api/readings", "anything.example")[0] == 200
    assert get(started.port, "/api/readings", "127.0.0.1", "http://anything.example")[0] == 200


@pytest.mark.parametrize("value", ["bad host!", "a/b", "[not-v6]", "pyhost.lan:8080"])
def test_a_bad_allowed_hosts_entry_is_refused_by_key(tmp_path, web_daemons, value):
    config = http_config(tmp_path, [], http_extra=f"allowed_hosts = ok.example, {value}\n")
    started = web_daemons(config, tmp_path, wait=False)
    assert started.process.wait(timeout=30) != 0
    assert "[http] allowed_hosts: invalid value" in started.log()
