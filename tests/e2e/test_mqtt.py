"""MQTT: the real daemon publishes to a real mosquitto broker that each test
starts on a free loopback port, and a paho-mqtt subscriber checks what
arrives: readings, the retained availability topic and its last will, Home
Assistant discovery, delivery after a broker restart, the bounded queue,
TLS with a username and password.

The counter plugin reports 1, 2, 3, ... so the values received say exactly
which readings arrived."""

import getpass
import json
import pathlib
import queue
import shutil
import signal
import socket
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import plugin, write_config

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
GRANTS = "grants = gpio-provider, led-controller, logging\n"
DEVICE = "testdev"
STATE_TOPIC = f"pyhost/{DEVICE}/counter/counter"
STATUS_TOPIC = f"pyhost/{DEVICE}/status"

pytestmark = pytest.mark.skipif(not pathlib.Path(MOSQUITTO).exists(),
                                reason="the mosquitto broker is not installed")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port with its own config, log and persistence
    in a temporary directory; stop() and start() keep the port and the
    persisted sessions, like a broker restarted by its service manager."""

    def __init__(self, directory, extra=""):
        self.directory = directory
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        # `user`: mosquitto started as root would switch to the user
        # "mosquitto", who may not write the persistence file here.
        self.config.write_text(f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\n"
                               f"persistence true\npersistence_location {directory}/\n"
                               + (extra or "allow_anonymous true\n"))
        self.process = None

    def start(self):
        log = open(self.directory / "mosquitto.log", "a")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, (self.directory / "mosquitto.log").read_text()
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start listening")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def broker(tmp_path):
    directory = tmp_path / "broker"
    directory.mkdir()
    started = Broker(directory)
    started.start()
    yield started
    started.stop()


class Subscriber:
    """Subscribes to everything with QoS 1 in a persistent session, so that
    messages published while it reconnects after a broker restart wait for
    it in the broker."""

    def __init__(self, port, client_id="pyhost-test-subscriber", clean=False, tls=None,
                 auth=None):
        self.messages = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=clean)
        if tls is not None:
            self.client.tls_set(ca_certs=str(tls))
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.on_message = lambda client, data, message: self.messages.put(
            (message.topic, message.payload.decode(), message.retain))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def next(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(message):
                return message
        raise AssertionError(f"no matching message within {timeout} s")

    def values_until(self, last, timeout=30):
        """Counter values received up to and including `last`."""
        values = []
        while not values or values[-1] < last:
            _, payload, _ = self.next(lambda m: m[0] == STATE_TOPIC, timeout)
            values.append(json.loads(payload)["temperature"]["value"])
        return values

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def subscribers():
    made = []

    def make(*args, **kwargs):
        subscriber = Subscriber(*args, **kwargs)
        made.append(subscriber)
        return subscriber

    yield make
    for subscriber in made:
        subscriber.close()


def retained(port, topic, **kwargs):
    """The retained message of `topic`, as a fresh subscriber sees it."""
    subscriber = Subscriber(port, client_id=f"retained-{time.monotonic_ns()}", clean=True,
                            **kwargs)
    try:
        return subscriber.next(lambda m: m[0] == topic and m[2])[1]
    finally:
        subscriber.close()


def mqtt_config(directory, port, extra="", interval_s=0.1):
    return write_config(directory,
                        "[http]\nenabled = no\n"
                        f"[mqtt]\nenabled = yes\nhost = 127.0.0.1\nport = {port}\n"
                        f"device = {DEVICE}\nreconnect_min_ms = 100\nreconnect_max_ms = 400\n"
                        f"{extra}"
                        f"[plugin counter]\nfile = {plugin('counter')}\n{GRANTS}"
                        f"interval_s = {interval_s}\n")


def value_of(line):
    return line["readings"][0]["value"]


def latest_value(daemon):
    """The counter's value in the newest line printed so far."""
    line = daemon.next_line()
    while True:
        try:
            line = daemon.lines.get_nowait()
        except queue.Empty:
            return value_of(line)


def test_readings_are_published_with_availability_and_discovery(tmp_path, broker, subscribers,
                                                                daemons):
    subscriber = subscribers(broker.port)
    daemon = daemons(mqtt_config(tmp_path, broker.port), tmp_path)
    printed = daemon.read(5)

    values = subscriber.values_until(value_of(printed[-1]))
    assert values[:5] == [value_of(line) for line in printed]
    _, payload, is_retained = subscriber.next(lambda m: m[0] == STATE_TOPIC)
    message = json.loads(payload)
    assert not is_retained
    assert message["plugin"] == "counter" and message["sensor"] == "counter"
    assert isinstance(message["time_ms"], int)
    assert message["temperature"]["unit"] == "polls"
    assert message["temperature"]["status"] == "ok"

    assert retained(broker.port, STATUS_TOPIC) == "online"
    discovery = json.loads(retained(
        broker.port, f"homeassistant/sensor/{DEVICE}/counter_counter_temperature/config"))
    assert discovery["state_topic"] == STATE_TOPIC
    assert discovery["availability_topic"] == STATUS_TOPIC
    assert discovery["device_class"] == "temperature"
    assert discovery["unit_of_measurement"] == "polls"
    assert discovery["unique_id"] == f"pyhost_{DEVICE}_counter_counter_temperature"
    assert "value_json.temperature.value" in discovery["value_template"]
    assert discovery["device"]["identifiers"] == [f"pyhost_{DEVICE}"]

    assert daemon.stop() == 0
    assert retained(broker.port, STATUS_TOPIC) == "offline"


