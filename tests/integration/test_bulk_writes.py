"""`write_many`: rows written at the driver level are stored exactly as SQLAlchemy's own
executemany stores them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.types.json import Json
from sqlalchemy import Date, DateTime, Engine, bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from gateway.persistence.bulk import (
    Processor,
    array_literal,
    bind_processor,
    delete_rows,
    faster_processor,
    insert_many,
    insert_rows,
    replace_rows,
    update_rows,
    write_many,
)
from gateway.services.alerts import MARKS
from gateway.services.exception_store import EVENTS, EXCEPTIONS
from gateway.services.processing import LINES, MESSAGES, ORDERS, VERSIONS
from tests.integration.conftest import POSTGRESQL_ONLY

NOW = datetime(2026, 11, 27, 9, 30, 1, 250000, tzinfo=UTC)


def _message(engine: Engine) -> int:
    with engine.begin() as connection:
        return int(connection.execute(insert(MESSAGES).returning(MESSAGES.c.id), {
            "sha256": "0" * 64, "size": 1, "channel": "upload", "sender": "s@example.com",
            "received_at": NOW, "updated_at": NOW, "raw": b"x", "state": "received"})
            .scalar_one())


def _line(engine: Engine) -> int:
    with engine.begin() as connection:
        order_id = connection.execute(insert(ORDERS).returning(ORDERS.c.id), {
            "number": "4500000001", "source": "test", "updated_at": NOW}).scalar_one()
        return int(connection.execute(insert(LINES).returning(LINES.c.id), {
            "order_id": order_id, "line_no": "10", "quantity": Decimal(5), "state": "open",
            "despatched_quantity": Decimal(0)}).scalar_one())


def _versions(message_id: int, line_id: int) -> list[dict[str, Any]]:
    return [{"order_line_id": line_id, "kind": kind, "quantity": quantity,
             "delivery_date": when, "price": price, "message_id": message_id,
             "document_id": None, "position": position, "source": f"message #{message_id}",
             "created_at": NOW, "line_after": after}
            for position, (kind, quantity, when, price, after) in enumerate([
                ("confirmation", Decimal("450"), date(2027, 1, 1), Decimal("91.17"),
                 {"state": "confirmed", "confirmed_quantity": "450"}),
                ("despatch", Decimal("0.000001"), None, None, None),
                ("confirmation", Decimal("12345678901234567890.5"), date(1999, 12, 31),
                 Decimal("-0"), {"note": "ünïcode \"quoted\""})])]


def _stored(engine: Engine, message_id: int) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them: the stored text on SQLite, not a conversion."""
    columns = [c.name for c in VERSIONS.c if c.name not in ("id", "order_line_id")]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM line_versions WHERE message_id = {message_id}"
            " ORDER BY position")]


def test_an_insert_is_stored_as_sqlalchemy_stores_it(engine: Engine) -> None:
    ours, theirs, line_id = _message(engine), _message(engine), _line(engine)
    with engine.begin() as connection:
        write_many(connection, insert(VERSIONS), _versions(ours, line_id))
        connection.execute(insert(VERSIONS), _versions(theirs, line_id))

    def without_message(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(v for v in row if v not in (ours, theirs, f"message #{ours}",
                                                   f"message #{theirs}")) for row in rows]

    assert len(_stored(engine, ours)) == 3
    assert without_message(_stored(engine, ours)) == without_message(_stored(engine, theirs))
    with engine.connect() as connection:
        read = connection.execute(select(VERSIONS.c.quantity, VERSIONS.c.delivery_date,
                                         VERSIONS.c.created_at, VERSIONS.c.line_after)
                                  .where(VERSIONS.c.message_id == ours)
                                  .order_by(VERSIONS.c.position)).all()
    assert [r.quantity for r in read] == [Decimal("450"), Decimal("0.000001"),
                                          Decimal("12345678901234567890.5")]
    assert read[0].delivery_date == date(2027, 1, 1)
    assert read[2].line_after == {"note": "ünïcode \"quoted\""}
    assert read[0].created_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)


