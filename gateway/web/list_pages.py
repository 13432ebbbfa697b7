"""The lists of orders (`/orders`) and of inbound messages (`/messages`), newest first, each
row linking to its page (`/orders/{number}`, `/messages/{id}`). Filters are kept in the URL;
a page holds 50 rows and "Next page" follows by keyset on the id (the cursor is the last id
shown, so rows arriving meanwhile never shift a page).

- Orders: `supplier`, `state` (the order page's state: sent, confirmed, …, overdue), `from`
  and `to` (the order date, YYYY-MM-DD, both included). An order's state is computed from its
  lines, so a `state` filter reads at most 2,000 orders per page in one batch and may show
  fewer than 50 rows with a link to go on.
- Messages: `supplier`, `state`, `channel`, `from` and `to` (the UTC day received).

Any signed-in user reads both (as they read the order and message pages). A fixed number of
SQL statements per page whatever the page holds: the session, the supplier choices, the rows,
and for orders their lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gateway.domain.messages import MessageState
from gateway.domain.order_state import OrderState
from gateway.persistence.models import InboundMessage, PurchaseOrder
from gateway.web.api_orders import _lines_of, _state
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _problem_page, _signed_in, _to_login
from gateway.web.queue_view import DEFAULT_PAGE_SIZE, MAX_ROW_ID, supplier_codes

STATE_SCAN_LIMIT = 2000
# The channels offered in the filter; any other name (a channel added later) is taken too.
CHANNELS = ("smtp", "imap", "http", "cli")


class BadFilter(ValueError):
    """A filter value or cursor this gateway did not make."""


@dataclass(frozen=True, slots=True)
class ListFilters:
    supplier: str | None = None
    state: str | None = None
    channel: str | None = None
    start: date | None = None
    end: date | None = None

    def as_query(self) -> dict[str, str]:
        values = {"supplier": self.supplier, "state": self.state, "channel": self.channel,
                  "from": self.start.isoformat() if self.start else None,
                  "to": self.end.isoformat() if self.end else None}
        return {key: value for key, value in values.items() if value}


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise BadFilter(f"not a date: {text[:20]!r}") from exc


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise BadFilter(f"not one of {', '.join(allowed)}")
    return value


def read_filters(params: Mapping[str, str], states: tuple[str, ...]) -> ListFilters:
    """The filters of the URL, checked (pure); BadFilter for a value that cannot be."""
    return ListFilters(
        supplier=(params.get("supplier") or "").strip()[:64] or None,
        state=_choice(params.get("state"), states),
        channel=(params.get("channel") or "").strip()[:16] or None,
        start=_day(params.get("from")), end=_day(params.get("to")))


def read_cursor(text: str | None) -> int | None:
    if not text:
        return None
    # ASCII digits only (str.isdigit takes "²", which int() refuses), and few enough of them
    # to be read whole: the cursor is an id the database can hold.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ROW_ID))
            and 0 < int(text) <= MAX_ROW_ID):
        raise BadFilter("this page link is not valid")
    return int(text)


@dataclass(frozen=True, slots=True)
class ListPage:
    rows: list[Any]
    next_cursor: int | None


def _after(moment: date) -> datetime:
    return datetime.combine(moment, time(0), UTC)


def order_list(session: Session, filters: ListFilters, cursor: int | None, limit: int,
               today: date) -> ListPage:
    """Two statements: the orders (one batch) and their lines."""
    query: Select[tuple[PurchaseOrder]] = select(PurchaseOrder)
    if filters.supplier:
        query = query.where(PurchaseOrder.supplier_code == filters.supplier)
    if filters.start:
        query = query.where(PurchaseOrder.order_date >= filters.start)
    if filters.end:
        query = query.where(PurchaseOrder.order_date <= filters.end)
    if cursor is not None:
        query = query.where(PurchaseOrder.id < cursor)
    batch = limit + 1 if filters.state is None else STATE_SCAN_LIMIT
    orders: list[PurchaseOrder] = list(session.scalars(
        query.order_by(PurchaseOrder.id.desc()).limit(batch)))
    lines = _lines_of(session, [order.id for order in orders])
    rows: list[tuple[PurchaseOrder, OrderState, int]] = []
    for order in orders:
        state = _state(lines[order.id], today)
        if filters.state is None or state.value == filters.state:
            if len(rows) == limit:
                return ListPage(rows, rows[-1][0].id)
            rows.append((order, state, len(lines[order.id])))
    if filters.state is not None and len(orders) == batch:
        return ListPage(rows, orders[-1].id)  # scanned a full batch: there may be more
    return ListPage(rows, None)


MESSAGE_COLUMNS = (InboundMessage.id, InboundMessage.received_at, InboundMessage.channel,
                   InboundMessage.sender, InboundMessage.filename, InboundMessage.size,
                   InboundMessage.state, InboundMessage.state_reason,
                   InboundMessage.supplier_code)


def message_list(session: Session, filters: ListFilters, cursor: int | None,
                 limit: int) -> ListPage:
    """One statement; never the raw bytes."""
    query = select(*MESSAGE_COLUMNS)
    if filters.supplier:
        query = query.where(InboundMessage.supplier_code == filters.supplier)
    if filters.state:
        query = query.where(InboundMessage.state == filters.state)
    if filters.channel:
        query = query.where(InboundMessage.channel == filters.channel)
    if filters.start:
        query = query.where(InboundMessage.received_at >= _after(filters.start))
    if filters.end and filters.end < date.max:  # the calendar's last day bounds nothing
        query = query.where(InboundMessage.received_at < _after(filters.end + timedelta(1)))
    if cursor is not None:
        query = query.where(InboundMessage.id < cursor)
    rows = list(session.execute(query.order_by(InboundMessage.id.desc()).limit(limit + 1)))
    return ListPage(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


def _links(path: str, filters: ListFilters, page: ListPage,
           cursor: int | None) -> dict[str, Any]:
    query = filters.as_query()
    following = {**query, "cursor": str(page.next_cursor)}
    return {"next_link": f"{path}?{urlencode(following)}" if page.next_cursor else None,
            "first_link": f"{path}?{urlencode(query)}" if cursor is not None else None}


# What a list reads for one page: the session, the checked filters, the cursor, the page size
# and today (the order list's states depend on it).
ReadList = Callable[[Session, ListFilters, int | None, int, date], ListPage]


@dataclass(frozen=True, slots=True)
class ListView:
    """One list page: its path, template, the states its filter offers, how it reads a page,
    and what else its template shows (the message list's channels)."""

    path: str
    template: str
    states: tuple[str, ...]
    read: ReadList
    extra: Mapping[str, Any]


def list_page(ctx: WebContext, view: ListView, request: Request) -> Response:
    """The list for a signed-in user (else the sign-in page), filtered and paged by the URL;
    400 on a filter or cursor this gateway did not make."""
    with ctx.transaction() as session:
        current = _signed_in(ctx, request, session)
        if current is None:
            return _to_login(request)
        try:
            filters = read_filters(request.query_params, view.states)
            cursor = read_cursor(request.query_params.get("cursor"))
        except BadFilter:
            return _problem_page(ctx, request, current, 400, "filter")
        page = view.read(session, filters, cursor, DEFAULT_PAGE_SIZE, ctx.now().date())
        return ctx.render(request, _locale(request, current.user), view.template,
                          me=current, page=page, filters=filters, states=view.states,
                          suppliers=supplier_codes(session), **view.extra,
                          **_links(view.path, filters, page, cursor))


def _messages_of(session: Session, filters: ListFilters, cursor: int | None, limit: int,
                 _today: date) -> ListPage:
    return message_list(session, filters, cursor, limit)


ORDERS = ListView("/orders", "orders.html", tuple(s.value for s in OrderState), order_list,
                  {})
MESSAGES = ListView("/messages", "messages.html", tuple(s.value for s in MessageState),
                    _messages_of, {"channels": CHANNELS})


def register_list_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/orders", include_in_schema=False)
    def orders(request: Request) -> Response:
        return list_page(ctx, ORDERS, request)

    @app.get("/messages", include_in_schema=False)
    def messages(request: Request) -> Response:
        return list_page(ctx, MESSAGES, request)
