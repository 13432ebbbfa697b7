"""The IMAP mailboxes `gateway imap` polls, from a TOML or YAML file (like the partner file).

The file is named by `--mailboxes PATH` or `GATEWAY_IMAP_MAILBOXES`. Shape (TOML)::

    [[mailboxes]]
    name = "orders"                       # how logs and the status table call it
    host = "imap.buyer.example"
    port = 993                            # default: 993 for implicit TLS, else 143
    tls = "implicit"                      # implicit | starttls | none (loopback hosts only)
    user = "orders@buyer.example"
    password_env = "GATEWAY_IMAP_ORDERS_PASSWORD"   # or: password = "..." in the file
    folder = "INBOX"                      # where suppliers' mail arrives
    processed_folder = "Processed"        # taken in (archived and committed)
    failed_folder = "Failed"              # over max_message_bytes: never downloaded
    max_message_bytes = 26214400          # 25 MiB
    poll_seconds = 60                     # between polls when the server has no IDLE
    idle_seconds = 1500                   # IDLE re-issued at least this often (< 29 min)
    retry_initial_seconds = 2             # reconnect back-off: doubles, with jitter,
    retry_max_seconds = 300               #   up to this cap
    ca_file = "/etc/ssl/buyer-ca.pem"     # optional: trust this CA (self-signed servers)

Passwords are never logged and never shown by `repr`.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigurationError

# RFC 2177: servers may log out a client idle for 30 minutes; re-issue IDLE before 29.
IDLE_LIMIT_SECONDS = 29 * 60


class TlsMode(StrEnum):
    IMPLICIT = "implicit"
    STARTTLS = "starttls"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    name: str
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 0
    tls: TlsMode = TlsMode.IMPLICIT
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    max_message_bytes: int = 25 * 1024 * 1024
    poll_seconds: float = 60.0
    idle_seconds: float = 1500.0
    retry_initial_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    timeout_seconds: float = 60.0
    ca_file: Path | None = None

    @property
    def address(self) -> str:
        port = self.port or (993 if self.tls is TlsMode.IMPLICIT else 143)
        return f"{self.host}:{port}"


_NUMBERS = ("port", "max_message_bytes", "poll_seconds", "idle_seconds",
            "retry_initial_seconds", "retry_max_seconds", "timeout_seconds")
_TEXTS = ("name", "host", "user", "folder", "processed_folder", "failed_folder")
_KNOWN = {f.name for f in fields(MailboxSettings)} | {"password_env"}


def read_mailbox_file(path: Path, env: Mapping[str, str]) -> list[MailboxSettings]:
    if path.suffix.lower() not in (".toml", ".yaml", ".yml"):
        raise ConfigurationError(f"{path}: a mailbox file is TOML (.toml) or YAML (.yaml, .yml)")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix.lower() != ".toml" else tomllib.loads(text)
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.MarkedYAMLError as exc:
        # Its full text quotes the offending lines, which may hold the password: say where only.
        parts = [f"{text} (line {mark.line + 1}, column {mark.column + 1})"
                 for text, mark in ((exc.context, exc.context_mark),
                                    (exc.problem, exc.problem_mark)) if text and mark]
        raise ConfigurationError(f"{path}: not a valid mailbox file: {', '.join(parts)}") \
            from exc
    except (UnicodeDecodeError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a valid mailbox file: {exc}") from exc
    entries = data.get("mailboxes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: expected a list 'mailboxes' with at least one entry")
    mailboxes = [mailbox_from_mapping(entry, index, env) for index, entry in enumerate(entries, 1)]
    names = [m.name for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{path}: mailbox names must be unique: {names}")
    return mailboxes


def mailbox_from_mapping(entry: object, index: int, env: Mapping[str, str]) -> MailboxSettings:
    where = f"mailbox {index}"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected a table")
    unknown = set(entry) - _KNOWN
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {"name": str(entry.get("name") or f"mailbox{index}")}
    where = f"mailbox {values['name']!r}"
    for key in _TEXTS[1:]:
        if key in entry:
            values[key] = _text(entry[key], key, where)
    for key in ("host", "user"):
        if key not in values:
            raise ConfigurationError(f"{where}: '{key}' is required")
    for key in _NUMBERS:
        if key in entry:
            values[key] = _number(entry[key], key, where)
    values["tls"] = _tls(entry.get("tls", "implicit"), values["host"], where)
    values["password"] = _password(entry, env, where)
    if entry.get("ca_file"):
        values["ca_file"] = Path(str(entry["ca_file"]))
    settings = MailboxSettings(**values)
    if not 0 < settings.idle_seconds < IDLE_LIMIT_SECONDS:
        raise ConfigurationError(f"{where}: idle_seconds must be between 0 and "
                                 f"{IDLE_LIMIT_SECONDS} (RFC 2177: re-issue IDLE within 29 min)")
    if settings.retry_max_seconds < settings.retry_initial_seconds:
        raise ConfigurationError(f"{where}: retry_max_seconds is below retry_initial_seconds")
    return settings


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _number(value: object, key: str, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{where}: '{key}' must be a positive number")
    if key in ("port", "max_message_bytes") and not isinstance(value, int):
        raise ConfigurationError(f"{where}: '{key}' must be a whole number")
    return value


def _tls(value: object, host: str, where: str) -> TlsMode:
    try:
        mode = TlsMode(str(value).lower())
    except ValueError as exc:
        raise ConfigurationError(f"{where}: tls must be one of "
                                 f"{', '.join(m.value for m in TlsMode)}") from exc
    if mode is TlsMode.NONE and not _is_loopback(host):
        raise ConfigurationError(f"{where}: tls = 'none' sends the password in clear text; "
                                 "it is allowed for loopback hosts only")
    return mode


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _password(entry: Mapping[str, Any], env: Mapping[str, str], where: str) -> str:
    if "password_env" in entry:
        name = str(entry["password_env"])
        if name not in env:
            raise ConfigurationError(f"{where}: the environment variable {name} "
                                     "(password_env) is not set")
        return env[name]
    if isinstance(entry.get("password"), str):
        return str(entry["password"])
    raise ConfigurationError(f"{where}: give 'password_env' (an environment variable) "
                             "or 'password'")
