"""pyhost's shared Python runtime.

One component, compiled once, runs every plugin given as Python source:
the host instantiates it per plugin and calls `loader.load` with the
plugin's modules. The plugin's `app` module is written exactly as for
componentize-py (`class SensorLogic(exports.SensorLogic)` and, optionally,
`class Lifecycle(exports.Lifecycle)`); this runtime finds those classes and
forwards the exports to them. Its world imports every interface a plugin
may use, wasi:config/store (`from wit_world.imports import store`: the
plugin's settings) among them; the host checks each call against the
plugin's own grants.

The whole standard library: componentize-py keeps in the component only the
modules imported while it builds it (below: the common ones, ready at no
import cost). Every other module is read on demand from /python, CPython's
Lib/ that the host grants each instance read-only (scripts/python-stdlib.py),
so an instance holds only what its plugin imports. Modules that need what
the sandbox denies (sockets, processes, threads, native libraries) are
refused with a message that says so.

Tracebacks name the plugin's files as the host knows them (the loader's
"@files" entry) and show their lines; the runtime's frames are left out.
"""

import _thread
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys

# Imported now, so that they are in the component's snapshot: free to import.
import base64  # noqa: F401
import bisect  # noqa: F401
import collections  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import enum  # noqa: F401
import functools  # noqa: F401
import hashlib  # noqa: F401
import heapq  # noqa: F401
import itertools  # noqa: F401
import json  # noqa: F401
import math  # noqa: F401
import random  # noqa: F401
import re  # noqa: F401
import statistics  # noqa: F401
import string  # noqa: F401
import struct  # noqa: F401
import textwrap  # noqa: F401
import time  # noqa: F401
import typing  # noqa: F401

from componentize_py_types import Err
import pyhost_sdk
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports import gpio_provider, led_controller, logging, store, types  # noqa: F401
from wit_world.imports import gpio, i2c, iio, onewire, pwm  # noqa: F401
from wit_world.imports.types import PluginError

_ENTRY = "pyhost_plugin_app"
_FILES_ENTRY = "@files"  # src/plugin/instance.h: INSTANCE_FILES_ENTRY
_plugin_logic = None
_plugin_lifecycle = None

pyhost_sdk._hide_frames_of(__file__)

# Standard-library modules that need what the sandbox denies, and why.
_NO_NETWORK = "no network access"
_NO_PROCESSES = "no processes: a plugin cannot start programs"
_REFUSED = {
    "socket": _NO_NETWORK, "_socket": _NO_NETWORK, "ssl": _NO_NETWORK, "_ssl": _NO_NETWORK,
    "socketserver": _NO_NETWORK, "select": "no waiting on files or sockets",
    "selectors": "no waiting on files or sockets", "asyncio": "no event loop: poll is synchronous",
    "subprocess": _NO_PROCESSES, "_posixsubprocess": _NO_PROCESSES, "pty": _NO_PROCESSES,
    "multiprocessing": _NO_PROCESSES, "_multiprocessing": _NO_PROCESSES,
    "concurrent": "no threads or processes", "ctypes": "no native code", "_ctypes": "no native code",
    "mmap": "no memory-mapped files", "signal": "no signals",
}


def _refusal(name: str) -> str:
    top = name.partition(".")[0]
    reason = _REFUSED.get(top, "the WebAssembly build of CPython lacks what it needs")
    return f"{top}: not available in the pyhost sandbox ({reason})"


class _SandboxRefusal(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: refuses the modules of _REFUSED at once. A
    copy last on it turns any other standard-library module that cannot be
    found (its native part is missing) into the same kind of message."""

    def __init__(self, refuses_all_stdlib: bool):
        self.refuses_all_stdlib = refuses_all_stdlib

    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top in _REFUSED or (self.refuses_all_stdlib and name in sys.stdlib_module_names):
            raise ModuleNotFoundError(_refusal(name), name=name)
        return None


def _no_threads(*args, **kwargs):
    raise RuntimeError("threading: not available in the pyhost sandbox (no threads: a plugin "
                       "runs on its own thread, and poll is called on the plugin's schedule)")


def _refuse_threads() -> None:
    # threading copies these names when it is first imported; patch both.
    for name in ("start_new_thread", "start_new", "start_joinable_thread"):
        if hasattr(_thread, name):
            setattr(_thread, name, _no_threads)
    threading = sys.modules.get("threading")
    for name in ("_start_new_thread", "_start_joinable_thread"):
        if threading is not None and hasattr(threading, name):
            setattr(threading, name, _no_threads)


def _install_sandbox_refusals() -> None:
    sys.meta_path.insert(0, _SandboxRefusal(refuses_all_stdlib=False))
    sys.meta_path.append(_SandboxRefusal(refuses_all_stdlib=True))
    _refuse_threads()


class _SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the plugin's modules from the sources the host handed over."""

    def __init__(self, sources: dict[str, str], file_names: dict[str, str]):
        self.sources = sources
        self.file_names = file_names

    def find_spec(self, name, path, target=None):
        if name in self.sources:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        file_name = self.file_names[name]
        source = self.sources[name]
        # Tracebacks then show the plugin's lines although the guest cannot
        # read its files (mtime None: never checked against a file).
        linecache.cache[file_name] = (len(source), None, source.splitlines(True), file_name)
        module.__file__ = file_name
        exec(compile(source, file_name, "exec"), module.__dict__)


class Loader(exports.Loader):
    @report_errors
    def load(self, modules: list[tuple[str, str]]) -> None:
        global _plugin_logic, _plugin_lifecycle
        if _plugin_logic is not None:
            raise RuntimeError("this runtime instance already holds a plugin")
        sources = dict(modules)
        files = dict(line.split("\t", 1) for line in sources.pop(_FILES_ENTRY, "").splitlines()
                     if "\t" in line)
        if "app" not in sources:
            raise ImportError("the plugin has no app module (app.py)")
        file_names = {name: files.get(name, f"{name}.py") for name in sources}
        # This runtime's own module is "app" already: the plugin's entry
        # module gets another name (its tracebacks still name its file).
        sources[_ENTRY] = sources.pop("app")
        file_names[_ENTRY] = file_names.pop("app")
        _install_sandbox_refusals()
        # The plugin's own modules first: a helpers.py may shadow anything.
        sys.meta_path.insert(0, _SourceFinder(sources, file_names))
        app = importlib.import_module(_ENTRY)
        logic = getattr(app, "SensorLogic", None)
        if logic is None:
            raise ImportError("app.py defines no SensorLogic class")
        _plugin_logic = logic()
        lifecycle = getattr(app, "Lifecycle", None)
        _plugin_lifecycle = lifecycle() if lifecycle is not None else None


def _not_loaded():
    raise Err(PluginError(message="RuntimeError: no plugin loaded", traceback=""))


class SensorLogic(exports.SensorLogic):
    def poll(self):
        if _plugin_logic is None:
            _not_loaded()
        # The plugin's own poll carries report_errors when its author used
        # it; guard again so a bare exception never traps the runtime.
        return report_errors(type(_plugin_logic).poll)(_plugin_logic)


class Lifecycle(exports.Lifecycle):
    def save_state(self) -> bytes:
        if _plugin_lifecycle is None:
            return b""  # a plugin without state
        return report_errors(type(_plugin_lifecycle).save_state)(_plugin_lifecycle)

    def restore_state(self, state: bytes) -> None:
        if _plugin_lifecycle is None or not state:
            return None
        return report_errors(type(_plugin_lifecycle).restore_state)(_plugin_lifecycle, state)
