"""The process-level tuning the CLI entry point applies before any work, and the JSON text
the engines write."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.bootstrap import json_text, tune_garbage_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_collects_the_young_generation_less_often_and_freezes_start_up_objects() -> None:
    assert gc.get_threshold()[0] < 20_000
    tune_garbage_collector()
    assert gc.get_threshold()[0] == 20_000
    assert gc.get_freeze_count() > 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(_JSON)
def test_json_text_reads_back_as_what_the_standard_library_writes(value: Any) -> None:
    # Integers beyond 64 bits are among the generated values: they take the fallback.
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_json_text_takes_what_only_the_standard_library_takes() -> None:
    assert json.loads(json_text({1: 2**70})) == {"1": 2**70}


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [{"when": date(2026, 11, 27)}, [_Point(1)]])
def test_json_text_refuses_what_the_standard_library_refuses(value: object) -> None:
    with pytest.raises(TypeError):
        json_text(value)
