"""The AS2 channel (RFC 4130): a request in, its MDN out, archived and committed in between.

`receive` opens the S/MIME layers with the partner's entry (`gateway.as2`), then in one
transaction archives what came and what is answered, commits, hands the new message to the
worker, and only then returns the MDN (docs/architecture.md, "Archive before acknowledge"):

- opened: the payload becomes a `received` inbound message of channel `as2` (sender
  `as2:<AS2-From>`, the partner's supplier code) and goes through the one processing path;
  MDN `processed` with the Received-Content-MIC;
- the same Message-ID from the same partner already accepted: nothing new is processed; MDN
  `processed/warning: duplicate-document` (RFC 4130 section 7.5.3). A Message-ID whose earlier
  attempt was refused, or whose message failed, is taken as new: a retry is not a duplicate;
- refused (unknown partner, decryption, signature, integrity, size, malformed): the request
  (header fields and body) is kept as a `failed` inbound message with the reason, for IT in
  `gateway messages`; MDN `processed/error: <modifier>`.

Every request is also kept whole in `as2_transmissions` with the MDN answered. An MDN asked
for asynchronously (`Receipt-Delivery-Option`) is written to the outbox in the same
transaction and the request is answered `200` with no body. An asynchronous MDN to a message
we sent (a multipart/report, signed or not) goes to `gateway.services.as2_mdn_intake`, which
decides the outbox row it names; it is answered `200` with no body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.as2.errors import As2Error, MalformedMessage, TooLarge
from gateway.as2.mdn import (
    DUPLICATE_DOCUMENT,
    Disposition,
    MdnRequest,
    Receipt,
    ReceiptFacts,
    build_receipt,
    is_receipt,
    mdn_request,
)
from gateway.as2.mime import entity_from_headers
from gateway.as2.partners import As2Directory, As2Partner
from gateway.as2.smime import Opened, open_message, received_mic
from gateway.channels.group_commit import GroupCommit
from gateway.domain.messages import MessageState
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.models import As2Transmission, InboundMessage
from gateway.services.as2_mdn_intake import IncomingMdn, take_mdn
from gateway.services.ingest import Intake, archive, archive_failed
from gateway.services.outbox import enqueue

log = logging.getLogger(__name__)

CHANNEL = "as2"
# Core, not the ORM: built once, run for every request (the ORM's unit of work and a select
# built per request cost more CPU than the commit they lead to).
_TRANSMISSIONS = cast(Table, As2Transmission.__table__)
_MESSAGES = cast(Table, InboundMessage.__table__)
_ACCEPTED_BEFORE = (
    select(_TRANSMISSIONS.c.message_id)
    .join(_MESSAGES, _MESSAGES.c.id == _TRANSMISSIONS.c.message_id)
    .where(_TRANSMISSIONS.c.as2_from == bindparam("as2_from"),
           _TRANSMISSIONS.c.as2_message_id == bindparam("as2_message_id"),
           ~_TRANSMISSIONS.c.disposition.like("processed/error%"),
           _MESSAGES.c.state != MessageState.FAILED.value)
    .order_by(_TRANSMISSIONS.c.id).limit(1))


@dataclass(frozen=True, slots=True)
class As2Request:
    """What came over HTTP: header fields in order as received, the body (cut at the cap
    when `oversize`)."""

    headers: list[tuple[str, str]]
    body: bytes
    oversize: bool = False

    def field(self, name: str) -> str:
        wanted = name.lower()
        return next((v.strip() for k, v in self.headers if k.lower() == wanted), "")

    @property
    def raw(self) -> bytes:
        """The request as kept: header lines, an empty line, the body."""
        head = "".join(f"{name}: {value}\r\n" for name, value in self.headers)
        return head.encode("latin-1", "replace") + b"\r\n" + self.body


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer over HTTP: the MDN (None when none was asked for synchronously), the
    disposition given and the inbound message that holds what came."""

    receipt: Receipt | None
    disposition: Disposition
    message_id: int | None   # None: an asynchronous MDN to a message we sent


@dataclass(frozen=True, slots=True)
class _Received:
    """A request opened (or refused) and its MDN signed, on its way to the database. The MDN
    is signed for the disposition expected before the database is asked (`processed`, or the
    refusal); a duplicate found in the transaction is answered with an MDN signed there."""

    request: As2Request
    now: datetime
    directory: As2Directory   # the one in service when the request was opened
    as2_from: str
    as2_to: str
    asked: MdnRequest
    partner: As2Partner | None
    opened: Opened | None
    failure: As2Error | None
    mic: str | None
    disposition: Disposition
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class _Stored:
    answer: Answer
    fresh: bool


