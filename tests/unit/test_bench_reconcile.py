"""`gateway bench reconcile`'s summary: medians per side over several runs, ratio to the
baseline."""

from __future__ import annotations

from rich.console import Console

from gateway.bench.reconcile import SideResult, cpu_per_message, reconcile_table, summarize


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


def test_cpu_per_message_gives_both_ceilings() -> None:
    # 1,000 messages: 2 s of the gateway's CPU, 1 s of the server's; the baseline reads
    # 500 a second (2 ms a message), on 2 cores.
    found = cpu_per_message(2.0, 1.0, 1000, 500.0, 2)
    assert found["cpu_ms_per_message"] == 2.0
    assert found["server_cpu_ms_per_message"] == 1.0
    assert found["ceiling_one_core"] == 1.0          # 2 ms / 2 ms
    assert found["ceiling_all_cores"] == round(2 * 2 / 3, 2)   # 2 ms over (3 ms / 2 cores)


def test_without_the_servers_cpu_only_the_one_core_ceiling_is_given() -> None:
    found = cpu_per_message(1.0, None, 1000, 500.0, 2)
    assert found["ceiling_one_core"] == 2.0
    assert found["server_cpu_ms_per_message"] is None
    assert found["ceiling_all_cores"] is None
    assert cpu_per_message(None, None, 1000, 500.0, 2)["ceiling_one_core"] is None


def test_the_summary_carries_each_sides_cpu_and_the_table_shows_it() -> None:
    results = {
        "pydifact": [SideResult("pydifact", 2.0, 1000)],
        "sqlite": [SideResult("sqlite", 1.0, 1000, 1.0, 0.0)],
        "postgresql": [SideResult("postgresql", s, 1000, 1.6, 0.8) for s in (2.0, 3.0, 2.5)],
    }
    summary = summarize(results, 100_000, 1000, 3, None, cores=2)
    postgresql = summary["sides"]["postgresql"]
    assert summary["cores"] == 2
    assert postgresql["cpu_ms_per_message"] == 1.6
    assert postgresql["server_cpu_ms_per_message"] == 0.8
    assert postgresql["ceiling_one_core"] == 1.25      # 2 ms / 1.6 ms
    assert postgresql["ceiling_all_cores"] == round(2 * 2 / 2.4, 2)
    assert "cpu_ms_per_message" not in summary["sides"]["pydifact"]
    console = Console(width=200, record=True)
    console.print(reconcile_table(summary))
    shown = console.export_text()
    assert "1.60 + server 0.80" in shown
    assert "1.25x, 1.67x" in shown
    assert "on 2 core(s)" in shown
