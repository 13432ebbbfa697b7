"""`gateway bench pipeline`'s own logic: percentiles, ratios and their marks, the exactly-once
check, the databases and worker environments it names. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from gateway.bench.build import current_build
from gateway.bench.common import database_url
from gateway.bench.pipeline import (
    SIDES,
    PipelineSide,
    exactly_once,
    intakes_of,
    mark,
    pipeline_table,
    summarize,
    worker_build,
    worker_env,
)
from gateway.bench.reconcile import make_messages, make_orders
from gateway.cli import cli
from gateway.config import Settings

ROWS = {"documents": 100, "line_versions": 2500, "exceptions": 40, "exception_events": 40,
        "duplicate versions": 0, "messages reconciled": 100}


def side(name: str, seconds: float, rows: dict[str, int] | None = None,
         latencies: tuple[float, ...] = (10.0, 20.0, 30.0)) -> PipelineSide:
    label, workers = {n: (lab, w) for n, lab, w in SIDES}[name]
    return PipelineSide(name, label, workers, seconds, 100, latencies, rows or dict(ROWS))


def test_ratios_compare_two_workers_with_one_and_one_worker_with_the_synchronous_path():
    result = summarize([side("sync", 10.0), side("celery-1w", 20.0), side("celery-2w", 12.5)],
                       1000, 100)
    assert result["celery_vs_sync"] == 0.5             # 5 msgs/s against 10
    assert result["two_workers_vs_one"] == 1.6         # 8 against 5
    assert result["celery_2w_vs_sync"] == 0.8
    assert result["sides"]["celery-2w"]["messages_per_s"] == 8.0
    assert result["sides"]["sync"]["latency_p50_ms"] == 20.0
    assert result["sides"]["sync"]["latency_p99_ms"] == 30.0
    assert result["exactly_once"]["ok"]
    assert (result["target_two_workers_vs_one"], result["target_celery_vs_sync"]) == (1.4, 0.5)


def test_a_missing_side_gives_no_ratio():
    result = summarize([side("sync", 10.0)], 1000, 100)
    assert result["celery_vs_sync"] is None
    assert result["two_workers_vs_one"] is None


def test_marks_meet_or_miss_their_targets():
    assert mark(1.4, 1.4) == "1.40x ✓"
    assert mark(1.39, 1.4) == "1.39x < 1.4x ✗"
    assert mark(None, 1.4) == ""


def test_exactly_once_finds_a_second_processing_and_unreconciled_messages():
    twice = dict(ROWS, line_versions=2510, **{"duplicate versions": 10})
    short = dict(ROWS, **{"messages reconciled": 99, "messages received": 1})
    once = exactly_once([side("sync", 1.0), side("celery-1w", 1.0, twice),
                         side("celery-2w", 1.0, short)])
    assert not once["ok"]
    problems = "\n".join(once["problems"])
    assert "celery-1w: duplicate versions 10 != 0, line_versions 2510 != 2500" in problems
    assert "celery-1w: 10 duplicate versions" in problems
    assert "celery-2w: 99 of 100 messages reconciled" in problems
    assert "messages received 1 != None" in problems
    assert "sync" not in problems


def test_the_table_shows_every_side_its_ratio_marks_and_the_exactly_once_verdict():
    result = summarize([side("sync", 10.0), side("celery-1w", 25.0), side("celery-2w", 12.5)],
                       1000, 100)
    console = Console(width=200, record=True)
    console.print(pipeline_table(result))
    shown = console.export_text()
    assert "synchronous ingest" in shown
    assert "vs sync 0.40x < 0.5x ✗" in shown
    assert "vs 1 worker 2.00x ✓" in shown
    assert "exactly once: every message reconciled" in shown
    broken = summarize([side("sync", 1.0), side("celery-1w", 1.0, dict(ROWS, documents=1))],
                       1000, 100)
    console = Console(width=200, record=True)
    console.print(pipeline_table(broken))
    assert "exactly once ✗: celery-1w: documents 1 != 100" in console.export_text()


def test_copies_of_the_template_live_on_the_same_server():
    server = "postgresql+psycopg://bench:secret@db.example:5433/postgres"
    assert database_url(server, "gateway_bench_1") == (
        "postgresql+psycopg://bench:secret@db.example:5433/gateway_bench_1")


def test_workers_get_the_copy_the_broker_and_a_queue_of_their_own(tmp_path: Path):
    settings = Settings("postgresql+psycopg://postgres@127.0.0.1:5432/gateway_bench_1")
    env = worker_env(settings, "redis://127.0.0.1:6379/0", "gateway-bench-x", tmp_path,
                     {"PATH": "/bin", "GATEWAY_BROKER_URL": "redis://elsewhere/0"})
    assert env == {"PATH": "/bin", "GATEWAY_DATABASE_URL": settings.database_url,
                   "GATEWAY_BROKER_URL": "redis://127.0.0.1:6379/0",
                   "GATEWAY_PIPELINE_QUEUE": "gateway-bench-x", "GATEWAY_VAR_DIR": str(tmp_path)}


def test_the_messages_are_those_of_bench_reconcile_each_from_the_bench_sender():
    orders = make_orders(2_000)
    messages = make_messages(orders, 100)
    intakes = intakes_of(messages)
    assert [i.raw for i in intakes] == messages
    assert {i.sender for i in intakes} == {"as2:bench"}
    assert len({i.filename for i in intakes}) == 100
    assert b"ORDRSP" in messages[0]
    assert b"DESADV" in messages[-1]


@pytest.mark.parametrize("option", ["--lines", "--messages", "--postgres-url", "--redis-url",
                                    "--json"])
def test_the_command_takes_its_options(option: str):
    shown = CliRunner().invoke(cli, ["bench", "pipeline", "--help"])
    assert shown.exit_code == 0
    assert option in shown.output


def test_the_workers_run_the_build_this_process_measures():
    # Started with -P: the checkout's sources never shadow an installed compiled build.
    assert worker_build() == current_build().label
