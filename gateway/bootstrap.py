"""The composition root: engine and session factory are built here and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Settings
from gateway.errors import ConfigurationError


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            folder = Path(path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the database folder {folder}: {exc.strerror}") from exc
        engine = create_engine(settings.database_url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(settings.database_url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers work while a writer commits; NORMAL sync is durable in WAL mode
    except for the last transactions on power loss (SQLite docs, "pragma synchronous").
    The driver's own implicit BEGIN is switched off: `_sqlite_begin_immediate` begins."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when the unit of work begins, not at its first write: two
    workers that both read a line before either writes would otherwise both add to the same
    starting value and one despatch would be lost (SQLAlchemy docs, "Serializable isolation /
    Savepoints / Transactional DDL" for pysqlite)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
