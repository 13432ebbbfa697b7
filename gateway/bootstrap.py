"""The composition root: engine and session factory are built here and passed in."""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Settings
from gateway.errors import ConfigurationError
from gateway.observability import JsonLogFormatter
from gateway.runtime import tune_garbage_collector as tune_garbage_collector  # re-exported

# Loggers that would write message content or credentials below WARNING: aiosmtpd's logs every
# DATA line at DEBUG and addresses at INFO, imapclient protocol lines (LOGIN arguments among
# them) at DEBUG; dkimpy the signed headers and body hashes at DEBUG; alembic is chatty at INFO
# (docs/architecture.md, "Caps and limits").
_QUIET_LOGGERS = ("mail.log", "imapclient", "dkimpy", "alembic")


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on stderr (or `stream`) for a process that runs the gateway's services: one
    object per record with the time, level, logger, message and the ids passed in `extra`.
    Called by the CLI commands that run services, never at import; calling it again replaces
    the handler it installed."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, JsonLogFormatter)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a JSON line too, not raw text
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# Execution option for a connection that only reads (readiness checks, metrics scrapes): on
# SQLite it begins a deferred transaction, which in WAL mode never waits for a writer's lock.
READ_ONLY = "gateway_read_only"
# Execution option for a write transaction whose commit may return before SQLite has flushed
# its write-ahead log to disk (synchronous=NORMAL for that transaction): the caller must flush
# the log itself (`gateway.persistence.wal.WalFlush`) before it tells anyone the data is stored.
# The SMTP intake's group commit does, outside the write lock (docs/architecture.md, "Archive
# before acknowledge"). Without the option every commit flushes (synchronous=FULL).
FLUSH_LATER = "gateway_flush_later"


# The web server's pool (`serving=True`): as many connections kept as requests it runs at
# once in the usual case, a few more opened when busier; a connection is replaced after half
# an hour, before a firewall or the server drops it as idle. Shared out between its worker
# processes (`serving_pool`).
SERVING_POOL_SIZE = 10
SERVING_POOL_OVERFLOW = 20
SERVING_POOL_RECYCLE_SECONDS = 1800
# `gateway web --workers`: read by the command, and set by it for its worker processes.
WEB_WORKERS_ENV = "GATEWAY_WEB_WORKERS"


@dataclass(frozen=True, slots=True)
class ServingPool:
    size: int  # connections kept
    overflow: int  # opened beyond them when busy, closed on return


def serving_pool(workers: int) -> ServingPool:
    """One of `workers` web processes' share of the server's pool, rounded up (at least 2 kept
    and 4 more when busy): `gateway web` holds about as many connections whatever its number
    of processes (one per CPU by default), and PostgreSQL's `max_connections` (100 by
    default) is not used up by a host with many cores. Each process serves its share of the
    requests, so it needs its share of the connections."""
    share = max(1, workers)
    return ServingPool(max(2, math.ceil(SERVING_POOL_SIZE / share)),
                       max(4, math.ceil(SERVING_POOL_OVERFLOW / share)))


