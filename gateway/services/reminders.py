"""Reminder emails to suppliers whose confirmations are overdue.

After the overdue check (`gateway.services.watch.check_overdue`) has raised or updated the
`CONFIRMATION_OVERDUE` exceptions, `remind_suppliers` sends each supplier whose partner entry
says `reminders = true` one email listing its lines whose reminder is due, in its language,
through the outbox. A line is reminded at most every `reminder_every_days` days (default 2)
and at most `reminder_max` times (default 3) while its exception stays open; the counts are
kept per exception in `supplier_reminders`. The reminder goes to the first address the partner
entry lists; a supplier without one is skipped (and logged).

Called by `gateway check-overdue` in its transaction, and by whatever schedules the check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import OPEN_STATES, DiscrepancyCode
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.models import (
    ExceptionRow,
    OrderLineRow,
    PurchaseOrder,
    Supplier,
    SupplierIdentity,
    SupplierReminderRow,
)
from gateway.services import outbox
from gateway.services.replies import REPLIES, Replier
from outbound.email.content import Language, OverdueLine, ReminderContent
from outbound.email.message import Addresses, build_reminder, message_id
from outbound.email.templates import TemplateProblem

log = logging.getLogger(__name__)

DEFAULT_EVERY_DAYS = 2
DEFAULT_MAX = 3


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """A supplier's reminder settings (partner file `reminders`, `reminder_every_days`,
    `reminder_max`)."""

    every_days: int = DEFAULT_EVERY_DAYS
    maximum: int = DEFAULT_MAX


@dataclass(frozen=True, slots=True)
class Reminded:
    """How often an exception's line was reminded, and when last."""

    sent: int
    last_sent_at: datetime


