"""Bearer-token authentication: mutating requests need the token; without
it they get 401 and change nothing. Where the token comes from."""

import os
import socket
import stat

from http_support import TOKEN, http_config, plugin_section, web_daemons  # noqa: F401

ACTIONS = ["/api/plugins/counter/poll", "/api/plugins/counter/reload",
           "/api/plugins/counter/reset"]


def test_actions_without_or_with_a_wrong_token_are_401_and_change_nothing(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=3600)]),
                         tmp_path)
    daemon.next_line()
    before = daemon.get_json("/api/plugins/counter")
    for path in ACTIONS:
        for headers in [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                        {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": f"Bearer {TOKEN}x"},
                        {"Authorization": f"Bearer {TOKEN[:-1]}"}]:
            response = daemon.request("POST", path, headers=headers)
            assert response.status == 401, (path, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    after = daemon.get_json("/api/plugins/counter")
    assert after["polls"] == before["polls"]  # no poll ran
    assert after["history"] == before["history"]  # no reload, no reset
    assert after["state"] == "running"  # not "reloading"
    assert "requested over HTTP" not in daemon.log()


def test_the_configured_token_is_accepted(tmp_path, web_daemons):
    daemon = web_daemons(http_config(tmp_path, [plugin_section("counter", interval_s=3600)]),
                         tmp_path)
    daemon.next_line()
    response = daemon.request("POST", "/api/plugins/counter/poll", token=TOKEN)
    assert response.status == 200
    assert daemon.get_json("/api/plugins/counter")["polls"] == 2
    assert "API token for mutating requests: from the config" in daemon.log()
    assert TOKEN not in daemon.log()


def test_token_from_the_environment(tmp_path, web_daemons):
    env_token = "environment-token-abcdef0123"
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)], token=None)
    daemon = web_daemons(config, tmp_path, env={"PYHOST_API_TOKEN": env_token})
    assert daemon.request("POST", "/api/plugins/counter/poll", token=env_token).status == 200
    assert daemon.request("POST", "/api/plugins/counter/poll", token=TOKEN).status == 401
    assert "from PYHOST_API_TOKEN" in daemon.log()


def test_generated_token_is_stored_0600_logged_and_kept(tmp_path, web_daemons):
    config = http_config(tmp_path, [plugin_section("counter", interval_s=3600)], token=None)
    env = {"PYHOST_API_TOKEN": ""}
    daemon = web_daemons(config, tmp_path, env=env)
    token_file = tmp_path / "state" / "api-token"
    assert f"it is in {token_file} (mode 0600)" in daemon.log()
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) == 64
    assert token not in daemon.log()
    assert daemon.request("POST", "/api/plugins/counter/poll", token=token).status == 200
    daemon.stop()
    # The next start uses the same token.
    again = web_daemons(config, tmp_path, env=env)
    assert f"from {token_file}" in again.log()
    assert again.request("POST", "/api/plugins/counter/poll", token=token).status == 200


def test_a_token_file_others_can_read_is_refused(tmp_path, web_daemons):
    state = tmp_path / "state"
    state.mkdir()
    (state / "api-token").write_text("readable-by-all-0123456789\n")
    os.chmod(state / "api-token", 0o644)
    config = http_config(tmp_path, [plugin_section("counter")], token=None)
    daemon = web_daemons(config, tmp_path, env={"PYHOST_API_TOKEN": ""}, wait=False)
    # An error of the host itself: it exits at start-up, saying why.
    assert daemon.process.wait(timeout=60) == 1
    log = daemon.log()
    assert "web server not started" in log and "others may read the API token" in log


def test_a_port_in_use_stops_the_host_at_start_with_a_clear_message(tmp_path, web_daemons):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = http_config(tmp_path, [plugin_section("counter")])
        config.write_text(config.read_text().replace("port = 0\n", f"port = {port}\n"))
        daemon = web_daemons(config, tmp_path, wait=False)
        assert daemon.process.wait(timeout=60) == 1
    log = daemon.log()
    assert f"cannot listen on 127.0.0.1 port {port}" in log and "in use" in log


def test_reads_need_the_token_when_open_reads_is_false(tmp_path, web_daemons):
    closed = web_daemons(http_config(tmp_path, [plugin_section("counter")],
                                     http_extra="open_reads = false\n"), tmp_path)
    for path in ["/api/readings", "/api/plugins", "/api/plugins/counter", "/api/history",
                 "/metrics", "/api/events"]:
        assert closed.request("GET", path).status == 401, path
    assert closed.request("GET", "/api/readings", token=TOKEN).status == 200
    # Liveness and the page itself stay open (the page asks for the token).
    assert closed.request("GET", "/api/health").status == 200
    assert closed.request("GET", "/").status == 200
