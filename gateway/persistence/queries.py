"""Query helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Result

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
