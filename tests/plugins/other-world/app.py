"""Test plugin for another world: exports a greeter, not sensor-logic."""

from wit_world import exports


class Greeter(exports.Greeter):
    def greet(self, name: str) -> str:
        return f"hello {name}"