def test_an_update_sets_each_row_by_its_own_parameters(engine: Engine) -> None:
    message_id, line_id = _message(engine), _line(engine)
    with engine.begin() as connection:
        write_many(connection, insert(VERSIONS), _versions(message_id, line_id))
        ids = list(connection.execute(select(VERSIONS.c.id).where(
            VERSIONS.c.message_id == message_id).order_by(VERSIONS.c.position)).scalars())
        write_many(connection, update(VERSIONS).where(VERSIONS.c.id == bindparam("_id"))
                   .values(kind=bindparam("kind"), delivery_date=bindparam("delivery_date")),
                   [{"_id": ids[0], "kind": "receipt", "delivery_date": None},
                    {"_id": ids[2], "kind": "despatch", "delivery_date": date(2030, 2, 28)}])
        read = connection.execute(select(VERSIONS.c.kind, VERSIONS.c.delivery_date)
                                  .where(VERSIONS.c.message_id == message_id)
                                  .order_by(VERSIONS.c.position)).all()
    assert [tuple(r) for r in read] == [("receipt", None), ("despatch", None),
                                        ("despatch", date(2030, 2, 28))]


def test_rows_inserted_and_updated_by_id_are_stored_as_given(engine: Engine) -> None:
    """`insert_rows` (COPY on PostgreSQL) and `update_rows`: the same rows as SQLAlchemy's."""
    ours, theirs, line_id = _message(engine), _message(engine), _line(engine)
    with engine.begin() as connection:
        insert_rows(connection, VERSIONS, _versions(ours, line_id))
        connection.execute(insert(VERSIONS), _versions(theirs, line_id))
        ids = list(connection.execute(select(VERSIONS.c.id).where(
            VERSIONS.c.message_id == ours).order_by(VERSIONS.c.id)).scalars())
        update_rows(connection, VERSIONS, [{"id": ids[1], "kind": "receipt",
                                             "line_after": {"tab": "a\tb\\c\nd"}}])
        read = connection.execute(select(VERSIONS.c.position, VERSIONS.c.kind,
                                         VERSIONS.c.quantity, VERSIONS.c.line_after)
                                  .where(VERSIONS.c.message_id == ours)
                                  .order_by(VERSIONS.c.id)).all()
    assert [r.position for r in read] == [0, 1, 2]
    assert [r.kind for r in read] == ["confirmation", "receipt", "confirmation"]
    assert read[2].quantity == Decimal("12345678901234567890.5")
    assert read[1].line_after == {"tab": "a\tb\\c\nd"}
    assert read[2].line_after == {"note": "ünïcode \"quoted\""}


def test_a_row_the_database_refuses_raises_sqlalchemys_error(engine: Engine) -> None:
    """A COPY refused (here: a line that does not exist) is reported as any statement's
    error is, so that processing tells a refusal from a transient failure."""
    message_id = _message(engine)
    with engine.connect() as connection, pytest.raises(IntegrityError):
        insert_rows(connection, VERSIONS, _versions(message_id, 999_999))


def test_no_rows_write_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        write_many(connection, update(LINES).where(LINES.c.id == bindparam("_id"))
                   .values(state=bindparam("state")), [])
        assert connection.execute(select(LINES.c.id)).first() is None


def test_a_column_whose_default_python_computes_must_be_given(engine: Engine) -> None:
    # exceptions.occurrences has default=1 in Python: leaving it out would store NULL.
    row = {"key": "k", "code": "QTY_SHORT", "severity": "high", "risk": 1.0, "state": "open",
           "rule": "r", "created_at": NOW, "updated_at": NOW}
    with engine.begin() as connection, pytest.raises(ValueError, match="occurrences"):
        write_many(connection, insert(EXCEPTIONS), [row])


