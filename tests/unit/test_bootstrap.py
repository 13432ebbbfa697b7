"""The process-level tuning the CLI entry point applies before any work."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.bootstrap import tune_garbage_collector


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
