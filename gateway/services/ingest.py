"""Archive, process and replay inbound messages: the gateway's main job.

`archive` stores the raw bytes and their row before anything else (DESIGN.md section 7) and
recognises a duplicate delivery. `process` parses, maps and reconciles one archived message in
one transaction and moves it through its states; run twice it does nothing the second time.
`replay` undoes what a message did and processes it again (after a tolerance change, say).
Queries are batched per message, never per line.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy, ExceptionState, is_open
from gateway.domain.documents import Document, document_to_json
from gateway.domain.messages import MessageState, move_message
from gateway.domain.orders import LineState, Order, OrderLine, VersionKind
from gateway.domain.reconciliation import Outcome, reconcile
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
    Supplier,
    SupplierIdentity,
)
from gateway.persistence.queries import chunked
from gateway.services.partners import profile_in_force
from mappings.registry import read_stream
from parsers.errors import Problem

OPEN_STATES = [s.value for s in ExceptionState if is_open(s)]


@dataclass(frozen=True, slots=True)
class Intake:
    """What a channel hands in: the bytes exactly as received, and who sent them how."""

    raw: bytes
    channel: str
    sender: str
    filename: str | None = None
    supplier_code: str | None = None


@dataclass(frozen=True, slots=True)
class Archived:
    message_id: int
    duplicate_of: int | None


@dataclass(slots=True)
class MessageReport:
    message_id: int
    state: MessageState
    documents: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    reason: str | None = None


def archive(session: Session, intake: Intake, now: datetime) -> Archived:
    """Store the raw bytes as a `received` message, or as a `duplicate` of the same bytes
    from the same sender that were kept before (a failed first attempt is not an original)."""
    digest = hashlib.sha256(intake.raw).hexdigest()
    original = session.scalars(
        select(InboundMessage.id).where(
            InboundMessage.sha256 == digest, InboundMessage.sender == intake.sender,
            InboundMessage.state.not_in([MessageState.FAILED, MessageState.DUPLICATE]))
        .order_by(InboundMessage.id).limit(1)).first()
    row = InboundMessage(
        sha256=digest, size=len(intake.raw), channel=intake.channel, sender=intake.sender,
        filename=intake.filename, received_at=now, updated_at=now, raw=intake.raw,
        supplier_code=intake.supplier_code, duplicate_of_id=original,
        state=(MessageState.DUPLICATE if original else MessageState.RECEIVED).value,
        state_reason=f"the same bytes from this sender are message #{original}"
        if original else None)
    session.add(row)
    session.flush()
    return Archived(row.id, original)


def process(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Parse, map and reconcile one `received` message. Idempotent."""
    message = session.get(InboundMessage, message_id, with_for_update=True)
    if message is None:
        raise LookupError(f"no message #{message_id}")
    state = MessageState(message.state)
    if state is not MessageState.RECEIVED:
        return MessageReport(message_id, state, reason=message.state_reason)
    results = list(read_stream(io.BufferedReader(io.BytesIO(message.raw)),
                               message.filename or f"message {message_id}"))
    documents = [r for r in results if isinstance(r, Document)]
    problems = [r for r in results if isinstance(r, Problem)]
    message.problems = [_problem_json(p) for p in problems]
    report = MessageReport(message_id, state, errors=[p for p in problems if p.is_error])
    if not documents:
        first = report.errors[0].detail if report.errors else "no documents found"
        return _finish(message, report, MessageState.QUARANTINED, f"unreadable: {first}", now)
    _move(message, MessageState.PARSED, None, now)
    supplier = find_supplier(session, message, documents)
    if supplier is None:
        ids = sorted({d.sender_id for d in documents if d.sender_id})
        return _finish(message, report, MessageState.QUARANTINED,
                       f"unknown sender {message.sender!r}"
                       + (f" (EDI id {', '.join(ids)})" if ids else "")
                       + ": no supplier has this address or id", now)
    message.supplier_code = supplier.code
    for document in documents:
        report.discrepancies += apply_document(session, message, supplier, document, today,
                                               now)
    report.documents = len(documents)
    reason = (f"{len(report.errors)} message(s) of the file refused" if report.errors
              else None)
    return _finish(message, report, MessageState.RECONCILED, reason, now)


def find_supplier(session: Session, message: InboundMessage,
                  documents: list[Document]) -> Supplier | None:
    """By the channel's supplier, else the interchange sender's EDI id, else the address."""
    if message.supplier_code:
        return session.scalars(select(Supplier).where(
            Supplier.code == message.supplier_code)).first()
    candidates = [("edi", d.sender_id) for d in documents if d.sender_id]
    sender = message.sender.strip().lower()
    candidates += [("email", sender), ("domain", sender.rpartition("@")[2])]
    for kind, value in candidates:
        found = session.scalars(
            select(Supplier).join(SupplierIdentity, SupplierIdentity.supplier_id == Supplier.id)
            .where(SupplierIdentity.kind == kind, SupplierIdentity.value == value)).first()
        if found is not None:
            return found
    return None


