"""`gateway bench startup` and `gateway bench parse-cli`: whole processes, each one's own peak
memory, every document read. No timing is asserted; only that the benchmarks measure what they
claim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.bench.cli import BenchmarkRunError, count_json_lines, run_process, write_messages
from gateway.cli import cli


def test_a_child_reports_its_own_peak_memory_not_this_process_s() -> None:
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touched: resident in this process
    touch_60_mb = "x = bytearray(60 << 20); x[::4096] = b'1' * len(x[::4096])"
    run = run_process([sys.executable, "-c", touch_60_mb])
    assert 60 < run.peak_mb < 120
    assert run.seconds > 0
    assert run.cpu_s > 0
    del ballast


def test_a_side_that_fails_is_an_error_not_a_timing() -> None:
    with pytest.raises(BenchmarkRunError, match="ended with status 3"):
        run_process([sys.executable, "-c", "raise SystemExit(3)"])


def test_the_check_run_counts_every_document_gateway_parse_printed(tmp_path: Path) -> None:
    path = tmp_path / "desadv.edi"
    write_messages(path, "DESADV", 25)
    assert count_json_lines(path, [sys.executable, "-m", "gateway", "parse"]) == 25


def test_parse_cli_reports_ratios_and_each_mode_s_peak_memory() -> None:
    result = CliRunner().invoke(cli, ["bench", "parse-cli", "--messages", "30",
                                      "--large-messages", "60", "--memory-mb", "0",
                                      "--runs", "1", "--json"])
    out = json.loads(result.output)
    desadv = out["interchanges"]["desadv"]
    assert set(desadv["sides"]) == {"pydifact", "gateway --json", "gateway --jsonl",
                                    "gateway (table)"}
    assert set(out["interchanges"]["desadv-large"]["sides"]) == {
        "gateway --json", "gateway --jsonl", "gateway (table)"}
    assert out["json_vs_pydifact"] == pytest.approx(
        desadv["sides"]["pydifact"]["median_s"] / desadv["sides"]["gateway --json"]["median_s"])
    assert 10 < out["peak_rss_mb"] < 150
    assert len(out["load"]) == 3
    assert result.exit_code == (0 if out["json_meets_target"] and out["rss_under_limit"] else 1)


def test_startup_compares_help_with_importing_click() -> None:
    result = CliRunner().invoke(cli, ["bench", "startup", "--runs", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    sides = out["sides"]
    assert list(sides)[:2] == ["python -c 'import click'", "gateway --help"]
    assert out["help_vs_import_click"] == pytest.approx(
        sides["gateway --help"]["median_s"] / sides["python -c 'import click'"]["median_s"])
