"""What every benchmark shares: nearest-rank percentiles and the check of what a side read."""

from __future__ import annotations

import pytest

from gateway.bench.common import BenchmarkError, TimedSide, check, nearest_rank, percentile


def test_percentile_is_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]     # unsorted on purpose
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert (nearest_rank(values, 0.5), nearest_rank(values, 0.99)) == (50.0, 99.0)
    assert nearest_rank([3.0], 0.99) == 3.0


def test_float_noise_does_not_move_the_rank_up() -> None:
    # 0.07 * 100 is 7.000000000000001: the 7th value, not the 8th.
    assert nearest_rank([float(v) for v in range(1, 101)], 0.07) == 7.0


def test_a_side_that_read_something_else_stops_the_benchmark() -> None:
    check("ours", 3, 3)
    with pytest.raises(BenchmarkError, match="ours read 2, expected 3"):
        check("ours", 2, 3)


def test_a_timed_side_reports_the_median_of_its_runs() -> None:
    side = TimedSide("ours", "ours parse+map", [3.0, 1.0, 2.0])
    assert side.median == 2.0
