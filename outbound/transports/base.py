"""What a transport sends and the shape every transport has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message on its way out: the bytes and where they go. `wire_id` is what the receiver
    sees (Message-ID, interchange control reference, webhook delivery id), the same on every
    attempt."""

    wire_id: str
    sender: str
    recipient: str
    payload: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the other side said when it took the message (an SMTP reply with its queue id,
    an HTTP status line, the file written)."""

    response: str
    location: str | None = None
    # Taken, and its receipt comes later by another way (an AS2 asynchronous MDN): the row
    # waits this many seconds for it (`awaiting_mdn`) instead of being `sent` now.
    awaiting_receipt_seconds: float | None = None


class Sender(Protocol):
    def send(self, message: Outgoing) -> Delivered: ...

    def close(self) -> None: ...
