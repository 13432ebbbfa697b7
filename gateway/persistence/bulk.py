"""Bulk writes handed straight to the driver's `executemany`.

SQLAlchemy's own executemany builds every row's parameters through the compiler's general path
(`construct_params`): about ten microseconds a row on this project's machines. The gateway writes
some 25 rows per supplier message (line states, line versions, exception events), so that path
was a fifth of the end-to-end time of `gateway bench reconcile`. Here SQLAlchemy still compiles
the statement, once per call and for the connection's dialect, and each column's bind processor
is looked up once; every row then becomes the driver's parameter tuple (or dict, for a named
paramstyle) in one pass. Values are stored exactly as SQLAlchemy would store them: the
processors are the column types' own, or, for SQLite's dates and timestamps, a faster function
that was checked to give the same text (`_same_text`).

On PostgreSQL each table gets one statement per batch, whatever the number of rows. Inserts go
as one `COPY ... FROM STDIN`, the fastest way into a table (PostgreSQL docs, "Populating a
Database"); the ids of inserted rows the caller needs are taken from the table's sequence first
(`nextval`, one query) and written with the rows, instead of SQLAlchemy's multi-row
`INSERT ... RETURNING`, which cost the client and the server more than the rows themselves.
Updates go as one `UPDATE ... FROM unnest(...)`, each column's values one array: psycopg's
executemany (pipeline mode, a prepared statement) runs a Python loop per row, 34-45 ms of this
process's CPU for a batch's 2,480 order lines against 13-21 ms for the arrays (compiled build).
Each array goes as one parameter in PostgreSQL's text form (`array_literal`), cast by the
statement: psycopg dumps a list element by element in Python, 11-12 ms for those 2,480 rows'
seven arrays against 2 ms for the text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import Column, Connection, Delete, Insert, Table, Update, and_, bindparam, insert
from sqlalchemy import delete as delete_statement
from sqlalchemy import update as update_statement
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]


def write_many(connection: Connection, statement: Insert | Update | Delete,
               rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute an INSERT (without RETURNING), an UPDATE or a DELETE once per row. Every row
    has the same keys: the insert's columns, or the statement's bind parameter names."""
    if not rows:
        return
    _execute(connection, _prepare(connection, statement, list(rows[0])), rows)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A statement compiled for executemany: its text, and each parameter's name and bind
    processor in the order the driver takes them."""

    text: str
    names: list[str]
    processors: list[Processor | None]
    positional: bool


def _prepare(connection: Connection, statement: Insert | Update | Delete,
             keys: list[str]) -> _Prepared:
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A column default computed in Python would be silently left out here.
        missing = ", ".join(c.name for c in [*compiled.insert_prefetch,
                                              *compiled.update_prefetch])
        raise ValueError(f"write_many needs a value for every column with a Python-side "
                         f"default; missing: {missing}")
    names = list(compiled.positiontup or compiled.binds)
    return _Prepared(compiled.string, names,
                     [bind_processor(compiled.binds[name].type, dialect) for name in names],
                     bool(compiled.positional))


def _execute(connection: Connection, prepared: _Prepared,
             rows: Sequence[Mapping[str, Any]]) -> None:
    columns = [_column([row[name] for row in rows], process)
               for name, process in zip(prepared.names, prepared.processors, strict=True)]
    parameters: list[Any] = list(zip(*columns, strict=True))
    if not prepared.positional:
        parameters = [dict(zip(prepared.names, values, strict=True)) for values in parameters]
    connection.exec_driver_sql(prepared.text, parameters)


# Where a connection keeps the inserts compiled for it (the DBAPI connection's info, kept
# across pool checkouts): compiling costs more than inserting a batch of a few rows, as the
# SMTP intake's group commit writes them.
_PREPARED_INSERTS = "gateway_prepared_inserts"


def _prepared_insert(connection: Connection, table: Table, keys: list[str]) -> _Prepared:
    cache: dict[tuple[str, tuple[str, ...]], _Prepared] = connection.info.setdefault(
        _PREPARED_INSERTS, {})
    key = (table.name, tuple(keys))
    prepared = cache.get(key)
    if prepared is None:
        prepared = cache[key] = _prepare(connection, insert(table), keys)
    return prepared


def insert_rows(connection: Connection, table: Table,
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows whose ids the caller does not need: one COPY on PostgreSQL, one
    executemany elsewhere. Every row has the same keys, the columns it gives."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, list(rows[0]), rows)
    else:
        write_many(connection, insert(table), rows)


def update_rows(connection: Connection, table: Table,
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Set columns of rows found by their `id`: every row has the key `id` and the same
    other keys, the columns to set. One executemany on SQLite; on PostgreSQL one statement
    with the rows as arrays (`_update_from_arrays`)."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if connection.dialect.name == "postgresql":
        _update_from_arrays(connection, table, names, rows)
        return
    write_many(connection, update_statement(table).where(table.c.id == bindparam("_id"))
               .values({name: bindparam(name) for name in names}),
               [{"_id": row["id"], **{name: row[name] for name in names}} for row in rows])


def _update_from_arrays(connection: Connection, table: Table, names: list[str],
                        rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL: one `UPDATE ... FROM unnest(...)`, each column's values sent as one array.
    psycopg's executemany runs its pipeline loop in Python for every row (parameters checked,
    dumped, a prepared statement sent and its answer read): 14-18 µs of client CPU a row,
    a dozen rows per supplier message. The arrays cost 5-8 µs a row.

    The condition `id = ANY(ids)` beside the join is what keeps the server on the primary
    key: joined to the unnest alone, whose row count the planner cannot know, it hash-joined
    the whole table (a sequential scan of every order line or archived message). A row listed
    twice is written once, with its last values, as the executemany left it."""
    last: dict[Any, Mapping[str, Any]] = {row["id"]: row for row in rows}
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = ["id", *names]
    arrays = [_array(table.c[name], [row[name] for row in last.values()], dialect)
              for name in columns]
    types = [table.c[name].type.compile(dialect=dialect) for name in columns]
    target = quote(table.name)
    statement = (
        f"UPDATE {target} SET "
        + ", ".join(f"{quote(name)} = v.{quote(name)}" for name in names)
        + " FROM unnest(" + ", ".join(f"%s::{kind}[]" for kind in types) + ") AS v("
        + ", ".join(quote(name) for name in columns) + ")"
        + f" WHERE {target}.id = v.id AND {target}.id = ANY(%s::{types[0]}[])")
    connection.exec_driver_sql(statement, (*arrays, arrays[0]))


