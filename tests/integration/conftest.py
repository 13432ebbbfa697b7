"""Databases for integration tests: a fresh SQLite file, and a fresh PostgreSQL database on
the server this machine runs (127.0.0.1:5432). Without PostgreSQL the PostgreSQL cases skip with
a reason outside CI and fail under CI=true.

A test that asks for `engine` gets a database at the newest schema revision. The migrations run
from an empty database once per test run and backend (`MigratedTemplates`); each such test then
starts from a copy of that result (a file copy for SQLite, CREATE DATABASE ... TEMPLATE for
PostgreSQL) instead of running every migration again, which was most of the cost of the ~900
tests that use it. The copy is the migrations' own output, so a broken migration still fails
every one of them; `upgrade` still runs on the copy (a no-op at the head, as it must be). A test
that asks for `settings` without `engine` still gets an empty database."""

from __future__ import annotations

import os
import queue
import shutil
import threading
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
# Whether the test's PostgreSQL database is a copy of the migrated template (`settings`).
MIGRATED = pytest.StashKey[bool]()
# A test of what only PostgreSQL does runs on it alone: no SQLite case that would skip.
POSTGRESQL_ONLY = pytest.mark.parametrize("settings", ["postgresql"], indirect=True)


def _create_database(name: str, template: str | None = None) -> str:
    """A database on the test server, empty or a copy of the database `template`; its URL.
    Without PostgreSQL: a skip with the reason outside CI, a failure under CI=true."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    copied = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    finally:
        admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class BackgroundDrops:
    """Drops scratch databases on a thread of its own, so that a test does not wait for it:
    PostgreSQL 15 makes each DROP DATABASE wait for a checkpoint, which flushes every dirty
    buffer of the server and took longer than many tests. `close` waits for the last drop
    and fails the run if one failed (a database left behind). At most `backlog` wait: a test
    that would leave more waits for a drop, so that a run never holds many databases at once."""

    def __init__(self, backlog: int = 16) -> None:
        self._names: queue.Queue[str | None] = queue.Queue(maxsize=backlog)
        self._failures: list[str] = []
        self._thread = threading.Thread(target=self._drop_all, daemon=True)
        self._thread.start()

    def drop(self, name: str) -> None:
        self._names.put(name)

    def _drop_all(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                _drop_database(name)
            except Exception as exc:  # noqa: BLE001 - reported by close(), on the test thread
                self._failures.append(f"{name}: {exc}")

    def close(self) -> None:
        self._names.put(None)
        self._thread.join()
        if self._failures:
            pytest.fail("scratch databases not dropped: " + "; ".join(self._failures))


def _postgres_settings(template: str | None = None,
                       drops: BackgroundDrops | None = None) -> Iterator[Settings]:
    """A scratch database for one test, empty or a copy of the database `template`; dropped
    afterwards, by `drops` when given."""
    name = f"gateway_test_{uuid.uuid4().hex[:12]}"
    url = _create_database(name, template)
    try:
        yield Settings(url)
    finally:
        if drops is None:
            _drop_database(name)
        else:
            drops.drop(name)


class MigratedTemplates:
    """A database of each backend brought to the newest revision by the migrations, made on
    first use and kept for the test run: the SQLite file in a temporary folder, the PostgreSQL
    database under a scratch name (dropped at the end of the run)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite_file(self) -> Path:
        if self._sqlite is None:
            path = self._folder / "migrated.db"
            engine = make_engine(Settings(f"sqlite:///{path}", self._folder))
            try:
                upgrade(engine)
            finally:
                # The last connection closed checkpoints the write-ahead log into the file, so
                # the file alone is the whole database.
                engine.dispose()
            self._sqlite = path
        return self._sqlite

    def postgres_database(self) -> str:
        if self._postgres is None:
            name = f"gateway_test_template_{uuid.uuid4().hex[:12]}"
            engine = make_engine(Settings(_create_database(name)))
            self._postgres = name   # dropped at the end even if a migration fails
            try:
                upgrade(engine)
            finally:
                # PostgreSQL copies a database only while nobody is connected to it.
                engine.dispose()
        return self._postgres

    def drop(self) -> None:
        if self._postgres is not None:
            _drop_database(self._postgres)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated"))
    yield templates
    templates.drop()


@pytest.fixture(scope="session")
def background_drops() -> Iterator[BackgroundDrops]:
    drops = BackgroundDrops()
    yield drops
    drops.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    migrated: MigratedTemplates | None = (
        request.getfixturevalue("migrated_templates")
        if "engine" in request.fixturenames else None)
    if request.param == "sqlite":
        yield Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    else:
        request.node.stash[MIGRATED] = migrated is not None
        yield from _postgres_settings(migrated.postgres_database() if migrated else None,
                                      request.getfixturevalue("background_drops"))


@pytest.fixture
def engine(request: pytest.FixtureRequest, settings: Settings,
           migrated_templates: MigratedTemplates) -> Iterator[Engine]:
    # A copy of the migrated template is at the newest revision already; anything else (a
    # SQLite file something made before, an empty PostgreSQL database) is brought up by the
    # migrations. Checking an up-to-date schema again cost 50-100 ms a test, in some 2,500.
    copied = request.node.stash.get(MIGRATED, False)
    if settings.is_sqlite:
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if path.name and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_templates.sqlite_file(), path)
            copied = True
    engine = make_engine(settings)
    if not copied:
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