def apply_document(session: Session, message: InboundMessage, supplier: Supplier,
                   document: Document, today: date, now: datetime) -> list[Discrepancy]:
    numbers = set(document.order_numbers) | {
        line.order_number for line in document.lines if line.order_number}
    orders, line_ids = load_orders(session, numbers, supplier.code)
    repeated = bool(document.document_number) and session.scalars(
        select(DocumentRow.id).where(
            DocumentRow.supplier_code == supplier.code, DocumentRow.kind == document.kind,
            DocumentRow.document_number == document.document_number,
            DocumentRow.message_id != message.id).limit(1)).first() is not None
    row = DocumentRow(message_id=message.id, message_index=document.message_index,
                      kind=document.kind.value, message_type=document.message_type,
                      document_number=document.document_number, supplier_code=supplier.code,
                      canonical=document_to_json(document), created_at=now)
    session.add(row)
    session.flush()
    outcome = reconcile(document, orders, profile_in_force(session, supplier.profile_name),
                        today, repeated=repeated)
    _store_lines(session, outcome, line_ids, message.id, row.id, now)
    _store_exceptions(session, outcome, supplier, line_ids, message.id, row.id, now)
    return outcome.discrepancies


def load_orders(session: Session, numbers: set[str], supplier_code: str
                ) -> tuple[dict[str, Order], dict[tuple[str, str], int]]:
    """The supplier's orders with these numbers, one query per 500 numbers."""
    lines: dict[str, list[OrderLine]] = {}
    owners: dict[str, str | None] = {}
    ids: dict[tuple[str, str], int] = {}
    for batch in chunked(sorted(numbers)):
        rows = session.execute(
            select(OrderLineRow, PurchaseOrder.number, PurchaseOrder.owner_email)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id)
            .where(PurchaseOrder.number.in_(batch),
                   (PurchaseOrder.supplier_code == supplier_code)
                   | PurchaseOrder.supplier_code.is_(None))
            .order_by(OrderLineRow.id))
        for line, number, owner in rows:
            lines.setdefault(number, []).append(_domain_line(line, number))
            owners[number] = owner
            ids[(number, line.line_no)] = line.id
    orders = {number: Order(number, supplier_code, owners[number], tuple(found))
              for number, found in lines.items()}
    return orders, ids


def _domain_line(row: OrderLineRow, number: str) -> OrderLine:
    return OrderLine(
        order_number=number, line_no=row.line_no, quantity=row.quantity, unit=row.unit,
        price=row.price, currency=row.currency, requested_date=row.requested_date,
        gtin=row.gtin, buyer_part=row.buyer_part, supplier_part=row.supplier_part,
        description=row.description, state=LineState(row.state),
        confirmed_quantity=row.confirmed_quantity, confirmed_date=row.confirmed_date,
        confirmed_price=row.confirmed_price, despatched_quantity=row.despatched_quantity,
        expected_delivery=row.expected_delivery, id=row.id)


def _store_lines(session: Session, outcome: Outcome, line_ids: dict[tuple[str, str], int],
                 message_id: int, document_id: int, now: datetime) -> None:
    if outcome.lines:
        session.execute(update(OrderLineRow), [
            {"id": line_ids[key], "state": line.state.value,
             "confirmed_quantity": line.confirmed_quantity,
             "confirmed_date": line.confirmed_date, "confirmed_price": line.confirmed_price,
             "despatched_quantity": line.despatched_quantity,
             "expected_delivery": line.expected_delivery}
            for key, line in outcome.lines.items()])
    if outcome.versions:
        session.execute(insert(LineVersionRow), [
            {"order_line_id": line_ids[(v.order_number, v.line_no)], "kind": v.kind.value,
             "quantity": v.quantity, "delivery_date": v.delivery_date, "price": v.price,
             "message_id": message_id, "document_id": document_id, "position": v.position,
             "source": f"message #{message_id}", "created_at": now}
            for v in outcome.versions])


def _store_exceptions(session: Session, outcome: Outcome, supplier: Supplier,
                      line_ids: dict[tuple[str, str], int], message_id: int, document_id: int,
                      now: datetime) -> None:
    """One exception per problem: new evidence updates the open one, or reopens a closed one
    whose values changed; a rule that no longer fires resolves it."""
    prefix = f"{supplier.code}|"
    found = {prefix + d.key: d for d in outcome.discrepancies}
    cleared = {prefix + key for key in outcome.cleared} - set(found)
    keys = sorted(set(found) | cleared)
    latest: dict[str, ExceptionRow] = {}
    for batch in chunked(keys):
        for found_row in session.scalars(select(ExceptionRow).where(
                ExceptionRow.key.in_(batch)).order_by(ExceptionRow.id)):
            latest[found_row.key] = found_row
    events: list[dict[str, Any]] = []
    for key, discrepancy in found.items():
        events.append(_record(session, latest.get(key), key, discrepancy, supplier,
                              line_ids, message_id, document_id, now))
    for key in cleared:
        row = latest.get(key)
        if row is not None and is_open(ExceptionState(row.state)):
            events.append(_event(row, "resolved", row.state, ExceptionState.RESOLVED,
                                 f"message #{message_id} no longer shows the problem",
                                 message_id, now))
            row.state = ExceptionState.RESOLVED.value
            row.updated_at = now
    session.flush()
    if events:
        session.execute(insert(ExceptionEventRow), events)


