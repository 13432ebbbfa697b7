"""`gateway bench smtp`: the messages it sends and the loss check it relies on.

No timing is asserted here; only that the benchmark measures what it claims to measure.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from rich.console import Console

from gateway.bench.smtp import SideResults, SideRun, side_order, smtp_table, summarize
from gateway.bench.smtp_servers import BARE, GATEWAY, POSTGRES, WITH_WORKER
from gateway.bench.smtp_traffic import DeliveryCheck, check_delivery, make_messages, share


@pytest.mark.parametrize("size", [20_000, 20_001, 19_999, 4_000, 1_234])
def test_messages_have_the_size_asked_for(size: int) -> None:
    assert {len(message) for message in make_messages(50, size)} == {size}


def test_messages_are_distinct_seeded_and_survive_smtp_transparency() -> None:
    messages = make_messages(200)
    assert len({hashlib.sha256(m).digest() for m in messages}) == 200
    assert make_messages(3) == make_messages(3)
    assert make_messages(3, seed=1) != make_messages(3)
    for message in messages[:20]:
        # As stored: CRLF only, the last line ended, and one line that smtplib dot-stuffs.
        assert message.endswith(b"\r\n")
        assert b"\n" not in message.replace(b"\r\n", b"")
        assert b"\r\n.signature" in message
        assert max(len(line) for line in message.split(b"\r\n")) <= 998


def test_each_client_gets_its_share_and_together_all() -> None:
    messages = make_messages(10, 1_000)
    shares = share(messages, 4)
    assert [len(s) for s in shares] == [3, 3, 2, 2]
    assert sorted(m for s in shares for m in s) == sorted(messages)


def test_delivery_check_passes_when_every_message_is_stored_once() -> None:
    messages = make_messages(5, 1_000)
    check = check_delivery(messages, reversed(messages))
    assert check == DeliveryCheck(5, 5, 0, 0, 0)
    assert check.lossless


def test_delivery_check_catches_a_missing_message() -> None:
    messages = make_messages(5, 1_000)
    check = check_delivery(messages, messages[1:])
    assert (check.missing, check.stored, check.lossless) == (1, 4, False)


def test_delivery_check_catches_a_duplicated_message() -> None:
    messages = make_messages(5, 1_000)
    check = check_delivery(messages, [*messages, messages[2]])
    assert (check.duplicated, check.missing, check.lossless) == (1, 0, False)


def test_delivery_check_catches_altered_bytes() -> None:
    messages = make_messages(5, 1_000)
    altered = [*messages[:4], messages[4].replace(b"\r\n.signature", b"\r\n..signature")]
    check = check_delivery(messages, altered)
    assert (check.missing, check.unexpected, check.lossless) == (1, 1, False)


def test_bare_and_gateway_alternate_which_goes_first() -> None:
    assert side_order(1, True, True) == [BARE, GATEWAY, WITH_WORKER, POSTGRES]
    assert side_order(2, False, False) == [GATEWAY, BARE]


def run(seconds: float, sent: int = 100, stored: int | None = None) -> SideRun:
    stored = sent if stored is None else stored
    check = DeliveryCheck(sent, stored, sent - stored, 0, 0)
    return SideRun(seconds, [0.001] * 98 + [0.002, 0.010], [], check)


def test_summary_takes_medians_and_the_ratio_to_the_bare_handler() -> None:
    results = {BARE: SideResults(BARE, [run(1.0), run(2.0), run(0.5)]),
               GATEWAY: SideResults(GATEWAY, [run(1.25), run(1.0), run(2.0)])}
    result = summarize(results, 100, 1_000, 4, 3, None)
    assert result["sides"][BARE]["messages_per_s"] == 100.0
    assert result["sides"][GATEWAY]["messages_per_s"] == 80.0
    assert result["sides"][GATEWAY]["ratio_to_bare"] == 0.8
    assert result["sides"][GATEWAY]["latency_p99_ms"] == 2.0
    assert result["meets_target"]
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(smtp_table(result))
    assert "80% ✓" in console.export_text()


def test_a_lost_message_fails_the_target_whatever_the_speed() -> None:
    results = {BARE: SideResults(BARE, [run(1.0)]),
               GATEWAY: SideResults(GATEWAY, [run(0.5, stored=99)])}
    result = summarize(results, 100, 1_000, 4, 1, None)
    assert result["sides"][GATEWAY]["ratio_to_bare"] == 2.0
    assert not result["sides"][GATEWAY]["lossless"]
    assert not result["meets_target"]
