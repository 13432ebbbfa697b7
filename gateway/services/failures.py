"""A supplier's message that failed reaches its buyer, not only IT.

A message is `failed` when processing it raised for a reason that is not transient (a bug, a
value the database refused that no check caught) or when its processing was started too often
and never finished. IT sees it in `gateway messages list --state failed`; the buyer of its
supplier, when the supplier is known, gets a MESSAGE_FAILED exception linked to it, resolved
when a retry processes the message. A transient error (the database or the network gone, a
lock timeout, a deadlock) says nothing about the message: it is retried and raises nothing.
"""

from __future__ import annotations

import io
from datetime import datetime
from itertools import islice

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import message_failed
from gateway.domain.reconciliation import Outcome
from gateway.persistence.models import InboundMessage
from gateway.persistence.queries import chunked
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import Lookups, SupplierInfo
from mappings.registry import preview_message
from parsers.edifact.interchange import InterchangeHeader
from parsers.edifact.segments import Segment
from parsers.edifact.tokenizer import iter_segments

# Errors that say nothing about the messages: the database unreachable or the connection lost
# (OperationalError, InterfaceError with psycopg), no connection free in the pool, a lock or
# statement timeout, a deadlock or serialization failure (psycopg raises those as
# OperationalError subclasses; SQLite's "database is locked" too).
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def tell_buyers(session: Session, message_ids: list[int], reason: str,
                now: datetime) -> None:
    """A MESSAGE_FAILED exception for each of these failed messages whose supplier is known
    (by the channel's supplier, else the sender's or the email's From address)."""
    lookups = Lookups(session)
    ledger = ExceptionLedger(session)
    for batch in chunked(sorted(set(message_ids))):
        for message_id, supplier_code, sender, raw, filename in session.execute(
                select(InboundMessage.id, InboundMessage.supplier_code, InboundMessage.sender,
                       InboundMessage.raw, InboundMessage.filename)
                .where(InboundMessage.id.in_(batch))):
            supplier = _supplier(lookups, supplier_code, sender, raw,
                                 filename or f"message {message_id}")
            if supplier is not None:
                ledger.record(Outcome(discrepancies=[message_failed(reason, message_id)]),
                              supplier, {}, Source(message_id, None, now))
    ledger.flush()


def _supplier(lookups: Lookups, code: str | None, sender: str, raw: bytes,
              name: str) -> SupplierInfo | None:
    if code:
        return lookups.supplier(code)
    # Only an interchange's UNB or an email's header is read: the whole is what failed.
    interchange = _interchange_sender(raw)
    addresses = [*preview_message(raw, name).sender_addresses, sender.strip().lower()]
    candidates = [("edi", interchange)] if interchange else []
    candidates += [("email", address) for address in addresses]
    candidates += [("domain", address.rpartition("@")[2]) for address in addresses
                   if "@" in address]
    return next((found for kind, value in dict.fromkeys(candidates)
                 if (found := lookups.supplier_by(kind, value)) is not None), None)


def _interchange_sender(raw: bytes) -> str | None:
    """The UNB sender id (0004) of an EDIFACT file: among its first segments, or none."""
    if raw[:64].lstrip()[:3] not in (b"UNA", b"UNB"):
        return None
    for token in islice(iter_segments(io.BytesIO(raw)), 3):
        if isinstance(token, Segment) and token.tag == "UNB":
            return InterchangeHeader.from_unb(token).sender
    return None
