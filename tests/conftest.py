"""Shared fixtures: where the real-world corpus is, and how a missing one is handled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def require_corpus() -> Path:
    """The corpus folder; skip when it is absent outside CI, fail under CI=true."""
    if CORPUS.is_dir():
        return CORPUS
    if os.environ.get("CI") == "true":
        pytest.fail(f"the real-world corpus is missing at {CORPUS}; CI always has it")
    pytest.skip(f"the real-world corpus is not at {CORPUS} (only CI and developers have it)")
