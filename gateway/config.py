"""Settings, read once at the edge (CLI start) and passed in: no globals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
        return cls(url, var_dir)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
