"""The hardware interfaces of contract 0.1.1 (gpio, i2c, pwm, iio,
onewire) with real components on the simulated board: the bme280-climate
example reads the simulated BME280 through its own driver and gets the
datasheet's compensated values for the default raw values (README, the
simulated board: 22.50 °C, 101324.98 Pa, 45.00 %RH) and switches the relay;
a component whose world imports an interface without the grant, or without
a target for it, is refused at load with a message naming both; a .py
plugin on the shared runtime (which imports everything) is refused per call,
as values, each refusal counted; and a plugin that traps while holding the
relay leaves it in its configured safe state."""

from conftest import PLUGINS, ROOT, TEST_PLUGINS, write_config
from http_support import TOKEN, http_config, web_daemons  # noqa: F401 (a fixture)

BME280 = PLUGINS / "bme280-climate.wasm"
PROBER_PY = ROOT / "tests" / "plugins" / "hw-prober" / "app.py"
# A cold compile of a new component takes minutes on a loaded 2-core machine.
START_TIMEOUT = 600

CLIMATE_GRANTS = ("grants = gpio-provider, logging, i2c, gpio\n"
                  "i2c_devices = 1:0x76\ngpio_outputs = 27:off\n")


def values(line):
    return {(r["sensor"], r["quantity"]): r["value"] for r in line["readings"]}


def test_the_bme280_example_reads_the_datasheet_values_and_switches_the_relay(tmp_path,
                                                                               daemons):
    config = write_config(tmp_path, (
        f"[plugin climate]\nfile = {BME280}\ninterval_s = 0.5\n{CLIMATE_GRANTS}"
        "setting.relay_on_celsius = 22\nsetting.relay_off_celsius = 21\n"))
    daemon = daemons(config, tmp_path)
    lines = daemon.read_until(lambda line: line["plugin"] == "climate" and line["readings"],
                              timeout=START_TIMEOUT)
    seen = values(lines[-1])
    assert seen[("climate", "temperature")] == 22.5
    assert seen[("climate", "humidity")] == 45.0
    # The driver's integer compensation, pressure included (logged).
    daemon.wait_for_log("climate: BME280 22.50 °C 101324.98 Pa 45.00 %RH")
    # 22.5 °C is above relay_on_celsius: the relay is switched on.
    daemon.wait_for_log("board: relay (line 27) on")
    daemon.wait_for_log("climate: relay ON at 22.50 °C")
    daemon.stop()
    # Unloading its owner drives it to its safe state.
    assert "board: relay (line 27) off" in daemon.log()
    assert "GPIO line 27 driven to safe state off: its owner is unloaded" in daemon.log()


def test_a_component_without_the_grant_or_a_target_is_refused_at_load(tmp_path, daemons):
    config = write_config(tmp_path, (
        f"[plugin no-grant]\nfile = {BME280}\ninterval_s = 60\n"
        "grants = gpio-provider, logging, gpio\ngpio_outputs = 27\n\n"
        f"[plugin no-device]\nfile = {BME280}\ninterval_s = 60\n"
        "grants = gpio-provider, logging, gpio, i2c\ngpio_outputs = 22\n"))
    daemon = daemons(config, tmp_path)
    daemon.wait_for_log("no-grant: not loaded", timeout=START_TIMEOUT)
    daemon.wait_for_log("no-device: not loaded", timeout=START_TIMEOUT)
    log = daemon.log()
    assert ("imports 'pyhost:plugin/i2c@0.1.1', but its config does not grant 'i2c'" in log), log
    assert ("imports 'pyhost:plugin/i2c@0.1.1', but its config grants no target for it "
            "(add i2c_devices" in log), log
    assert "board: relay" not in log


def test_a_py_plugin_is_refused_per_call_and_each_refusal_is_counted(tmp_path, web_daemons):
    # Granted: i2c 1:0x76, output 27, input 17, PWM 0; not: 0x77, bus 2,
    # line 22, PWM 1, any IIO device or 1-Wire sensor.
    section = (f"[plugin prober]\nfile = {PROBER_PY}\ninterval_s = 3600\n"
               "grants = logging, i2c, gpio, pwm\ni2c_devices = 1:0x76\n"
               "gpio_outputs = 27\ngpio_inputs = 17\npwm_channels = 0\n")
    daemon = web_daemons(http_config(tmp_path, [section]), tmp_path)
    lines = daemon.read_until(lambda line: line["plugin"] == "prober" and line["readings"],
                              timeout=START_TIMEOUT)
    seen = {sensor: value for (sensor, _), value in values(lines[-1]).items()}
    assert seen == {
        "i2c-granted": 0.0, "i2c-chip-id": 0x60,
        "i2c-other-address": 1.0, "i2c-other-bus": 1.0,
        "gpio-out": 0.0, "gpio-out-other": 1.0, "gpio-in": 0.0,
        "pwm": 0.0, "pwm-other": 1.0,
        "iio": 1.0, "onewire": 1.0,
    }, seen
    summary = daemon.get_json("/api/plugins")["plugins"][0]
    assert summary["denied_calls"] == 6, summary  # one poll, six refusals
    metrics = daemon.request("GET", "/metrics", token=TOKEN).body.decode()
    assert 'pyhost_plugin_denied_calls_total{plugin="prober"} 6' in metrics


def test_a_plugin_that_traps_holding_the_relay_leaves_it_in_its_safe_state(tmp_path, daemons):
    config = write_config(tmp_path, (
        f"[plugin relay]\nfile = {TEST_PLUGINS / 'relay-then-traps.wasm'}\ninterval_s = 0.2\n"
        "grants = gpio-provider, logging, i2c, gpio\ni2c_devices = 1:0x76\n"
        "gpio_outputs = 27:off\nrestart_backoff_ms = 60000\n"))
    daemon = daemons(config, tmp_path)
    daemon.wait_for_log("relay: GPIO line 27 driven to safe state off: its owner trap",
                        timeout=START_TIMEOUT)
    log = daemon.log()
    assert "board: relay (line 27) on" in log
    assert "board: relay (line 27) off" in log
    assert log.rindex("relay (line 27) off") > log.rindex("relay (line 27) on")