def _record(session: Session, existing: ExceptionRow | None, key: str, found: Discrepancy,
            supplier: Supplier, line_ids: dict[tuple[str, str], int], message_id: int,
            document_id: int, now: datetime) -> dict[str, Any]:
    values = {
        "code": found.code.value, "severity": found.severity.value, "risk": found.risk,
        "order_number": found.order_number, "line_no": found.line_no,
        "order_line_id": line_ids.get((found.order_number or "", found.line_no or "")),
        "expected": found.expected, "actual": found.actual, "difference": found.difference,
        "rule": found.rule, "tolerance": found.tolerance, "message_id": message_id,
        "document_id": document_id, "position": found.position,
        "owner": found.owner or supplier.buyer_contact, "updated_at": now,
    }
    if existing is None:
        created = ExceptionRow(key=key, state=ExceptionState.OPEN.value,
                               supplier_code=supplier.code, occurrences=1, created_at=now,
                               **values)
        session.add(created)
        session.flush()
        return _event(created, "raised", None, ExceptionState.OPEN, found.rule, message_id, now)
    row = existing
    state = ExceptionState(row.state)
    changed = row.actual != found.actual
    for name, value in values.items():
        setattr(row, name, value)
    row.occurrences += 1
    if is_open(state) or not changed:
        return _event(row, "seen_again", state, state,
                      f"reported again by message #{message_id}", message_id, now)
    row.state = ExceptionState.OPEN.value
    return _event(row, "reopened", state, ExceptionState.OPEN,
                  f"message #{message_id} reports it again with other values", message_id, now)


def _event(row: ExceptionRow, action: str, before: ExceptionState | str | None,
           after: ExceptionState | str | None, detail: str | None, message_id: int | None,
           now: datetime) -> dict[str, Any]:
    return {"exception_id": row.id, "at": now, "actor": "gateway", "action": action,
            "from_state": str(before) if before else None,
            "to_state": str(after) if after else None, "detail": detail,
            "message_id": message_id}


def _move(message: InboundMessage, target: MessageState, reason: str | None,
          now: datetime) -> None:
    message.state = move_message(MessageState(message.state), target).value
    message.state_reason = reason
    message.updated_at = now


def _finish(message: InboundMessage, report: MessageReport, target: MessageState,
            reason: str | None, now: datetime) -> MessageReport:
    _move(message, target, reason, now)
    report.state = target
    report.reason = reason
    return report


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"message_index": problem.message_index, "segment": problem.segment,
            "tag": problem.tag, "code": problem.code.value, "severity": problem.severity.value,
            "detail": problem.detail}


def replay(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Undo what a message did to the order lines and process it again."""
    message = session.get(InboundMessage, message_id, with_for_update=True)
    if message is None:
        raise LookupError(f"no message #{message_id}")
    if message.state == MessageState.DUPLICATE:
        return MessageReport(message_id, MessageState.DUPLICATE, reason=message.state_reason)
    touched = set(session.scalars(select(LineVersionRow.order_line_id).where(
        LineVersionRow.message_id == message_id)))
    session.execute(delete(LineVersionRow).where(LineVersionRow.message_id == message_id))
    session.execute(update(ExceptionRow).where(ExceptionRow.message_id == message_id)
                    .values(document_id=None))
    session.execute(delete(DocumentRow).where(DocumentRow.message_id == message_id))
    for line_id in touched:
        rebuild_line(session, line_id)
    if message.state != MessageState.RECEIVED:
        _move(message, MessageState.RECEIVED, f"replayed at {now.isoformat()}", now)
    session.flush()
    return process(session, message_id, today, now)


def rebuild_line(session: Session, line_id: int) -> None:
    """Recompute a line's promise from its remaining versions, oldest first."""
    line = session.get(OrderLineRow, line_id)
    if line is None:
        return
    line.state, line.confirmed_quantity = LineState.OPEN.value, None
    line.confirmed_date, line.confirmed_price = None, None
    line.despatched_quantity, line.expected_delivery = line.quantity * 0, None
    versions = session.scalars(select(LineVersionRow).where(
        LineVersionRow.order_line_id == line_id).order_by(LineVersionRow.id))
    for version in versions:
        if version.kind == VersionKind.CONFIRMATION:
            line.confirmed_quantity = version.quantity
            line.confirmed_date, line.confirmed_price = version.delivery_date, version.price
            line.state = (LineState.REJECTED if version.quantity == 0 else
                          LineState.CONFIRMED).value
        elif version.kind == VersionKind.DESPATCH and version.quantity is not None:
            line.despatched_quantity += version.quantity
            line.expected_delivery = version.delivery_date or line.expected_delivery
    if line.despatched_quantity:
        target = line.confirmed_quantity if line.confirmed_quantity is not None else line.quantity
        line.state = (LineState.DESPATCHED if line.despatched_quantity >= target
                      else LineState.PARTLY_DESPATCHED).value
