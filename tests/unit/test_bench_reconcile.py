"""`gateway bench reconcile`'s summary: medians per side over several runs, ratio to the
baseline."""

from __future__ import annotations

from gateway.bench.reconcile import SideResult, summarize


def test_several_runs_give_medians_and_their_ratio() -> None:
    results = {
        "pydifact": [SideResult("pydifact", seconds, 1000) for seconds in (2.0, 1.0, 4.0)],
        "sqlite": [SideResult("sqlite", seconds, 1000) for seconds in (1.0, 0.5, 2.0)],
        "postgresql": [],
    }
    summary = summarize(results, 100_000, 1000, 3, None)
    pydifact, sqlite = summary["sides"]["pydifact"], summary["sides"]["sqlite"]
    assert "postgresql" not in summary["sides"]
    assert pydifact["messages_per_s"] == 500.0
    assert pydifact["seconds"] == 2.0
    assert sqlite["messages_per_s"] == 1000.0
    assert sqlite["ratio_to_pydifact"] == 2.0
    assert sqlite["seconds"] == 1.0


def test_postgresql_is_compared_with_sqlite_run_by_run() -> None:
    results = {
        "pydifact": [SideResult("pydifact", 1.0, 1000) for _run in range(3)],
        # Run 2 ran on a loaded machine: both databases slower, their ratio the same.
        "sqlite": [SideResult("sqlite", seconds, 1000) for seconds in (1.0, 4.0, 1.0)],
        "postgresql": [SideResult("postgresql", seconds, 1000) for seconds in (2.0, 8.0, 1.0)],
    }
    summary = summarize(results, 100_000, 1000, 3, None)
    assert summary["postgresql_vs_sqlite"] == 0.5
    assert summary["sides"]["postgresql"]["ratio_to_pydifact"] == 0.5
    assert summary["target_ratio_postgresql"] == 1.3


def test_without_postgresql_there_is_no_comparison() -> None:
    results = {"pydifact": [SideResult("pydifact", 1.0, 1000)],
               "sqlite": [SideResult("sqlite", 1.0, 1000)], "postgresql": []}
    assert summarize(results, 100_000, 1000, 1, "refused")["postgresql_vs_sqlite"] is None
