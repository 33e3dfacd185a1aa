"""Test plugin: version 2 of stateful-counter, counting in steps of 10."""

import counter_core

counter_core.STEP = 10
counter_core.LABEL = "counter-v2"

from counter_core import Lifecycle, SensorLogic  # noqa: E402,F401 - the exports
