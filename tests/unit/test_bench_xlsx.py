"""The synthetic confirmation of `gateway bench xlsx`: shaped as suppliers send them, and read
whole by both sides. No timing is asserted; only that the benchmark measures what it claims."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date

import pytest
from click.testing import CliRunner

from gateway.bench.common import BenchmarkError
from gateway.bench.xlsx import (
    COLUMNS,
    HEADER_ROW,
    XlsxResult,
    build_confirmation,
    openpyxl_rows,
    read_and_map,
    read_only,
    results_json,
    run_sides,
    speed_table,
)
from gateway.cli import cli

ROWS = 10_000
SHEET_XML = "xl/worksheets/sheet1.xml"


def sheet_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(SHEET_XML).decode()


@pytest.fixture(scope="module")
def confirmation() -> bytes:
    return build_confirmation(ROWS)


def test_the_workbook_has_the_data_rows_asked_for_below_a_title_block(confirmation):
    xml = sheet_xml(confirmation)
    numbers = [int(n) for n in re.findall(r'<row r="(\d+)"', xml)]

    assert numbers == list(range(1, HEADER_ROW + ROWS + 1))  # counted without our reader
    assert sorted(re.findall(r'<mergeCell ref="([^"]+)"', xml)) == ["A1:J1", "A2:J2", "A3:J3"]


def test_both_sides_read_every_row_of_the_same_file(confirmation):
    assert openpyxl_rows(confirmation) == HEADER_ROW + ROWS
    tally = read_and_map(confirmation)
    assert (tally.lines, tally.errors, tally.warnings) == (ROWS, 0, 0)
    assert tally.documents > ROWS // 20  # orders of 5-20 lines


def test_the_sheet_reads_as_a_supplier_wrote_it(confirmation):
    [table] = read_only(confirmation).tables
    rows = {row.number: row.cells for row in table.rows}

    assert rows[1] == ("Order confirmation",) * len(COLUMNS)  # merged over the table
    assert rows[HEADER_ROW] == COLUMNS
    first = rows[HEADER_ROW + 1]
    assert type(first[COLUMNS.index("Delivery date")]) is date  # a date cell, not text
    assert first[COLUMNS.index("Currency")] == "EUR"


def test_the_workbook_is_the_same_for_a_seed():
    # The package's modification time changes at every save; the sheet does not.
    assert sheet_xml(build_confirmation(30)) == sheet_xml(build_confirmation(30))
    assert sheet_xml(build_confirmation(30, seed=1)) != sheet_xml(build_confirmation(30))


def test_each_side_is_timed_every_run_and_reported():
    result = run_sides(build_confirmation(60), 60, runs=2)

    assert isinstance(result, XlsxResult)
    assert set(result.sides) == {"openpyxl", "ours", "read", "map"}
    assert all(len(side.seconds) == 2 for side in result.sides.values())
    report = results_json(result)
    assert report["rows"] == 60
    assert report["lines"] == 60
    assert report["meets_target"] is (report["ratio"] >= report["target_ratio"])
    assert speed_table(result).row_count == 4


def test_a_side_reading_other_than_what_was_written_stops_the_benchmark():
    with pytest.raises(BenchmarkError, match="openpyxl read"):
        run_sides(build_confirmation(20), 21, runs=1)


def test_bench_xlsx_command_prints_json():
    outcome = CliRunner().invoke(cli, ["bench", "xlsx", "--rows", "40", "--runs", "1", "--json"])

    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout)
    assert report["rows"] == 40
    assert set(report["sides"]) == {"openpyxl", "ours", "read", "map"}
