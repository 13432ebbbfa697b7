"""The supplier scorecard's metrics, each worked out by hand over four lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from gateway.domain.scorecard import Event, LineFacts, by_month, score

SENT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


# A: confirmed after 4 h for the 20th, despatched 10 to arrive the 19th: on time both ways,
#    in full, the ASN matches the confirmation.
A = LineFacts(1, Decimal(10), date(2026, 11, 20), SENT,
              confirmations=(Event(_at(2, 12), Decimal(10), date(2026, 11, 20)),),
              despatches=(Event(_at(15), Decimal(10), date(2026, 11, 19)),))
# B: confirmed after 24 h for the 22nd (requested the 20th), then a second confirmation; despatched
#    8 arriving the 22nd: on time against the first confirmation, late against the request,
#    short; the ASN (8) differs from the last confirmation (10). Two exceptions.
B = LineFacts(2, Decimal(10), date(2026, 11, 20), SENT,
              confirmations=(Event(_at(3), Decimal(10), date(2026, 11, 22)),
                             Event(_at(4), Decimal(10), date(2026, 11, 25))),
              despatches=(Event(_at(18), Decimal(8), date(2026, 11, 22)),), exceptions=2)
# C: confirmed after 10 h, despatched 5 arriving the 10th, but the receipt says 4 arrived the
#    12th (requested the 11th): the receipt wins; late; the ASN (5) differs from the receipt.
C = LineFacts(3, Decimal(5), date(2026, 11, 11), SENT,
              confirmations=(Event(_at(2, 18), Decimal(5), date(2026, 11, 11)),),
              despatches=(Event(_at(8), Decimal(5), date(2026, 11, 10)),),
              receipts=(Event(_at(12), Decimal(4), date(2026, 11, 12)),), exceptions=1)
# D: never confirmed, nothing despatched, requested the 30th.
D = LineFacts(4, Decimal(20), date(2026, 11, 30), SENT)


def test_each_metric_over_four_lines() -> None:
    card = score([A, B, C, D], as_of=date(2026, 11, 25))
    assert card.lines == 4
    assert (card.confirmation_rate.part, card.confirmation_rate.whole) == (3, 4)
    assert card.median_hours_to_confirm == 10.0  # of 4, 24 and 10 hours
    # Delivered: A (19th), B (22nd), C (12th by the receipt).
    assert (card.on_time_vs_confirmed.part, card.on_time_vs_confirmed.whole) == (2, 3)
    assert (card.on_time_vs_requested.part, card.on_time_vs_requested.whole) == (1, 3)
    # D is not due on the 25th: (10 + 8 + 4) of (10 + 10 + 5).
    assert (card.fill_rate.part, card.fill_rate.whole) == (22, 25)
    assert card.fill_rate.value == 0.88
    assert (card.otif.part, card.otif.whole) == (1, 3)
    assert (card.asn_accuracy.part, card.asn_accuracy.whole) == (1, 3)
    assert card.exceptions == 3
    assert card.exceptions_per_100_lines == 75.0


def test_a_line_comes_due_on_its_requested_date() -> None:
    card = score([A, B, C, D], as_of=date(2026, 11, 30))
    assert (card.otif.part, card.otif.whole) == (1, 4)
    assert (card.fill_rate.part, card.fill_rate.whole) == (22, 45)


def test_no_lines_give_no_values_rather_than_zero() -> None:
    card = score([], as_of=date(2026, 11, 25))
    assert card.lines == 0
    assert card.confirmation_rate.value is None
    assert card.median_hours_to_confirm is None
    assert card.exceptions_per_100_lines is None


def test_months_follow_the_requested_dates() -> None:
    december = LineFacts(5, Decimal(1), date(2026, 12, 3), SENT)
    months = by_month([december, A, B], as_of=date(2026, 12, 31))
    assert [month.month for month in months] == [date(2026, 11, 1), date(2026, 12, 1)]
    assert [month.card.lines for month in months] == [2, 1]
    assert months[0].card.otif.value == 0.5
