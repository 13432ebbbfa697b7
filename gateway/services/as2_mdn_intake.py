"""Asynchronous MDNs to the messages we sent (RFC 4130 section 7.3), as they arrive at our
AS2 endpoint: matched to the outbox row by the Original-Message-ID they name, verified with
the partner's certificates and checked against the MIC of what was sent
(`as2_outbound.judge_receipt`, the same check as a synchronous MDN's), then the row is `sent`
(`processed`) or `failed` with the reason and an OUTBOUND_FAILED exception for IT
(`outbox_sender.record_receipt`). An MDN that comes after the row failed for want of it
(its window passed) still settles it (`outbox_sender.record_late_receipt`): a positive one
makes it `sent` and resolves the exception the expiry raised, with a note; an error one
keeps it `failed` with the partner's reason.

Every MDN is kept in `as2_transmissions` (header fields and body as received, linked to the
row it decided), and is answered HTTP 200 with no body whatever it said: an MDN is never
answered with an MDN (RFC 3798 section 2.1), and sending it again would not change it. An MDN
that names no message of ours awaiting one, that comes from another partner than the one the
message went to, or that cannot be read, decides nothing: it is kept with why and logged. The
Original-Message-ID is read before the signature is verified only to find the row; the
row's partner's certificates then verify the MDN, and one that does not verify fails the row,
as a synchronous one would (the Message-ID is 128 random bits only that partner has seen).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.as2.errors import As2Error
from gateway.as2.mdn import claimed_original_message_id
from gateway.as2.partners import As2Directory
from gateway.domain.outbound import OutboundState, Transport
from gateway.persistence.models import As2Transmission
from gateway.services.as2_outbound import MIC_INSTRUCTION, judge_receipt
from gateway.services.outbox_sender import (
    RECEIPT_STATES,
    AwaitedRow,
    awaited_row,
    record_late_receipt,
    record_receipt,
)
from outbound.errors import PermanentDelivery
from outbound.transports.base import Delivered

log = logging.getLogger(__name__)

# `record_receipt` for a row awaiting its MDN, `record_late_receipt` for one failed for want
# of it.
Recorder = Callable[[Session, int, Delivered | None, PermanentDelivery | None, datetime], bool]


@dataclass(frozen=True, slots=True)
class IncomingMdn:
    """An MDN as it came over HTTP: header fields in order, the body (empty when it passed
    the endpoint's cap, `oversize`), and the AS2 ids (unquoted)."""

    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes
    as2_from: str
    as2_to: str
    oversize: bool = False

    def field(self, name: str) -> str:
        wanted = name.lower()
        return next((v.strip() for k, v in self.headers if k.lower() == wanted), "")


@dataclass(frozen=True, slots=True)
class MdnTaken:
    """What an MDN decided: the outbox row it named (None: none of ours), whether it moved
    that row, and the line kept with it."""

    outbound_id: int | None
    decided: bool
    outcome: str


def take_mdn(session: Session, mdn: IncomingMdn, directory: As2Directory,
             now: datetime) -> MdnTaken:
    """Match, verify and record one asynchronous MDN in the caller's transaction."""
    taken = _decide(session, mdn, directory, now)
    session.add(As2Transmission(
        received_at=now, as2_from=mdn.as2_from[:128], as2_to=mdn.as2_to[:128],
        as2_message_id=mdn.field("message-id")[:998],
        sha256=hashlib.sha256(mdn.body).hexdigest(), size=len(mdn.body), raw=mdn.raw,
        layers=["mdn"], disposition="MDN received", reason=taken.outcome[:2000], mic=None,
        mdn=None, message_id=None, outbound_id=taken.outbound_id))
    (log.info if taken.decided else log.warning)(
        "AS2 MDN from %s: %s", mdn.as2_from[:128], taken.outcome[:300])
    return taken


def _decide(session: Session, mdn: IncomingMdn, directory: As2Directory,
            now: datetime) -> MdnTaken:
    if mdn.oversize:
        return MdnTaken(None, False, f"an MDN over the cap of {directory.max_message_bytes} "
                                     "bytes: not read")
    try:
        original = claimed_original_message_id(mdn.headers, mdn.body)
    except As2Error as exc:
        return MdnTaken(None, False, f"an MDN that cannot be read: {exc}")
    row = awaited_row(session, original.strip().strip("<>"), Transport.AS2)
    if row is None:
        return MdnTaken(None, False, f"an MDN for {original[:200]!r}, which is no AS2 "
                                     "message of ours")
    sent = {name.lower(): value for name, value in row.headers}
    mismatch = _not_from_its_partner(sent, mdn)
    if mismatch is not None:
        return MdnTaken(row.id, False, mismatch)
    if row.state.value in RECEIPT_STATES:
        return _judge(session, row, sent, mdn, directory, now, record_receipt, "")
    if row.state is OutboundState.FAILED:
        # Perhaps failed for want of this very MDN (its window passed): it still says what
        # the partner did with the message. `record_late_receipt` moves the row only then.
        late = _judge(session, row, sent, mdn, directory, now, record_late_receipt,
                      "late: ")
        if late.decided:
            return late
    return MdnTaken(row.id, False, f"an MDN for outbound #{row.id}, which is "
                                   f"{row.state.value} already: nothing changed")


def _judge(session: Session, row: AwaitedRow, sent: Mapping[str, str], mdn: IncomingMdn,
           directory: As2Directory, now: datetime, record: Recorder,
           prefix: str) -> MdnTaken:
    try:
        line = judge_receipt(directory, sent, sent.get(MIC_INSTRUCTION.lower(), ""),
                             mdn.headers, mdn.body, now)
    except PermanentDelivery as exc:
        moved = record(session, row.id, None, exc, now)
        return MdnTaken(row.id, moved, f"{prefix}outbound #{row.id} failed: {exc.reason}")
    moved = record(session, row.id, Delivered(f"asynchronous {prefix}{line}"), None, now)
    return MdnTaken(row.id, moved, f"{prefix}outbound #{row.id} sent: {line}")


def _not_from_its_partner(sent: Mapping[str, str], mdn: IncomingMdn) -> str | None:
    """An MDN must come from the partner the message went to, to the id it came from."""
    if (mdn.as2_from, mdn.as2_to) == (sent.get("as2-to"), sent.get("as2-from")):
        return None
    return (f"an MDN from {mdn.as2_from[:128]!r} to {mdn.as2_to[:128]!r} for a message sent "
            f"from {sent.get('as2-from')!r} to {sent.get('as2-to')!r}: nothing changed")
