"""Tolerance profiles: how far a supplier may deviate before a buyer is told (docs/architecture.md,
"Reconciliation").

A profile belongs to a supplier (else the default applies) and is versioned: a change makes a new
version, so a decision taken under version 3 can always be explained by version 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_HUNDRED = Decimal(100)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def weight(self) -> int:
        return {"low": 1, "medium": 2, "high": 3}[self.value]


@dataclass(frozen=True, slots=True)
class ToleranceProfile:
    """Limits within which a deviation is accepted silently.

    Quantities: a deviation is tolerated when it is within the absolute limit *or* within the
    percentage of the ordered quantity (whichever is larger). Dates: days early/late at warning
    level (low severity beyond) and error level (high beyond). Prices: a change within
    +/- `price_pct` percent is tolerated.
    """

    name: str = "default"
    version: int = 1
    qty_under_pct: Decimal = Decimal(0)
    qty_under_abs: Decimal = Decimal(0)
    qty_over_pct: Decimal = Decimal(0)
    qty_over_abs: Decimal = Decimal(0)
    date_early_warning_days: int = 3
    date_early_error_days: int = 7
    date_late_warning_days: int = 0
    date_late_error_days: int = 3
    price_pct: Decimal = Decimal(0)
    confirmation_due_hours: int = 48
    despatch_lead_days: int = 2

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def quantity_allowance(self, ordered: Decimal, under: bool) -> Decimal:
        """The largest deviation from `ordered` tolerated in that direction."""
        pct, absolute = ((self.qty_under_pct, self.qty_under_abs) if under
                         else (self.qty_over_pct, self.qty_over_abs))
        return max(absolute, abs(ordered) * pct / _HUNDRED)

    def describe_quantity(self, under: bool) -> str:
        pct, absolute = ((self.qty_under_pct, self.qty_under_abs) if under
                         else (self.qty_over_pct, self.qty_over_abs))
        side = "under" if under else "over"
        return f"{side} {plain_number(pct)}% or {plain_number(absolute)} ({self.label})"


DEFAULT_PROFILE = ToleranceProfile()


def plain_number(value: Decimal) -> str:
    """`Decimal('80.000')` -> '80', `Decimal('12.50')` -> '12.5': for messages to people."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def late_severity(days: int, profile: ToleranceProfile) -> Severity | None:
    """Severity of a delivery `days` after the requested date, None within tolerance."""
    if days > profile.date_late_error_days:
        return Severity.HIGH
    if days > profile.date_late_warning_days:
        return Severity.LOW
    return None


def early_severity(days: int, profile: ToleranceProfile) -> Severity | None:
    """Severity of a delivery `days` before the requested date, None within tolerance."""
    if days > profile.date_early_error_days:
        return Severity.HIGH
    if days > profile.date_early_warning_days:
        return Severity.LOW
    return None
