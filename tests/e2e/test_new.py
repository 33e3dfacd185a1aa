"""`pyhost new`: a plugin directory that works at once, through the real binary."""

import json
import os
import subprocess
import sys

import pytest

from conftest import CACHE_DIR, PYHOST, run_pyhost


@pytest.mark.parametrize("world", ["sensor-reader", "stateful-sensor-plugin"])
def test_new_plugin_passes_check_call_and_its_own_tests(tmp_path, world):
    directory = tmp_path / "plugins" / f"my-{world}"
    made = run_pyhost("new", "--world", world, directory)
    assert made.returncode == 0, made.stderr
    assert (directory / "world").read_text() == f"{world}\n"
    assert "README.md" in os.listdir(directory)

    checked = run_pyhost("check", directory)
    assert checked.returncode == 0, checked.stderr
    assert "loads on the Python runtime" in checked.stdout

    called = run_pyhost("call", "--polls", "2", directory)
    assert called.returncode == 0, called.stderr
    polls = [json.loads(line) for line in called.stdout.splitlines()]
    assert len(polls) == 2
    assert {r["sensor"] for poll in polls for r in poll} == {f"my-{world}"}
    drives_leds = world.endswith("-plugin")
    assert ("board: LEDs off/off -> green/green" in called.stderr) == drives_leds

    env = dict(os.environ, PYHOST=str(PYHOST), XDG_CACHE_HOME=str(CACHE_DIR))
    tested = subprocess.run([sys.executable, directory / "tests" / "test_app.py"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("ok test_") == 2


def test_new_with_wasm_adds_a_componentize_py_build(tmp_path):
    directory = tmp_path / "sensor"
    made = run_pyhost("new", "--wasm", directory)
    assert made.returncode == 0, made.stderr
    build = directory / "build.sh"
    assert os.access(build, os.X_OK)
    assert "componentize-py" in build.read_text() and "-w sensor-reader" in build.read_text()


def test_new_refuses_an_existing_directory_a_bad_name_and_an_unknown_world(tmp_path):
    (tmp_path / "taken").mkdir()
    taken = run_pyhost("new", tmp_path / "taken")
    assert taken.returncode == 1 and "exists already" in taken.stderr
    bad = run_pyhost("new", tmp_path / "bad name")
    assert bad.returncode == 2 and "cannot name a plugin" in bad.stderr
    world = run_pyhost("new", "--world", "sensor-writer", tmp_path / "w")
    assert world.returncode == 2 and "sensor-writer" in world.stderr
    assert not (tmp_path / "w").exists()
