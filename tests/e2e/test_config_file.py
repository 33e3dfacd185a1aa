"""The config file through the real binary: what inih would misread in
silence is refused with file:line, and `pyhost check-config` checks a file
without starting anything."""

import re
import time

from conftest import ROOT, plugin, run_pyhost, write_config

# A comment longer than inih's 200-byte line buffer: inih reads 199
# characters, then the rest as a line of its own, so without the guard the
# tail became a live setting.
SMUGGLED = "; " + "x" * 197 + "interval_s = 0.03\n"


def refused(result, code=2):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return result.stderr


def test_a_long_comment_tail_is_refused_with_file_and_line(config_dir):
    config = write_config(config_dir, f"[http]\nenabled = no\n[plugin a]\n"
                                      f"file = {plugin('sensor-logic')}\n{SMUGGLED}")
    # Before the guard `run` took interval_s = 0.03 and ran on (the timeout
    # bounds that failure); with it, `run` stops at once.
    stderr = refused(run_pyhost("run", "--config", config, timeout=30))
    assert f"{config}:7: the line is 216 characters long; lines are at most 198" in stderr


def test_a_repeated_plugin_section_is_refused_naming_both_lines(config_dir):
    config = write_config(config_dir, "[plugin x]\nfile = a.wasm\n[http]\nport = 0\n"
                                      "[plugin x]\ninterval_s = 0.03\n")
    stderr = refused(run_pyhost("check-config", config), code=1)
    assert f"{config}:7: [plugin x]: the section is repeated; its first header is at line 3" \
        in stderr


def test_a_repeated_key_is_refused_naming_both_lines(config_dir):
    config = write_config(config_dir, "[plugin a]\nfile = a.wasm\ninterval_s = 5\n"
                                      "interval_s = 0.03\n")
    stderr = refused(run_pyhost("run", "--config", config, timeout=60))
    assert f"{config}:6: [plugin a] interval_s: the key is repeated; it is first set at line 5" \
        in stderr


def test_a_directory_as_config_is_refused_clearly(config_dir):
    stderr = refused(run_pyhost("run", "--config", config_dir, timeout=60))
    assert f"{config_dir}: is a directory" in stderr
    assert "no plugins" not in stderr
    stderr = refused(run_pyhost("check-config", config_dir), code=1)
    assert f"{config_dir}: is a directory" in stderr


def test_check_config_summarises_a_good_file_and_starts_nothing(config_dir):
    cache = config_dir / "cache-never-made"
    config = config_dir / "pyhost.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\n[http]\nport = 8099\n"
                      f"[plugin logic]\nfile = {plugin('sensor-logic')}\n"
                      f"[plugin gone]\nfile = {config_dir}/gone.wasm\n")
    started = time.monotonic()
    result = run_pyhost("check-config", config, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{config}: ok\n")
    assert "http: 127.0.0.1 port 8099" in result.stdout
    assert "plugins: 2" in result.stdout
    assert f"[plugin logic] file = {plugin('sensor-logic')} (exists)" in result.stdout
    assert f"[plugin gone] file = {config_dir}/gone.wasm (MISSING)" in result.stdout
    # Nothing compiled or cached, and quick (compiling the plugin takes seconds).
    assert not cache.exists()
    assert time.monotonic() - started < 5
    assert result.stderr == ""


def test_check_config_and_run_refuse_a_bad_file_with_the_same_message(config_dir):
    config = write_config(config_dir, "[board]\nperiod_reads = 1\n")
    checked = refused(run_pyhost("check-config", config), code=1)
    ran = refused(run_pyhost("run", "--config", config, timeout=60))
    message = (f"pyhost: {config}:4: [board] period_reads: invalid value '1': expected a "
               "whole number from 2 to 1000000")
    assert message in checked.splitlines()
    assert message in ran.splitlines()


def test_check_config_without_a_file_is_a_usage_error():
    result = run_pyhost("check-config")
    assert result.returncode == 2
    assert "Usage: pyhost check-config" in result.stderr


def keys_by_section():
    result = run_pyhost("check-config", "--keys")
    assert result.returncode == 0, result.stderr
    sections, current = {}, None
    for line in result.stdout.splitlines():
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None and (key := re.match(r";?([a-z0-9_]+) =", line)):
            current.append(key.group(1))
    return sections


def test_every_key_in_the_table_is_documented():
    sections = keys_by_section()
    assert {"host", "board", "http", "history", "mqtt", "plugin example"} <= set(sections)
    assert "interval_s" in sections["plugin example"]
    docs = (ROOT / "README.md").read_text() + (ROOT / "config" / "pyhost.ini").read_text()
    missing = [f"[{section}] {key}" for section, keys in sections.items() for key in keys
               if not re.search(rf"\b{key}\b", docs)]
    assert missing == [], f"keys neither in README.md nor config/pyhost.ini: {missing}"


def test_the_example_config_passes_check_config():
    result = run_pyhost("check-config", ROOT / "config" / "pyhost.ini")
    assert result.returncode == 0, result.stderr
    assert "[plugin sensor-logic] file = build/plugins/sensor-logic.wasm" in result.stdout
