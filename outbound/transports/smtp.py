"""The SMTP relay every email leaves through (`GATEWAY_OUTBOUND_SMTP_URL`).

One connection is kept across the messages of a batch (RFC 5321 section 3.3: several mail
transactions per session) and closed at its end; a connection the relay dropped is opened
again for the next message. Each message is one transaction: MAIL FROM, one RCPT TO, DATA with
the stored bytes unchanged (smtplib dot-stuffs and ends lines in CRLF, RFC 5321 section
4.5.2), and the relay's final reply (its queue id) is what the outbox records.

What a failure means (RFC 5321 section 4.2.1): a 5yz reply to this message's transaction is
permanent, a 4yz transient. Failing to connect, to start TLS or to log in says nothing about
the message and everything about the relay: `TransportUnavailable`, so the batch waits and IT
fixes the relay or its settings, rather than every message being failed. STARTTLS, when the
URL asks for it, is required: a relay that does not offer it is not used in clear instead.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from outbound.errors import (
    DeliveryError,
    PermanentDelivery,
    TransientDelivery,
    TransportUnavailable,
)
from outbound.transports.base import Delivered, Outgoing

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class RelayAddress:
    """Where the relay is and how to talk to it, from its URL."""

    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None
    helo: str | None = None

    @classmethod
    def from_url(cls, url: str, password: str | None, timeout: float,
                 ca_file: Path | None = None, helo: str | None = None) -> RelayAddress:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an SMTP relay URL: {parts.scheme}://{parts.hostname}")
        user = unquote(parts.username) if parts.username else None
        return cls(parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme],
                   user, password, timeout, ca_file, helo)

    @property
    def display(self) -> str:
        who = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}"


@lru_cache(maxsize=4096)
def is_address(address: str) -> bool:
    """Whether `address` can be an RCPT TO path: local@domain, the domain a host name of
    dot-separated labels (RFC 5321 section 4.1.2) or an address literal."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c in address for c in " \t\r\n<>"):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        return True
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return len(labels) >= 2 and all(
        0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")
        and all(c.isalnum() or c == "-" for c in label) for label in labels)


# A dot-atom local part at a domain of plain labels (RFC 5322 section 3.2.3; RFC 5321 section
# 4.1.2): smtplib's quoteaddr gives exactly "<address>" for it, after parsing it with the
# email package's address parser, about 30 microseconds an address. The sender writes the
# path itself for such addresses and leaves every other one to smtplib.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def smtp_path(address: str) -> str | None:
    """`<address>` for a plain ASCII address, as smtplib's quoteaddr writes it; None for any
    other (smtplib quotes it)."""
    return f"<{address}>" if PLAIN_ADDRESS.fullmatch(address) else None


