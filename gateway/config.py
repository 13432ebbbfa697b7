"""Settings, read once at the edge (CLI start) and passed in: no globals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, tzinfo
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.errors import ConfigurationError

DEFAULT_VAR = Path("var")
SMTP_DEFAULT_HOST = "127.0.0.1"
SMTP_DEFAULT_PORT = 2525
SMTP_DEFAULT_MAX_SIZE = 25 * 1024 * 1024
# Postfix's defaults: at most 100 smtpd processes (default_process_limit), and a sending
# Postfix opens at most 20 connections to one destination (default_destination_concurrency_limit).
SMTP_DEFAULT_MAX_CONNECTIONS = 100
SMTP_DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 20
# Below RFC 5321 section 4.5.3.2.7's 5 minutes, on purpose (docs/intake.md, "Timeouts").
SMTP_DEFAULT_IDLE_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The inbound MX (`gateway smtp`), from `GATEWAY_SMTP_*`: where it listens, which
    recipients are ours (`RECIPIENTS`: comma-separated addresses, or domains such as
    `buyer.example`), the largest message in bytes, STARTTLS (`TLS_CERT` and `TLS_KEY`, PEM;
    `REQUIRE_STARTTLS`), and AUTH PLAIN/LOGIN over TLS for a relay (`AUTH_USER`,
    `AUTH_PASSWORD`, `AUTH_REQUIRED`), how many connections it holds (`MAX_CONNECTIONS`, and
    `MAX_CONNECTIONS_PER_CLIENT` from one address) and how many seconds one may sit idle
    (`IDLE_TIMEOUT`). Read by `gateway smtp` and `gateway run` alone, so a mistake here never
    stops the other commands."""

    host: str = SMTP_DEFAULT_HOST
    port: int = SMTP_DEFAULT_PORT
    hostname: str | None = None
    recipients: tuple[str, ...] = ()
    max_size: int = SMTP_DEFAULT_MAX_SIZE
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_starttls: bool = False
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    auth_required: bool = False
    max_connections: int = SMTP_DEFAULT_MAX_CONNECTIONS
    max_connections_per_client: int = SMTP_DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    idle_timeout: int = SMTP_DEFAULT_IDLE_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        def get(name: str) -> str | None:
            return env.get(f"GATEWAY_SMTP_{name}", "").strip() or None

        cert, key = get("TLS_CERT"), get("TLS_KEY")
        if (cert is None) != (key is None):
            raise ConfigurationError("GATEWAY_SMTP_TLS_CERT and GATEWAY_SMTP_TLS_KEY go together")
        user, password = get("AUTH_USER"), get("AUTH_PASSWORD")
        if (user is None) != (password is None):
            raise ConfigurationError(
                "GATEWAY_SMTP_AUTH_USER and GATEWAY_SMTP_AUTH_PASSWORD go together")
        settings = cls(
            host=get("HOST") or SMTP_DEFAULT_HOST,
            port=_integer(env, "GATEWAY_SMTP_PORT", SMTP_DEFAULT_PORT),
            hostname=get("HOSTNAME"),
            recipients=tuple(r.strip().lower() for r in (get("RECIPIENTS") or "").split(",")
                             if r.strip()),
            max_size=_integer(env, "GATEWAY_SMTP_MAX_SIZE", SMTP_DEFAULT_MAX_SIZE),
            tls_cert=Path(cert) if cert else None, tls_key=Path(key) if key else None,
            require_starttls=_flag(env, "GATEWAY_SMTP_REQUIRE_STARTTLS"),
            auth_user=user, auth_password=password,
            auth_required=_flag(env, "GATEWAY_SMTP_AUTH_REQUIRED"),
            max_connections=_integer(env, "GATEWAY_SMTP_MAX_CONNECTIONS",
                                     SMTP_DEFAULT_MAX_CONNECTIONS),
            max_connections_per_client=_integer(env, "GATEWAY_SMTP_MAX_CONNECTIONS_PER_CLIENT",
                                                SMTP_DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
            idle_timeout=_integer(env, "GATEWAY_SMTP_IDLE_TIMEOUT", SMTP_DEFAULT_IDLE_TIMEOUT))
        if settings.tls_cert is None and (settings.require_starttls or user or
                                          settings.auth_required):
            raise ConfigurationError("STARTTLS and AUTH need GATEWAY_SMTP_TLS_CERT and "
                                     "GATEWAY_SMTP_TLS_KEY (AUTH is offered over TLS only)")
        if settings.auth_required and user is None:
            raise ConfigurationError("GATEWAY_SMTP_AUTH_REQUIRED needs GATEWAY_SMTP_AUTH_USER")
        return settings


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) <= 0:
        raise ConfigurationError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigurationError(f"{name} must be true or false, not {value!r}")
    return value in ("1", "true", "yes")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the gateway keeps its state. `GATEWAY_DATABASE_URL` selects PostgreSQL
    (`postgresql+psycopg://...`); the default is a SQLite file under ./var/ (WAL).
    `GATEWAY_BROKER_URL` names the Celery broker (`redis://host:6379/0`); unset, tasks run in
    the process that queued them."""

    database_url: str
    var_dir: Path = DEFAULT_VAR
    broker_url: str | None = None

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
        return cls(url, var_dir, env.get("GATEWAY_BROKER_URL", "").strip() or None)

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


def checked_broker_url(settings: Settings) -> str:
    """The broker URL of a command that needs one (`gateway worker`, `gateway beat`)."""
    url = settings.broker_url
    if url is None:
        raise ConfigurationError("GATEWAY_BROKER_URL is not set: the Celery worker and beat "
                                 "need a broker (redis://host:6379/0 or "
                                 "amqp://user:password@host:5672//)")
    if "://" not in url or url.partition("://")[0] not in BROKER_SCHEMES:
        raise ConfigurationError(f"GATEWAY_BROKER_URL must be a Redis or RabbitMQ URL "
                                 f"(redis://..., amqp://...), not {url.partition(':')[0]!r}")
    return url


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """How the Celery pipeline batches, retries and sweeps, from `GATEWAY_PIPELINE_*`:
    `QUEUE` (the broker queue's name), `BATCH_SIZE` (message ids per task); a transient error
    is retried after a random wait of up to `RETRY_BASE_SECONDS` doubled per retry, never more
    than `RETRY_MAX_SECONDS`, at most `MAX_RETRIES` times; a message whose processing started
    `MAX_ATTEMPTS` times without finishing (its worker lost each time) is `failed`; the sweeper
    runs every `SWEEP_SECONDS` and publishes again what is still `received` `STUCK_SECONDS`
    after it was last published. Each worker records a heartbeat every `HEARTBEAT_SECONDS`;
    one silent for `WORKER_LOST_SECONDS` is lost (killed whole, its machine gone), and any
    live worker or the sweeper publishes again the messages it had started. The batch size,
    attempts and retry settings apply to every entry point of the processing path (the Celery
    worker, the embedded worker of `gateway run`, `gateway ingest`, `gateway replay`,
    `gateway messages release/retry`); the rest to Celery alone."""

    queue: str = "gateway"
    batch_size: int = 200
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    max_retries: int = 8
    max_attempts: int = 5
    stuck_seconds: float = 300.0
    sweep_seconds: float = 60.0
    heartbeat_seconds: float = 5.0
    worker_lost_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PipelineSettings:
        default = cls()

        def number(name: str, fallback: float, minimum: float = 0.0) -> float:
            key = f"GATEWAY_PIPELINE_{name}"
            value = env.get(key, "").strip()
            if not value:
                return fallback
            try:
                parsed = float(value)
            except ValueError:
                parsed = float("nan")
            whole = isinstance(fallback, int)
            if not minimum <= parsed < float("inf") or (whole and not parsed.is_integer()):
                raise ConfigurationError(f"{key} must be a {'whole ' if whole else ''}number "
                                         f"of at least {minimum:g}, not {value!r}")
            return parsed

        return cls(
            queue=env.get("GATEWAY_PIPELINE_QUEUE", "").strip() or default.queue,
            batch_size=int(number("BATCH_SIZE", default.batch_size, 1)),
            retry_base_seconds=number("RETRY_BASE_SECONDS", default.retry_base_seconds),
            retry_max_seconds=number("RETRY_MAX_SECONDS", default.retry_max_seconds),
            max_retries=int(number("MAX_RETRIES", default.max_retries)),
            max_attempts=int(number("MAX_ATTEMPTS", default.max_attempts, 1)),
            stuck_seconds=number("STUCK_SECONDS", default.stuck_seconds, 0.1),
            sweep_seconds=number("SWEEP_SECONDS", default.sweep_seconds, 0.1),
            heartbeat_seconds=number("HEARTBEAT_SECONDS", default.heartbeat_seconds, 0.1),
            worker_lost_seconds=number("WORKER_LOST_SECONDS", default.worker_lost_seconds,
                                       0.1))


@dataclass(frozen=True, slots=True)
class MailAuthSettings:
    """Sender authentication of mail (docs/mail-authentication.md), from `GATEWAY_MAIL_AUTH*`:
    `GATEWAY_MAIL_AUTH` the policy for partners whose partner-file entry names none
    (`required`, `preferred`, `none`; default `preferred`); `..._TRUSTED_AUTHSERV_IDS` the
    authserv-ids of upstream MXs whose Authentication-Results fields are believed
    (comma-separated; none by default: every message is checked here); `..._TRUSTED_RELAYS`
    the SMTP clients (IPs or networks) whose such fields are believed (default: none, so
    over SMTP every message is checked here); `..._DNS_TIMEOUT` seconds per DNS query."""

    default_policy: str = "preferred"   # gateway.mailauth.verdict.DEFAULT_POLICY
    trusted_authserv_ids: frozenset[str] = frozenset()
    trusted_relays: tuple[str, ...] = ()
    dns_timeout: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MailAuthSettings:
        import ipaddress

        default = cls()
        policy = env.get("GATEWAY_MAIL_AUTH", "").strip().lower() or default.default_policy
        if policy not in ("required", "preferred", "none"):
            raise ConfigurationError(f"GATEWAY_MAIL_AUTH must be required, preferred or none, "
                                     f"not {policy!r}")
        ids = frozenset(i.strip().lower() for i in env.get(
            "GATEWAY_MAIL_AUTH_TRUSTED_AUTHSERV_IDS", "").split(",") if i.strip())
        relays = tuple(r.strip() for r in env.get("GATEWAY_MAIL_AUTH_TRUSTED_RELAYS",
                                                  "").split(",") if r.strip())
        for relay in relays:
            try:
                ipaddress.ip_network(relay, strict=False)
            except ValueError as exc:
                raise ConfigurationError(f"GATEWAY_MAIL_AUTH_TRUSTED_RELAYS: {relay!r} is not "
                                         "an IP address or network") from exc
        timeout = env.get("GATEWAY_MAIL_AUTH_DNS_TIMEOUT", "").strip()
        try:
            seconds = float(timeout) if timeout else default.dns_timeout
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 60:
            raise ConfigurationError("GATEWAY_MAIL_AUTH_DNS_TIMEOUT must be a number of "
                                     f"seconds above 0 and at most 60, not {timeout!r}")
        return cls(policy, ids, relays, seconds)


@dataclass(frozen=True, slots=True)
class ReplySettings:
    """Email replies and reminders to suppliers (gateway.services.replies, .reminders), from
    the environment: `GATEWAY_REPLIES` (on by default; `false` records every reply as
    suppressed instead of sending it), `GATEWAY_REPLY_FROM` and `GATEWAY_REPLY_FROM_NAME`
    (whom they come from), `GATEWAY_ACK_FROM` (whom EDIFACT CONTRL and APERAK mails come
    from; default `GATEWAY_REPLY_FROM`), `GATEWAY_REPLY_MESSAGE_ID_DOMAIN` (the right-hand
    side of our Message-IDs, by which our own messages coming back are recognised; default
    the domain of the From), `GATEWAY_REPLY_MAX_PER_HOUR` (replies per supplier per hour; more are
    suppressed), `GATEWAY_TEMPLATE_DIR` (a folder whose templates replace the built-in ones,
    docs/operations.md). Replies leave by SMTP when `GATEWAY_OUTBOUND_SMTP_URL` names a relay,
    else they are dropped as files (var/outbox/)."""

    enabled: bool = True
    from_address: str = "purchasing@gateway.invalid"
    from_name: str = "Purchasing"
    message_id_domain: str = "gateway.invalid"
    max_per_hour: int = 5
    template_dir: Path | None = None
    relay: bool = False
    # Whom EDIFACT acknowledgements come from (an EDI mailbox, often not the buyers' one);
    # empty: `from_address`.
    ack_from: str = ""

    @property
    def acknowledgements_from(self) -> str:
        return self.ack_from or self.from_address

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReplySettings:
        default = cls()
        sender = env.get("GATEWAY_REPLY_FROM", "").strip() or default.from_address
        local, at, domain = sender.rpartition("@")
        if not at or not local or not domain or any(c in sender for c in " <>\r\n"):
            raise ConfigurationError(f"GATEWAY_REPLY_FROM must be an address such as "
                                     f"purchasing@buyer.example, not {sender!r}")
        id_domain = env.get("GATEWAY_REPLY_MESSAGE_ID_DOMAIN", "").strip().lower() or \
            domain.lower()
        if any(c in id_domain for c in " <>@\r\n"):
            raise ConfigurationError("GATEWAY_REPLY_MESSAGE_ID_DOMAIN must be a domain name, "
                                     f"not {id_domain!r}")
        ack_from = env.get("GATEWAY_ACK_FROM", "").strip()
        ack_local, ack_at, ack_domain = ack_from.rpartition("@")
        if ack_from and (not ack_at or not ack_local or not ack_domain
                         or any(c in ack_from for c in " <>\r\n")):
            raise ConfigurationError(f"GATEWAY_ACK_FROM must be an address such as "
                                     f"edi@buyer.example, not {ack_from!r}")
        folder = env.get("GATEWAY_TEMPLATE_DIR", "").strip()
        if folder and not Path(folder).is_dir():
            raise ConfigurationError(f"GATEWAY_TEMPLATE_DIR {folder!r} is not a folder")
        enabled = env.get("GATEWAY_REPLIES", "").strip() == "" or _flag(env, "GATEWAY_REPLIES")
        return cls(
            enabled=enabled, from_address=sender, ack_from=ack_from,
            from_name=env.get("GATEWAY_REPLY_FROM_NAME", "").strip() or default.from_name,
            message_id_domain=id_domain,
            max_per_hour=_integer(env, "GATEWAY_REPLY_MAX_PER_HOUR", default.max_per_hour),
            template_dir=Path(folder) if folder else None,
            relay=bool(env.get("GATEWAY_OUTBOUND_SMTP_URL", "").strip()))


OUTBOUND_SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


@dataclass(frozen=True, slots=True)
class OutboundSettings:
    """How the outbox sends (docs/operations.md, "Outbound"), from `GATEWAY_OUTBOUND_*`.

    `SMTP_URL` names the relay every email goes through: `smtp://host:25` (plain),
    `smtp+starttls://user@host:587` (STARTTLS, required), `smtps://user@host:465` (implicit
    TLS); the user is in the URL, the password in `SMTP_PASSWORD`; `SMTP_CA_FILE` a PEM file
    of the CAs to trust for its certificate, when not the system's. Unset, emails are dropped
    as files into `DIR` (default `<GATEWAY_VAR_DIR>/outbox`, Maildir-like: `new/` holds what
    would have been sent) instead: the embedded default, no server needed. `DROP_ALL` puts
    webhooks there too (a staging system that must reach nobody). `SMTP_TIMEOUT` and
    `WEBHOOK_TIMEOUT` are seconds per network operation. The sender takes up to `BATCH_SIZE`
    due rows at a time over one relay connection; a transient failure is retried after a
    random wait of up to `RETRY_BASE_SECONDS` doubled per attempt, never more than
    `RETRY_MAX_SECONDS`, and a row still failing after `MAX_ATTEMPTS` attempts is `failed`. A
    row `sending` for `STUCK_SECONDS` without news (its sender died) is given back; the
    in-process sender of `gateway run` looks for due rows every `POLL_SECONDS`."""

    drop_dir: Path = DEFAULT_VAR / "outbox"
    smtp_url: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = 30.0
    smtp_ca_file: Path | None = None
    webhook_timeout: float = 15.0
    drop_all: bool = False
    batch_size: int = 100
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 25
    stuck_seconds: float = 300.0
    poll_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], var_dir: Path = DEFAULT_VAR) -> OutboundSettings:
        default = cls()

        def get(name: str) -> str | None:
            return env.get(f"GATEWAY_OUTBOUND_{name}", "").strip() or None

        def seconds(name: str, fallback: float) -> float:
            value = get(name)
            try:
                parsed = float(value) if value else fallback
            except ValueError:
                parsed = -1.0
            if not 0 < parsed < float("inf"):
                raise ConfigurationError(f"GATEWAY_OUTBOUND_{name} must be a number of seconds "
                                         f"above 0, not {value!r}")
            return parsed

        url = get("SMTP_URL")
        if url is not None:
            check_outbound_smtp_url(url)
        folder = get("DIR")
        return cls(
            drop_dir=Path(folder) if folder else var_dir / "outbox",
            smtp_url=url, smtp_password=env.get("GATEWAY_OUTBOUND_SMTP_PASSWORD") or None,
            smtp_timeout=seconds("SMTP_TIMEOUT", default.smtp_timeout),
            smtp_ca_file=Path(ca) if (ca := get("SMTP_CA_FILE")) else None,
            webhook_timeout=seconds("WEBHOOK_TIMEOUT", default.webhook_timeout),
            drop_all=_flag(env, "GATEWAY_OUTBOUND_DROP_ALL"),
            batch_size=_integer(env, "GATEWAY_OUTBOUND_BATCH_SIZE", default.batch_size),
            retry_base_seconds=seconds("RETRY_BASE_SECONDS", default.retry_base_seconds),
            retry_max_seconds=seconds("RETRY_MAX_SECONDS", default.retry_max_seconds),
            max_attempts=_integer(env, "GATEWAY_OUTBOUND_MAX_ATTEMPTS", default.max_attempts),
            stuck_seconds=seconds("STUCK_SECONDS", default.stuck_seconds),
            poll_seconds=seconds("POLL_SECONDS", default.poll_seconds))


def check_outbound_smtp_url(url: str) -> None:
    """A relay URL the SMTP transport can use, or a ConfigurationError saying what is wrong
    (without the URL's password, should one be written there)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"GATEWAY_OUTBOUND_SMTP_URL is not a URL: {exc}") from None
    if parts.scheme not in OUTBOUND_SMTP_SCHEMES or not parts.hostname:
        raise ConfigurationError(
            "GATEWAY_OUTBOUND_SMTP_URL must be smtp://host:25, smtp+starttls://user@host:587 "
            f"or smtps://user@host:465, not a {parts.scheme or 'schemeless'} URL")
    if parts.password is not None:
        raise ConfigurationError("GATEWAY_OUTBOUND_SMTP_URL must not hold the password: put "
                                 "it in GATEWAY_OUTBOUND_SMTP_PASSWORD")
    if port == 0:
        raise ConfigurationError("GATEWAY_OUTBOUND_SMTP_URL has port 0")


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """When the daily jobs run (`gateway run`'s scheduler and `gateway beat`), from
    `GATEWAY_CHECK_OVERDUE_AT` (the overdue check, SLA escalation and supplier reminders;
    default 06:00), `GATEWAY_DIGEST_AT` (the buyers' digest; default 07:00), both `HH:MM` on
    the wall clock of `GATEWAY_SCHEDULE_TIMEZONE` (an IANA name such as `Europe/Berlin`;
    default `UTC`)."""

    check_overdue_at: time = time(6, 0)
    digest_at: time = time(7, 0)
    timezone: str = "UTC"

    @property
    def zone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScheduleSettings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from gateway.domain.alerts import parse_time_of_day

        default = cls()

        def at(name: str, fallback: time) -> time:
            value = env.get(name, "").strip()
            try:
                return parse_time_of_day(value) if value else fallback
            except ValueError:
                raise ConfigurationError(f"{name} must be a time of day as HH:MM (24-hour), "
                                         f"not {value!r}") from None

        zone = env.get("GATEWAY_SCHEDULE_TIMEZONE", "").strip() or default.timezone
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"GATEWAY_SCHEDULE_TIMEZONE {zone!r} is not a time zone "
                                     "name such as UTC or Europe/Berlin") from None
        return cls(at("GATEWAY_CHECK_OVERDUE_AT", default.check_overdue_at),
                   at("GATEWAY_DIGEST_AT", default.digest_at), zone)
