"""A supplier's scorecard over a period: pure functions over what the gateway knows of each
order line (its requested version, confirmations, despatches and receipts) and the exceptions
raised on those lines. The definitions are in docs/web.md ("Supplier scorecard").

The lines scored are the supplier's order lines whose requested date falls in the period
(inclusive). A line is "delivered" on the date of its last receipt when any was recorded,
else on the delivery date of its last despatch advice (the date the supplier said it would
arrive); its delivered quantity is the sum of its receipts, else of its despatches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import median


@dataclass(frozen=True, slots=True)
class Event:
    """One version of a line's promise: when the gateway recorded it, its quantity and date."""

    at: datetime
    quantity: Decimal | None
    day: date | None


@dataclass(frozen=True, slots=True)
class LineFacts:
    line_id: int
    ordered: Decimal
    requested_date: date
    # When the order line was recorded (its `requested` version): the clock for confirming.
    sent_at: datetime | None
    confirmations: tuple[Event, ...] = ()
    despatches: tuple[Event, ...] = ()
    receipts: tuple[Event, ...] = ()
    exceptions: int = 0

    @property
    def first_confirmed_date(self) -> date | None:
        first = _first(self.confirmations)
        return first.day if first is not None else None

    @property
    def delivered_on(self) -> date | None:
        events = self.receipts or self.despatches
        last = max(events, key=lambda event: event.at) if events else None
        return last.day if last is not None else None

    @property
    def delivered_quantity(self) -> Decimal:
        events = self.receipts or self.despatches
        return sum((event.quantity or Decimal(0) for event in events), Decimal(0))


@dataclass(frozen=True, slots=True)
class Ratio:
    """`part` of `whole`, kept as counts so that a page can say "12 of 15"."""

    part: Decimal
    whole: Decimal

    @property
    def value(self) -> float | None:
        return float(self.part / self.whole) if self.whole else None


@dataclass(frozen=True, slots=True)
class Scorecard:
    lines: int
    confirmation_rate: Ratio
    median_hours_to_confirm: float | None
    on_time_vs_confirmed: Ratio
    on_time_vs_requested: Ratio
    fill_rate: Ratio
    otif: Ratio
    asn_accuracy: Ratio
    exceptions: int
    exceptions_per_100_lines: float | None


@dataclass(frozen=True, slots=True)
class MonthScore:
    month: date  # the first day of the month
    card: Scorecard = field(repr=False)


def _first(events: Sequence[Event]) -> Event | None:
    return min(events, key=lambda event: event.at) if events else None


def _ratio(flags: Iterable[bool]) -> Ratio:
    values = list(flags)
    return Ratio(Decimal(sum(values)), Decimal(len(values)))


def _asn_accurate(line: LineFacts) -> bool:
    despatched = sum((event.quantity or Decimal(0) for event in line.despatches), Decimal(0))
    if line.receipts:
        expected = line.delivered_quantity
    else:
        last = max(line.confirmations, key=lambda event: event.at) if line.confirmations else None
        expected = last.quantity if last is not None and last.quantity is not None else line.ordered
    return despatched == expected


def score(lines: Sequence[LineFacts], as_of: date) -> Scorecard:
    """The scorecard of `lines`. `as_of`: today; fill rate and OTIF count only lines whose
    requested date has come (a line due next week is not yet late)."""
    confirmed = [line for line in lines if line.confirmations]
    hours = [(first.at - line.sent_at).total_seconds() / 3600
             for line in confirmed
             if line.sent_at is not None and (first := _first(line.confirmations)) is not None]
    delivered = [line for line in lines if line.delivered_on is not None]
    due = [line for line in lines if line.requested_date <= as_of]
    fill_part = sum((min(line.delivered_quantity, line.ordered) for line in due), Decimal(0))
    fill_whole = sum((line.ordered for line in due), Decimal(0))
    exceptions = sum(line.exceptions for line in lines)
    return Scorecard(
        lines=len(lines),
        confirmation_rate=_ratio(bool(line.confirmations) for line in lines),
        median_hours_to_confirm=median(hours) if hours else None,
        on_time_vs_confirmed=_ratio(
            line.delivered_on <= line.first_confirmed_date  # type: ignore[operator]
            for line in delivered if line.first_confirmed_date is not None),
        on_time_vs_requested=_ratio(
            line.delivered_on <= line.requested_date  # type: ignore[operator]
            for line in delivered),
        fill_rate=Ratio(fill_part, fill_whole),
        otif=_ratio(line.delivered_on is not None and line.delivered_on <= line.requested_date
                    and line.delivered_quantity >= line.ordered for line in due),
        asn_accuracy=_ratio(_asn_accurate(line) for line in lines if line.despatches),
        exceptions=exceptions,
        exceptions_per_100_lines=100 * exceptions / len(lines) if lines else None,
    )


def by_month(lines: Sequence[LineFacts], as_of: date) -> list[MonthScore]:
    """One scorecard per calendar month of the requested dates, oldest first."""
    months: dict[date, list[LineFacts]] = {}
    for line in lines:
        months.setdefault(line.requested_date.replace(day=1), []).append(line)
    return [MonthScore(month, score(months[month], as_of)) for month in sorted(months)]