def delete_rows(connection: Connection, table: Table,
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete the rows whose columns have the values given (every row has the same keys):
    one executemany on SQLite; on PostgreSQL one `DELETE ... USING unnest(...)`, each
    column's values one array (a row per key otherwise: psycopg's loop per row, as for the
    updates of `update_rows`). The condition `first column = ANY(...)` keeps the plan on the
    index, as there."""
    if not rows:
        return
    names = list(rows[0])
    if connection.dialect.name != "postgresql":
        write_many(connection, delete_statement(table).where(and_(
            *(table.c[name] == bindparam(f"_{name}") for name in names))),
            [{f"_{name}": row[name] for name in names} for row in rows])
        return
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    arrays = [_array(table.c[name], [row[name] for row in rows], dialect) for name in names]
    types = [table.c[name].type.compile(dialect=dialect) for name in names]
    target = quote(table.name)
    statement = (
        f"DELETE FROM {target} USING unnest("
        + ", ".join(f"%s::{kind}[]" for kind in types) + ") AS v("
        + ", ".join(quote(name) for name in names) + ") WHERE "
        + " AND ".join(f"{target}.{quote(name)} = v.{quote(name)}" for name in names)
        + f" AND {target}.{quote(names[0])} = ANY(%s::{types[0]}[])")
    connection.exec_driver_sql(statement, (*arrays, arrays[0]))


def replace_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                 keys: Sequence[str]) -> None:
    """Store `rows` (every row with the same keys, the columns to write), each in place of
    the row with the same values of `keys` (the columns of the table's primary key or of a
    unique constraint), if there is one. On
    PostgreSQL one `INSERT ... SELECT FROM unnest(...) ON CONFLICT (keys) DO UPDATE`, each
    column's values one array: the conflict is found through the key's unique index, so the
    statement costs the same however many rows the table holds (a `DELETE ... USING
    unnest(...)`, which the planner may answer by scanning the table, did not:
    docs/architecture.md, "Measured facts"). A key listed twice keeps its last row. Elsewhere
    `delete_rows` of the keys, then `insert_rows`."""
    if not rows:
        return
    last = list({tuple(row[key] for key in keys): row for row in rows}.values())
    if connection.dialect.name != "postgresql":
        delete_rows(connection, table, [{key: row[key] for key in keys} for row in last])
        insert_rows(connection, table, last)
        return
    names = list(rows[0])
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    arrays = [_array(table.c[name], [row[name] for row in last], dialect) for name in names]
    types = [table.c[name].type.compile(dialect=dialect) for name in names]
    changed = [name for name in names if name not in keys]
    statement = (
        f"INSERT INTO {quote(table.name)} (" + ", ".join(quote(name) for name in names)
        + ") SELECT * FROM unnest(" + ", ".join(f"%s::{kind}[]" for kind in types)
        + ") ON CONFLICT (" + ", ".join(quote(key) for key in keys) + ") DO "
        + ("UPDATE SET " + ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}"
                                     for name in changed) if changed else "NOTHING"))
    connection.exec_driver_sql(statement, tuple(arrays))


def insert_many(connection: Connection, table: Table,
                rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows; their new ids, in the rows' order (ascending).

    On PostgreSQL the ids are taken from the table's sequence in one query, then the rows go
    with them in one COPY: SQLAlchemy's ordered RETURNING (`insertmanyvalues`) builds one
    big parameter list in Python and the server plans a VALUES row per row.

    SQLite cannot say which RETURNING row belongs to which VALUES row, so SQLAlchemy's ordered
    RETURNING (`sort_by_parameter_order`) falls back to one INSERT statement per row there
    (SQLAlchemy docs, "Correlating RETURNING rows to parameter sets"). Instead the rows go to
    one executemany, and their ids follow from SQLite's rowid rule: without AUTOINCREMENT a new
    row gets one more than the largest rowid in the table, until that reaches 2**63 - 1
    (sqlite.org/autoinc.html); the transaction holds the write lock (BEGIN IMMEDIATE), so no
    other writer comes between. The last id is checked all the same."""
    if not rows:
        return []
    if connection.dialect.name == "sqlite":
        quoted = connection.dialect.identifier_preparer.quote(table.name)
        before = connection.exec_driver_sql(f"SELECT max(id) FROM {quoted}").scalar() or 0
        if before + len(rows) < _LARGEST_ROWID:
            _execute(connection, _prepared_insert(connection, table, list(rows[0])), rows)
            last = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar()
            if last != before + len(rows):
                raise RuntimeError(f"{table.name}: {len(rows)} rows inserted after id "
                                   f"{before}, the last got id {last}: another writer without "
                                   "the write lock?")
            return list(range(before + 1, last + 1))
    if connection.dialect.name == "postgresql":
        ids = sorted(connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (connection.dialect.identifier_preparer.quote(table.name), len(rows))).scalars())
        names = list(rows[0])
        _copy(connection, table, ["id", *names],
              [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
        return ids
    return list(connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())


_LARGEST_ROWID = 2**63 - 1


def _copy(connection: Connection, table: Table, names: list[str],
          rows: Sequence[Mapping[str, Any]]) -> None:
    """`COPY table (names) FROM STDIN` of the rows, each value as SQLAlchemy would bind it
    (its column type's bind processor), then dumped as text by psycopg with the adapters of
    the connection (the engine's JSON serializer among them). A column left out gets its
    server default; one whose default Python computes would be left NULL, so it is refused."""
    _python_defaults(table, names)
    dialect = connection.dialect
    columns = [_values(table.c[name], [row[name] for row in rows], dialect) for name in names]
    quote = dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for values in zip(*columns, strict=True):
                copy.write_row(values)
    except dialect.loaded_dbapi.Error as exc:
        # Raised as SQLAlchemy raises a driver's error (IntegrityError, OperationalError
        # ...), so that callers tell a transient failure from a refusal as for any statement.
        disconnected = dialect.is_disconnect(exc, driver, None)
        if disconnected:
            connection.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=disconnected,
                                  dialect=dialect) from exc


def _python_defaults(table: Table, names: list[str]) -> None:
    missing = [c.name for c in table.c if c.default is not None and c.name not in names]
    if missing:
        raise ValueError(f"write_many needs a value for every column with a Python-side "
                         f"default; missing: {', '.join(missing)}")


def _values(column: Column[Any], values: list[Any], dialect: Dialect) -> list[Any]:
    return _column(values, bind_processor(column.type, dialect))


def _array(column: Column[Any], values: list[Any], dialect: Dialect) -> str | list[Any]:
    """One column's values as one array parameter: its text form (`array_literal`), else,
    for a value of another type, the list, which psycopg dumps value by value."""
    bound = _values(column, values, dialect)
    serializer = getattr(dialect, "_json_serializer", None)
    text = array_literal(bound, serializer or json.dumps)
    return bound if text is None else text


def array_literal(values: Sequence[Any], dumps: Callable[[Any], str]) -> str | None:
    """PostgreSQL's text form of a one-dimensional array of `values` (PostgreSQL docs,
    "Array Value Input"), for the statement to cast to the column's array type; None if a
    value is of a type not written here. Each value is written as the type's input function
    reads it: text and timestamps quoted (a backslash before `"` and `\\`), NULL for None,
    JSON (psycopg's `Json`, as SQLAlchemy binds it) serialized by its own function or
    `dumps` (psycopg's default is `json.dumps`) and quoted."""
    parts: list[str] = []
    for value in values:
        kind = type(value)
        if value is None:
            parts.append("NULL")
        elif kind is int or (kind is Decimal and value.is_finite()):
            parts.append(str(value))
        elif kind is str:
            parts.append(_quoted(value))
        elif kind is date:
            parts.append(value.isoformat())
        elif kind is datetime:
            parts.append(_quoted(value.isoformat()))
        elif kind is bool:
            parts.append("t" if value else "f")
        elif kind is Json:
            serialize = value.dumps or dumps
            serialized = serialize(value.obj)
            parts.append(_quoted(serialized if isinstance(serialized, str)
                                 else bytes(serialized).decode()))
        else:
            return None
    return "{" + ",".join(parts) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column(values: list[Any], process: Processor | None) -> list[Any]:
    """One column's values as the driver takes them. Consecutive rows often share a value
    object (the batch's timestamp, the message id): it is processed once."""
    if process is None:
        return values
    out: list[Any] = []
    last: object = _NOTHING
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, process(value)
        out.append(done)
    return out


_NOTHING = object()


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The column type's bind processor for `dialect`, or an equivalent faster one."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None:
        return None
    return faster_processor(impl, dialect, process) or process


def faster_processor(impl: TypeEngine[Any], dialect: Dialect,
                     general: Processor) -> Processor | None:
    """A faster function that writes what `general`, the type's own processor, writes.

    SQLAlchemy stores SQLite dates and timestamps as ISO text, built with `%` formatting of a
    dict per value (sqlalchemy.dialects.sqlite.DATE/DATETIME): the isoformat methods give the
    same text several times faster. Used only when probes show the same text, so a column
    with a custom storage format keeps SQLAlchemy's own processor."""
    if dialect.name != "sqlite":
        return None
    if isinstance(impl, sqlite.DATETIME) and _same_text(general, _sqlite_timestamp,
                                                        _TIMESTAMP_PROBES):
        return _exact_type(datetime, _sqlite_timestamp, general)
    if isinstance(impl, sqlite.DATE) and _same_text(general, _sqlite_date, _DATE_PROBES):
        return _exact_type(date, _sqlite_date, general)
    return None


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _sqlite_timestamp(value: datetime) -> str:
    # Always "YYYY-MM-DD HH:MM:SS.ffffff" (26 characters), without the offset, as SQLAlchemy
    # writes it: the wall-clock fields as given.
    return value.isoformat(" ", "microseconds")[:26]


def _exact_type(kind: type, fast: Processor, general: Processor) -> Processor:
    """`fast` for values of exactly `kind` (a datetime is also a date), else SQLAlchemy's."""

    def process(value: Any) -> Any:
        return fast(value) if type(value) is kind else general(value)

    return process


_DATE_PROBES: tuple[date, ...] = (date(2026, 11, 27), date(1, 1, 1), date(9999, 12, 31))
_TIMESTAMP_PROBES: tuple[datetime, ...] = (
    datetime(2026, 11, 27, 9, 5, 7, 123456, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5),
    datetime(999, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))


def _same_text(general: Processor, fast: Processor, probes: Sequence[object]) -> bool:
    return all(general(probe) == fast(probe) for probe in probes)
