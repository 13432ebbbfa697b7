"""What every page and API route needs, built once by `create_app`: the session factory, the
cookie signer, the templates per language, the clock, and the threads the API's queue page is
read in."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, Engine, Executable, Row, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.web.api_tokens import TokenCache
from gateway.web.i18n import LANGUAGES, Formats, load_translations
from gateway.web.queue_items import ItemMemo
from gateway.web.security import CookieSigner, WebSettings
from gateway.web.threads import WorkerThreads

T = TypeVar("T")
TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_environments() -> dict[str, Environment]:
    """One Jinja2 environment per language (the gettext callables are per environment), each
    autoescaping every template: supplier text is data."""
    environments = {}
    for code, translations in load_translations().items():
        env = Environment(loader=FileSystemLoader(TEMPLATES),
                          autoescape=select_autoescape(default=True, default_for_string=True),
                          extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        environments[code] = env
    return environments


@dataclass(slots=True)
class WebContext:
    sessions: sessionmaker[Session]
    settings: WebSettings
    signer: CookieSigner
    environments: dict[str, Environment]
    clock: Callable[[], datetime]
    tokens: TokenCache
    # Connections in autocommit, for statements sent alone (`read_alone`).
    autocommit: Engine
    threads: WorkerThreads
    # The text and constant parameters of statements `read_alone` sends through psycopg, by
    # their key: a handful (the queue page's filter combinations).
    texts: dict[Hashable, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # The JSON items of the API's queue pages written lately, by their row.
    items: ItemMemo = field(default_factory=ItemMemo)

    @classmethod
    def build(cls, sessions: sessionmaker[Session], settings: WebSettings,
              clock: Callable[[], datetime] | None = None, alone: Engine | None = None,
              threads: int = 10) -> WebContext:
        """`alone`: the engine for statements sent alone (`bootstrap.make_alone_engine`; by
        default the sessions' own with the option). `threads`: as many as that engine's pool
        keeps connections (`bootstrap.serving_pool`). No thread starts before the first
        read."""
        engine: Engine = sessions.kw["bind"]
        pool = WorkerThreads(threads, "gateway-web")
        return cls(sessions, settings, CookieSigner(settings.secret_key),
                   template_environments(), clock or (lambda: datetime.now(UTC)),
                   TokenCache(settings.token_cache_seconds),
                   alone or engine.execution_options(isolation_level="AUTOCOMMIT"), pool)

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in one of the context's threads (`threads.WorkerThreads`: a
        queue of jobs and the result handed back to the event loop; `run_in_executor` on a
        `ThreadPoolExecutor` cost about 100,000 instructions more per call, and anyio's
        `to_thread`, Starlette's `run_in_threadpool`, more than that)."""
        return await self.threads.call(function, *args)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def read_rows(self, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction on a pooled connection, without an ORM session (the
        API's queue page: its columns, not objects); run once more on a new connection when
        the first turned out to be dead, as `read` does."""
        engine: Engine = self.sessions.kw["bind"]
        try:
            with engine.begin() as connection:
                return work(connection)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with engine.begin() as connection:
            return work(connection)

    def read_alone(self, key: Hashable, statement: Callable[[], Select[Any]],
                   values: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of one statement sent alone, outside a transaction: a single statement
        sees one snapshot of the database either way (PostgreSQL: each statement outside a
        transaction block is its own transaction), and BEGIN and COMMIT would be two more
        round trips. Read once more on a new connection when the first was dead, as `read`
        does.

        `statement()` makes it with `values` bound by name; its text depends on `key` alone.
        Through psycopg the text is compiled once per `key` and sent straight to the driver
        with `values`, the rows taken as psycopg gives them (tuples): SQLAlchemy's execution
        context and result rows cost more CPU than the query itself (docs/benchmarks.md,
        `gateway bench web`). Only for columns psycopg returns as SQLAlchemy would (numbers,
        text, timestamps with time zone): no type's result processing runs."""
        if self.autocommit.dialect.driver != "psycopg":
            return self._rows(statement())
        text = self.texts.get(key)
        if text is None:
            compiled = statement().compile(dialect=self.autocommit.dialect,
                                           compile_kwargs={"render_postcompile": True})
            text = self.texts[key] = (compiled.string, dict(compiled.params))
        sql, constants = text
        parameters = {**constants, **values}
        try:
            return self._driver_rows(sql, parameters)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._driver_rows(sql, parameters)

    def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        try:
            return self._execute(statement)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._execute(statement)

    def _execute(self, statement: Executable) -> Sequence[Row[Any]]:
        with self.autocommit.connect() as connection:
            return connection.execute(statement).all()

    def _driver_rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """`sql` on a pooled connection's psycopg cursor. A connection the server dropped is
        told apart as SQLAlchemy tells it (`Dialect.is_disconnect`) and dealt with as it
        would: the pool's connections are all replaced (`Engine.dispose`), and the error is
        raised as SQLAlchemy's, marked `connection_invalidated`, for `read_alone` to read
        once more."""
        raw = self.autocommit.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, parameters)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except self.autocommit.dialect.loaded_dbapi.Error as exc:
            dead = self.autocommit.dialect.is_disconnect(exc, raw.dbapi_connection, None)
            if dead:
                raw.invalidate(exc)
                self.autocommit.dispose()
            raise DBAPIError.instance(sql, parameters, exc,
                                      self.autocommit.dialect.loaded_dbapi.Error,
                                      connection_invalidated=dead) from exc
        finally:
            raw.close()

    def read(self, work: Callable[[Session], T]) -> T:
        """`work` in one transaction; run once more in a new one when the database connection
        turned out to be dead (a restarted server, a dropped idle connection). The web engine
        does not ping a pooled connection before each use (a round trip per request): a dead
        one fails its first statement, SQLAlchemy invalidates the pool, and a read can simply
        be done again. Only for work that is safe to repeat."""
        try:
            with self.transaction() as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.transaction() as session:
            return work(session)

    def now(self) -> datetime:
        return self.clock()

    def render(self, request: Request, locale: str, name: str, status: int = 200,
               **values: Any) -> HTMLResponse:
        env = self.environments.get(locale) or self.environments["en"]
        html = env.get_template(name).render(
            request=request, fmt=Formats(locale), locale=locale, languages=LANGUAGES,
            **values)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store"})
