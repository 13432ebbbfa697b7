"""Databases for integration tests: a fresh SQLite file, and a fresh PostgreSQL database on
the server this machine runs (127.0.0.1:5432). Without PostgreSQL the PostgreSQL cases skip with
a reason outside CI and fail under CI=true."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.persistence.schema import upgrade
from gateway.services.partners import load_partners

POSTGRES_ADMIN_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_settings() -> Iterator[Settings]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gateway_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield Settings(url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    else:
        yield from _postgres_settings()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


def edifact_interchange(body: str, ref: str, sender: str) -> bytes:
    """One message in an interchange: `body` starts with the message type and a `+`
    (e.g. "ORDRSP+'BGM+231+R1+4'..."); UNH, UNT and the envelope are added, counted right."""
    segments = body.count("'")
    return (f"UNA:+.? 'UNB+UNOC:3+{sender}:14+5400000000001:14+261126:0900+{ref}'"
            f"UNH+1+{body.split('+', 1)[0]}:D:96A:UN:EAN005'"
            + body.split("'", 1)[1] + f"UNT+{segments + 1}+1'UNZ+1+{ref}'").encode()


def transactions(engine: Engine, partners: dict[str, object],
                 now: datetime) -> Callable[[], AbstractContextManager[Session]]:
    """A unit-of-work factory on `engine`, with `partners` loaded."""
    factory = make_session_factory(engine)
    with factory.begin() as session:
        load_partners(session, partners, now)
    return factory.begin


def require_redis(url: str) -> str:
    """`url` when a Redis answers there. Without one the test skips with a reason outside CI
    and fails under CI=true."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI and not reachable at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    finally:
        client.close()
    return url


def require_rabbitmq(url: str) -> str:
    """`url` when a RabbitMQ answers there. Without one the test skips with a reason outside
    CI and fails under CI=true."""
    import kombu

    try:
        with kombu.Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - kombu raises the transport's own errors
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ is required under CI and not reachable at {url}: {exc}")
        pytest.skip(f"RabbitMQ not reachable at {url}: {exc}")
    return url
