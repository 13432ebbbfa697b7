"""Golden test: every sample message under samples/ parses to the canonical JSON beside it.

`samples/<folder>/<name>.edi` sits beside `samples/<folder>/<name>.json`, which holds what
`gateway parse --json samples/<folder>/<name>.edi` prints (docs/architecture.md, "The JSON
contract"), with every `file` field written relative to samples/ so the expectation does not depend
on where the repository is checked out. Emails (`samples/email/*.eml`) and spreadsheets
(`samples/sheets/*.xlsx`, `*.csv`) are samples too; the demo's order export is not. The
expected files were read field by field against the sample and the EDIFACT/EANCOM rules and,
for emails, against what the email says: when this test fails, decide which side is wrong,
do not regenerate.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.cli.parse import problem_to_json
from gateway.domain.documents import Document, document_to_json
from mappings.registry import read_documents

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MESSAGE_SUFFIX = ".edi"
MESSAGE_PATTERNS = (f"**/*{MESSAGE_SUFFIX}", "email/*.eml", "sheets/*.xlsx", "sheets/*.csv",
                    "x12/*.x12", "ubl/*.xml", "cxml/*.xml")
EXPECTED_SUFFIX = ".json"


def _relative(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


def _sample_files() -> list[Path]:
    return sorted({p for pattern in MESSAGE_PATTERNS for p in SAMPLES.glob(pattern)
                   if p.is_file()})


SAMPLE_FILES = _sample_files()


def parse_to_json(path: Path) -> dict[str, Any]:
    """What `gateway parse --json PATH` prints (gateway/cli.py `_stream_json`), built in-process,
    with the `file` fields relative to samples/."""
    name = _relative(path)
    documents: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for result in read_documents(path):
        if isinstance(result, Document):
            document = document_to_json(result)
            # An email's attachment keeps its place: "email/x.eml, attachment 'y.xlsx'".
            document["file"] = name + (result.file or "").removeprefix(str(path))
            documents.append(document)
        else:
            target = errors if result.is_error else warnings
            target.append(problem_to_json(result, name))
    # Through JSON and back, as the CLI prints it: StrEnum members become plain strings.
    return json.loads(json.dumps({"documents": documents, "errors": errors,
                                  "warnings": warnings}, ensure_ascii=False))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _difference(expected: Any, actual: Any, expected_name: str) -> str:
    diff = difflib.unified_diff(
        _pretty(expected).splitlines(keepends=True),
        _pretty(actual).splitlines(keepends=True),
        fromfile=f"{expected_name} (expected)",
        tofile="parsed now (actual)",
        n=4,
    )
    return "".join(diff)


def _expected(sample: Path) -> Any:
    return json.loads(sample.with_suffix(EXPECTED_SUFFIX).read_text(encoding="utf-8"))


def test_samples_exist() -> None:
    assert SAMPLE_FILES, f"no *{MESSAGE_SUFFIX} samples under {SAMPLES}"
    assert {p.suffix for p in SAMPLE_FILES} >= {".edi", ".eml", ".xlsx", ".csv"}


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=[_relative(p) for p in SAMPLE_FILES])
def test_sample_parses_to_its_golden_json(sample: Path) -> None:
    expected_path = sample.with_suffix(EXPECTED_SUFFIX)
    assert expected_path.is_file(), f"{_relative(sample)} has no {expected_path.name} beside it"
    expected = _expected(sample)
    actual = parse_to_json(sample)
    if actual != expected:
        pytest.fail(
            f"{_relative(sample)} does not parse to {_relative(expected_path)}:\n"
            + _difference(expected, actual, _relative(expected_path)),
            pytrace=False,
        )


def test_every_sample_has_its_json_and_every_json_its_sample() -> None:
    messages = {p.with_suffix("") for p in SAMPLE_FILES}
    expectations = {p.with_suffix("") for p in SAMPLES.rglob(f"*{EXPECTED_SUFFIX}")
                    if p.is_file()}
    missing_json = sorted(_relative(p) + EXPECTED_SUFFIX for p in messages - expectations)
    orphan_json = sorted(_relative(p) + EXPECTED_SUFFIX for p in expectations - messages)
    assert not missing_json, f"samples without expected JSON: {missing_json}"
    assert not orphan_json, f"expected JSON without a sample: {orphan_json}"


def test_expected_json_is_written_the_canonical_way() -> None:
    """indent=2, non-ASCII as is, keys in the order the code produces, a final newline: so
    that a hand edit shows up as a small diff in review."""
    badly_written = [
        _relative(p.with_suffix(EXPECTED_SUFFIX)) for p in SAMPLE_FILES
        if p.with_suffix(EXPECTED_SUFFIX).is_file()
        and p.with_suffix(EXPECTED_SUFFIX).read_text(encoding="utf-8") != _pretty(_expected(p))
    ]
    assert not badly_written, f"not written with indent=2, ensure_ascii=False: {badly_written}"


def test_cli_prints_what_the_golden_test_parses() -> None:
    """The in-process mirror above stays honest: `gateway parse --json` over every sample prints
    the same documents, errors and warnings, file after file, with the same exit status."""
    result = CliRunner().invoke(cli, ["parse", "--json", *(str(p) for p in SAMPLE_FILES)])
    assert result.exit_code in (0, 1), result.output
    printed = json.loads(result.output)
    for section in ("documents", "errors", "warnings"):
        for entry in printed[section]:
            entry["file"] = _relative(Path(entry["file"]))
    mirrored: dict[str, list[Any]] = {"documents": [], "errors": [], "warnings": []}
    for sample in SAMPLE_FILES:
        parsed = parse_to_json(sample)
        for section, entries in mirrored.items():
            entries.extend(parsed[section])
    assert result.exit_code == (1 if mirrored["errors"] else 0)
    if printed != mirrored:
        pytest.fail("gateway parse --json differs from the in-process parse:\n"
                    + _difference(mirrored, printed, "in-process parse"), pytrace=False)