def make_engine(settings: Settings, connect_timeout: int | None = None,
                serving: bool = False, workers: int = 1) -> Engine:
    """`connect_timeout` (seconds, PostgreSQL) bounds how long a connection attempt to a host
    that does not answer may take; the default is the driver's (no limit).

    `serving` (the web process, PostgreSQL): no ping before each checkout (a round trip per
    request; a dead connection fails its first statement instead, the pool is invalidated
    and the web app's reads run once more, `WebContext.read`), a pool as large as the
    requests served at once (overflow connections are closed on return: at the default five
    a busy server opened and closed connections all the time), this process's share of it
    when `workers` processes serve (`serving_pool`), and the session's time zone UTC, so
    timestamps arrive in the zone the API writes them in."""
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            folder = Path(path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the database folder {folder}: {exc.strerror}") from exc
        engine = create_engine(settings.database_url, connect_args={"timeout": 30},
                               json_serializer=json_text)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    connect_args: dict[str, Any] = (
        {} if connect_timeout is None else {"connect_timeout": connect_timeout})
    if serving:
        pool = serving_pool(workers)
        engine = create_engine(settings.database_url, pool_size=pool.size,
                               max_overflow=pool.overflow,
                               pool_recycle=SERVING_POOL_RECYCLE_SECONDS,
                               connect_args=connect_args, json_serializer=json_text)
        event.listen(engine, "connect", _session_time_zone_utc)
        return engine
    return create_engine(settings.database_url, pool_pre_ping=True, connect_args=connect_args,
                         json_serializer=json_text)


def make_alone_engine(settings: Settings, connect_timeout: int | None = None,
                      workers: int = 1) -> Engine:
    """The web process's pool for statements sent alone, outside a transaction
    (`WebContext.read_alone`: the API's queue page): its connections are in autocommit for
    their whole life. Switching a connection of the main pool in and out of autocommit at
    each checkout cost more than the BEGIN and COMMIT it saved (psycopg's autocommit and
    isolation-level setters and SQLAlchemy's reset: four more waits on the connection per
    request, +2% instructions per API request under callgrind). As many connections as the
    process has API threads (`serving_pool(workers).size`), none beyond; nothing to roll
    back when one is returned, as no transaction is ever open on it. On SQLite, a switch
    costs nothing: the usual engine with the option."""
    if settings.is_sqlite:
        return make_engine(settings, connect_timeout).execution_options(
            isolation_level="AUTOCOMMIT")
    connect_args: dict[str, Any] = (
        {} if connect_timeout is None else {"connect_timeout": connect_timeout})
    engine = create_engine(settings.database_url, isolation_level="AUTOCOMMIT",
                           pool_size=serving_pool(workers).size, max_overflow=0,
                           pool_reset_on_return=None,
                           pool_recycle=SERVING_POOL_RECYCLE_SECONDS,
                           connect_args=connect_args, json_serializer=json_text)
    event.listen(engine, "connect", _session_time_zone_utc)
    return engine


# What orjson serializes that the standard library refuses (dataclasses, datetimes) goes to
# json.dumps, so it is refused as before instead of being stored silently.
_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def json_text(value: Any) -> str:
    """JSON columns' text (canonical documents, line snapshots, problems). orjson writes it
    about seven times faster than json.dumps: every message stores its canonical documents and
    a snapshot per line it changed (`gateway bench reconcile`). What orjson refuses and the
    standard library takes (integers beyond 64 bits, keys that are not strings) goes to
    json.dumps."""
    try:
        return orjson.dumps(value, option=_STRICT).decode()
    except TypeError:
        return json.dumps(value)


def _session_time_zone_utc(connection: Any, _record: Any) -> None:
    """Once per new connection, not a startup option (a pooler such as PgBouncer refuses
    `options`). Where a pooler loses the setting, timestamps still arrive correct, in another
    zone, and the API converts them."""
    connection.execute("SET TIME ZONE 'UTC'")
    connection.commit()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers work while a writer commits. FULL sync flushes the WAL to disk at
    every commit: a channel answers "received" (SMTP 250, IMAP move) only after the commit,
    so the commit must survive a power loss too, which NORMAL does not promise in WAL mode
    (SQLite docs, "pragma synchronous"; docs/architecture.md, "Archive before acknowledge"). Batch
    ingest commits once per batch, so the flush costs it little.
    The driver's own implicit BEGIN is switched off: `_sqlite_begin_immediate` begins."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    _record.info[_SYNCHRONOUS] = "FULL"


# Where a SQLite connection's current synchronous level is kept: the DBAPI connection's info,
# which lives as long as the connection, across pool checkouts.
_SYNCHRONOUS = "gateway_synchronous"


def make_session_factory(engine: Engine, info: Mapping[str, Any] | None = None
                         ) -> sessionmaker[Session]:
    """`info` travels with every session: what the services built from the configuration
    put there (the email `Replier` of gateway.services.replies, under its key)."""
    return sessionmaker(engine, expire_on_commit=False, info=dict(info or {}))


def open_database(settings: Settings, info: Mapping[str, Any] | None = None
                  ) -> tuple[Callable[[], AbstractContextManager[Session]], Callable[[], None]]:
    """A new engine and its unit of work (`sessionmaker.begin`), and how to close it: what a
    worker process forked by `gateway.services.spread` opens for itself, never touching the
    pooled connections it inherited (a connection's socket is one, whichever process speaks
    on it)."""
    engine = make_engine(settings)
    return make_session_factory(engine, info).begin, engine.dispose


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when the unit of work begins, not at its first write: two
    workers that both read a line before either writes would otherwise both add to the same
    starting value and one despatch would be lost (SQLAlchemy docs, "Serializable isolation /
    Savepoints / Transactional DDL" for pysqlite). A connection marked `READ_ONLY` writes
    nothing, so it begins deferred and never waits behind a writer. A transaction marked
    `FLUSH_LATER` commits at synchronous=NORMAL, every other one at FULL; SQLite refuses to
    change the level inside a transaction, so it is set here, only when it changes."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # statements sent alone (`WebContext.read_alone`): no transaction to begin
    if options.get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    level = "NORMAL" if options.get(FLUSH_LATER) else "FULL"
    if connection.info.get(_SYNCHRONOUS) != level:
        connection.exec_driver_sql(f"PRAGMA synchronous={level}")
        connection.info[_SYNCHRONOUS] = level
    connection.exec_driver_sql("BEGIN IMMEDIATE")
