"""Which build a benchmark measures: plain Python, or the hot path compiled with mypyc.

`setup.py` compiles the parsing, mapping and reconciliation modules when the distribution is
built with GATEWAY_MYPYC=1; an editable development install runs them as plain Python. A
benchmark prints which one it ran, so that no figure is quoted for the wrong build.
"""

from __future__ import annotations

import importlib.machinery
import sys
from dataclasses import dataclass

# The packages whose modules setup.py may compile.
_HOT_PACKAGES = ("parsers.", "mappings.", "gateway.domain.")


@dataclass(frozen=True, slots=True)
class Build:
    compiled: tuple[str, ...]
    plain: tuple[str, ...]

    @property
    def label(self) -> str:
        if not self.compiled:
            return "plain Python"
        return f"mypyc-compiled ({len(self.compiled)} modules)"

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "compiled_modules": list(self.compiled)}


def current_build() -> Build:
    """The loaded hot-path modules, split by whether they came from an extension module."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    compiled: list[str] = []
    plain: list[str] = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not name.startswith(_HOT_PACKAGES) or not path:
            continue
        (compiled if path.endswith(suffixes) else plain).append(name)
    return Build(tuple(compiled), tuple(plain))
