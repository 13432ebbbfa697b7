"""`gateway parse`: exit status, JSON contract, located errors, tables, streamed outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.cli.parse import problem_to_json
from gateway.domain.documents import Document, document_to_json
from mappings.registry import read_documents

ROOT = Path(__file__).resolve().parents[2]
GOOD = ("UNB+UNOC:3+5412345000013:14+5400000000001:14+261120:1015+IC1'"
        "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+29'RFF+ON:4500012345'"
        "LIN+1+5+4000862141404:EN'QTY+113:80:PCE'DTM+69:20261205:102'PRI+AAA:12.50'"
        "UNT+8+1'UNZ+1+IC1'")
BROKEN = ("UNB+UNOC:3+S+R+261120:1015+IC2'UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'"
          "UNH+2+DESADV:D:96A:UN'BGM+351+D2+9'RFF+ON:PO7'LIN+1++4000862141404:EN'"
          "QTY+12:zwoelf'UNT+6+2'UNZ+2+IC2'")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_json_output_follows_the_contract(tmp_path: Path) -> None:
    path = write(tmp_path, "good.edi", GOOD)
    result = CliRunner().invoke(cli, ["parse", "--json", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"documents", "errors", "warnings"}
    (doc,) = out["documents"]
    assert doc["kind"] == "order_response"
    assert doc["status"] == "accepted"
    assert doc["order_numbers"] == ["4500012345"]
    line = doc["lines"][0]
    assert (line["quantity"], line["unit"], line["price"], line["delivery_date"]) == (
        "80", "PCE", "12.50", "2026-12-05")
    assert line["item"]["gtin"] == "4000862141404"


def test_errors_are_located_and_good_documents_still_printed(tmp_path: Path) -> None:
    good = write(tmp_path, "good.edi", GOOD)
    broken = write(tmp_path, "broken.edi", BROKEN)
    result = CliRunner().invoke(cli, ["parse", "--json", str(good), str(broken)])
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert [d["document_number"] for d in out["documents"]] == ["RSP-1", "D2"]
    (error,) = out["errors"]
    assert error["file"] == str(broken)
    assert (error["message_index"], error["segment"], error["tag"], error["code"]) == (
        1, 3, "UNH", "MESSAGE_NOT_TERMINATED")
    assert error["contrl_code"] == "13"
    d2 = out["documents"][1]
    assert d2["lines"][0]["quantity"] is None
    assert [w["code"] for w in d2["warnings"]] == ["INVALID_NUMBER"]


def test_unreadable_and_foreign_files_are_errors_not_tracebacks(tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\xff")
    result = CliRunner().invoke(cli, ["parse", "--json", str(pdf), str(tmp_path / "missing")])
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert [e["code"] for e in out["errors"]] == ["NOT_EDIFACT", "NOT_EDIFACT"]
    assert "cannot read the file" in out["errors"][1]["detail"]


def test_table_output_names_documents_and_problems(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.edi", BROKEN)
    result = CliRunner().invoke(cli, ["parse", str(broken)])
    assert result.exit_code == 1
    assert "D2" in result.output
    assert "MESSAGE_NOT_TERMINATED" in result.output
    assert "zwoelf" in result.output


def test_folders_are_expanded_and_expected_json_skipped(tmp_path: Path) -> None:
    write(tmp_path, "good.edi", GOOD)
    (tmp_path / "good.json").write_text("{}")
    result = CliRunner().invoke(cli, ["parse", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["documents"]) == 1


@pytest.mark.parametrize("source", ["README.md", "gateway/cli/parse.py"])
def test_the_design_document_the_readme_cites_exists(source: str) -> None:
    """README and `gateway parse --help` send the reader to documents by name (the canonical
    JSON is described in docs/architecture.md): every document they cite is in the
    repository."""
    cited = set(re.findall(r"\b([A-Z]+\.md)\b", (ROOT / source).read_text()))
    missing = sorted(name for name in cited if not (ROOT / name).exists())
    assert missing == []


SAMPLES = ROOT / "samples"
SAMPLE_FILES = sorted(p for pattern in ("**/*.edi", "email/*.eml", "sheets/*.xlsx",
                                        "sheets/*.csv") for p in SAMPLES.glob(pattern))


def read_whole(path: Path) -> dict[str, list[dict[str, Any]]]:
    """What `--json` holds, built in memory from the registry (every format's reader)."""
    out: dict[str, list[dict[str, Any]]] = {"documents": [], "errors": [], "warnings": []}
    for result in read_documents(path):
        if isinstance(result, Document):
            out["documents"].append(document_to_json(result))
        else:
            out["errors" if result.is_error else "warnings"].append(
                problem_to_json(result, str(path)))
    return json.loads(json.dumps(out))


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.relative_to(SAMPLES).as_posix())
def test_streamed_json_holds_what_the_registry_reads_whole(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", "--json", str(sample)])
    assert json.loads(result.output) == read_whole(sample)
    assert result.exit_code == (1 if read_whole(sample)["errors"] else 0)


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.relative_to(SAMPLES).as_posix())
def test_json_lines_hold_the_same_documents_and_problems_one_per_line(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", "--jsonl", str(sample)])
    lines = [json.loads(line) for line in result.output.splitlines()]
    whole = read_whole(sample)
    assert [line for line in lines if "kind" in line] == whole["documents"]
    problems = [line for line in lines if "severity" in line]
    assert [p for p in problems if p["severity"] == "error"] == whole["errors"]
    assert [p for p in problems if p["severity"] == "warning"] == whole["warnings"]
    assert len(problems) + len(whole["documents"]) == len(lines)


def test_json_of_several_files_is_one_object_with_errors_and_warnings_apart(
        tmp_path: Path) -> None:
    good = write(tmp_path, "good.edi", GOOD)
    broken = write(tmp_path, "broken.edi", BROKEN)
    result = CliRunner().invoke(cli, ["parse", "--json", str(good), str(broken), str(good)])
    out = json.loads(result.output)
    assert [d["document_number"] for d in out["documents"]] == ["RSP-1", "D2", "RSP-1"]
    assert [e["file"] for e in out["errors"]] == [str(broken)]
    assert out["warnings"] == []


def test_json_and_json_lines_together_are_refused(tmp_path: Path) -> None:
    good = write(tmp_path, "good.edi", GOOD)
    result = CliRunner().invoke(cli, ["parse", "--json", "--jsonl", str(good)])
    assert result.exit_code == 2
    assert "choose one" in result.output


def interchange(messages: int) -> str:
    body = "".join(f"UNH+{n}+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-{n}+29'RFF+ON:45000{n:05d}'"
                   f"LIN+1+5+4000862141404:EN'QTY+113:{'x' if n % 2 else '8'}:PCE'UNT+6+{n}'"
                   for n in range(1, messages + 1))
    return f"UNB+UNOC:3+S+R+261120:1015+IC9'{body}UNZ+{messages}+IC9'"


def test_the_table_gives_way_to_a_summary_past_the_rows_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "many.edi", interchange(12))
    result = CliRunner().invoke(cli, ["parse", "--rows", "5", str(path)])
    assert result.exit_code == 0, result.output
    assert [n for n in range(1, 13) if f"RSP-{n} " in result.output] == [1, 2, 3, 4, 5]
    assert "12 documents (12 ORDRSP), 12 lines, 0 errors; the first 5 listed" in result.output
    # 6 of the 12 quantities are unreadable: 3 warnings listed under rows 1, 3, 5, 3 counted.
    assert result.output.count("INVALID_NUMBER:") == 3
    assert "warnings not listed: 3 INVALID_NUMBER" in result.output


def test_the_table_lists_every_row_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "many.edi", interchange(12))
    result = CliRunner().invoke(cli, ["parse", "--rows", "0", str(path)])
    assert all(f"RSP-{n} " in result.output for n in range(1, 13))
    assert "listed" not in result.output
