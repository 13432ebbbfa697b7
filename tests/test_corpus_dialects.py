"""The X12, UBL and cXML files of the real-world corpus: every file reads without a crash,
no well-formed file is refused, and at least 98% of the hand-read line facts (item, quantity,
unit, date, status code, order, price) are carried by the canonical lines, the same way
tests/test_corpus.py holds the EDIFACT files to theirs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from gateway.domain.documents import Document, DocumentKind, DocumentStatus, Line
from mappings.registry import read_documents
from parsers.errors import Problem
from tests.conftest import CORPUS, require_corpus

PREFIXES = ("x12_", "ubl_", "cxml_")
REQUIRED_SHARE = Decimal("0.98")


def _entries() -> list[dict[str, Any]]:
    expected = CORPUS / "expected.json"
    if not expected.is_file():
        return []
    return [e for e in json.loads(expected.read_text()) if e["file"].startswith(PREFIXES)]


ENTRIES = _entries()


def _decimal(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _dates(line: Line, document: Document) -> set[str | None]:
    """The canonical dates a hand-read line date may be: the line's promised (or requested)
    date, or for a despatch advice the despatch date (X12 DTM 011, UBL ActualDespatchDate)."""
    values = {line.delivery_date, line.requested_delivery_date}
    if document.kind is DocumentKind.DESPATCH_ADVICE:
        values.add(document.despatch_date)
        values.discard(None)
        values = values or {None}
    return {value.isoformat() if value else None for value in values}


def line_differences(fact: dict[str, Any], line: Line, document: Document) -> list[str]:
    """What differs between a hand-read line fact and a canonical line."""
    wrong = []
    ids = {i.id for i in line.item.ids}
    if fact["item"] is not None and fact["item"] not in ids:
        wrong.append(f"item {fact['item']} not in {sorted(ids)}")
    if line.quantity != _decimal(fact["qty"]):
        wrong.append(f"quantity {line.quantity} != {fact['qty']}")
    if fact.get("unit") is not None and line.unit != fact["unit"]:
        wrong.append(f"unit {line.unit} != {fact['unit']}")
    if fact["date"] not in _dates(line, document) and not (
            fact["date"] is None and fact.get("date_qualifier") is None
            and document.kind is not DocumentKind.DESPATCH_ADVICE):
        wrong.append(f"date {_dates(line, document)} != {fact['date']}")
    if document.kind is DocumentKind.ORDER_RESPONSE and line.action_code != fact["action"]:
        wrong.append(f"status code {line.action_code} != {fact['action']}")
    if "po" in fact and line.order_number != fact["po"]:
        wrong.append(f"order {line.order_number} != {fact['po']}")
    if fact.get("price") is not None and line.price != _decimal(fact["price"]):
        wrong.append(f"price {line.price} != {fact['price']}")
    if fact.get("qty_ordered") is not None and line.ordered_quantity != _decimal(
            fact["qty_ordered"]):
        wrong.append(f"ordered {line.ordered_quantity} != {fact['qty_ordered']}")
    return wrong


def _read(entry: dict[str, Any]) -> tuple[list[Document], list[Problem]]:
    results = list(read_documents(require_corpus() / entry["file"]))
    return ([r for r in results if isinstance(r, Document)],
            [r for r in results if isinstance(r, Problem) and r.is_error])


@pytest.mark.corpus
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_corpus_dialect_file_reads_with_its_orders(entry: dict[str, Any]) -> None:
    documents, errors = _read(entry)
    assert errors == [], f"{entry['file']} must read without errors"
    assert documents, f"{entry['file']} gave no document"
    orders = {o for d in documents for o in d.order_numbers}
    assert set(entry["po_numbers"]) <= orders
    if "transaction_count" in entry:
        assert len(documents) == entry["transaction_count"]
    lines = [line for d in documents for line in d.lines]
    assert len(lines) == len(entry["lines"])


_STATUS_FACTS = {
    ("confirmation_type", "detail"): None,
    ("accepted_indicator", "true"): DocumentStatus.ACCEPTED,
    ("accepted_indicator", "false"): DocumentStatus.REJECTED,
    ("response_code", "CA"): DocumentStatus.CHANGED,
}


@pytest.mark.corpus
@pytest.mark.parametrize("entry", [e for e in ENTRIES if any(
    (k, e.get(k)) in _STATUS_FACTS for k in ("confirmation_type", "accepted_indicator",
                                              "response_code"))], ids=lambda e: e["file"])
def test_corpus_dialect_response_carries_its_document_status(entry: dict[str, Any]) -> None:
    documents, _errors = _read(entry)
    key = next((k, entry[k]) for k in ("confirmation_type", "accepted_indicator",
                                       "response_code") if (k, entry.get(k)) in _STATUS_FACTS)
    assert [d.status for d in documents] == [_STATUS_FACTS[key]]


@pytest.mark.corpus
def test_corpus_dialect_line_facts_reach_the_required_share() -> None:
    require_corpus()
    total, misses = 0, []
    for entry in ENTRIES:
        documents, _errors = _read(entry)
        lines = [(line, d) for d in documents for line in d.lines]
        for number, fact in enumerate(entry["lines"]):
            total += 1
            if number >= len(lines):
                misses.append(f"{entry['file']} line {number + 1}: no canonical line")
                continue
            wrong = line_differences(fact, *lines[number])
            if wrong:
                misses.append(f"{entry['file']} line {number + 1}: {'; '.join(wrong)}")
    assert total > 100
    share = Decimal(total - len(misses)) / total
    assert share >= REQUIRED_SHARE, "\n".join(misses)


def test_corpus_dialects_list_every_file() -> None:
    corpus = require_corpus()
    on_disk = {str(p.relative_to(corpus)) for prefix in PREFIXES
               for p in corpus.glob(f"{prefix}*/*") if p.is_file()}
    assert on_disk == {e["file"] for e in ENTRIES}