def _events(exception_id: int, details: list[str]) -> list[dict[str, Any]]:
    return [{"exception_id": exception_id, "at": NOW, "actor": "gateway", "action": "raised",
             "from_state": None, "to_state": "open", "detail": detail, "message_id": None}
            for detail in details]


def test_inserted_rows_get_their_own_ids_in_order(engine: Engine) -> None:
    with engine.begin() as connection:
        (exception_id,) = insert_many(connection, EXCEPTIONS, [{
            "key": "k", "code": "QTY_SHORT", "severity": "high", "risk": 1.0, "state": "open",
            "rule": "r", "occurrences": 1, "created_at": NOW, "updated_at": NOW}])
        first = insert_many(connection, EVENTS, _events(exception_id, ["a", "b", "c"]))
        # The newest row deleted: SQLite gives its id again, PostgreSQL's sequence does not.
        connection.execute(EVENTS.delete().where(EVENTS.c.id == first[-1]))
        second = insert_many(connection, EVENTS, _events(exception_id, ["d", "e"]))
        assert insert_many(connection, EVENTS, []) == []
        stored = dict(connection.execute(select(EVENTS.c.id, EVENTS.c.detail)).all())
    assert len(set(first[:2] + second)) == 4
    assert first == sorted(first)
    assert second == sorted(second)
    assert second[0] > first[1]
    assert [stored[i] for i in [*first[:2], *second]] == ["a", "b", "d", "e"]


def test_inserts_of_other_columns_on_one_connection_each_store_their_own(engine: Engine) -> None:
    # The insert compiled for a connection is kept per table and set of columns given.
    with engine.begin() as connection:
        (exception_id,) = insert_many(connection, EXCEPTIONS, [{
            "key": "k", "code": "QTY_SHORT", "severity": "high", "risk": 1.0, "state": "open",
            "rule": "r", "occurrences": 1, "created_at": NOW, "updated_at": NOW}])
        reopened = [{**row, "from_state": "closed"} for row in _events(exception_id, ["b"])]
        without = [{key: value for key, value in row.items() if key != "from_state"}
                   for row in _events(exception_id, ["c"])]
        first = insert_many(connection, EVENTS, reopened)
        second = insert_many(connection, EVENTS, without)
        third = insert_many(connection, EVENTS, reopened)
        stored = {row.id: (row.detail, row.from_state) for row in connection.execute(
            select(EVENTS.c.id, EVENTS.c.detail, EVENTS.c.from_state))}
    assert [stored[i] for i in [*first, *second, *third]] == [
        ("b", "closed"), ("c", None), ("b", "closed")]


_DIALECT = sqlite.dialect()


def _processors(type_: TypeEngine[Any]) -> tuple[Processor, Processor]:
    """The faster processor and SQLAlchemy's own, for SQLite."""
    impl = type_.dialect_impl(_DIALECT)
    theirs = impl.bind_processor(_DIALECT)
    assert theirs is not None
    ours = faster_processor(impl, _DIALECT, theirs)
    assert ours is not None, f"no faster processor for {type_!r}"
    return ours, theirs


@given(st.dates())
def test_sqlite_dates_are_written_as_sqlalchemy_writes_them(value: date) -> None:
    ours, theirs = _processors(Date())
    assert ours(value) == theirs(value)


@given(st.datetimes(timezones=st.none() | st.just(UTC)
                    | st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23),
                                                        max_value=timedelta(hours=23)))))
def test_sqlite_timestamps_are_written_as_sqlalchemy_writes_them(value: datetime) -> None:
    ours, theirs = _processors(DateTime(timezone=True))
    assert ours(value) == theirs(value)
    # A date given for a timestamp column goes SQLAlchemy's way (midnight).
    assert ours(value.date()) == theirs(value.date())


