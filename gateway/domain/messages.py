"""The life of an inbound message (docs/architecture.md, "Inbound messages") as an
allowed-transition table."""

from __future__ import annotations

from enum import StrEnum

from gateway.errors import InvalidTransition


class MessageState(StrEnum):
    RECEIVED = "received"
    PARSED = "parsed"
    RECONCILED = "reconciled"
    ACKNOWLEDGED = "acknowledged"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    DUPLICATE = "duplicate"


S = MessageState
MESSAGE_TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    S.RECEIVED: frozenset({S.PARSED, S.QUARANTINED, S.FAILED}),
    # Parsed, it can turn out to be a delivery already processed under another envelope or
    # channel (the same document, the same content): a duplicate, with no events of its own.
    S.PARSED: frozenset({S.RECONCILED, S.QUARANTINED, S.FAILED, S.DUPLICATE}),
    S.RECONCILED: frozenset({S.ACKNOWLEDGED, S.RECEIVED}),
    S.ACKNOWLEDGED: frozenset({S.RECEIVED}),
    # IT releases a quarantined message or retries a failed one: it starts again.
    S.QUARANTINED: frozenset({S.RECEIVED}),
    S.FAILED: frozenset({S.RECEIVED}),
    # A duplicate delivery is final: its bytes are kept, its events were the first copy's.
    S.DUPLICATE: frozenset(),
}


def move_message(current: MessageState, target: MessageState) -> MessageState:
    if target not in MESSAGE_TRANSITIONS[current]:
        raise InvalidTransition("a message", current, target)
    return target
