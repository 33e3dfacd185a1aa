"""One attack, one verdict: the same Python code gives the same failure kind
whether it runs as a componentize-py `.wasm` or as a `.py` plugin on the
shared runtime, the two side by side in one daemon with a budget far above
what the code needs to hit its other limit (a short budget makes the
verdict a race between limits on a loaded machine). The `.py` runtime
always applies the SDK's guard, so code that lets an exception escape
`poll` unguarded is a `guest-error` there and a `trap` as a bare `.wasm`:
the kind says what became of the instance (README, failure kinds)."""

import re
import shutil

import pytest

from conftest import ROOT, plugin, write_config

SOURCES = ROOT / "tests" / "plugins"


@pytest.mark.parametrize("name,kind,message", [
    ("recurse", "guest-error", "RecursionError"),          # unbounded recursion
    ("hog", "guest-error", "reached its memory limit"),    # allocation without bound
    ("always-raises", "guest-error", "KeyError"),           # a Python exception
    ("spin", "budget-exceeded", "budget"),                  # an endless loop
])
def test_the_same_code_fails_the_same_way_in_both_forms(tmp_path, daemons, name, kind, message):
    source = tmp_path / "source" / f"{name}.py"
    source.parent.mkdir()
    shutil.copy(SOURCES / name / "app.py", source)
    budget = 1000 if name == "spin" else 20000
    sections = "".join(
        f"[plugin {label}]\nfile = {path}\ninterval_s = 3600\nbudget_ms = {budget}\n"
        "grants = gpio-provider, logging\n"
        for label, path in (("as-wasm", plugin(name)), ("as-source", source)))
    daemon = daemons(write_config(tmp_path, "[http]\nenabled = false\n" + sections), tmp_path)
    verdicts = {}
    pattern = re.compile(r" (as-wasm|as-source): poll failed \(([a-z-]+)\) after [^:]*: (.*)")
    daemon.wait_for_log("as-wasm: poll failed (", timeout=180)
    daemon.wait_for_log("as-source: poll failed (", timeout=180)
    for match in pattern.finditer(daemon.log()):
        verdicts.setdefault(match.group(1), (match.group(2), match.group(3)))
    assert verdicts["as-wasm"][0] == kind, verdicts
    assert verdicts["as-source"][0] == kind, verdicts
    assert message in verdicts["as-wasm"][1] and message in verdicts["as-source"][1], verdicts
