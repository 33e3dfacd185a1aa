"""Test plugin: probes what the WASI sandbox grants and reports it.

Each reading is one probe: value 1.0 means the plugin got something
(a file, a directory listing, an environment variable, an argument, stdin
data), 0.0 means it was denied. A host that grants nothing makes every
value 0. It also prints to stdout and stderr, which must reach the host log
under the plugin's name.
"""

import os
import sys

from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports.types import Quantity, SensorReading, Status


def succeeded(probe) -> float:
    try:
        return 1.0 if probe() else 0.0
    except Exception:
        return 0.0


def read_passwd() -> bool:
    with open("/etc/passwd") as f:
        return len(f.read()) > 0


def list_root() -> bool:
    return len(os.listdir("/")) > 0


def list_cwd() -> bool:
    return len(os.listdir(".")) > 0


def has_environment() -> bool:
    return len(os.environ) > 0


def has_arguments() -> bool:
    return len([a for a in sys.argv if a]) > 0


def read_stdin() -> bool:
    return len(sys.stdin.read(1)) > 0


def open_socket() -> bool:
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", 22))
    return True


def resolve_name() -> bool:
    import socket
    return len(socket.getaddrinfo("localhost", 80)) > 0


def spawn_process() -> bool:
    import subprocess
    return subprocess.run(["/bin/true"]).returncode == 0


def read_data_dir() -> bool:
    with open("/data/hello.txt") as f:
        return f.read() == "hello"


def write_data_dir() -> bool:
    with open("/data/written.txt", "w") as f:
        f.write("x")
    return True


PROBES = {
    "open-etc-passwd": read_passwd,
    "list-root": list_root,
    "list-cwd": list_cwd,
    "environment": has_environment,
    "arguments": has_arguments,
    "stdin": read_stdin,
    "socket": open_socket,
    "resolve": resolve_name,
    "spawn": spawn_process,
    "read-data-dir": read_data_dir,
    "write-data-dir": write_data_dir,
}


class SensorLogic(exports.SensorLogic):
    @report_errors
    def poll(self) -> list[SensorReading]:
        print("probe says hello on stdout")
        print("probe says hello on stderr", file=sys.stderr)
        return [SensorReading(sensor=name, quantity=Quantity.TEMPERATURE,
                              value=succeeded(probe), unit="granted", status=Status.OK)
                for name, probe in PROBES.items()]