class SmtpRelay:
    """Sends through one relay, keeping the connection open between messages."""

    def __init__(self, relay: RelayAddress) -> None:
        self.relay = relay
        self._connection: smtplib.SMTP | None = None
        self._context: ssl.SSLContext | None = None

    def send(self, message: Outgoing) -> Delivered:
        if not is_address(message.recipient):
            raise PermanentDelivery(f"{message.recipient!r} is not an email address")
        connection = self._connected()
        try:
            return self._transaction(connection, message)
        except smtplib.SMTPResponseException as exc:
            raise self._refused(connection, exc.smtp_code, exc.smtp_error, "the relay") \
                from None
        except (smtplib.SMTPException, OSError) as exc:
            # The connection broke mid-transaction (a timeout, a reset): the relay may or
            # may not have taken the message; the same Message-ID goes again later.
            self._drop()
            raise TransientDelivery(f"connection to {self.relay.display} lost: "
                                    f"{_describe(exc)}") from None

    def close(self) -> None:
        if self._connection is not None:
            # The session is over either way; the connection is closed below.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.quit()
            self._drop()

    def _transaction(self, connection: smtplib.SMTP, message: Outgoing) -> Delivered:
        options: list[str] = []
        if not (message.sender + message.recipient).isascii():
            if not connection.has_extn("smtputf8"):
                raise PermanentDelivery(f"{self.relay.display} does not take non-ASCII "
                                        "addresses (no SMTPUTF8, RFC 6531)")
            options.append("SMTPUTF8")
        if not message.payload.isascii() and connection.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        code, reply = _mail(connection, message.sender, options)
        if code != 250:
            raise self._refused(connection, code, reply, "MAIL FROM")
        code, reply = _rcpt(connection, message.recipient)
        if code not in (250, 251):
            raise self._refused(connection, code, reply, "RCPT TO")
        code, reply = _data(connection, message.payload)
        if code != 250:
            raise self._refused(connection, code, reply, "the message")
        return Delivered(_reply(code, reply))

    def _refused(self, connection: smtplib.SMTP, code: int, reply: bytes | str,
                 step: str) -> DeliveryError:
        text = _reply(code, reply)
        if code == 421:   # the relay is closing the session (RFC 5321 section 3.8)
            self._drop()
        else:
            try:
                connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        if 500 <= code < 600:
            return PermanentDelivery(f"{self.relay.display} refused {step}", text)
        return TransientDelivery(f"{self.relay.display} deferred {step}", text)

    def _connected(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> smtplib.SMTP:
        relay = self.relay
        connection: smtplib.SMTP | None = None
        try:
            if relay.scheme == "smtps":
                connection = smtplib.SMTP_SSL(relay.host, relay.port, relay.helo,
                                              timeout=relay.timeout, context=self._tls())
            else:
                connection = smtplib.SMTP(relay.host, relay.port, relay.helo,
                                          timeout=relay.timeout)
            connection.ehlo()
            if relay.scheme == "smtp+starttls":
                if not connection.has_extn("starttls"):
                    raise TransportUnavailable(f"{relay.display} does not offer STARTTLS")
                connection.starttls(context=self._tls())
                connection.ehlo()
            if relay.user:
                connection.login(relay.user, relay.password or "")
            return connection
        except TransportUnavailable:
            _close_quietly(connection)
            raise
        except smtplib.SMTPResponseException as exc:
            _close_quietly(connection)
            raise TransportUnavailable(f"{relay.display} refused the session",
                                       _reply(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(connection)
            raise TransportUnavailable(f"cannot reach {relay.display}: {_describe(exc)}") \
                from None

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made once per relay (loading CAs takes a noticeable time); the
        relay's certificate is verified, host name included (RFC 8314 section 5.1)."""
        if self._context is None:
            ca = self.relay.ca_file
            self._context = ssl.create_default_context(cafile=str(ca) if ca else None)
        return self._context

    def _drop(self) -> None:
        _close_quietly(self._connection)
        self._connection = None


def _mail(connection: smtplib.SMTP, sender: str, options: list[str]) -> tuple[int, bytes]:
    """smtplib's `mail`, without its address parser for a plain address (`smtp_path`)."""
    path = smtp_path(sender)
    if path is None or "SMTPUTF8" in options:
        return connection.mail(sender, options)
    extra = " " + " ".join(options) if options and connection.does_esmtp else ""
    connection.putcmd("mail", f"FROM:{path}{extra}")
    return connection.getreply()


def _rcpt(connection: smtplib.SMTP, recipient: str) -> tuple[int, bytes]:
    """smtplib's `rcpt`, without its address parser for a plain address."""
    path = smtp_path(recipient)
    if path is None:
        return connection.rcpt(recipient)
    connection.putcmd("rcpt", f"TO:{path}")
    return connection.getreply()


def dot_stuffed(payload: bytes) -> bytes:
    """The DATA of `payload` (RFC 5321 section 4.5.2): a period that begins a line doubled,
    and the terminating CRLF "." CRLF, exactly as smtplib's `data` writes it, by a bytes
    search and replace instead of its multi-line regular expression, which scanned a 3 KB
    message in about 150,000 instructions: a third of a bare smtplib client's work."""
    if payload.startswith(b".") or b"\n." in payload:
        payload = (b"." if payload.startswith(b".") else b"") + payload.replace(b"\n.", b"\n..")
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return payload + b".\r\n"


def _data(connection: smtplib.SMTP, payload: bytes) -> tuple[int, bytes]:
    """smtplib's `data` for bytes, with `dot_stuffed`."""
    connection.putcmd("data")
    code, reply = connection.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    connection.send(dot_stuffed(payload))
    return connection.getreply()


def _close_quietly(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        with contextlib.suppress(OSError):   # closing a socket that is already gone
            connection.close()


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"[:500]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)[:300]