class _Writer:
    """The channel's group commit (`group_commit.py`), started at the first request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commits: GroupCommit[_Received, _Stored] | None = None

    def get(self, make: Callable[[], GroupCommit[_Received, _Stored]]
            ) -> GroupCommit[_Received, _Stored]:
        with self._lock:
            if self.commits is None:
                self.commits = make()
            return self.commits

    def close(self) -> None:
        with self._lock:
            if self.commits is not None:
                self.commits.close()
                self.commits = None


@dataclass(frozen=True, slots=True)
class As2Channel:
    """`receive` from any number of threads at once: opening and signing run in the caller's
    thread, the database writes of requests that arrive together share one transaction, one
    commit and (SQLite) one flush of the log, and each caller gets its MDN only after that."""

    transaction: Callable[[], AbstractContextManager[Session]]
    directory: As2Directory
    clock: Callable[[], datetime]
    dispatch: Callable[[Sequence[int]], None] | None = None
    # Shared by the channels `dataclasses.replace` makes when the partner file is reloaded
    # (`gateway.web.as2_route`): one writer, whatever directory a request was opened with.
    _writer: _Writer = field(default_factory=_Writer, repr=False, compare=False)

    def receive(self, request: As2Request) -> Answer:
        if is_receipt(request.headers, request.body):
            return self._take_mdn(request)
        received = self._prepare(request)
        stored = self._writer.get(self._group_commit).wait(received)
        return stored.answer

    def close(self) -> None:
        """Commit what is queued and stop the writer's threads."""
        self._writer.close()

    def _group_commit(self) -> GroupCommit[_Received, _Stored]:
        return GroupCommit(self.transaction, self._store_all,
                           lambda received: len(received.request.body), self._committed,
                           name="as2")

    def _committed(self, stored: Sequence[_Stored]) -> None:
        # After the commit: the worker must find the row it is told about.
        fresh = [item.answer.message_id for item in stored
                 if item.fresh and item.answer.message_id is not None]
        if fresh and self.dispatch is not None:
            self.dispatch(fresh)

    def _prepare(self, request: As2Request) -> _Received:
        """Everything that needs no database: the layers opened, the MIC, the MDN signed for
        the disposition expected."""
        now = self.clock()
        as2_from, as2_to = _unquote(request.field("as2-from")), _unquote(request.field("as2-to"))
        asked = mdn_request({k.lower(): v for k, v in request.headers})
        partner, opened, error = self._open(request, as2_from, as2_to, now)
        mic_value = received_mic(opened, asked.micalg) if opened is not None else None
        failure = None if opened is not None and partner is not None \
            else error or As2Error("the message was not opened")
        disposition = Disposition(failure.modifier) if failure is not None else Disposition()
        received = _Received(request, now, self.directory, as2_from, as2_to, asked, partner,
                             opened, failure, mic_value, disposition, None)
        return replace(received, receipt=self._receipt(received, disposition))

    def _store_all(self, session: Session, batch: list[_Received]
                   ) -> list[_Stored | Exception]:
        return [self._store_alone(session, received) for received in batch]

    def _store_alone(self, session: Session, received: _Received) -> _Stored | Exception:
        """One request's rows in a savepoint of the batch's transaction: a request the
        database refuses (a value it cannot hold) fails alone, its companions are committed."""
        try:
            with session.begin_nested():
                return self._store(session, received)
        except SQLAlchemyError as exc:
            log.error("storing the AS2 request %r failed: %s",
                      received.request.field("message-id")[:200], exc)
            return exc

    def _store(self, session: Session, received: _Received) -> _Stored:
        """One request's rows, in the transaction its batch shares."""
        request, partner, opened, now = (received.request, received.partner, received.opened,
                                         received.now)
        reason = str(received.failure) if received.failure is not None else None
        if received.failure is None and opened is not None and partner is not None:
            message_id, disposition, fresh = _keep_opened(session, request, partner, opened,
                                                          now)
        else:
            disposition, fresh = received.disposition, False
            message_id = _keep_refused(session, request, partner, disposition, reason or "",
                                       now)
        receipt = received.receipt if disposition == received.disposition \
            else self._receipt(received, disposition)
        asked = received.asked
        if receipt is not None and asked.async_url and partner is not None \
                and async_allowed(asked.async_url, partner, opened):
            enqueue(session, async_mdn(receipt, asked.async_url, partner, message_id,
                                       request.field("message-id")), now)
        session.connection().execute(_TRANSMISSIONS.insert(), {
            "received_at": now, "as2_from": received.as2_from[:128],
            "as2_to": received.as2_to[:128], "as2_message_id": request.field("message-id")[:998],
            "sha256": hashlib.sha256(request.body).hexdigest(), "size": len(request.body),
            "raw": request.raw, "layers": opened.layers if opened else None,
            "disposition": disposition.value, "reason": reason, "mic": received.mic,
            "mdn": receipt.body if receipt else None, "message_id": message_id})
        return _Stored(Answer(receipt if asked.synchronous else None, disposition, message_id),
                       fresh)

    def _receipt(self, received: _Received, disposition: Disposition) -> Receipt | None:
        if not received.asked.wanted:
            return None
        reason = str(received.failure) if received.failure is not None else None
        explanation = (f"The AS2 message could not be processed: {reason}" if reason
                       else "The AS2 message was received and stored; it is processed "
                            "next. This receipt does not say its content was accepted.")
        facts = ReceiptFacts(received.request.field("message-id"), received.as2_to,
                             received.as2_from, disposition, received.mic, explanation)
        return build_receipt(facts, received.asked,
                             received.directory.signer(received.as2_to, received.now),
                             received.now)

    def _take_mdn(self, request: As2Request) -> Answer:
        """An asynchronous MDN to a message we sent (`gateway.services.as2_mdn_intake`):
        kept, matched to its outbox row, answered 200 with no body."""
        mdn = IncomingMdn(request.headers, request.body, request.raw,
                          _unquote(request.field("as2-from")), _unquote(request.field("as2-to")),
                          request.oversize)
        with self.transaction() as session:
            take_mdn(session, mdn, self.directory, self.clock())
        return Answer(None, Disposition(), None)

    def _open(self, request: As2Request, as2_from: str, as2_to: str, now: datetime
              ) -> tuple[As2Partner | None, Opened | None, As2Error | None]:
        partner = None
        try:
            partner = self.directory.partner(as2_from, as2_to)
            if request.oversize:
                raise TooLarge(f"the message passes the cap of "
                               f"{self.directory.max_message_bytes} bytes")
            security = self.directory.security(partner, as2_to, now)
            opened = open_message(entity_from_headers(request.headers, request.body),
                                  security)
        except As2Error as exc:
            return partner, None, exc
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # A structure asn1crypto or cryptography could not take that the layer did not
            # foresee: the sender's bytes, kept and answered like any malformed message.
            return partner, None, MalformedMessage(
                f"the message cannot be read ({type(exc).__name__})")
        return partner, opened, None


