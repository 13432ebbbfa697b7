"""Readiness: can this process do its work now? The database answers a trivial query, its schema
is at the newest migration, and the broker (when one is configured) answers.

Each check returns a `Check` whose detail an operator can act on; no exception escapes a check,
so `/readyz` answers 503 with the reason, never a traceback. Details name hosts and revisions,
never a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.persistence.schema import current_revision, head_revision


class CheckStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"status": self.status.value, "detail": self.detail}


class BrokerProbe(Protocol):
    """What the web process asks of the Celery broker (`gateway.web.broker`)."""

    def ping(self) -> None:
        """Return when the broker answers; raise `BrokerUnavailable` otherwise."""

    def queue_lengths(self) -> dict[str, int]:
        """Messages waiting per queue; raise `BrokerUnavailable` when it cannot be asked."""

    def close(self) -> None: ...


class BrokerUnavailable(Exception):
    """The broker did not answer; the message says why, without credentials."""


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Check("database", CheckStatus.FAILED, f"unreachable: {_first_line(exc)}")
    return Check("database", CheckStatus.OK, "answers")


def check_schema(engine: Engine, database: Check) -> Check:
    if database.status is not CheckStatus.OK:
        return Check("schema", CheckStatus.SKIPPED, "the database is unreachable")
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Check("schema", CheckStatus.FAILED, f"cannot be read: {_first_line(exc)}")
    head = head_revision()
    if current is None:
        return Check("schema", CheckStatus.FAILED,
                     "the database holds no gateway schema; run `gateway init`")
    if current != head:
        return Check("schema", CheckStatus.FAILED,
                     f"at revision {current}, this version needs {head}; run `gateway init`")
    return Check("schema", CheckStatus.OK, f"at revision {head}")


def check_broker(broker: BrokerProbe | None) -> Check:
    if broker is None:
        return Check("broker", CheckStatus.SKIPPED,
                     "no GATEWAY_BROKER_URL: tasks run in the process that queues them")
    try:
        broker.ping()
    except BrokerUnavailable as exc:
        return Check("broker", CheckStatus.FAILED, f"unreachable: {exc}")
    return Check("broker", CheckStatus.OK, "answers")


def readiness(engine: Engine, broker: BrokerProbe | None) -> list[Check]:
    database = check_database(engine)
    return [database, check_schema(engine, database), check_broker(broker)]


def _first_line(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
