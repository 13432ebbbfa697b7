"""The inputs and report of `gateway bench reading`. No timing is asserted; only that the
benchmark measures what it claims: bodies of the sizes and shapes named, hostile messages that
are what their names say, and refusals checked."""

from __future__ import annotations

import io
import json
import re
import zipfile
from email import message_from_bytes

import click
import pytest
from rich.console import Console

from gateway.bench.common import BenchmarkError, TimedSide
from gateway.bench.reading import (
    CASES,
    LARGE,
    SMALL,
    BodyResult,
    CaseResult,
    HostileCase,
    body_table,
    case_table,
    email_with_workbook,
    empty_cells_workbook,
    many_parts_email,
    memory_kb,
    pathological_body,
    realistic_body,
    results_json,
    run_case,
    shared_strings_workbook,
)
from gateway.cli import cli
from mappings.email.body import map_email_body
from parsers.mime import parse_email


def test_bodies_have_the_size_and_shape_named() -> None:
    pathological = pathological_body(SMALL)
    assert len(pathological) == SMALL
    assert "\n" not in pathological
    assert pathological.startswith("Lieferung 1.5 2,5 Lieferung")
    realistic = realistic_body(SMALL)
    assert len(realistic) == SMALL
    assert realistic.count("\n") > 1000
    assert "\n> From:" in realistic


def test_the_realistic_body_is_read_as_answers() -> None:
    results = map_email_body(realistic_body(4096))
    assert sum(len(getattr(r, "lines", ())) for r in results) > 20


def _member(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def test_the_shared_strings_workbook_holds_and_declares_what_it_says() -> None:
    table = _member(shared_strings_workbook(1000, declared=1), "xl/sharedStrings.xml")
    assert table.count(b"<si>") == 1000
    assert re.search(rb'uniqueCount="1"', table)
    assert b'uniqueCount="1000"' in _member(shared_strings_workbook(1000),
                                             "xl/sharedStrings.xml")


def test_the_empty_cells_workbook_holds_only_empty_cells() -> None:
    sheet = _member(empty_cells_workbook(40_000), "xl/worksheets/sheet1.xml")
    assert sheet.count(b"<c/>") == 40_000
    assert b"<v>" not in sheet
    assert sheet.count(b"<row ") == 3


def test_hostile_emails_carry_what_they_say() -> None:
    parsed = message_from_bytes(many_parts_email(30))
    assert len(parsed.get_payload()) == 30  # type: ignore[arg-type]
    attached = parse_email(email_with_workbook(b"PK-bytes"))
    [attachment] = attached.attachments
    assert (attachment.filename, attachment.content) == ("AB_4500012345.xlsx", b"PK-bytes")


def test_every_case_names_the_refusal_it_expects() -> None:
    assert len(CASES) == 5
    assert all(case.refusal for case in CASES)


def test_a_case_not_refused_as_expected_fails_the_benchmark(tmp_path) -> None:
    case = HostileCase("a small reply", lambda: many_parts_email(3), "more than 500 MIME parts")
    with pytest.raises(BenchmarkError, match="not refused with"):
        run_case(case, tmp_path)


def test_a_case_is_measured_in_a_process_of_its_own(tmp_path) -> None:
    case = HostileCase("parts", lambda: many_parts_email(600), "more than 500 MIME parts")
    result = run_case(case, tmp_path)
    assert result.input_bytes == len(many_parts_email(600))
    assert "more than 500 MIME parts" in result.refusal
    assert result.seconds >= 0
    assert result.extra_mb >= 0


def test_memory_is_read_from_the_process_status() -> None:
    assert memory_kb("VmHWM") >= memory_kb("VmRSS") > 0


def _results() -> tuple[list[BodyResult], list[CaseResult]]:
    bodies = [BodyResult("pathological", TimedSide("p", "100 KiB", [0.1, 0.2, 0.3]),
                         TimedSide("p", "1 MiB", [2.0, 1.0, 3.0])),
              BodyResult("realistic", TimedSide("r", "100 KiB", [0.1]),
                         TimedSide("r", "1 MiB", [1.3]))]
    cases = [CaseResult("email, 2,000 MIME parts", 1000, 0.5, 12.0, "more than 500 MIME parts"),
             CaseResult("slow", 10, 2.5, 1.0, "x")]
    return bodies, cases


def test_ratios_and_targets() -> None:
    (pathological, realistic), (fast, slow) = _results()
    assert pathological.ratio == pytest.approx(2.0 / 0.2)
    assert pathological.meets_target
    assert realistic.ratio == pytest.approx(13.0)
    assert not realistic.meets_target
    assert fast.meets_target
    assert not slow.meets_target


def test_results_json_and_tables() -> None:
    bodies, cases = _results()
    data = json.loads(json.dumps(results_json(bodies, cases, 3)))
    assert [b["ratio"] for b in data["bodies"]] == [pytest.approx(10.0), pytest.approx(13.0)]
    assert data["bodies"][0]["large_seconds"] == [2.0, 1.0, 3.0]
    assert [c["meets_target"] for c in data["cases"]] == [True, False]
    assert (data["target_ratio"], data["target_seconds"], data["target_extra_mb"]) == (
        12.0, 2.0, 100.0)
    console = Console(width=200, record=True)
    console.print(body_table(bodies, 3))
    console.print(case_table(cases))
    printed = console.export_text()
    assert "10.0 ✓" in printed
    assert "13.0 ✗" in printed
    assert "2.50 ✗" in printed


def test_the_command_is_registered() -> None:
    bench = cli.get_command(click.Context(cli), "bench")  # commands load on use
    assert "reading" in bench.commands  # type: ignore[union-attr]
    assert (LARGE, SMALL) == (1024 * 1024, 100 * 1024)
