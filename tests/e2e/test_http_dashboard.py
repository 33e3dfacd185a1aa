"""The dashboard in a real browser (Debian's chromium, driven headless by
npm's playwright-core): it loads, its numbers change live, the LEDs are
drawn in colour, and its reload button works with the token. The
screenshot is kept as build/dashboard.png."""

import json
import pathlib
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT
from http_support import TOKEN, http_config, plugin_section, web_daemons  # noqa: F401

NODE_DIR = BUILD / ".node-dir"
CHROMIUM = pathlib.Path("/usr/bin/chromium")
SCREENSHOT = BUILD / "dashboard.png"


def test_dashboard_updates_live_and_reloads_with_the_token(tmp_path, web_daemons):
    if not NODE_DIR.exists() or shutil.which("node") is None or not CHROMIUM.exists():
        pytest.fail("needs scripts/setup-node.sh (make binary) and Debian's chromium "
                    "(scripts/setup-debian.sh)")
    config = http_config(tmp_path, [plugin_section("sensor-logic", interval_s=0.5),
                                    plugin_section("counter", interval_s=2)])
    daemon = web_daemons(config, tmp_path)
    daemon.read(4)
    node_modules = NODE_DIR.read_text().strip()
    completed = subprocess.run(
        ["node", str(ROOT / "tests/e2e/dashboard.cjs"), f"http://127.0.0.1:{daemon.port}/",
         TOKEN, "sensor-logic", str(SCREENSHOT)],
        capture_output=True, text=True, timeout=120, env={"NODE_PATH": node_modules,
                                                           "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout.strip().splitlines()[-1])

    # The only console error allowed: the deliberately wrong token's 401.
    assert [e for e in seen["errors"] if "status of 401" not in e] == []
    assert len(seen["errors"]) <= 1
    assert seen["first_temperature"] != seen["second_temperature"]
    assert float(seen["second_temperature"]) > 0 and float(seen["humidity"]) > 0
    assert seen["connection"] == "live"
    assert all(color in {"green", "yellow", "red"} for color in seen["led_colors"])
    assert seen["led_fill"] != "none"  # drawn with its colour's glow
    assert seen["alarm"] in {"ON", "off"}
    assert seen["has_charts"]
    assert sorted(seen["plugin_rows"]) == ["counter", "sensor-logic"]
    assert seen["wrong_token_message"] == "That token was refused."
    assert "requested" in seen["toast"] and not seen["dialog_open"]
    # Every request stayed on this host: no CDN.
    assert all(url.startswith(f"http://127.0.0.1:{daemon.port}/") or url.startswith("data:")
               for url in seen["requests"])
    daemon.wait_for_log("reload requested over HTTP (reason: dashboard)")
    assert SCREENSHOT.stat().st_size > 10000
