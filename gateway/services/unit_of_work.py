"""The unit of work every service takes: a callable that opens a transaction.

`sessionmaker.begin` is one: calling it returns a context manager that yields a session,
commits when the block ends and rolls back when it raises. Services that need several
transactions (read, then write; archive, then process) take this instead of a session. It
lives in a module of its own so that the modules that archive (`ingest`), process
(`pipeline`) and replay (`replay`) can all name it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

UnitOfWork = Callable[[], AbstractContextManager[Session]]
