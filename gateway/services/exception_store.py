"""Persisting discrepancies as exceptions: one row per problem, never a flood.

New evidence of an open problem updates its row; evidence with other values reopens a closed
one; a rule that no longer fires resolves it. Every change leaves an event in the audit trail,
and the changes that matter to a buyer become alerts in the outbox in the same transaction
(`gateway.services.alerts.tell`). The ledger collects the outcomes of a whole batch of
documents and writes them with a handful of statements, applying them in order as if one by
one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy, ExceptionState, is_open, of_message
from gateway.domain.reconciliation import Outcome
from gateway.domain.silence import Silence
from gateway.persistence.bulk import insert_many, insert_rows, update_rows
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.persistence.queries import chunked, found_by_key, result_rows
from gateway.services.alerts import tell
from gateway.services.lookups import SupplierInfo

EXCEPTIONS = cast(Table, ExceptionRow.__table__)
EVENTS = cast(Table, ExceptionEventRow.__table__)


@dataclass(frozen=True, slots=True)
class Source:
    """Where the evidence came from."""

    message_id: int | None
    document_id: int | None
    now: datetime

    @property
    def label(self) -> str:
        return (f"message #{self.message_id}" if self.message_id is not None
                else f"the overdue check of {self.now.date().isoformat()}")


@dataclass(slots=True)
class _Row:
    """An exception as the ledger knows it: stored (`id`) or about to be (`values`)."""

    id: int | None
    state: ExceptionState
    actual: str | None
    occurrences: int
    values: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


@dataclass(slots=True)
class _Pending:
    outcome: Outcome | Silence
    supplier: SupplierInfo
    line_ids: dict[tuple[str, str], int]
    source: Source


class ExceptionLedger:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: list[_Pending] = []
        # Which exceptions each message raised, saw again or resolved (set by `flush`).
        self.touched: dict[int | None, set[int]] = {}

    def record(self, outcome: Outcome | Silence, supplier: SupplierInfo,
               line_ids: dict[tuple[str, str], int], source: Source) -> None:
        if outcome.discrepancies or outcome.cleared:
            self.pending.append(_Pending(outcome, supplier, dict(line_ids), source))

    def flush(self) -> None:
        if not self.pending:
            return
        rows = self._known()
        instances = _Instances()
        for key in rows:
            instances.add(key)
        events: list[tuple[_Row, dict[str, Any]]] = []
        for pending in self.pending:
            events += _apply(pending, rows, instances)
        self._write(rows, events)
        changes: list[tuple[int, str]] = []
        for row, event in events:
            assert row.id is not None
            self.touched.setdefault(event["message_id"], set()).add(row.id)
            changes.append((row.id, event["action"]))
        self.pending.clear()
        if changes:
            # The buyers' alerts go to the outbox in this same transaction.
            tell(self.session, changes, max(event["at"] for _row, event in events))

    def _known(self) -> dict[str, _Row]:
        """The exceptions already stored for the orders (or, without an order, the keys) the
        batch speaks of: a query per 500 orders, not per key."""
        orders: dict[str, set[str]] = {}
        orderless: set[str] = set()
        for pending in self.pending:
            code = pending.supplier.code
            for discrepancy in pending.outcome.discrepancies:
                if discrepancy.order_number:
                    orders.setdefault(code, set()).add(discrepancy.order_number)
                else:
                    orderless.add(f"{code}|{discrepancy.key}")
            orders.setdefault(code, set()).update(
                key.split("|", 2)[1] for key in pending.outcome.cleared)
        columns = (EXCEPTIONS.c.key, EXCEPTIONS.c.id, EXCEPTIONS.c.state, EXCEPTIONS.c.actual,
                   EXCEPTIONS.c.occurrences)
        dialect = self.session.get_bind().dialect
        found = [found_by_key(select(*columns).where(EXCEPTIONS.c.supplier_code == code),
                              EXCEPTIONS.c.order_number, batch, dialect)
                 for code, numbers in orders.items() for batch in chunked(sorted(numbers))]
        found += [found_by_key(select(*columns), EXCEPTIONS.c.key, batch, dialect)
                  for batch in chunked(sorted(orderless))]
        known: dict[str, _Row] = {}
        for rows in found:
            for key, row_id, state, actual, occurrences in result_rows(self.session.execute(
                    select(*rows.c).order_by(rows.c.id))):
                known[key] = _Row(row_id, ExceptionState(state), actual, occurrences)
        return known

    def _write(self, rows: dict[str, _Row], events: list[tuple[_Row, dict[str, Any]]]) -> None:
        new = [(key, row) for key, row in rows.items() if row.id is None]
        new_keys = {key for key, _row in new}
        if new:
            ids = insert_many(self.session.connection(), EXCEPTIONS, [
                {"key": key, "state": row.state.value, "occurrences": row.occurrences,
                 **row.values} for key, row in new])
            for (_key, row), row_id in zip(new, ids, strict=True):
                row.id = row_id
        changed = [{"id": row.id, "state": row.state.value, "occurrences": row.occurrences,
                    **{k: v for k, v in row.values.items() if k not in _INSERT_ONLY}}
                   for key, row in rows.items() if row.changed and key not in new_keys]
        for batch in _same_columns(changed):
            update_rows(self.session.connection(), EXCEPTIONS, batch)
        insert_rows(self.session.connection(), EVENTS,
                    [{"exception_id": row.id, **event} for row, event in events])


_INSERT_ONLY = frozenset({"created_at", "supplier_code"})


class _Instances:
    """The keys of problems each message has of its own (`message_key`), by problem key: an
    answer that clears the problem on a line resolves those of earlier messages on that line
    and on its order as a whole (an email not read says nothing of which line it meant)."""

    def __init__(self) -> None:
        self.by_problem: dict[str, list[tuple[int, str]]] = {}

    def add(self, key: str) -> None:
        found = of_message(key)
        if found is not None:
            self.by_problem.setdefault(found[0], []).append((found[1], key))

    def answered(self, cleared: str, message_id: int | None) -> list[str]:
        if not self.by_problem or message_id is None:
            return []
        whole_order = cleared.rpartition("|")[0] + "|"
        return [key for problem in dict.fromkeys((cleared, whole_order))
                for earlier, key in self.by_problem.get(problem, ()) if earlier < message_id]


def _apply(pending: _Pending, rows: dict[str, _Row],
           instances: _Instances) -> list[tuple[_Row, dict[str, Any]]]:
    source, supplier = pending.source, pending.supplier
    prefix = f"{supplier.code}|"
    found = {prefix + d.key: d for d in pending.outcome.discrepancies}
    cleared = {prefix + key for key in pending.outcome.cleared} - set(found)
    events = []
    for key, discrepancy in found.items():
        values = _values(discrepancy, supplier, pending.line_ids, source)
        row = rows.get(key)
        if row is None:
            rows[key] = row = _Row(None, ExceptionState.OPEN, _cut(discrepancy.actual, 200), 1,
                                   {**values, "created_at": source.now,
                                    "supplier_code": supplier.code}, True)
            instances.add(key)
            events.append((row, _event(source, "raised", None, ExceptionState.OPEN,
                                       discrepancy.rule)))
            continue
        before = row.state
        action = "seen_again"
        # A resolved problem that comes back is open again. A change the buyer accepted or
        # rejected reopens only when the supplier now says something else.
        if row.state is ExceptionState.RESOLVED or (
                not is_open(row.state) and row.actual != _cut(discrepancy.actual, 200)):
            action, row.state = "reopened", ExceptionState.OPEN
        row.actual, row.occurrences, row.changed = (_cut(discrepancy.actual, 200),
                                                    row.occurrences + 1, True)
        row.values.update(values)
        events.append((row, _event(source, action, before, row.state,
                                   f"reported again by {source.label}")))
    answered = [instance for key in cleared
                for instance in instances.answered(key, source.message_id)]
    for key in [*cleared, *answered]:
        row = rows.get(key)
        if row is not None and is_open(row.state):
            before, row.state, row.changed = row.state, ExceptionState.RESOLVED, True
            row.values["updated_at"] = source.now
            events.append((row, _event(source, "resolved", before, row.state,
                                       f"{source.label} no longer shows the problem")))
    return events


def _values(found: Discrepancy, supplier: SupplierInfo, line_ids: dict[tuple[str, str], int],
            source: Source) -> dict[str, Any]:
    return {
        "code": found.code.value, "severity": found.severity.value, "risk": found.risk,
        "order_number": found.order_number, "line_no": found.line_no,
        "order_line_id": line_ids.get((found.order_number or "", found.line_no or "")),
        "expected": _cut(found.expected, 200), "actual": _cut(found.actual, 200),
        "difference": _cut(found.difference, 100), "rule": _cut(found.rule, 200),
        "tolerance": _cut(found.tolerance, 200), "message_id": source.message_id,
        "document_id": source.document_id, "position": found.position,
        "owner": found.owner or supplier.buyer_contact, "updated_at": source.now,
    }


def _cut(text: str | None, width: int) -> str | None:
    """An exception's description within its column (the widths of `ExceptionRow`): it may
    quote several of the supplier's ids. The document keeps them whole."""
    return text if text is None or len(text) <= width else text[: width - 1] + "…"


def _same_columns(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """executemany wants the same keys in every row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def _event(source: Source, action: str, before: ExceptionState | None,
           after: ExceptionState | None, detail: str | None) -> dict[str, Any]:
    return {"at": source.now, "actor": "gateway", "action": action,
            "from_state": before.value if before else None,
            "to_state": after.value if after else None, "detail": detail,
            "message_id": source.message_id}
