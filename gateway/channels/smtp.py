"""The SMTP intake: an inbound MX on aiosmtpd that archives each message and only then says 250.

Replies (RFC 5321, enhanced codes from RFC 3463):

- `250 2.0.0` after the raw bytes (exactly as received, dot-unstuffed) and their row are
  committed and on disk (docs/architecture.md, "Archive before acknowledge"); messages that
  arrive together share one commit, and on SQLite commits that follow each other share one
  flush of the log (`group_commit.py`); a failed commit or flush answers 451 to each of
  them. A retry of a message already committed (a 250 that got lost) is recorded as a
  duplicate delivery and processed once.
- `451 4.3.0` when the database cannot store the message: the sender keeps it and retries.
- `552 5.3.4` above the size limit, at `MAIL FROM ... SIZE=` (RFC 1870) or during DATA.
- `550 5.1.1` at `RCPT TO` for an address that is not one of ours; `452 4.5.3` past 100
  recipients (RFC 5321 section 4.5.3.1.8).
- `421 4.3.2` for a transaction begun while the server shuts down.
- `421 4.7.0` instead of the greeting past the connection limits, overall or from one client
  address (`smtp_limits.py`); `421 4.4.2` to a connection idle for the idle timeout, then
  closed.

Mail data is read by `smtp_data.py`: lines of any length, bare LF line ends taken as Postfix
takes them by default, and only `<CRLF>.<CRLF>` ends the data (no SMTP smuggling).

The sender recorded is the envelope's `MAIL FROM` (`<>` for a bounce), not the `From:` header:
it is the SMTP channel's own fact, and reading headers would be parsing on the intake path
(CONVENTIONS.md, "Channels only take in"). Processing finds the supplier later and quarantines
what it cannot place. What SPF needs later (RFC 7208 section 4.1: the client IP, the HELO
name, MAIL FROM) and the envelope recipients are stored beside the bytes, which stay exactly as
received (no trace header is prepended); sender authentication runs after the 250, before the
supplier is assigned (docs/mail-authentication.md).
Logs carry message ids, sizes and sha256, never message content.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import signal
import ssl
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels.group_commit import GroupCommitWriter
from gateway.channels.smtp_data import MailData
from gateway.channels.smtp_limits import ConnectionLimits
from gateway.config import SmtpSettings
from gateway.errors import ConfigurationError
from gateway.services.ingest import Archived, Intake, UnitOfWork

log = logging.getLogger(__name__)

CHANNEL = "smtp"
MAX_RECIPIENTS = 100
NOT_OURS = "550 5.1.1 Recipient address rejected: not a mailbox of this gateway"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
STORE_FAILED = "451 4.3.0 Temporary failure storing the message; please try again later"
SHUTTING_DOWN = "421 4.3.2 Service shutting down; please try again later"
UNEXPECTED = "451 4.3.0 Temporary local problem; please try again later"
BAD_SENDER = "553 5.1.7 Sender address rejected: not UTF-8 or holds control characters"


@dataclass(frozen=True, slots=True)
class RecipientPolicy:
    """Which envelope recipients are ours: whole addresses, or every address of a domain."""

    addresses: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def from_entries(cls, entries: tuple[str, ...]) -> RecipientPolicy:
        addresses = {e.casefold() for e in entries if "@" in e.strip("@")}
        domains = {e.strip("@").casefold() for e in entries if "@" not in e.strip("@")}
        return cls(frozenset(addresses), frozenset(domains))

    def accepts(self, address: str) -> bool:
        address = address.casefold()
        return address in self.addresses or address.rpartition("@")[2] in self.domains


class SmtpIntake:
    """The aiosmtpd handler. The only database work is archiving, done by a writer thread with
    group commit (`group_commit.py`), so the event loop keeps serving other sessions while a
    commit waits on the disk or the network, and concurrent messages share one commit."""

    def __init__(self, transaction: UnitOfWork, recipients: RecipientPolicy,
                 now: Callable[[], datetime],
                 on_archived: Callable[[list[int]], None] = lambda _message_ids: None) -> None:
        self._recipients = recipients
        self._on_archived = on_archived
        self._writer = GroupCommitWriter(transaction, now, self._committed)
        self._in_flight: set[asyncio.Future[Archived]] = set()
        self._closing = False

    @property
    def commits(self) -> int:
        return self._writer.commits

    @property
    def flushes(self) -> int:
        return self._writer.flushes

    @property
    def in_flight(self) -> int:
        """Messages received in full whose commit has not finished yet."""
        return len(self._in_flight)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        # aiosmtpd reads pipelined commands in order, but does not say so (RFC 2920); and it
        # prints a bare "250-AUTH " when no mechanism is offered. This hook must also record
        # the client's name itself (aiosmtpd docs, "handle_EHLO").
        session.host_name = hostname
        kept = [line for line in responses if line.rstrip() != "250-AUTH"]
        return [kept[0], "250-PIPELINING", *kept[1:]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if self._closing:
            return SHUTTING_DOWN
        if not _storable(address):
            log.info("sender refused for %s: not a storable address", _peer(session))
            return BAD_SENDER
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not self._recipients.accepts(address):
            log.info("recipient refused for %s: not ours", _peer(session))
            return NOT_OURS
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._closing:
            return SHUTTING_DOWN
        raw = envelope.original_content
        assert raw is not None  # aiosmtpd sets it before calling this hook
        intake = Intake(raw, CHANNEL, envelope.mail_from or "<>",
                        envelope=_connection_facts(session, envelope))
        future = self._writer.submit(intake)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        try:
            # Shielded: a client that hangs up now does not stop the commit; its retry will
            # then be recorded as a duplicate delivery.
            archived = await asyncio.shield(future)
        except (SQLAlchemyError, OSError) as exc:   # OSError: the log's flush failed
            log.warning("message from %s not stored (%s): answered 451, the sender will "
                        "retry", _peer(session), _first_line(exc))
            return STORE_FAILED
        _log_stored(archived, intake, tuple(envelope.rcpt_tos), _peer(session))
        if archived.duplicate_of is not None:
            return (f"250 2.0.0 OK: already received as #{archived.duplicate_of}, "
                    f"kept as #{archived.message_id}")
        return f"250 2.0.0 OK: received as #{archived.message_id}"

    async def handle_exception(self, error: Exception) -> str:
        """A fault of ours must not bounce the supplier's mail: a 4xx makes the sender keep it
        and try again, where aiosmtpd's default would answer a permanent 500."""
        log.error("SMTP session failed: %s", type(error).__name__,
                  exc_info=(type(error), error, error.__traceback__))
        return UNEXPECTED

    def _committed(self, batch: Sequence[Archived]) -> None:
        """In the writer thread, after the commit of a batch."""
        ids = [a.message_id for a in batch if a.duplicate_of is None]
        if ids:   # a duplicate has nothing to process
            self._on_archived(ids)

    async def close(self) -> None:
        """Refuse new transactions, and wait for the commits already under way."""
        self._closing = True
        if self._in_flight:
            await asyncio.wait(list(self._in_flight))
        await asyncio.to_thread(self._writer.close)


