"""Open orders from an ERP export: CSV, JSON, or an order read by the reader table (EDIFACT
ORDERS, X12 850, UBL Order, cXML OrderRequest) (`gateway orders import`).

CSV/JSON columns (case-insensitive; spaces and dashes read as underscores):

    order_number*, line_no*, quantity*, unit, price, currency, requested_date (YYYY-MM-DD),
    buyer_part, supplier_part, gtin, description, supplier_id, owner_email,
    order_date (YYYY-MM-DD)                                    (* required)

JSON is a list of such objects, or {"lines": [...]}. A row that cannot be read is reported with
its row number (CSV: the line in the file; JSON: the position from 1) and the other rows are still
imported. Re-importing updates changed lines and adds a `requested` version to their history.

The supplier of an order (`supplier_id`, the `--supplier` option, or the NAD+SU party of
ORDERS) may be given as the partner's code, one of its EDI ids, or one of its email addresses;
it is stored as the partner's code. An order naming a supplier no partner is is refused (its
lines are reported, the other orders of the file are imported).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.domain.documents import Document, DocumentKind, Party
from gateway.domain.orders import LineState, VersionKind
from gateway.domain.storable import number_refusal, text_refusal
from gateway.errors import ImportRowError
from gateway.persistence.models import LineVersionRow, OrderLineRow, PurchaseOrder
from gateway.persistence.queries import chunked
from gateway.services.lookups import Lookups
from mappings.registry import read_stream

REQUIRED = ("order_number", "line_no", "quantity")
_ANSWERED = frozenset({LineState.CONFIRMED.value, LineState.CHANGED.value})
_PROMISED = ("quantity", "unit", "price", "requested_date")
# Column widths of the order tables (PostgreSQL enforces them; SQLite would not).
_WIDTHS = {"order_number": 64, "line_no": 32, "unit": 8, "currency": 3, "buyer_part": 64,
           "supplier_part": 64, "gtin": 14, "description": 400, "supplier_id": 64,
           "owner_email": 200}
_COMPARED = ("quantity", "unit", "price", "currency", "requested_date", "buyer_part",
             "supplier_part", "gtin", "description")


@dataclass(frozen=True, slots=True)
class ImportedLine:
    row: int
    order_number: str
    line_no: str
    quantity: Decimal
    unit: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    requested_date: date | None = None
    buyer_part: str | None = None
    supplier_part: str | None = None
    gtin: str | None = None
    description: str | None = None
    supplier_id: str | None = None
    owner_email: str | None = None
    order_date: date | None = None
    # Where `supplier_id` was read, for an error that names it.
    supplier_source: str = "supplier_id"


@dataclass(slots=True)
class ImportReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    orders: set[str] = field(default_factory=set)
    errors: list[ImportRowError] = field(default_factory=list)


def read_order_file(path: Path, supplier: str | None = None,
                    owner: str | None = None) -> tuple[list[ImportedLine], list[ImportRowError]]:
    """Lines and row errors of an order export, by its format."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    decimal_comma = False
    if suffix == ".csv":
        rows: Iterable[tuple[int, Mapping[str, Any]]]
        rows, decimal_comma = _csv_rows(data)
    elif suffix == ".json":
        rows = _json_rows(data)
    else:
        return _edifact_lines(data, str(path), supplier, owner)
    lines, errors = [], []
    seen: dict[tuple[str, str], int] = {}
    for number, row in rows:
        try:
            line = line_from_row(number, row, supplier, owner, decimal_comma)
        except ImportRowError as exc:
            errors.append(exc)
            continue
        first = seen.setdefault((line.order_number, line.line_no), number)
        if first != number:
            errors.append(ImportRowError(number, f"{line.order_number} line {line.line_no} is "
                                                 f"already in row {first}; this row is not "
                                                 "imported"))
            continue
        lines.append(line)
    if not lines and not errors:
        errors.append(ImportRowError(1, "empty: the file holds no order lines"))
    return lines, errors