def test_last_will_marks_the_device_offline_when_the_host_is_killed(tmp_path, broker,
                                                                    subscribers, daemons):
    subscriber = subscribers(broker.port)
    daemon = daemons(mqtt_config(tmp_path, broker.port), tmp_path)
    subscriber.next(lambda m: m[0] == STATUS_TOPIC and m[1] == "online")
    daemon.signal(signal.SIGKILL)
    daemon.process.wait(timeout=10)
    subscriber.next(lambda m: m[0] == STATUS_TOPIC and m[1] == "offline")
    assert retained(broker.port, STATUS_TOPIC) == "offline"


def test_readings_made_while_the_broker_is_away_arrive_after_it_returns(tmp_path, broker,
                                                                        subscribers, daemons):
    subscriber = subscribers(broker.port)
    daemon = daemons(mqtt_config(tmp_path, broker.port), tmp_path)
    before = daemon.read(3)
    subscriber.values_until(value_of(before[-1]))

    broker.stop()
    daemon.wait_for_log("lost the connection to 127.0.0.1")
    # Every poll printed from now on is made while the broker is away.
    made_before_outage = latest_value(daemon)
    during = [value_of(daemon.next_line()) for _ in range(5)]
    assert during[0] > made_before_outage
    connects = daemon.log().count("mqtt: connected to")
    broker.start()
    daemon.wait_for_log("mqtt: connected to", count=connects + 1)

    received = set(subscriber.values_until(during[-1], timeout=60))
    expected = range(int(value_of(before[-1])) + 1, int(during[-1]) + 1)
    missing = [value for value in expected if value not in received]
    assert missing == [], f"readings never arrived: {missing}"
    assert daemon.stop() == 0


def test_queue_is_bounded_and_keeps_the_newest_while_the_broker_is_away(tmp_path, subscribers,
                                                                        daemons):
    directory = tmp_path / "broker"
    directory.mkdir()
    broker = Broker(directory)
    # The subscriber's persistent session is made first, so the broker keeps
    # messages for it from the moment it is back, however fast the host is.
    broker.start()
    Subscriber(broker.port).close()
    broker.stop()
    try:
        daemon = daemons(mqtt_config(tmp_path, broker.port, "queue_messages = 5\n"), tmp_path)
        daemon.wait_for_log("cannot connect to 127.0.0.1")
        daemon.wait_for_log("queue of 5 messages is full")
        made = daemon.read_until(lambda line: value_of(line) >= 15)
        broker.start()
        subscriber = subscribers(broker.port)
        last = value_of(daemon.read(3)[-1])
        received = subscriber.values_until(last, timeout=60)
    finally:
        broker.stop()
    # Only the 5 newest readings waited: the first one to arrive is at most
    # 4 older than the newest reading made before the broker came back ...
    first = min(received)
    assert first >= value_of(made[-1]) - 4, (first, value_of(made[-1]))
    # ... and from it on every reading arrived; the episode was logged once.
    assert set(range(int(first), int(last) + 1)) <= set(received)
    assert daemon.log().count("queue of 5 messages is full") == 1


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=pyhost test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("mosquitto_passwd") is None,
                    reason="needs openssl and mosquitto_passwd to make certificates and users")
def test_tls_with_username_and_password(tmp_path, subscribers, daemons):
    directory = tmp_path / "broker"
    directory.mkdir()
    make_certificates(directory)
    passwords = directory / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "device", "s3cret"],
                   check=True, capture_output=True)
    broker = Broker(directory, f"allow_anonymous false\npassword_file {passwords}\n"
                               f"cafile {directory}/ca.crt\ncertfile {directory}/server.crt\n"
                               f"keyfile {directory}/server.key\n")
    broker.start()
    try:
        subscriber = subscribers(broker.port, tls=directory / "ca.crt",
                                 auth=("device", "s3cret"))
        tls = f"tls = yes\ntls_ca_file = {directory}/ca.crt\nusername = device\n"
        daemon = daemons(mqtt_config(tmp_path, broker.port, tls + "password = s3cret\n"),
                         tmp_path)
        last = value_of(daemon.read(3)[-1])
        assert last in subscriber.values_until(last)

        # A wrong password is refused, logged, and polling goes on.
        wrong_dir = tmp_path / "wrong"
        wrong_dir.mkdir()
        wrong = daemons(mqtt_config(wrong_dir, broker.port, tls + "password = nope\n"),
                        wrong_dir)
        wrong.wait_for_log("refused the connection")
        assert len(wrong.read(10)) == 10
        assert wrong.stop() == 0
        assert wrong.log().count("refused the connection") == 1
    finally:
        broker.stop()