class GatewaySMTP(SMTP):
    """aiosmtpd's session, with what the gateway needs on top:

    - the mail data read by `MailData` (`smtp_data.py`): lines of any length and lines that
      end in a bare LF are taken, as Postfix takes them by default, and only `<CRLF>.<CRLF>`
      ends the data (no SMTP smuggling); aiosmtpd's own reader answered a permanent
      `500 Line too long` to a message sent with Unix line ends past its 1 MiB buffer;
    - connections over the limits (`smtp_limits.py`) answered 421 and closed;
    - an idle connection (no command, no data for `timeout` seconds) told why with
      `421 4.4.2` before it is closed, where aiosmtpd closes without a word;
    - an oversized message answered with the enhanced code, RFC 3463 5.3.4 "message too big
      for system", which senders' MTAs show their users (aiosmtpd's is a bare `552 Error`).

    The stream buffer (`line_length_limit`) bounds what one read takes; longer lines are
    read in parts of that size."""

    line_length_limit = 1024 * 1024

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._limits = limits
        self._client: str | None = None     # counted in `limits` while connected
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:          # a new connection, not STARTTLS's second call
            client = _client_address(transport.get_extra_info("peername"))
            refusal = self._limits.admit(client)
            if refusal is not None:
                log.warning("connection from %s refused: %s", client, refusal)
                self._refused = True
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(f"421 4.7.0 {self.hostname} {refusal}\r\n".encode())
                transport.close()
                return
            self._client = client
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._client is not None:
            self._limits.release(self._client)
            self._client = None
        if self._refused:   # aiosmtpd never saw this connection
            asyncio.StreamReaderProtocol.connection_lost(self, error)
            return
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        return False if self._refused else super().eof_received()

    def _timeout_cb(self) -> None:
        # RFC 5321 section 3.8: a server that closes tells the client with a 421 first.
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded "
                                 f"({self._timeout_duration:g} s idle)\r\n".encode())
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            await super().push(self._too_big())
            return
        await super().push(status)

    def _too_big(self) -> str:
        return f"552 5.3.4 Message too big: the limit here is {self.data_size_limit} bytes"

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA command with the data read by `MailData`."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = await self._read_data()
        if data.too_big:
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push(self._too_big())
            return
        if data.smuggling_patterns and self.session is not None:
            log.warning("message from %s holds %d lone dot(s) next to a bare LF (an SMTP "
                        "smuggling pattern): kept as content, not taken as the end",
                        _peer(self.session), data.smuggling_patterns)
        content = bytes(data.content)
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> MailData:
        data = MailData(self.data_size_limit)
        reset = self.loop.time()
        while True:
            try:
                piece = await self._reader.readuntil(b"\n")
            except asyncio.LimitOverrunError as exc:   # a line longer than the buffer
                piece = await self._reader.read(exc.consumed)
            if data.feed(piece):
                return data
            # The idle timeout counts from the last data received, not from DATA: a big
            # message on a slow link is not cut off (reset at most ten times a timeout).
            if self.loop.time() - reset > self._timeout_duration / 10:
                self._reset_timeout()
                reset = self.loop.time()


