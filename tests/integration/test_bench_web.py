"""`gateway bench web` end to end at a small scale: it seeds a scratch PostgreSQL database,
serves `gateway web`, measures every page, runs the captured queue SQL bare, and drops the
database afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from gateway.cli import cli
from gateway.runtime import usable_cpus
from tests.integration.conftest import POSTGRES_ADMIN_URL


def _bench_databases() -> set[str]:
    admin = create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as connection:
            return set(connection.scalars(text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'gateway_bench_%'")))
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    finally:
        admin.dispose()


def test_bench_web_measures_every_page_against_the_bare_sql_and_cleans_up(
        tmp_path: Path) -> None:
    before = _bench_databases()
    answer = CliRunner().invoke(cli, [
        "bench", "web", "--exceptions", "3000", "--lines", "20000", "--orders", "1000",
        "--requests", "5", "--seconds", "0.5", "--rounds", "1", "--concurrency", "2",
        "--postgres-url", POSTGRES_ADMIN_URL, "--log", str(tmp_path / "web.log"), "--json"])
    result = json.loads(answer.output)
    assert result["rows"] == {"order_lines": 20000, "exceptions": 3000,
                              "purchase_orders": 1000, "suppliers": 100}
    assert set(result["latency"]) == {"page", "api", "api_deep", "api_filtered",
                                      "page_filtered"}
    assert all(page["requests"] == 5 and 0 < page["median_ms"] <= page["p99_ms"]
               for page in result["latency"].values())
    put = result["throughput"]
    assert put["api_median_per_s"] > 0
    assert put["bare_median_per_s"] > 0
    assert put["server_cpu_ms_per_request"] > 0
    # the floors: a bare uvicorn app serving the same page, without and with its SQL
    assert set(put["floors"]) == {"floor_http", "floor_query", "floor_async_query"}
    assert all(floor["median_per_s"] > 0 and floor["ratio"] > 0
               for floor in put["floors"].values())
    # what `gateway web` runs by default: one worker per usable CPU
    assert result["web_workers"] == usable_cpus()
    # the bare side runs the one statement the API's page runs, in the index's order
    assert len(result["queue_sql"]) == 1
    assert "ORDER BY exceptions.risk DESC, exceptions.id DESC" in result["queue_sql"][0]
    assert "ix_exceptions_risk_id" in result["queue_plan_100_pages_in"]
    met = result["latency_meets_target"] and result["ratio_meets_target"]
    assert answer.exit_code == (0 if met else 1)
    # the run's scratch database is dropped (other runs on the machine may hold their own)
    assert result["database"].startswith("gateway_bench_")
    assert result["database"] not in _bench_databases() | before
