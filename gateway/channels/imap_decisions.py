"""The IMAP channel's decisions, as plain functions: no sockets, no database.

Which UIDs to take in, in which batches, how to move them, who sent a message, how long to
wait before reconnecting. `gateway.channels.imap` does the I/O around them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses
from enum import StrEnum

from gateway.services.connector_status import Position

# Enough for any real header block; the rest of a message is never looked at on intake.
HEADER_LIMIT = 256 * 1024


class MoveMethod(StrEnum):
    """How a message leaves the polled folder once it is archived."""

    MOVE = "move"                       # RFC 6851 UID MOVE: atomic
    COPY_UID_EXPUNGE = "copy-expunge"   # RFC 4315 UIDPLUS: UID EXPUNGE removes only ours
    COPY_FLAG = "copy-flag"             # neither: flagged \Deleted and left for the server,
    #                                     since a plain EXPUNGE would also remove other
    #                                     clients' deleted mail


def move_method(capabilities: Iterable[str | bytes]) -> MoveMethod:
    names = {c.decode("ascii", "replace") if isinstance(c, bytes) else c for c in capabilities}
    names = {name.upper() for name in names}
    if "MOVE" in names:
        return MoveMethod.MOVE
    if "UIDPLUS" in names:
        return MoveMethod.COPY_UID_EXPUNGE
    return MoveMethod.COPY_FLAG


@dataclass(frozen=True, slots=True)
class Start:
    """Where a poll starts: the stored position, or UID 0 of a folder whose UIDVALIDITY
    changed (its UIDs mean other messages now: RFC 3501 section 2.3.1.1)."""

    position: Position
    notice: str | None = None


def start_position(stored: Position, uidvalidity: int) -> Start:
    if stored.uidvalidity is None:
        return Start(Position(uidvalidity, 0))
    if stored.uidvalidity == uidvalidity:
        return Start(stored)
    return Start(Position(uidvalidity, 0),
                 f"UIDVALIDITY changed from {stored.uidvalidity} to {uidvalidity} (after UID "
                 f"{stored.last_uid}): the folder is scanned again from the start; copies of "
                 "messages already archived are recorded as duplicates")


def new_uids(found: Iterable[int], last_uid: int) -> list[int]:
    """UIDs above the last one taken in, ascending. `UID n:*` returns the folder's highest
    UID even when it is below n (RFC 3501 section 6.4.8, "*" is the largest UID in use)."""
    return sorted({uid for uid in found if uid > last_uid})


@dataclass(frozen=True, slots=True)
class Batch:
    """Messages handled together: downloaded, archived in one transaction, moved."""

    take: tuple[int, ...]
    set_aside: tuple[int, ...] = ()     # over the size limit: moved to the failed folder

    @property
    def uids(self) -> tuple[int, ...]:
        return tuple(sorted(self.take + self.set_aside))


def plan_batches(sizes: Mapping[int, int], limit: int, max_count: int = 50,
                 max_bytes: int = 64 * 1024 * 1024) -> list[Batch]:
    """Batches in UID order, each at most `max_count` messages and (beyond its first message)
    `max_bytes` to download. UIDs the server reported no size for are left out."""
    batches: list[Batch] = []
    take: list[int] = []
    aside: list[int] = []
    volume = 0
    for uid in sorted(sizes):
        size = sizes[uid]
        if take and (len(take) + len(aside) >= max_count or volume + size > max_bytes):
            batches.append(Batch(tuple(take), tuple(aside)))
            take, aside, volume = [], [], 0
        if size > limit:
            aside.append(uid)
        else:
            take.append(uid)
            volume += size
    if take or aside:
        batches.append(Batch(tuple(take), tuple(aside)))
    return batches


def oversize_reason(size: int, limit: int, folder: str) -> str:
    """Why a message over the limit was archived as its header alone, for IT."""
    return (f"over the size limit: {size} bytes > {limit}; only its header was archived, the "
            f"whole message was moved to the mailbox folder {folder!r}")


def handled_up_to(uids: Iterable[int], handled: Iterable[int], last_uid: int) -> int:
    """The new last UID: the highest one with every UID of the batch up to it handled. A
    message the server did not return stays above it, to be fetched again."""
    done = set(handled)
    for uid in sorted(uids):
        if uid not in done:
            return last_uid
        last_uid = uid
    return last_uid


def sender_address(raw: bytes) -> str:
    """The addr-spec of the From header, lower-cased; "" when there is none. IMAP has no
    envelope sender: the header is the only word on who sent a message (RFC 5322 3.6.2)."""
    head = raw[:HEADER_LIMIT]
    for end in (b"\r\n\r\n", b"\n\n"):
        if end in head:
            head = head.split(end, 1)[0]
            break
    # RFC 6532 allows UTF-8 in headers; other 8-bit bytes become U+FFFD, never surrogates
    # that no database could store.
    headers = HeaderParser(policy=compat32).parsestr(head.decode("utf-8", "replace"))
    values = [str(value) for value in headers.get_all("From", [])]
    for _name, address in getaddresses(values):
        address = address.strip()
        # A control character (NUL above all: PostgreSQL refuses it in text) is no address.
        if "@" in address and address.isprintable():
            return address.lower()
    return ""


def retry_delay(failures: int, initial: float, cap: float,
                rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with jitter: the step doubles per consecutive failure up to `cap`;
    the wait is half the step plus a random part of the other half, so many pollers that lost
    the same server do not all come back in the same second."""
    step = min(cap, initial * 2.0 ** min(max(failures, 1) - 1, 32))
    return step / 2 + rand() * step / 2