class SmtpServer:
    """Listens, serves sessions, and shuts down gracefully: stop accepting, let the messages
    already received commit (and their 250 go out), then close the remaining sessions."""

    def __init__(self, settings: SmtpSettings, intake: SmtpIntake, hostname: str,
                 tls: ssl.SSLContext | None) -> None:
        self.settings = settings
        self.intake = intake
        self.hostname = hostname
        self.tls = tls
        self._sessions: weakref.WeakSet[GatewaySMTP] = weakref.WeakSet()
        self.limits = ConnectionLimits(settings.max_connections,
                                       settings.max_connections_per_client)

    def _session(self) -> GatewaySMTP:
        settings = self.settings
        session = GatewaySMTP(
            self.intake, limits=self.limits, timeout=settings.idle_timeout,
            data_size_limit=settings.max_size, enable_SMTPUTF8=True,
            decode_data=False, hostname=self.hostname, ident="supplier gateway",
            tls_context=self.tls, require_starttls=settings.require_starttls,
            auth_required=settings.auth_required, auth_require_tls=True,
            authenticator=_authenticator(settings) if settings.auth_user else None,
            auth_exclude_mechanism=() if settings.auth_user else ("LOGIN", "PLAIN"),
            loop=asyncio.get_running_loop())
        self._sessions.add(session)
        return session

    async def serve(self, stop: asyncio.Event,
                    on_ready: Callable[[int], None] | None = None) -> None:
        """Serve until `stop` is set; `on_ready` gets the port once it listens."""
        try:
            server = await asyncio.get_running_loop().create_server(
                self._session, self.settings.host, self.settings.port)
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {self.settings.host}:"
                                     f"{self.settings.port}: {exc.strerror or exc}") from exc
        port = int(server.sockets[0].getsockname()[1])
        log.info("SMTP intake listening on %s:%d as %s (limit %d bytes%s%s)",
                 self.settings.host, port, self.hostname, self.settings.max_size,
                 ", STARTTLS" if self.tls else "", ", AUTH" if self.settings.auth_user else "")
        if on_ready is not None:
            on_ready(port)
        try:
            await stop.wait()
        finally:
            log.info("SMTP intake stopping: %d message(s) still committing",
                     self.intake.in_flight)
            server.close()
            await self.intake.close()
            for session in list(self._sessions):
                if session.transport is not None:
                    session.transport.close()
            await server.wait_closed()
            log.info("SMTP intake stopped (%d commit(s), %d flush(es) of the database log)",
                     self.intake.commits, self.intake.flushes)