def _csv_rows(data: bytes) -> tuple[Iterator[tuple[int, Mapping[str, Any]]], bool]:
    """The rows with their line numbers, and whether numbers may use a decimal comma: in a
    file whose delimiter is not a comma (European exports: `;`), "1,50" is one and a half."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Not UTF-8: ERP exports on Windows write Windows-1252, which decodes any byte.
        text = data.decode("cp1252", errors="strict") if _is_cp1252(data) else \
            data.decode("latin-1")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or not CSV at all: the header check says which
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = {_column(name) for name in reader.fieldnames or [] if name}
    missing = [name for name in REQUIRED if name not in columns]
    if reader.fieldnames and missing:
        raise ImportRowError(1, f"the header has no column {', '.join(missing)} "
                                f"(it has: {', '.join(sorted(columns))[:200]})")
    return ((reader.line_num, row) for row in reader), dialect.delimiter != ","


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _json_rows(data: bytes) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ImportRowError(exc.lineno, f"not valid JSON: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise ImportRowError(1, f"not UTF-8 text (byte {exc.start}): JSON must be") from exc
    rows = parsed.get("lines") if isinstance(parsed, dict) else parsed
    if not isinstance(rows, list):
        raise ImportRowError(1, "expected a list of lines or {\"lines\": [...]}")
    for number, row in enumerate(rows, 1):
        yield number, row if isinstance(row, dict) else {"_": row}


def line_from_row(number: int, row: Mapping[str, Any], supplier: str | None,
                  owner: str | None, decimal_comma: bool = False) -> ImportedLine:
    values = {_column(k): (str(v).strip() if v is not None else "") for k, v in row.items()
              if k is not None}
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise ImportRowError(number, f"missing {', '.join(missing)}", missing[0])
    return ImportedLine(
        row=number,
        order_number=values["order_number"],
        line_no=values["line_no"],
        quantity=_decimal(number, "quantity", values["quantity"], decimal_comma,
                          required=True) or Decimal(0),
        unit=values.get("unit") or None,
        price=_decimal(number, "price", values.get("price", ""), decimal_comma),
        currency=(values.get("currency") or "").upper() or None,
        requested_date=_date(number, "requested_date", values.get("requested_date", "")),
        buyer_part=values.get("buyer_part") or None,
        supplier_part=values.get("supplier_part") or None,
        gtin=values.get("gtin") or None,
        description=values.get("description") or None,
        supplier_id=values.get("supplier_id") or supplier,
        owner_email=values.get("owner_email") or owner,
        order_date=_date(number, "order_date", values.get("order_date", "")),
    )


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COMMA_NUMBER = re.compile(r"[0-9]+,[0-9]+")


def _decimal(row: int, name: str, text: str, decimal_comma: bool = False,
             required: bool = False) -> Decimal | None:
    """Digits with a decimal point (or comma, where the file allows it); nothing else: no
    exponents, thousands separators or words."""
    if not text:
        if required:
            raise ImportRowError(row, f"{name} is empty", name)
        return None
    digits = text.removeprefix("-")
    if decimal_comma and _COMMA_NUMBER.fullmatch(digits):
        text = text.replace(",", ".")
    elif not _NUMBER.fullmatch(digits):
        raise ImportRowError(row, f"{name} {text!r} is not a number", name)
    value = Decimal(text)
    if value < 0:
        raise ImportRowError(row, f"{name} {text!r} is negative", name)
    return value


def _date(row: int, name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ImportRowError(row, f"{name} {text!r} is not a date (YYYY-MM-DD)",
                             name) from exc


def _edifact_lines(data: bytes, name: str, supplier: str | None, owner: str | None
                   ) -> tuple[list[ImportedLine], list[ImportRowError]]:
    lines: list[ImportedLine] = []
    errors: list[ImportRowError] = []
    for result in read_stream(io.BufferedReader(io.BytesIO(data)), name):
        if not isinstance(result, Document):
            if result.is_error:
                errors.append(ImportRowError(result.message_index or 0, result.detail))
            continue
        if result.kind is not DocumentKind.PURCHASE_ORDER:
            errors.append(ImportRowError(result.message_index or 0,
                                         f"{result.message_type} is not an order"))
            continue
        lines.extend(_lines_of_order(result, supplier, owner, errors))
    return lines, errors


def _lines_of_order(document: Document, supplier: str | None, owner: str | None,
                    errors: list[ImportRowError]) -> Iterator[ImportedLine]:
    row = document.message_index or 0
    party = _supplier_party(document)
    role = party.role if party is not None else "SU"
    named = f"NAD+{role} of ORDERS {document.document_number or ''}".rstrip()
    if party is not None and party.agency:
        named += f" (code list agency {party.agency})"
    source = "--supplier" if supplier else named
    for position, line in enumerate(document.lines, 1):
        number = line.order_number or document.document_number
        if not number or line.quantity is None:
            errors.append(ImportRowError(row, f"line {position}: no order number or quantity"))
            continue
        yield ImportedLine(
            row=row, order_number=number, line_no=line.line_no or str(position),
            quantity=line.quantity, unit=line.unit, price=line.price, currency=line.currency,
            requested_date=line.delivery_date, buyer_part=line.item.buyer_part,
            supplier_part=line.item.supplier_part, gtin=line.item.gtin,
            description=line.item.description,
            supplier_id=supplier or (party.id if party is not None else None),
            owner_email=owner, order_date=document.document_date, supplier_source=source)


def _supplier_party(document: Document) -> Party | None:
    """The order's supplier: NAD+SU, else NAD+SE. UNCL 3035 has both, "SU supplier" and
    "SE seller"; EANCOM orders name the supplier SU, plain UN/EDIFACT ORDERS often SE."""
    for role in ("SU", "SE"):
        party = next((p for p in document.parties if p.role == role and p.id), None)
        if party is not None:
            return party
    return None


def import_lines(session: Session, lines: list[ImportedLine], source: str,
                 now: datetime | None = None) -> ImportReport:
    """Create or update orders and lines; changed lines get a new `requested` version."""
    now = now or datetime.now(UTC)
    report = ImportReport(source)
    storable = []
    for line in _with_supplier_codes(Lookups(session), lines, source, report.errors):
        problem = _too_long(line)
        if problem:
            report.errors.append(ImportRowError(line.row, problem, problem.split(" ", 1)[0]))
        else:
            storable.append(line)
    orders = _orders_by_number(session, {line.order_number for line in storable}, storable,
                               source, now)
    existing = _lines_by_key(session, [o.id for o in orders.values()])
    pending: list[tuple[OrderLineRow, ImportedLine]] = []
    for line in storable:
        order = orders[line.order_number]
        report.orders.add(line.order_number)
        row = existing.get((order.id, line.line_no))
        if row is None:
            row = OrderLineRow(order_id=order.id, line_no=line.line_no,
                               state=LineState.OPEN.value, despatched_quantity=Decimal(0),
                               **{k: getattr(line, k) for k in _COMPARED})
            session.add(row)
            existing[(order.id, line.line_no)] = row
            report.created += 1
        elif any(getattr(row, k) != getattr(line, k) for k in _COMPARED):
            if row.state in _ANSWERED and any(
                    getattr(row, k) != getattr(line, k) for k in _PROMISED):
                # The supplier confirmed what was ordered before; the order changed since, so
                # that confirmation no longer answers it: the line waits for a new one.
                row.state = LineState.OPEN.value
                row.confirmed_quantity = row.confirmed_price = row.confirmed_date = None
            for key in _COMPARED:
                setattr(row, key, getattr(line, key))
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        pending.append((row, line))
    session.flush()
    if pending:
        session.execute(insert(LineVersionRow), [
            {"order_line_id": row.id, "kind": VersionKind.REQUESTED.value,
             "quantity": line.quantity, "delivery_date": line.requested_date,
             "price": line.price, "source": f"{source} row {line.row}", "created_at": now}
            for row, line in pending])
    return report


def _with_supplier_codes(lookups: Lookups, lines: list[ImportedLine], source: str,
                        errors: list[ImportRowError]) -> list[ImportedLine]:
    """The lines with the supplier each names (a code, an EDI id or an address) as the
    partner directory's code. An order naming a supplier no partner is is not imported at
    all (an order must not be open to the wrong supplier, nor to every one); the others are."""
    resolved: list[ImportedLine] = []
    refused: set[str] = set()
    for line in lines:
        code = lookups.supplier_named(line.supplier_id) if line.supplier_id else None
        if line.supplier_id and code is None:
            if line.order_number not in refused:
                refused.add(line.order_number)
                errors.append(ImportRowError(line.row, (
                    f"{source}: order {line.order_number}: {line.supplier_source} "
                    f"{line.supplier_id!r} is no partner's code, EDI id or email address; "
                    "the order is not imported (load the partner file first)"),
                    "supplier_id"))
            continue
        resolved.append(line if code == line.supplier_id else replace(line, supplier_id=code))
    return [line for line in resolved if line.order_number not in refused]


def _too_long(line: ImportedLine) -> str | None:
    """Why the database would refuse a value of the line (too long, a NUL character, a number
    beyond its column): found here, it is the row's error, not a failed import."""
    for name, width in _WIDTHS.items():
        value = getattr(line, name)
        if value is not None and (reason := text_refusal(value, width)):
            return f"{name} {reason}"
    for name in ("quantity", "price"):
        number = getattr(line, name)
        if number is not None and (reason := number_refusal(number)):
            return f"{name} {reason}"
    return None


def _orders_by_number(session: Session, numbers: set[str], lines: list[ImportedLine],
                      source: str, now: datetime) -> dict[str, PurchaseOrder]:
    found = {o.number: o for batch in chunked(sorted(numbers)) for o in session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.number.in_(batch)))}
    for line in lines:
        order = found.get(line.order_number)
        if order is None:
            order = PurchaseOrder(number=line.order_number, source=source, updated_at=now)
            session.add(order)
            found[line.order_number] = order
        order.supplier_code = line.supplier_id or order.supplier_code
        order.owner_email = line.owner_email or order.owner_email
        order.order_date = line.order_date or order.order_date
        order.currency = line.currency or order.currency
        order.updated_at = now
    session.flush()
    return found


def _lines_by_key(session: Session, order_ids: list[int]) -> dict[tuple[int, str], OrderLineRow]:
    if not order_ids:
        return {}
    return {(row.order_id, row.line_no): row for batch in chunked(order_ids)
            for row in session.scalars(
                select(OrderLineRow).where(OrderLineRow.order_id.in_(batch)))}