def test_a_custom_storage_format_keeps_sqlalchemys_processor() -> None:
    custom = sqlite.DATE(storage_format="%(day)02d.%(month)02d.%(year)04d",
                         regexp=r"(\d+)\.(\d+)\.(\d+)")
    theirs = custom.bind_processor(_DIALECT)
    assert theirs is not None
    assert faster_processor(custom, _DIALECT, theirs) is None
    process = bind_processor(custom, _DIALECT)
    assert process is not None
    assert process(date(2026, 11, 27)) == "27.11.2026"


def test_other_databases_keep_sqlalchemys_processors() -> None:
    dialect = postgresql.dialect()
    impl = Date().dialect_impl(dialect)
    assert faster_processor(impl, dialect, date.isoformat) is None


def test_an_update_of_a_row_listed_twice_keeps_its_last_values(engine: Engine) -> None:
    message_id, line_id = _message(engine), _line(engine)
    with engine.begin() as connection:
        ids = insert_many(connection, VERSIONS, _versions(message_id, line_id))
        update_rows(connection, VERSIONS, [
            {"id": ids[0], "kind": "receipt", "quantity": Decimal("1.5")},
            {"id": ids[2], "kind": "despatch", "quantity": None},
            {"id": ids[0], "kind": "despatch", "quantity": Decimal("2")}])
        read = connection.execute(select(VERSIONS.c.kind, VERSIONS.c.quantity)
                                  .where(VERSIONS.c.message_id == message_id)
                                  .order_by(VERSIONS.c.position)).all()
    assert [tuple(r) for r in read] == [("despatch", Decimal("2")),
                                        ("despatch", Decimal("0.000001")),
                                        ("despatch", None)]


@POSTGRESQL_ONLY
def test_an_update_on_postgresql_finds_its_rows_by_the_primary_key(engine: Engine) -> None:
    """Joined to its unnest alone, the update hash-joined the whole table (a sequential scan
    of every order line): the plan of the statement sent must look rows up by their key.
    (SQLite runs an executemany.)"""
    with engine.begin() as connection:
        order_id = connection.execute(insert(ORDERS).returning(ORDERS.c.id), {
            "number": "4500000009", "source": "test", "updated_at": NOW}).scalar_one()
        ids = insert_many(connection, LINES, [
            {"order_id": order_id, "line_no": str(n), "quantity": Decimal(n), "state": "open",
             "despatched_quantity": Decimal(0)} for n in range(5000)])
        connection.exec_driver_sql("ANALYZE order_lines")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _executemany: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.begin() as connection:
            update_rows(connection, LINES, [
                {"id": line_id, "state": "confirmed", "confirmed_quantity": Decimal(7)}
                for line_id in ids[100:140]])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = [(s, p) for s, p in sent if s.startswith("UPDATE")]
    with engine.begin() as connection:
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}",
                                                    parameters).scalars())
        stored = connection.execute(select(LINES.c.state, LINES.c.confirmed_quantity).where(
            LINES.c.id.in_(ids[99:141])).order_by(LINES.c.id)).all()
    assert "Seq Scan on order_lines" not in plan, plan
    assert [tuple(r) for r in stored] == [("open", None), *[("confirmed", Decimal(7))] * 40,
                                          ("open", None)]


def test_a_delete_removes_the_rows_of_the_keys_given_and_no_other(engine: Engine) -> None:
    """Rows found by two columns: a key whose first column matches another row's does not
    take that row with it."""
    message_id, line_id = _message(engine), _line(engine)
    with engine.begin() as connection:
        write_many(connection, insert(VERSIONS), _versions(message_id, line_id))
        delete_rows(connection, VERSIONS, [
            {"message_id": message_id, "position": 0}, {"message_id": message_id, "position": 2},
            {"message_id": message_id + 1, "position": 1}])
        left = connection.execute(select(VERSIONS.c.position).where(
            VERSIONS.c.message_id == message_id)).scalars().all()
    assert left == [1]


def _exception(engine: Engine) -> int:
    with engine.begin() as connection:
        (exception_id,) = insert_many(connection, EXCEPTIONS, [
            {"key": "S|4500000001|10|QTY", "code": "QTY_SHORT", "severity": "warning",
             "risk": 1.0, "state": "open", "rule": "test", "supplier_code": "S",
             "order_number": "4500000001", "occurrences": 1, "created_at": NOW,
             "updated_at": NOW}])
    return exception_id


