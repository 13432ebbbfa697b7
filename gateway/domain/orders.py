"""Open orders as the reconciliation sees them: plain values, no database."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class LineState(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CHANGED = "changed"
    REJECTED = "rejected"
    PARTLY_DESPATCHED = "partly_despatched"
    DESPATCHED = "despatched"


class VersionKind(StrEnum):
    """What set a version of a line's promise (docs/architecture.md, "Orders")."""

    REQUESTED = "requested"
    CONFIRMATION = "confirmation"
    DESPATCH = "despatch"
    RECEIPT = "receipt"
    # A buyer accepted the supplier's change: what was ordered became what the supplier
    # confirmed (gateway.domain.acceptance).
    ACCEPTED = "accepted"


# Not frozen, though never changed in place: a new promise is a new line (`evolve`). A frozen
# dataclass's __init__ sets each of the 18 fields through object.__setattr__, about three times
# the cost of plain assignment, and reconciliation builds some 30 lines per supplier message.
@dataclass(slots=True)
class OrderLine:
    """One ordered line and the supplier's current promise for it."""

    order_number: str
    line_no: str
    quantity: Decimal
    unit: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    requested_date: date | None = None
    gtin: str | None = None
    buyer_part: str | None = None
    supplier_part: str | None = None
    description: str | None = None
    state: LineState = LineState.OPEN
    confirmed_quantity: Decimal | None = None
    confirmed_date: date | None = None
    confirmed_price: Decimal | None = None
    despatched_quantity: Decimal = Decimal(0)
    expected_delivery: date | None = None
    id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.order_number, self.line_no)

    def evolve(self, **changes: Any) -> OrderLine:
        """A copy with `changes`: `dataclasses.replace` without its per-call introspection
        (reconciliation makes one per line per message)."""
        values = {name: getattr(self, name) for name in _LINE_FIELDS}
        values.update(changes)
        return OrderLine(**values)

    @property
    def promised_quantity(self) -> Decimal:
        return self.confirmed_quantity if self.confirmed_quantity is not None else self.quantity

    @property
    def promised_date(self) -> date | None:
        return self.confirmed_date or self.requested_date

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price if self.price is not None else Decimal(0)

    @property
    def answered(self) -> bool:
        return self.state is not LineState.OPEN


_LINE_FIELDS = tuple(f.name for f in fields(OrderLine))


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    supplier_id: str | None
    owner: str | None
    lines: tuple[OrderLine, ...]


@dataclass(slots=True)  # Not frozen, for the reason OrderLine is not.
class LineVersion:
    """A new version of a line's promise, and which document line set it."""

    order_number: str
    line_no: str
    kind: VersionKind
    quantity: Decimal | None
    delivery_date: date | None
    price: Decimal | None
    position: int | None
