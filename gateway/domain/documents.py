"""Canonical documents: what a supplier said, independent of how it was said (docs/architecture.md,
"Documents").

Every format (EDIFACT, X12, cXML, UBL, spreadsheets, email text) maps onto these types, and
`document_to_json` is the JSON contract of `gateway parse --json`. Quantities and prices are
`Decimal`, dates are `date`, and a value the supplier did not send, or sent unreadably, is `None`
with a `Notice` saying why: never a made-up number or date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    ORDER_RESPONSE = "order_response"
    DESPATCH_ADVICE = "despatch_advice"
    PURCHASE_ORDER = "purchase_order"


class SourceFormat(StrEnum):
    EDIFACT = "edifact"
    X12 = "x12"
    CXML = "cxml"
    UBL = "ubl"
    SPREADSHEET = "spreadsheet"
    EMAIL_TEXT = "email_text"


class DocumentStatus(StrEnum):
    """What the supplier says about the order as a whole."""

    ACCEPTED = "accepted"
    CHANGED = "changed"
    REJECTED = "rejected"
    REPLACED = "replaced"
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    """What the supplier says about one order line."""

    ACCEPTED = "accepted"
    CHANGED = "changed"
    REJECTED = "rejected"
    ADDED = "added"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning about the source: where it is (segment position and tag, or row) and what."""

    code: str
    detail: str
    segment: int | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class ItemId:
    """An item identifier as sent, with the code that says what kind it is (EN, SA, IB ...)."""

    id: str
    type: str | None


@dataclass(slots=True)
class Item:
    gtin: str | None = None
    buyer_part: str | None = None
    supplier_part: str | None = None
    description: str | None = None
    ids: list[ItemId] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Package:
    """A shipping unit holding (part of) a line: its SSCC and the quantity of the line in it."""

    sscc: str | None
    quantity: Decimal | None


@dataclass(slots=True)
class Line:
    line_no: str | None = None
    order_number: str | None = None
    order_line_no: str | None = None
    line_reference: str | None = None
    item: Item = field(default_factory=Item)
    status: LineStatus | None = None
    action_code: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    ordered_quantity: Decimal | None = None
    delivery_date: date | None = None
    requested_delivery_date: date | None = None
    price: Decimal | None = None
    price_qualifier: str | None = None
    currency: str | None = None
    line_amount: Decimal | None = None
    packages: list[Package] = field(default_factory=list)
    batch: str | None = None
    best_before_date: date | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """A party named in the document (buyer, supplier, delivery point ...)."""

    role: str
    id: str | None
    agency: str | None
    name: str | None


@dataclass(slots=True)
class Shipment:
    carrier: str | None = None
    tracking_number: str | None = None
    packages: int | None = None


@dataclass(slots=True)
class Document:
    kind: DocumentKind
    source_format: SourceFormat
    message_type: str
    syntax_version: str | None = None
    sender_id: str | None = None
    receiver_id: str | None = None
    interchange_ref: str | None = None
    message_ref: str | None = None
    document_number: str | None = None
    document_date: date | None = None
    status: DocumentStatus | None = None
    function_code: str | None = None
    order_numbers: list[str] = field(default_factory=list)
    despatch_date: date | None = None
    expected_delivery_date: date | None = None
    currency: str | None = None
    shipment: Shipment = field(default_factory=Shipment)
    parties: list[Party] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    file: str | None = None
    message_index: int | None = None


def _decimal_text(value: Decimal) -> str:
    """The decimal as the supplier wrote it (`12.50` stays `12.50`), never an exponent."""
    # str() is several times faster than format(); it writes the same digits unless it would
    # use an exponent (exponent above 0 or below -6).
    text = str(value)
    return text if "E" not in text else format(value, "f")


def _number(value: Decimal | None) -> str | None:
    return None if value is None else _decimal_text(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def item_to_json(item: Item) -> dict[str, Any]:
    return {
        "gtin": item.gtin,
        "buyer_part": item.buyer_part,
        "supplier_part": item.supplier_part,
        "description": item.description,
        "ids": [{"id": i.id, "type": i.type} for i in item.ids],
    }


def line_to_json(line: Line) -> dict[str, Any]:
    # Thousands of lines per second pass here (`gateway parse --json`): values that are
    # mostly absent are tested inline rather than handed to a function each.
    quantity, ordered, price, amount = (line.quantity, line.ordered_quantity, line.price,
                                        line.line_amount)
    requested, best_before = line.requested_delivery_date, line.best_before_date
    return {
        "line_no": line.line_no,
        "order_number": line.order_number,
        "order_line_no": line.order_line_no,
        "line_reference": line.line_reference,
        "item": item_to_json(line.item),
        "status": line.status,
        "action_code": line.action_code,
        "quantity": None if quantity is None else _decimal_text(quantity),
        "unit": line.unit,
        "ordered_quantity": None if ordered is None else _decimal_text(ordered),
        "delivery_date": _day(line.delivery_date),
        "requested_delivery_date": None if requested is None else requested.isoformat(),
        "price": None if price is None else _decimal_text(price),
        "price_qualifier": line.price_qualifier,
        "currency": line.currency,
        "line_amount": None if amount is None else _decimal_text(amount),
        "packages": [{"sscc": p.sscc, "quantity": _number(p.quantity)} for p in line.packages]
        if line.packages else [],
        "batch": line.batch,
        "best_before_date": None if best_before is None else best_before.isoformat(),
    }


def document_to_json(document: Document) -> dict[str, Any]:
    """The canonical JSON object of one document (the `gateway parse --json` contract)."""
    shipment = document.shipment
    return {
        "kind": document.kind,
        "source_format": document.source_format,
        "message_type": document.message_type,
        "syntax_version": document.syntax_version,
        "sender_id": document.sender_id,
        "receiver_id": document.receiver_id,
        "interchange_ref": document.interchange_ref,
        "message_ref": document.message_ref,
        "document_number": document.document_number,
        "document_date": _day(document.document_date),
        "status": document.status,
        "function_code": document.function_code,
        "order_numbers": list(document.order_numbers),
        "despatch_date": _day(document.despatch_date),
        "expected_delivery_date": _day(document.expected_delivery_date),
        "currency": document.currency,
        "shipment": {
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "packages": shipment.packages,
        },
        "parties": [
            {"role": p.role, "id": p.id, "agency": p.agency, "name": p.name}
            for p in document.parties
        ],
        "lines": [line_to_json(line) for line in document.lines],
        "warnings": [
            {"code": n.code, "detail": n.detail, "segment": n.segment, "tag": n.tag}
            for n in document.warnings
        ] if document.warnings else [],
        "file": document.file,
        "message_index": document.message_index,
    }
