"""`pyhost check` and loading: what is a plugin and what is not."""

import os
import random

import pytest

from conftest import call, plugin, run_pyhost


def test_check_accepts_the_example_plugin_and_lists_its_interfaces():
    result = run_pyhost("check", plugin("sensor-logic"))
    assert result.returncode == 0, result.stderr
    assert "fits the sensor-plugin world" in result.stdout
    imports = result.stdout.split("imports:\n")[1].split("exports:\n")[0]
    exports = result.stdout.split("exports:\n")[1]
    for interface in ("gpio-provider", "led-controller", "logging"):
        assert f"pyhost:plugin/{interface}@0.1.1" in imports
    assert "wasi:config/store@0.2.0-rc.1" in imports  # its settings
    assert "pyhost:plugin/sensor-logic@0.1.1" in exports


def test_check_refuses_a_component_for_another_world():
    path = plugin("other-world")
    result = run_pyhost("check", path)
    assert result.returncode == 1
    assert f"{path}: does not export 'pyhost:plugin/sensor-logic@0.1.1'" in result.stderr
    assert "test:other/greeter@0.1.0" in result.stdout  # still lists what it has


def test_check_refuses_an_import_the_host_does_not_provide():
    path = plugin("unknown-import")
    result = run_pyhost("check", path)
    assert result.returncode == 1
    assert ("imports 'test:unknown-import/secret-door@0.1.0', which this host does not "
            "provide") in result.stderr


def component_bytes():
    return plugin("counter").read_bytes()


BAD_FILES = {
    "empty": (lambda: b"", "empty file, not a component"),
    "random": (lambda: random.Random(7).randbytes(4096), "not a WebAssembly binary"),
    "short": (lambda: b"\0as", "not a WebAssembly binary"),
    "text": (lambda: b"(component\n  (core module)\n)\n", "WebAssembly text format"),
    "core-module": (lambda: b"\0asm\x01\0\0\0", "a core WebAssembly module, not a component"),
    "truncated-header": (lambda: component_bytes()[:8], None),
    "truncated-100": (lambda: component_bytes()[:100], None),
    "truncated-half": (lambda: component_bytes()[: len(component_bytes()) // 2], None),
    "truncated-last-byte": (lambda: component_bytes()[:-1], None),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_check_and_call_refuse_files_that_are_not_plugins(tmp_path, name):
    make, reason = BAD_FILES[name]
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(make())
    for result in (run_pyhost("check", path), call(path)):
        assert result.returncode == 1, result.stderr
        assert str(path) in result.stderr  # the file is named ...
        if reason is not None:  # ... with the reason
            assert reason in result.stderr


def test_missing_file_and_device_are_refused_by_name(tmp_path):
    missing = tmp_path / "missing.wasm"
    result = run_pyhost("check", missing)
    assert result.returncode == 1
    assert f"{missing}: cannot open: No such file or directory" in result.stderr
    link = tmp_path / "zero.wasm"
    os.symlink("/dev/zero", link)
    result = run_pyhost("check", link)
    assert result.returncode == 1
    assert f"{link}: not a regular file" in result.stderr


def test_commands_explain_themselves():
    for command in ("run", "call", "check"):
        result = run_pyhost(command, "--help")
        assert result.returncode == 0
        assert f"Usage: pyhost {command}" in result.stdout
    result = run_pyhost("frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr
    result = run_pyhost("call", "--polls", "zero", plugin("counter"))
    assert result.returncode == 2
    assert "--polls: 'zero' is not a positive count" in result.stderr
