"""The queue API's page as JSON: each row of `API_COLUMNS` an `ExceptionOut` item, and the
memo of items written lately.

Writing an item is most of what a page costs the web process beyond its query: a dictionary of
19 fields, the version (a SHA-256 over a float's text), two datetimes and orjson's pass over
them, about 20,000 instructions an item (docs/benchmarks.md, `gateway bench web`).
Integrations poll the same pages, whose rows mostly have not changed since the last poll, so
the items are remembered by the row itself, as read this time: the key is everything the item
is made of, so an item is never stale (the row changed, the key changed). This is the fragment
cache keyed by content that web frameworks use for the same reason (Rails' cache keys carry
`updated_at`); the statement still runs for every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.persistence.models import ExceptionRow
from gateway.web.queue_view import encode_cursor, page_size, utc, version_of

_C = ExceptionRow.__table__.c
# In the order `page_item` unpacks them.
API_COLUMNS = (_C.id, _C.code, _C.severity, _C.risk, _C.state, _C.supplier_code,
               _C.order_number, _C.line_no, _C.expected, _C.actual, _C.difference, _C.rule,
               _C.tolerance, _C.owner, _C.message_id, _C.occurrences, _C.created_at,
               _C.updated_at)


def as_utc(moment: datetime) -> datetime:
    """orjson writes an aware datetime as `isoformat()` does; in UTC already (the web
    engine's session time zone) it is passed as it is."""
    return moment if moment.tzinfo is UTC else utc(moment)


def page_item(row: Sequence[Any]) -> dict[str, Any]:
    """One row of `API_COLUMNS` as the API's `ExceptionOut`."""
    (exception_id, code, severity, risk, state, supplier, order_number, line_no, expected,
     actual, difference, rule, tolerance, owner, message_id, occurrences, created_at,
     updated_at) = row
    return {"id": exception_id, "code": code, "severity": severity, "risk": risk,
            "state": state, "supplier": supplier, "order_number": order_number,
            "line_no": line_no, "expected": expected, "actual": actual,
            "difference": difference, "rule": rule, "tolerance": tolerance, "owner": owner,
            "message_id": message_id, "occurrences": occurrences,
            "created_at": as_utc(created_at), "updated_at": as_utc(updated_at),
            "version": version_of(exception_id, state, owner, occurrences, actual,
                                  updated_at)}


@dataclass(slots=True)
class ItemMemo:
    """The JSON of items written lately, by their row (a tuple of `API_COLUMNS`' values).

    Rows are equal only when every value is, so a remembered item is the one `page_item`
    would write now (a datetime equal in another zone is the same instant, and `as_utc`
    writes both alike). Bounded: when `limit` items are held they are all dropped and the
    memo fills again, cheaper than ordering entries by use on every lookup; 4,096 items are
    about 7 MB. Shared by a worker's threads: CPython's dictionary operations are atomic,
    and two threads writing the same item store the same bytes."""

    limit: int = 4096
    known: dict[tuple[Any, ...], bytes] = field(default_factory=dict)

    def item(self, row: Sequence[Any]) -> bytes:
        key = tuple(row)
        found = self.known.get(key)
        if found is None:
            if len(self.known) >= self.limit:
                self.known.clear()
            found = self.known[key] = orjson.dumps(page_item(key))
        return found


def page_json(rows: Sequence[Sequence[Any]], limit: int, items: ItemMemo) -> bytes:
    """`ExceptionPage` from the page statement's rows (one more than the page when another
    follows), as orjson would write `{"items": [...], "next_cursor": ...}`: compact, in that
    order."""
    size = page_size(limit)
    last = rows[size - 1] if len(rows) > size else None
    cursor = b"null" if last is None else orjson.dumps(encode_cursor(last[3], last[0]))
    return b"".join((b'{"items":[', b",".join([items.item(row) for row in rows[:size]]),
                     b'],"next_cursor":', cursor, b"}"))
