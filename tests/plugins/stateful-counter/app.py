"""Test plugin: a counter (step 1) whose count is handed over on reloads."""

from counter_core import Lifecycle, SensorLogic  # noqa: F401 - the exports
