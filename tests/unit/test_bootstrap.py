"""The process-level tuning the CLI entry point applies before any work, and the JSON text
the engines write."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.bootstrap import (
    SERVING_POOL_OVERFLOW,
    SERVING_POOL_SIZE,
    ServingPool,
    json_text,
    serving_pool,
    tune_garbage_collector,
)
from gateway.runtime import cpus_of_quota, usable_cpus


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


def test_the_web_pool_is_shared_out_between_the_workers() -> None:
    assert serving_pool(1) == ServingPool(SERVING_POOL_SIZE, SERVING_POOL_OVERFLOW)
    assert serving_pool(2) == ServingPool(5, 10)
    assert serving_pool(3) == ServingPool(4, 7)  # rounded up
    assert serving_pool(64) == ServingPool(2, 4)  # never below a working pool


@given(st.integers(min_value=1, max_value=64))
def test_the_workers_together_hold_about_the_single_process_pool(workers: int) -> None:
    pool = serving_pool(workers)
    assert SERVING_POOL_SIZE <= workers * pool.size <= max(
        SERVING_POOL_SIZE + workers, 2 * workers)
    assert workers * (pool.size + pool.overflow) <= max(
        SERVING_POOL_SIZE + SERVING_POOL_OVERFLOW + 2 * workers, 6 * workers)


@pytest.mark.parametrize(("cpu_max", "cpus"), [
    ("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1),
    ("", None), ("garbage", None), ("100000 0", None)])
def test_a_cgroup_cpu_quota_is_read_as_whole_cpus(cpu_max: str, cpus: int | None) -> None:
    assert cpus_of_quota(cpu_max) == cpus


def test_the_usable_cpus_are_the_affinity_limited_by_the_quota(tmp_path: Path) -> None:
    import os

    affinity = len(os.sched_getaffinity(0))
    limit = tmp_path / "cpu.max"
    limit.write_text("100000 100000\n")
    assert usable_cpus(str(limit)) == 1
    limit.write_text("max 100000\n")
    assert usable_cpus(str(limit)) == affinity
    limit.write_text(f"{(affinity + 4) * 100000} 100000\n")
    assert usable_cpus(str(limit)) == affinity
    assert usable_cpus(str(tmp_path / "absent")) == affinity
