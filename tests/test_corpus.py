"""Every EDIFACT file of the real-world corpus parses to documents carrying its hand-read facts,
or is refused with a located error (only files marked _MALFORMED may be refused)."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.documents import Document, Line
from mappings.registry import read_documents
from parsers.errors import Problem
from tests.conftest import CORPUS, require_corpus

EDIFACT_TYPES = {"ORDRSP", "DESADV", "ORDERS"}


def _corpus_entries() -> list[dict[str, Any]]:
    expected = CORPUS / "expected.json"
    if not expected.is_file():
        return []
    return [e for e in json.loads(expected.read_text()) if e["type"] in EDIFACT_TYPES]


ENTRIES = _corpus_entries()


def _decimal(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date_for(line: Line, document: Document, qualifier: str | None) -> str | None:
    """The canonical field that holds a date sent with this DTM qualifier (2005)."""
    if qualifier == "11":
        value = document.despatch_date
    elif qualifier == "2":
        value = line.requested_delivery_date or line.delivery_date
    else:
        value = line.delivery_date
    return value.isoformat() if value else None


def _check_line(fact: dict[str, Any], line: Line, document: Document) -> list[str]:
    """What differs between a hand-read fact and a canonical line (empty when all agree).

    `action` is the raw LIN 1229 code, which the facts record for order responses only.
    """
    wrong = []
    ids = {i.id for i in line.item.ids}
    if fact["item"] is not None and fact["item"] not in ids:
        wrong.append(f"item {fact['item']} not in {sorted(ids)}")
    if fact["item"] is None and ids:
        wrong.append(f"item expected none, got {sorted(ids)}")
    if line.quantity != _decimal(fact["qty"]):
        wrong.append(f"quantity {line.quantity} != {fact['qty']}")
    if line.unit != fact["unit"]:
        wrong.append(f"unit {line.unit} != {fact['unit']}")
    date = _date_for(line, document, fact["date_qualifier"])
    if date != fact["date"]:
        wrong.append(f"date {date} != {fact['date']} (qualifier {fact['date_qualifier']})")
    if document.message_type == "ORDRSP" and line.action_code != fact["action"]:
        wrong.append(f"action {line.action_code} != {fact['action']}")
    if line.order_number != fact.get("po"):
        wrong.append(f"order {line.order_number} != {fact.get('po')}")
    if "price" in fact and line.price != _decimal(fact["price"]):
        wrong.append(f"price {line.price} != {fact['price']}")
    if "qty_ordered" in fact and line.ordered_quantity != _decimal(fact["qty_ordered"]):
        wrong.append(f"ordered {line.ordered_quantity} != {fact['qty_ordered']}")
    if "line_ref_LI" in fact and line.line_reference != fact["line_ref_LI"]:
        wrong.append(f"line reference {line.line_reference} != {fact['line_ref_LI']}")
    return wrong


@pytest.mark.corpus
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_corpus_file_carries_its_facts(entry: dict[str, Any]) -> None:
    corpus = require_corpus()
    path = corpus / entry["file"]
    results = list(read_documents(path))
    documents = [r for r in results if isinstance(r, Document)]
    errors = [r for r in results if isinstance(r, Problem) and r.is_error]
    malformed = "_MALFORMED" in entry["file"]
    if not malformed:
        assert errors == [], f"{path.name} must parse without errors"
    for error in errors:
        assert error.message_index is not None, f"error not located: {error}"
        assert error.detail

    refused = {e.message_index for e in errors}
    assert len(documents) + len(refused) == entry["message_count"]

    facts_by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fact in entry["lines"]:
        facts_by_message[fact["msg"]].append(fact)
    seen = set()
    problems = []
    for document in documents:
        assert document.message_ref is not None
        facts = facts_by_message.get(document.message_ref, [])
        seen.add(document.message_ref)
        if len(facts) != len(document.lines):
            problems.append(f"message {document.message_ref}: {len(document.lines)} lines, "
                            f"facts list {len(facts)}")
            continue
        for number, (fact, line) in enumerate(zip(facts, document.lines, strict=True), 1):
            problems += [f"message {document.message_ref} line {number}: {w}"
                         for w in _check_line(fact, line, document)]
    missing = set(facts_by_message) - seen
    assert not missing or (malformed and len(missing) <= len(refused)), (
        f"messages with facts but no document: {missing}")
    assert problems == []

    orders = {o for d in documents for o in d.order_numbers}
    assert set(entry["po_numbers"]) <= orders


def test_corpus_lists_every_edifact_file() -> None:
    corpus = require_corpus()
    on_disk = {
        str(p.relative_to(corpus)) for p in corpus.glob("edifact_*/*") if p.is_file()
    }
    assert on_disk == {e["file"] for e in ENTRIES}


def test_corpus_path_is_the_shared_folder() -> None:
    assert Path(CORPUS).name == "corpus"
