"""The history's and MQTT's benchmarks, for bench/run.py. BENCHMARKS.md says
how each figure is measured.

  history_rows_per_s            sustained appends: WAL, synchronous=NORMAL,
                                batches of 100 (the defaults), 200000 rows
  history_full_rows_per_s       the same with synchronous=FULL
  baseline_history_rows_per_s   one commit per reading with synchronous=FULL
                                (what "durable" means without batching)
  history_vs_baseline_ratio     history_rows_per_s / baseline_history_rows_per_s
  mqtt_publish_ms_p50, _p99     the daemon: reading made (its time_ms) ->
                                message received by a paho subscriber, through
                                a mosquitto broker on loopback, QoS 1
  baseline_mqtt_publish_ms_p99  a paho publisher's message, stamped the same
                                way, to the same subscriber and broker
  mqtt_vs_baseline_ratio        mqtt_publish_ms_p99 / baseline_mqtt_publish_ms_p99
"""

import getpass
import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import paho.mqtt.client as mqtt

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
BENCH_HISTORY = BUILD / "host" / "bench_history"
PYHOST = BUILD / "pyhost"
COUNTER = BUILD / "test-plugins" / "counter.wasm"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MESSAGES = 1000
WARM_UP = 50
INTERVAL_S = 0.01


def bench_history(directory, name, rows, batch_rows, sync):
    path = pathlib.Path(directory) / f"{name}.db"
    out = subprocess.run([str(BENCH_HISTORY), str(path), str(rows), str(batch_rows), sync],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["rows_per_s"]


def history_figures():
    # On the project's disk (not a tmpfs): fsync must cost what it costs.
    (BUILD / "bench").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD / "bench") as directory:
        normal = statistics.median(bench_history(directory, f"normal{i}", 200000, 100, "normal")
                                   for i in range(3))
        full = statistics.median(bench_history(directory, f"full{i}", 200000, 100, "full")
                                 for i in range(3))
        baseline = bench_history(directory, "baseline", 2000, 1, "full")
    return {"history_rows_per_s": round(normal),
            "history_full_rows_per_s": round(full),
            "baseline_history_rows_per_s": round(baseline),
            "history_vs_baseline_ratio": round(normal / baseline, 1)}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def now_ms():
    return time.time() * 1000


def p99(values):
    return statistics.quantiles(values, n=100)[98]


def subscribe(port, topic):
    received = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}")
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_message = lambda c, d, message: received.put((now_ms(), message.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client, received


def latencies(received, count):
    """Receive time minus the message's own time_ms, for `count` messages."""
    values = []
    while len(values) < count:
        arrived_ms, payload = received.get(timeout=30)
        values.append(arrived_ms - json.loads(payload)["time_ms"])
    return values[WARM_UP:]


def baseline_latencies(port):
    client, received = subscribe(port, "baseline/#")
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    time.sleep(0.5)  # both connected and subscribed
    for _ in range(MESSAGES):
        # Stamped like the host stamps a reading: whole milliseconds.
        publisher.publish("baseline/counter", json.dumps({"time_ms": int(now_ms())}), qos=1)
        time.sleep(INTERVAL_S)
    values = latencies(received, MESSAGES)
    for c in (client, publisher):
        c.loop_stop()
        c.disconnect()
    return values


def daemon_latencies(port, directory):
    config = pathlib.Path(directory) / "bench.ini"
    config.write_text(f"[host]\nlog_level = error\ncache_dir = {BUILD / 'test-cache'}\n"
                      "[http]\nenabled = no\n"
                      f"[mqtt]\nenabled = yes\nhost = 127.0.0.1\nport = {port}\ndevice = bench\n"
                      f"[plugin counter]\nfile = {COUNTER}\n"
                      "grants = gpio-provider, led-controller, logging\n"
                      f"interval_s = {INTERVAL_S}\n")
    client, received = subscribe(port, "pyhost/bench/counter/counter")
    time.sleep(0.5)
    daemon = subprocess.Popen([str(PYHOST), "run", "--config", str(config)],
                              stdout=subprocess.DEVNULL)
    try:
        values = latencies(received, MESSAGES)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        client.loop_stop()
        client.disconnect()
    return values


def mqtt_figures():
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        conf = pathlib.Path(directory) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        f"persistence false\nuser {getpass.getuser()}\n")
        broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            host = daemon_latencies(port, directory)
            baseline = baseline_latencies(port)
        finally:
            broker.terminate()
            broker.wait(timeout=10)
    return {"mqtt_publish_ms_p50": round(statistics.median(host), 2),
            "mqtt_publish_ms_p99": round(p99(host), 2),
            "baseline_mqtt_publish_ms_p99": round(p99(baseline), 2),
            "mqtt_vs_baseline_ratio": round(p99(host) / p99(baseline), 2)}


if __name__ == "__main__":
    print(json.dumps({**history_figures(), **mqtt_figures()}, indent=2))