@dataclass(frozen=True, slots=True)
class Overdue:
    """An open CONFIRMATION_OVERDUE exception with what the supplier needs to see of it."""

    exception_id: int
    supplier_code: str
    line: OverdueLine


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder decided for one supplier: the exceptions it covers, its Message-ID (None:
    not built) and why it was not queued (None: queued)."""

    supplier_code: str
    exception_ids: tuple[int, ...]
    wire_id: str | None
    why_not: str | None


def is_due(reminded: Reminded | None, policy: ReminderPolicy, now: datetime) -> bool:
    """Whether a line may be reminded now: never reminded, or reminded fewer than the maximum
    times and not within the last `every_days` days."""
    if reminded is None:
        return policy.maximum > 0
    return reminded.sent < policy.maximum and \
        now - reminded.last_sent_at >= timedelta(days=policy.every_days)


def due_by_supplier(overdue: Iterable[Overdue], reminded: Mapping[int, Reminded],
                    policies: Mapping[str, ReminderPolicy],
                    now: datetime) -> dict[str, list[Overdue]]:
    """The lines each supplier that takes reminders is to be reminded of now (pure)."""
    due: dict[str, list[Overdue]] = {}
    for item in overdue:
        policy = policies.get(item.supplier_code)
        if policy is not None and is_due(reminded.get(item.exception_id), policy, now):
            due.setdefault(item.supplier_code, []).append(item)
    return due


def remind_suppliers(session: Session, now: datetime,
                     replier: Replier | None = None) -> list[Reminder]:
    """Send the reminders that are due, in `session`'s transaction (through the outbox). Run
    it after `check_overdue`. `replier` carries the settings and templates; by default the
    one the session factory carries, else the built-in defaults."""
    replier = replier or session.info.get(REPLIES) or _default_replier()
    overdue = open_overdue(session)
    if not overdue:
        return []
    suppliers = _suppliers(session, {item.supplier_code for item in overdue})
    policies = {code: policy for code, (_s, policy, _a) in suppliers.items()
                if policy is not None}
    reminded = _reminded(session, [item.exception_id for item in overdue])
    decided = []
    for code, items in sorted(due_by_supplier(overdue, reminded, policies, now).items()):
        supplier, policy, address = suppliers[code]
        assert policy is not None
        decided.append(_remind(session, replier, supplier, policy, address, items, reminded,
                               now))
    return decided


def open_overdue(session: Session) -> list[Overdue]:
    """Every open CONFIRMATION_OVERDUE exception with its line, oldest order first."""
    query = (
        select(ExceptionRow.id, ExceptionRow.supplier_code, ExceptionRow.order_number,
               ExceptionRow.line_no, OrderLineRow.supplier_part, OrderLineRow.buyer_part,
               OrderLineRow.description, OrderLineRow.quantity, OrderLineRow.unit,
               OrderLineRow.requested_date, PurchaseOrder.order_date)
        .join(OrderLineRow, OrderLineRow.id == ExceptionRow.order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id)
        .where(ExceptionRow.code == DiscrepancyCode.CONFIRMATION_OVERDUE.value,
               ExceptionRow.state.in_(OPEN_STATES), ExceptionRow.supplier_code.is_not(None))
        .order_by(ExceptionRow.order_number, ExceptionRow.line_no, ExceptionRow.id))
    return [Overdue(exception_id, code, OverdueLine(
        order or "", line_no or "", supplier_part or buyer_part or description,
        _quantity(quantity, unit), _day(requested), _day(ordered)))
        for (exception_id, code, order, line_no, supplier_part, buyer_part, description,
             quantity, unit, requested, ordered) in session.execute(query) if code]


def _remind(session: Session, replier: Replier, supplier: Supplier, policy: ReminderPolicy,
            address: str | None, items: Sequence[Overdue], reminded: Mapping[int, Reminded],
            now: datetime) -> Reminder:
    ids = tuple(item.exception_id for item in items)
    number = max((reminded[i].sent for i in ids if i in reminded), default=0) + 1
    language = _language(supplier.language)
    content = ReminderContent(supplier.name, language, tuple(item.line for item in items),
                              number, policy.maximum)
    settings = replier.settings
    wire = message_id("reminder", replier.token(), settings.message_id_domain)
    try:
        payload = build_reminder(content, Addresses(
            settings.from_address, settings.from_name,
            address or "undisclosed-recipients:;", wire, now), replier.templates)
    except TemplateProblem as exc:
        log.warning("reminder not built", extra={"supplier": supplier.code, "error": str(exc)})
        return Reminder(supplier.code, ids, None, f"not built: {exc}")
    draft = OutboundDraft(
        OutboundKind.REMINDER, Transport.SMTP if settings.relay else Transport.FILE,
        address or "", payload, wire.strip("<>"),
        f"reminder {number} of {policy.maximum}: {len(ids)} line(s) not confirmed",
        sender=settings.from_address, supplier_code=supplier.code,
        exception_id=ids[0], extra={"language": language.value})
    why = None if address else "the partner entry lists no address"
    if why is None and not settings.enabled:
        why = "replies are turned off (GATEWAY_REPLIES)"
    if why is not None:
        outbox.record_suppressed(session, draft, why, now)
        log.warning("reminder suppressed", extra={"supplier": supplier.code, "why": why})
        return Reminder(supplier.code, ids, draft.wire_id, why)
    outbox.enqueue(session, draft, now)
    _count(session, supplier.code, ids, reminded, now)
    return Reminder(supplier.code, ids, draft.wire_id, None)


def _count(session: Session, supplier: str, ids: Sequence[int],
           reminded: Mapping[int, Reminded], now: datetime) -> None:
    for exception_id in ids:
        if exception_id in reminded:
            session.execute(update(SupplierReminderRow)
                            .where(SupplierReminderRow.exception_id == exception_id)
                            .values(sent=reminded[exception_id].sent + 1, last_sent_at=now))
        else:
            session.execute(insert(SupplierReminderRow).values(
                exception_id=exception_id, supplier_code=supplier, sent=1, last_sent_at=now))


def _suppliers(session: Session, codes: set[str]
               ) -> dict[str, tuple[Supplier, ReminderPolicy | None, str | None]]:
    """Each supplier with its reminder policy (None: no reminders) and first listed address."""
    found: dict[str, tuple[Supplier, ReminderPolicy | None, str | None]] = {}
    for supplier in session.scalars(select(Supplier).where(Supplier.code.in_(sorted(codes)))):
        address = session.scalars(
            select(SupplierIdentity.value).where(SupplierIdentity.supplier_id == supplier.id,
                                                 SupplierIdentity.kind == "email")
            .order_by(SupplierIdentity.id).limit(1)).first()
        policy = ReminderPolicy(supplier.reminder_every_days or DEFAULT_EVERY_DAYS,
                                supplier.reminder_max or DEFAULT_MAX) \
            if supplier.reminders else None
        found[supplier.code] = (supplier, policy, address)
    return found


def _reminded(session: Session, ids: Sequence[int]) -> dict[int, Reminded]:
    found: dict[int, Reminded] = {}
    for start in range(0, len(ids), 500):
        for exception_id, sent, last in session.execute(
                select(SupplierReminderRow.exception_id, SupplierReminderRow.sent,
                       SupplierReminderRow.last_sent_at)
                .where(SupplierReminderRow.exception_id.in_(ids[start:start + 500]))):
            found[exception_id] = Reminded(sent, _aware(last))
    return found


def _default_replier() -> Replier:
    from gateway.config import ReplySettings

    return Replier(ReplySettings())


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _language(value: str | None) -> Language:
    try:
        return Language(value or Language.EN.value)
    except ValueError:
        return Language.EN


def _quantity(quantity: Decimal | None, unit: str | None) -> str | None:
    if quantity is None:
        return None
    text = format(quantity, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return f"{text} {unit or ''}".strip()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None
