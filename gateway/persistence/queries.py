"""Query helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Result, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

T = TypeVar("T")

# One `IN (...)` per ~500 keys: fast on both databases and far below SQLite's variable limit
# (docs/architecture.md, "Measured facts").
IN_BATCH = 500


def chunked(values: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


def result_rows(result: Result[Any]) -> Iterator[Sequence[Any]]:
    """A result's rows typed as what they are. SQLAlchemy types a select's rows as tuples;
    the modules compiled with mypyc (setup.py) check that at run time, and a `Row` is a
    sequence, not a tuple."""
    return iter(result)


def one_of(column: ColumnElement[Any], values: Sequence[Any],
           dialect: Dialect) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(%s)` with the values as one array.
    SQLAlchemy renders an IN with a placeholder per value at each execution, psycopg converts
    each one to `$n` (about a millisecond of this process's CPU for 500 values) and, the text
    differing with the count, never prepares it; the array is one parameter and the text
    the same whatever the count."""
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
