"""Query helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Result, Select, Subquery, any_, bindparam, func, select, true
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


def found_by_key(query: Select[Any], key: ColumnElement[Any], values: Sequence[Any],
                 dialect: Dialect) -> Subquery:
    """The rows of `query` whose `key` is one of `values`, as a subquery to select from
    (its columns are `query`'s): `found_by_keys` with one key."""
    return found_by_keys(query, (key,), [(value,) for value in values], dialect)


def found_by_keys(query: Select[Any], keys: Sequence[ColumnElement[Any]],
                  values: Sequence[Sequence[Any]], dialect: Dialect) -> Subquery:
    """The rows of `query` whose `keys` have one of the tuples of `values`, as a subquery to
    select from (its columns are `query`'s).

    On PostgreSQL each tuple is looked up on its own: `unnest` of each key's values as one
    array, then `query` for each tuple (a `LATERAL` subquery, kept apart from the outer query
    by `OFFSET 0`: the planner merges no subquery with a LIMIT or OFFSET into the query around
    it, `is_simple_subquery` in PostgreSQL's prepjointree.c). Written as `key = ANY(values)`,
    the planner weighed a scan of every row, each compared with the whole array, against an
    index descent per value; on a table without statistics (young, `ANALYZE` not run yet) it
    chose the scan, or the index by a first column that every row shares, and a batch then
    read everything stored before it, its cost growing with the history
    (docs/architecture.md, "Measured facts"). An equality per key column on an index's
    columns is found through the index whatever the statistics say.

    Elsewhere (SQLite) one `IN` per key column, each of that column's values: with several
    keys a superset of the tuples (a tuple `IN` scans the index on SQLite), which the caller
    compares."""
    if dialect.name != "postgresql":
        return query.where(*(key.in_(sorted({row[index] for row in values}))
                             for index, key in enumerate(keys))).subquery("found")
    names = [f"key_{index}" for index in range(len(keys))]
    wanted = func.unnest(*(bindparam(None, [row[index] for row in values],
                                     type_=ARRAY(key.type))
                           for index, key in enumerate(keys))) \
        .table_valued(*names).render_derived(name="wanted")
    found = query.where(*(key == wanted.c[name] for key, name in zip(keys, names, strict=True))) \
        .offset(0).lateral("found")
    return select(*found.c).select_from(wanted).join(found, true()).subquery("each_found")
