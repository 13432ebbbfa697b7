"""What a database refuses to store, found in a canonical document before anything is written.

SQLite stores any text and any number; PostgreSQL refuses a NUL character (U+0000) in text,
UTF-8 (every driver's encoding) has no form for a lone surrogate (U+D800-U+DFFF, which a
decoder's `surrogateescape` or a JSON `\\ud800` escape may leave in a str), a NUMERIC(38, 12)
column holds 26 digits before the point and rounds after the 12th, and a VARCHAR(n) refuses
n + 1 characters. Each of these would fail the whole batch with a DataError after the fact and
leave the message `failed` with nothing for the buyer. Checked here, a value the database would
refuse is a located problem of its document, which is then not applied: the message is
processed and the refusal is its visible reason (an email's goes to the buyer as
UNREADABLE_REPLY).

Dates need no check: Python's `date` (years 1 to 9999) lies within PostgreSQL's range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from gateway.domain.documents import Document, Line

# The widths of the columns each value is stored in (gateway/persistence/models.py; a unit test
# compares them): the document's number, its type, the sender id the supplier is looked up by;
# order and line numbers as exceptions keep them; item ids as an order line keeps its part
# numbers (a GTIN as sent may be anything a sheet's column holds). The exception texts that
# quote them are cut to their columns by the exception ledger.
DOCUMENT_WIDTHS = {"document_number": 70, "message_type": 32, "sender_id": 200}
ORDER_NUMBER_WIDTH = 64
LINE_WIDTHS = {"line_no": 32, "order_number": ORDER_NUMBER_WIDTH, "order_line_no": 32,
               "unit": 200}
ITEM_WIDTHS = {"gtin": 64, "buyer_part": 64, "supplier_part": 64}
# NUMERIC(38, 12): 26 digits before the point, 12 after.
INTEGER_DIGITS = 26
FRACTION_DIGITS = 12

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SHOWN = 40  # characters of a refused value quoted back


class Refusal(StrEnum):
    CHARACTER = "character"
    LENGTH = "length"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class RefusedValue:
    """Where in the document (line position from 1; None: the document itself), which field,
    and why the database would refuse it."""

    line: int | None
    field: str
    refusal: Refusal
    reason: str

    @property
    def detail(self) -> str:
        where = f"line {self.line}" if self.line is not None else "the document"
        return f"{where}: {self.field} {self.reason}"


def refused_values(document: Document) -> list[RefusedValue]:
    """Every value of the document that reaches a database column and would be refused."""
    found = [refused for name, width in DOCUMENT_WIDTHS.items()
             if (refused := _text(None, name, getattr(document, name), width))]
    found += [refused for number in document.order_numbers
              if (refused := _text(None, "order number", number, ORDER_NUMBER_WIDTH))]
    for position, line in enumerate(document.lines, 1):
        found += _line(position, line)
    return found


def _line(position: int, line: Line) -> list[RefusedValue]:
    texts = [(name, getattr(line, name), width) for name, width in LINE_WIDTHS.items()]
    texts += [(f"item {name}", getattr(line.item, name), width)
              for name, width in ITEM_WIDTHS.items()]
    found = [refused for name, value, width in texts
             if (refused := _text(position, name, value, width))]
    found += [refused for name, number in (("quantity", line.quantity), ("price", line.price))
              if (refused := _number(position, name, number))]
    return found


def _text(line: int | None, field: str, value: str | None, width: int) -> RefusedValue | None:
    if value is None:
        return None
    reason = text_refusal(value, width)
    if reason is None:
        return None
    refusal = Refusal.LENGTH if reason.endswith(" kept") else Refusal.CHARACTER
    return RefusedValue(line, field, refusal, reason)


def _number(line: int, field: str, value: Decimal | None) -> RefusedValue | None:
    reason = number_refusal(value) if value is not None else None
    return RefusedValue(line, field, Refusal.NUMBER, reason) if reason else None


def text_refusal(value: str, width: int) -> str | None:
    """Why a text column of `width` characters would refuse `value`; None: it would not."""
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        character = f"U+{ord(bad.group()):04X}"
        what = "a NUL character" if character == "U+0000" else f"a lone surrogate {character}"
        return f"{_quoted(value)} holds {what} (at {bad.start() + 1}), which cannot be stored"
    if len(value) > width:
        return (f"{_quoted(value)} is {len(value)} characters long, longer than the {width} "
                "kept")
    return None


def number_refusal(value: Decimal) -> str | None:
    """Why a NUMERIC(38, 12) column would refuse (or round) `value`; None: it would not."""
    if not value.is_finite():
        return f"{value} is not a number"
    if value and value.adjusted() >= INTEGER_DIGITS:
        return f"{_quoted(str(value))} has more than {INTEGER_DIGITS} digits before the point"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -FRACTION_DIGITS:
        return f"{_quoted(str(value))} has more than {FRACTION_DIGITS} decimals"
    return None


def _quoted(value: str) -> str:
    """The value as a Python literal (a NUL shows as \\x00, a surrogate as \\ud800), cut short:
    quoted back in a problem, it must not carry what was refused."""
    shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
    return ascii(shown) if _UNSTORABLE.search(shown) else repr(shown)


def printable(text: str) -> str:
    """`text` with each character a database refuses written as its escape (\\x00, \\ud800):
    for the gateway's own sentences that quote supplier text (problems, reasons)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda found: ascii(found.group())[1:-1], text)
