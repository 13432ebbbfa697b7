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
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
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
from gateway.as2.smime import Opened, mic, open_message
from gateway.domain.messages import MessageState
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.models import As2Transmission, InboundMessage
from gateway.services.as2_mdn_intake import IncomingMdn, take_mdn
from gateway.services.ingest import Intake, archive, archive_failed
from gateway.services.outbox import enqueue

CHANNEL = "as2"


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
class As2Channel:
    transaction: Callable[[], AbstractContextManager[Session]]
    directory: As2Directory
    clock: Callable[[], datetime]
    dispatch: Callable[[Sequence[int]], None] | None = None

    def receive(self, request: As2Request) -> Answer:
        if is_receipt(request.headers, request.body):
            return self._take_mdn(request)
        now = self.clock()
        as2_from, as2_to = _unquote(request.field("as2-from")), _unquote(request.field("as2-to"))
        asked = mdn_request({k.lower(): v for k, v in request.headers})
        partner, opened, error = self._open(request, as2_from, as2_to, now)
        mic_value = mic(opened.mic_content, asked.micalg) if opened is not None else None
        with self.transaction() as session:
            if opened is not None and partner is not None:
                message_id, disposition, fresh = _keep_opened(session, request, partner,
                                                              opened, now)
                reason = None
            else:
                failure = error or As2Error("the message was not opened")
                disposition, reason, fresh = Disposition(failure.modifier), str(failure), False
                message_id = _keep_refused(session, request, partner, disposition, reason,
                                           now)
            receipt = self._receipt(request, asked, as2_from, as2_to, disposition, mic_value,
                                    reason, now)
            if receipt is not None and asked.async_url and partner is not None \
                    and async_allowed(asked.async_url, partner, opened):
                enqueue(session, async_mdn(receipt, asked.async_url, partner, message_id,
                                           request.field("message-id")), now)
            session.add(As2Transmission(
                received_at=now, as2_from=as2_from[:128], as2_to=as2_to[:128],
                as2_message_id=request.field("message-id")[:998],
                sha256=hashlib.sha256(request.body).hexdigest(), size=len(request.body),
                raw=request.raw, layers=opened.layers if opened else None,
                disposition=disposition.value, reason=reason, mic=mic_value,
                mdn=receipt.body if receipt else None, message_id=message_id))
        # After the commit: the worker must find the row it is told about.
        if fresh and self.dispatch is not None:
            self.dispatch([message_id])
        return Answer(receipt if asked.synchronous else None, disposition, message_id)

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

    def _receipt(self, request: As2Request, asked: MdnRequest, as2_from: str, as2_to: str,
                 disposition: Disposition, mic_value: str | None, reason: str | None,
                 now: datetime) -> Receipt | None:
        if not asked.wanted:
            return None
        explanation = (f"The AS2 message could not be processed: {reason}" if reason
                       else "The AS2 message was received and stored; it is processed "
                            "next. This receipt does not say its content was accepted.")
        facts = ReceiptFacts(request.field("message-id"), as2_to, as2_from, disposition,
                             mic_value, explanation)
        return build_receipt(facts, asked, self.directory.signer(as2_to, now), now)


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
    found = session.execute(
        select(As2Transmission.message_id)
        .join(InboundMessage, InboundMessage.id == As2Transmission.message_id)
        .where(As2Transmission.as2_from == as2_from[:128],
               As2Transmission.as2_message_id == as2_message_id[:998],
               ~As2Transmission.disposition.like("processed/error%"),
               InboundMessage.state != MessageState.FAILED.value)
        .order_by(As2Transmission.id).limit(1)).scalar()
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
