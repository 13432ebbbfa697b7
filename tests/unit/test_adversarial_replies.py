"""The adversarial reply corpus (samples/replies/adversarial.yaml), case by case, and the
`gateway bench replies` measurement over it: no reply may yield a confirmation it does not
state, nor read the supplier's own numbers as the buyer's order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.bench.replies import Case, evaluate, load_cases
from gateway.cli import cli

CORPUS = Path(__file__).resolve().parents[2] / "samples" / "replies" / "adversarial.yaml"
CASES = load_cases(CORPUS)


def test_the_corpus_is_large_and_covers_the_languages() -> None:
    assert len(CASES) >= 100
    languages = {case.language for case in CASES}
    assert {"en", "de", "zh"} <= languages
    assert {"fr", "es", "ja"} <= languages
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_reply_yields_what_it_states_and_nothing_more(case: Case) -> None:
    verdict = evaluate(case)
    assert verdict.wrong == [], case.text
    assert verdict.supplier_numbers == [], case.text
    assert verdict.missed == [], case.text


def test_bench_replies_reports_precision_and_recall_as_json() -> None:
    result = CliRunner().invoke(cli, ["bench", "replies", "--corpus", str(CORPUS), "--json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.output)["total"]
    assert total["cases"] == len(CASES)
    assert (total["wrong_confirmations"], total["precision"], total["recall"]) == (0, 1.0, 1.0)


def test_bench_replies_fails_on_a_wrong_confirmation(tmp_path: Path) -> None:
    """A corpus that says a reply confirms nothing, where the reader finds a confirmation:
    the wrong confirmation is named and the exit status is 1."""
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text('- id: en-states-nothing\n'
                      '  text: "PO 4500012345 line 10: 100 pcs confirmed"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["bench", "replies", "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert "WRONG en-states-nothing: line 4500012345/10 confirmed" in result.output


def test_bench_replies_refuses_a_corpus_it_cannot_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("- id: no-text\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["bench", "replies", "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert "every case needs an id and a text" in result.output
