"""The queue API's items as JSON, and the memo of items written lately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from gateway.web.queue_items import ItemMemo, page_item, page_json
from gateway.web.queue_view import encode_cursor, version_of

STAMP = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)


def _row(number: int, **changes: Any) -> tuple[Any, ...]:
    values = {"id": number, "code": "QTY_CHANGED", "severity": "high", "risk": 900 - number,
              "state": "open", "supplier": "ALBRECHT", "order_number": f"PO-{number}",
              "line_no": "10", "expected": "10 PCE", "actual": "12 PCE", "difference": "+2",
              "rule": "quantity", "tolerance": "c-parts.1", "owner": "anna@example.com",
              "message_id": 55, "occurrences": 1, "created_at": STAMP, "updated_at": STAMP}
    values.update(changes)
    return tuple(values.values())


def _written_whole(rows: list[tuple[Any, ...]], limit: int) -> bytes:
    """The page as orjson writes it from the items' dictionaries."""
    size = min(limit, len(rows))
    cursor = (encode_cursor(rows[size - 1][3], rows[size - 1][0]) if len(rows) > limit
              else None)
    return orjson.dumps({"items": [page_item(row) for row in rows[:size]],
                         "next_cursor": cursor})


def test_the_page_is_what_orjson_writes_from_the_items() -> None:
    rows = [_row(1), _row(2, owner=None, actual=None, message_id=None),
            _row(3, expected="<script>alert(1)</script> \"10\" 件", tolerance="ü\u2028"),
            _row(4, created_at=STAMP.astimezone(timezone(timedelta(hours=8)))),
            _row(5, updated_at=STAMP.replace(tzinfo=None))]
    memo = ItemMemo()
    for limit in (1, 3, 5, 50):
        assert page_json(rows, limit, memo) == _written_whole(rows, limit), limit
    assert page_json([], 50, memo) == b'{"items":[],"next_cursor":null}'
    item = orjson.loads(page_json(rows[:1], 50, memo))["items"][0]
    assert item["version"] == version_of(1, "open", "anna@example.com", 1, "12 PCE", STAMP)
    assert item["updated_at"] == "2026-12-06T09:30:15.123456+00:00"


def test_a_changed_row_is_written_again() -> None:
    memo = ItemMemo()
    first = memo.item(_row(1))
    assert memo.item(_row(1)) is first
    for change in ({"state": "acknowledged"}, {"owner": "bo@example.com"}, {"risk": 1},
                   {"occurrences": 2}, {"actual": "13 PCE"},
                   {"updated_at": STAMP + timedelta(microseconds=1)}):
        again = memo.item(_row(1, **change))
        assert again != first, change
        assert again == orjson.dumps(page_item(_row(1, **change))), change


def test_the_memo_holds_at_most_its_limit() -> None:
    memo = ItemMemo(limit=10)
    for number in range(35):
        assert memo.item(_row(number)) == orjson.dumps(page_item(_row(number)))
        assert len(memo.known) <= 10