def _authenticator(settings: SmtpSettings) -> Callable[..., AuthResult]:
    user = (settings.auth_user or "").encode()
    password = (settings.auth_password or "").encode()

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login, user)
              & hmac.compare_digest(auth_data.password, password))
        if not ok:
            log.warning("AUTH %s failed for %s", mechanism, _peer(session))
        return AuthResult(success=ok, handled=False)

    return authenticate


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for STARTTLS. Clients are not asked for certificates."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load the TLS certificate {cert} with key {key}: {exc}") from exc
    return context


def build_server(settings: SmtpSettings, transaction: UnitOfWork, now: Callable[[], datetime],
                 hostname: str,
                 on_archived: Callable[[list[int]], None] = lambda _ids: None) -> SmtpServer:
    if not settings.recipients:
        raise ConfigurationError("no recipients are ours: set GATEWAY_SMTP_RECIPIENTS to the "
                                 "addresses or domains this gateway receives mail for")
    tls = (tls_context(settings.tls_cert, settings.tls_key)
           if settings.tls_cert and settings.tls_key else None)
    intake = SmtpIntake(transaction, RecipientPolicy.from_entries(settings.recipients), now,
                        on_archived)
    return SmtpServer(settings, intake, hostname, tls)


def serve_until_signalled(server: SmtpServer) -> None:
    """Run in the foreground until SIGINT or SIGTERM, then shut down gracefully."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await server.serve(stop)

    asyncio.run(main())


def _storable(address: str) -> bool:
    """aiosmtpd hands 8-bit bytes that are not UTF-8 on as lone surrogates (no database can
    encode them) and passes NUL (PostgreSQL text refuses it): storing such a sender fails at
    every retry, so it is refused at once (RFC 6531 section 3.3 requires UTF-8). Surrogates
    and control characters are both not printable."""
    return address.isprintable()


def _log_stored(archived: Archived, intake: Intake, recipients: tuple[str, ...],
                peer: str) -> None:
    digest = hashlib.sha256(intake.raw).hexdigest()
    log.info("stored message #%d%s: %d bytes, sha256 %s, from %s, for %s",
             archived.message_id,
             f" (duplicate of #{archived.duplicate_of})" if archived.duplicate_of else "",
             len(intake.raw), digest, peer, ", ".join(recipients),
             extra={"message_id": archived.message_id, "sha256": digest,
                    "channel": intake.channel})


def _connection_facts(session: Session, envelope: Envelope) -> dict[str, Any]:
    peer = session.peer
    return {"client_ip": peer[0] if isinstance(peer, tuple) else None,
            "helo": session.host_name[:255] if isinstance(session.host_name, str) else None,
            "recipients": list(envelope.rcpt_tos)}


def _client_address(peer: object) -> str:
    """The client's IP address, the unit the per-client limit counts."""
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


def _peer(session: Session) -> str:
    peer = session.peer
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]
