"""A buyer accepts the supplier's change of one line, from the web app, the API or the command
line alike: the order line's quantity, requested date or price becomes the supplier's
(`gateway.domain.acceptance`), recorded as a line version `accepted` ("accepted by buyer …",
in the line's timeline and the API, kept by a replay since it belongs to no message), and the
exception becomes `accepted_change` in its trail, in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.domain.acceptance import Terms, accepted_terms, state_after_acceptance
from gateway.domain.discrepancies import ExceptionState, move_exception
from gateway.domain.orders import LineState, VersionKind
from gateway.errors import InvalidTransition
from gateway.persistence.models import ExceptionRow, LineVersionRow, OrderLineRow
from gateway.services.queue import act_on_exception


def accept_change(session: Session, exception_id: int, actor: str, comment: str | None,
                  now: datetime) -> ExceptionRow:
    """LookupError for an unknown id; InvalidTransition when the exception's state, or its
    kind (no order line, not a quantity, date or price), does not allow it."""
    row = session.get(ExceptionRow, exception_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no exception #{exception_id}")
    move_exception(ExceptionState(row.state), ExceptionState.ACCEPTED_CHANGE)
    _accept_on_line(session, actor, row, now)
    return act_on_exception(session, exception_id, ExceptionState.ACCEPTED_CHANGE, actor,
                            comment, now)


def _accept_on_line(session: Session, actor: str, row: ExceptionRow, now: datetime) -> None:
    """The supplier's value becomes the order's, as a line version `accepted` (visible in the
    line's timeline, kept by a replay: it belongs to no message)."""
    line = (session.get(OrderLineRow, row.order_line_id, with_for_update=True)
            if row.order_line_id is not None else None)
    if line is None:
        raise InvalidTransition(f"a {row.code} exception", "without an order line",
                                "accepted")
    ordered = Terms(line.quantity, line.requested_date, line.price)
    confirmed = Terms(line.confirmed_quantity, line.confirmed_date, line.confirmed_price)
    terms = accepted_terms(row.code, ordered, confirmed)
    if terms.quantity is not None:
        line.quantity = terms.quantity
    line.requested_date, line.price = terms.requested_date, terms.price
    line.state = state_after_acceptance(LineState(line.state), terms, confirmed).value
    session.add(LineVersionRow(
        order_line_id=line.id, kind=VersionKind.ACCEPTED.value, quantity=terms.quantity,
        delivery_date=terms.requested_date, price=terms.price, message_id=None,
        document_id=None, position=None, source=f"accepted by buyer {actor}"[:200],
        created_at=now, line_after=_promise(line)))


def _promise(line: OrderLineRow) -> dict[str, str | None]:
    """As `processing.line_snapshot` stores it: what a replay restores."""
    return {name: None if (value := getattr(line, name)) is None else str(value)
            for name in ("state", "confirmed_quantity", "confirmed_date", "confirmed_price",
                         "despatched_quantity", "expected_delivery")}
