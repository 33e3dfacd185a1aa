"""Shared helpers for the end-to-end tests: they drive the real `pyhost`
binary with real componentize-py components through the real Wasmtime."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
PYHOST = BUILD / "pyhost"
PLUGINS = BUILD / "plugins"
TEST_PLUGINS = BUILD / "test-plugins"
# Compiled components are cached across the tests of a run and across runs
# in one checkout: compiling an 18 MB Python component takes seconds,
# loading it from the cache a tenth of a second. (componentize-py output
# differs from one checkout to the next, so a cache shared between clones
# would only grow.)
CACHE_DIR = BUILD / "test-cache"


def plugin(name: str) -> pathlib.Path:
    path = PLUGINS / f"{name}.wasm"
    return path if path.exists() else TEST_PLUGINS / f"{name}.wasm"


def write_config(directory: pathlib.Path, text: str, cache: bool = True) -> pathlib.Path:
    host = f"[host]\ncache_dir = {CACHE_DIR}\n" if cache else ""
    path = directory / "pyhost.ini"
    path.write_text(host + text)
    return path


class CallResult:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.lines = [json.loads(line) for line in completed.stdout.splitlines()]


def call(plugin_path, polls=1, config=None, timeout=120) -> CallResult:
    args = [str(PYHOST), "call", "--polls", str(polls)]
    if config is not None:
        args += ["--config", str(config)]
    args.append(str(plugin_path))
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    return CallResult(completed)


def run_pyhost(*args, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    return subprocess.run([str(PYHOST), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def config_dir(tmp_path):
    return tmp_path
