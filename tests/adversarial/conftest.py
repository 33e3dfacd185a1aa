"""The adversarial suite shares the end-to-end tests' helpers (the real
daemon, real plugins): load them from tests/e2e/conftest.py."""

import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "e2e_support", pathlib.Path(__file__).resolve().parents[1] / "e2e" / "conftest.py")
e2e_support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_support)

daemons = e2e_support.daemons  # the fixture
