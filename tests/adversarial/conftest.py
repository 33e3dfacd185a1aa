"""The adversarial suite shares the end-to-end tests' helpers (the real
daemon, real plugins): tests/e2e/conftest.py, loaded here as the module
`e2e_support` (not as `conftest`, a name pytest gives each directory's own)."""

import importlib.util
import pathlib
import sys

if "e2e_support" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "e2e_support", pathlib.Path(__file__).resolve().parents[1] / "e2e" / "conftest.py")
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    sys.modules["e2e_support"] = _module

daemons = sys.modules["e2e_support"].daemons  # the fixture
