"""The outbound row's life as an allowed-transition table, and the retry back-off."""

from __future__ import annotations

import pytest

from gateway.domain.outbound import (
    ACTIVE_STATES,
    OUTBOUND_TRANSITIONS,
    OutboundState,
    move_outbound,
    retry_delay,
    sources_of,
)
from gateway.errors import InvalidTransition

S = OutboundState

ALLOWED = {
    (S.PENDING, S.SENDING), (S.PENDING, S.CANCELLED),
    (S.SENDING, S.SENT), (S.SENDING, S.PENDING), (S.SENDING, S.FAILED),
    (S.SENDING, S.AWAITING_MDN),
    (S.AWAITING_MDN, S.SENT), (S.AWAITING_MDN, S.FAILED), (S.AWAITING_MDN, S.CANCELLED),
    (S.FAILED, S.PENDING), (S.FAILED, S.CANCELLED), (S.FAILED, S.SENT),
    (S.CANCELLED, S.PENDING),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_each_transition_is_allowed_only_when_the_table_says_so(
        current: OutboundState, target: OutboundState) -> None:
    if (current, target) in ALLOWED:
        assert move_outbound(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            move_outbound(current, target)


def test_every_state_has_an_entry_and_sent_and_suppressed_are_final() -> None:
    assert set(OUTBOUND_TRANSITIONS) == set(S)
    assert OUTBOUND_TRANSITIONS[S.SENT] == frozenset()
    assert OUTBOUND_TRANSITIONS[S.SUPPRESSED] == frozenset()
    assert {S.PENDING, S.SENDING} == ACTIVE_STATES


def test_sources_of_a_target_are_read_from_the_table() -> None:
    assert sources_of(S.CANCELLED) == {S.PENDING, S.FAILED, S.AWAITING_MDN}
    assert sources_of(S.PENDING) == {S.SENDING, S.FAILED, S.CANCELLED}
    assert sources_of(S.SUPPRESSED) == frozenset()


def test_back_off_doubles_per_attempt_up_to_the_cap_with_full_jitter() -> None:
    top = [retry_delay(attempt, 2.0, 60.0, lambda: 1.0) for attempt in range(1, 9)]
    assert top == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert retry_delay(5, 2.0, 60.0, lambda: 0.0) == 0.0
    assert retry_delay(3, 2.0, 60.0, lambda: 0.25) == 2.0
    assert retry_delay(10_000, 2.0, 60.0, lambda: 0.5) == 30.0
