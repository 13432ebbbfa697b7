"""`gateway parse`: exit status, JSON contract, located errors, tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

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
