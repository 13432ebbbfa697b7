"""Settings, read once at the edge (CLI start) and passed in: no globals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.errors import ConfigurationError

DEFAULT_VAR = Path("var")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the gateway keeps its state. `GATEWAY_DATABASE_URL` selects PostgreSQL
    (`postgresql+psycopg://...`); the default is a SQLite file under ./var/ (WAL)."""

    database_url: str
    var_dir: Path = DEFAULT_VAR

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        var_dir = Path(env.get("GATEWAY_VAR_DIR", str(DEFAULT_VAR)))
        url = env.get("GATEWAY_DATABASE_URL") or f"sqlite:///{var_dir / 'gateway.db'}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError as exc:
            raise ConfigurationError(
                f"GATEWAY_DATABASE_URL {url!r} is not a database URL; use "
                "sqlite:///path/to/file.db or postgresql://user@host:5432/database") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ConfigurationError(f"GATEWAY_DATABASE_URL names {backend}; the gateway runs "
                                     "on SQLite or PostgreSQL")
        return cls(url, var_dir)

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