def _mark(exception_id: int, recipient: str, change: str,
          at_once: datetime | None = None) -> dict[str, Any]:
    return {"exception_id": exception_id, "recipient": recipient, "change": change,
            "severity": "warning", "heard_at": NOW, "at_once_at": at_once,
            "escalated": at_once is not None}


def test_replaced_rows_take_the_place_of_those_with_their_keys(engine: Engine) -> None:
    """A row whose key is stored replaces it (every column), one whose key is not is added,
    a key listed twice keeps its last row, and the other rows stay as they were."""
    first, second = _exception(engine), _exception(engine)
    later = NOW + timedelta(hours=1)
    with engine.begin() as connection:
        insert_rows(connection, MARKS, [_mark(first, "a@example.com", "opened"),
                                        _mark(first, "b@example.com", "opened"),
                                        _mark(second, "a@example.com", "opened")])
        replace_rows(connection, MARKS, [_mark(first, "a@example.com", "worse", later),
                                         _mark(second, "c@example.com", "opened"),
                                         _mark(second, "c@example.com", "better")],
                     ("exception_id", "recipient"))
        stored = connection.execute(select(
            MARKS.c.exception_id, MARKS.c.recipient, MARKS.c.change, MARKS.c.at_once_at,
            MARKS.c.escalated).order_by(MARKS.c.exception_id, MARKS.c.recipient)).all()
    assert [(e, r, c, a is not None, bool(x)) for e, r, c, a, x in stored] == [
        (first, "a@example.com", "worse", True, True),
        (first, "b@example.com", "opened", False, False),
        (second, "a@example.com", "opened", False, False),
        (second, "c@example.com", "better", False, False)]


_AWKWARD_TEXT = ['say "no"', "back\\slash", "a,b", "{braces}", "NULL", "", " spaced ",
                 "ünïcode", None]


@pytest.mark.parametrize(("kind", "values"), [
    ("text", _AWKWARD_TEXT),
    ("integer", [0, -7, 2**31 - 1, None]),
    ("numeric", [Decimal("0.000001"), Decimal("-12.50"), Decimal("1E+3"), None]),
    ("date", [date(2026, 12, 6), date(1, 1, 1), None]),
    ("timestamp with time zone", [datetime(2026, 12, 6, 9, 5, 7, 123456, tzinfo=UTC),
                                  datetime(2026, 12, 6, 9, 5, tzinfo=timezone(timedelta(
                                      hours=-5))), None]),
    ("boolean", [True, False, None]),
])
@POSTGRESQL_ONLY
def test_an_array_literal_reads_back_as_the_values_given(engine: Engine, kind: str,
                                                         values: list[Any]) -> None:
    literal = array_literal(values, json.dumps)
    assert literal is not None
    with engine.connect() as connection:
        read = connection.exec_driver_sql(f"SELECT unnest(%s::{kind}[])", (literal,)
                                          ).scalars().all()
    assert read == values


@POSTGRESQL_ONLY
def test_json_in_an_array_literal_reads_back_as_the_objects_given(engine: Engine) -> None:
    objects = [[{"code": "x", "detail": 'a "quoted" \\ value, {braced}'}], [], None]
    literal = array_literal([None if o is None else Json(o) for o in objects], json.dumps)
    assert literal is not None
    with engine.connect() as connection:
        read = connection.exec_driver_sql("SELECT unnest(%s::json[])", (literal,)
                                          ).scalars().all()
    assert read == objects


def test_a_value_of_another_type_is_left_to_the_driver() -> None:
    assert array_literal([1, b"raw"], json.dumps) is None
    assert array_literal([Decimal("NaN")], json.dumps) is None
    assert array_literal([1.5], json.dumps) is None
