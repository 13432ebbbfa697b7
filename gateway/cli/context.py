"""What every database command needs, built once per run from the environment.

Built lazily: a command that needs no database (`gateway parse`) never reads the database
settings nor loads SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from gateway.config import PipelineSettings, Settings
    from gateway.services.mail_auth import Authenticate
    from gateway.services.spread import Spread


@dataclass(slots=True)
class AppContext:
    env: Mapping[str, str]
    today_override: date | None = None
    _settings: Settings | None = field(default=None, init=False)
    _engine: Engine | None = field(default=None, init=False)
    _sessions: sessionmaker[Session] | None = field(default=None, init=False)
    _authenticate: Authenticate | None = field(default=None, init=False)
    _session_info: dict[str, Any] | None = field(default=None, init=False)

    @classmethod
    def with_settings(cls, settings: Settings, env: Mapping[str, str],
                      today_override: date | None = None) -> AppContext:
        """A context whose database settings are given, not read from `env`."""
        app = cls(env, today_override)
        app._settings = settings
        return app

    @property
    def settings(self) -> Settings:
        """From `GATEWAY_DATABASE_URL` and the rest; a bad value is an error of the commands
        that use it."""
        if self._settings is None:
            from gateway.config import Settings

            self._settings = Settings.from_env(self.env)
        return self._settings

    @property
    def display_url(self) -> str:
        """The database URL without its password, for messages; a placeholder when the
        settings themselves are wrong."""
        if self._settings is None:
            return "the database"
        return self._settings.display_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from gateway.bootstrap import make_engine

            self._engine = make_engine(self.settings)
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        if self._sessions is None:
            from gateway.bootstrap import make_session_factory

            self._sessions = make_session_factory(self.engine, self.session_info())
        with self._sessions.begin() as session:
            yield session

    def session_info(self) -> dict[str, Any]:
        """What every session of this run carries: the email replier, from the environment
        (`GATEWAY_REPLY_*`, `GATEWAY_TEMPLATE_DIR`; gateway.services.replies)."""
        if self._session_info is None:
            from gateway.services.replies import replier_info

            self._session_info = replier_info(self.env)
        return self._session_info

    def sender_authentication(self) -> Authenticate:
        """Sender authentication of mail, from `GATEWAY_MAIL_AUTH*`; built once per run."""
        if self._authenticate is None:
            from gateway.config import MailAuthSettings
            from gateway.services.mail_auth import SenderAuthentication

            self._authenticate = SenderAuthentication.from_settings(
                MailAuthSettings.from_env(self.env))
        return self._authenticate

    def pipeline(self) -> PipelineSettings:
        """Batching, attempts and the transient-error policy, from `GATEWAY_PIPELINE_*`: the
        same for every entry point of the processing path."""
        from gateway.config import PipelineSettings

        return PipelineSettings.from_env(self.env)

    def spread(self, processes: int) -> Spread:
        """Processing in `processes` worker processes, each opening this run's database
        afresh with this run's session info (`gateway.services.spread`)."""
        from gateway.bootstrap import open_database
        from gateway.services.spread import Spread

        return Spread(processes, partial(open_database, self.settings, self.session_info()))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.today_override or self.now().date()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


pass_app = click.make_pass_decorator(AppContext)
INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command ended by Ctrl-C
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
