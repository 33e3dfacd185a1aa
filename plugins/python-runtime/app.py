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
"""

import importlib
import importlib.abc
import importlib.util
import sys

# componentize-py bundles only the modules the runtime itself imports, so
# these are the standard library a plugin on the runtime can use.
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
from pyhost_sdk import report_errors
from wit_world import exports
from wit_world.imports import gpio_provider, led_controller, logging, store, types  # noqa: F401
from wit_world.imports import gpio, i2c, iio, onewire, pwm  # noqa: F401
from wit_world.imports.types import PluginError

_ENTRY = "pyhost_plugin_app"
_plugin_logic = None
_plugin_lifecycle = None


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
        code = compile(self.sources[name], f"/plugin/{self.file_names[name]}.py", "exec")
        exec(code, module.__dict__)


class Loader(exports.Loader):
    @report_errors
    def load(self, modules: list[tuple[str, str]]) -> None:
        global _plugin_logic, _plugin_lifecycle
        if _plugin_logic is not None:
            raise RuntimeError("this runtime instance already holds a plugin")
        sources = dict(modules)
        if "app" not in sources:
            raise ImportError("the plugin has no app module (app.py)")
        # This runtime's own module is "app" already: the plugin's entry
        # module gets another name (its tracebacks still say app.py).
        sources[_ENTRY] = sources.pop("app")
        file_names = {name: name for name in sources}
        file_names[_ENTRY] = "app"
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