def async_allowed(url: str, partner: As2Partner, opened: Opened | None) -> bool:
    """Whether the gateway may POST an MDN where a request asks. AS2-From is only a header:
    unless the message was signed by the partner, the URL must be on the host of the
    partner's own `url`, so that nobody makes the gateway POST where they name."""
    if opened is not None and opened.signed:
        return True
    if partner.url is None:
        return False
    return urlsplit(url).hostname == urlsplit(partner.url).hostname


def async_mdn(receipt: Receipt, url: str, partner: As2Partner, message_id: int,
              original: str) -> OutboundDraft:
    """The MDN as an outbox row, POSTed to the partner's `Receipt-Delivery-Option` URL
    (RFC 4130 section 7.3) by the webhook transport and retried like every row. Only for a
    known partner, and `async_allowed`."""
    # The whole Content-Type (its boundary and micalg) travels among the headers, which the
    # webhook transport sends over its own: the row's content type column is short.
    content_type = next(v for k, v in receipt.headers if k.lower() == "content-type")
    return OutboundDraft(OutboundKind.MDN, Transport.WEBHOOK, url, receipt.body,
                         receipt.message_id.strip("<>"), f"AS2 MDN for {original[:200]}",
                         content_type=content_type.split(";", 1)[0],
                         headers=tuple(receipt.headers),
                         supplier_code=partner.supplier_code, message_id=message_id)


def _keep_opened(session: Session, request: As2Request, partner: As2Partner,
                 opened: Opened, now: datetime) -> tuple[int, Disposition, bool]:
    earlier = _accepted_before(session, partner.as2_id, request.field("message-id"))
    if earlier is not None:
        return earlier, Disposition(warning=DUPLICATE_DOCUMENT), False
    envelope = {"as2_message_id": request.field("message-id")[:998],
                "as2_to": request.field("as2-to")[:128], "layers": opened.layers,
                "content_type": opened.content_type}
    archived = archive(session, Intake(opened.payload, CHANNEL, f"as2:{partner.as2_id}",
                                       opened.filename, partner.supplier_code, envelope), now)
    if archived.duplicate_of is not None:
        # The same payload again under a new Message-ID: kept, not processed twice.
        return archived.message_id, Disposition(warning=DUPLICATE_DOCUMENT), False
    return archived.message_id, Disposition(), True


def _accepted_before(session: Session, as2_from: str, as2_message_id: str) -> int | None:
    """The message an earlier transmission of this Message-ID gave, when it was opened and
    its message did not fail (a retry after a failure is processed anew)."""
    if not as2_message_id:
        return None
    found = session.connection().execute(_ACCEPTED_BEFORE, {
        "as2_from": as2_from[:128], "as2_message_id": as2_message_id[:998]}).scalar()
    return int(found) if found is not None else None


def _keep_refused(session: Session, request: As2Request, partner: As2Partner | None,
                  disposition: Disposition, reason: str, now: datetime) -> int:
    sender = f"as2:{_unquote(request.field('as2-from'))}"
    envelope = {"as2_message_id": request.field("message-id")[:998],
                "as2_to": request.field("as2-to")[:128], "disposition": disposition.value}
    intake = Intake(request.raw, CHANNEL, sender, None,
                    partner.supplier_code if partner else None, envelope)
    (archived,) = archive_failed(session, [(intake, f"AS2 {disposition.value}: {reason}")],
                                 now)
    return archived.message_id


def _unquote(as2_id: str) -> str:
    """AS2 ids may be sent quoted (RFC 4130 section 6.2)."""
    if len(as2_id) >= 2 and as2_id[0] == as2_id[-1] == '"':
        return as2_id[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return as2_id
