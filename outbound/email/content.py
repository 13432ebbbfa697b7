"""What a reply or a reminder says, as plain values: every string in here is shown to the
supplier (escaped by the templates), so nothing internal (row ids, rule names, tolerance
profile names, other suppliers) is ever put in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Language(StrEnum):
    """The supplier's language (partner file `language`)."""

    EN = "en"
    DE = "de"
    ZH = "zh"


class Verdict(StrEnum):
    """What was understood of one line the supplier sent."""

    CONFIRMED = "confirmed"            # confirmed as ordered
    CHANGED = "changed"                # confirmed with another quantity, date or price
    REJECTED = "rejected"              # rejected or deleted
    NOT_UNDERSTOOD = "not_understood"  # values without a clear yes or no, or no order line


class Field(StrEnum):
    QUANTITY = "quantity"
    DATE = "date"
    PRICE = "price"
    UNIT = "unit"
    ITEM = "item"


class Ask(StrEnum):
    """What the buyer needs the supplier to fix; each has a sentence per language."""

    UNKNOWN_ORDER = "unknown_order"      # no such open order from this supplier
    NO_ORDER_NUMBER = "no_order_number"  # the reply names no order
    UNKNOWN_LINE = "unknown_line"        # a line that is not on the order
    AMBIGUOUS_LINE = "ambiguous_line"    # an item on several order lines
    ITEM = "item"                        # another item than ordered
    UNIT = "unit"                        # another unit than ordered
    QUANTITY = "quantity"                # another quantity than ordered
    DATE = "date"                        # another date than requested
    PRICE = "price"                      # another price than ordered
    MISSING_LINE = "missing_line"        # a line of the order the reply left out
    UNCLEAR_LINE = "unclear_line"        # values without a yes or no
    DOCUMENT_NUMBER = "document_number"  # a document number used before for other content
    REJECTED = "rejected"                # a rejection the buyer will follow up


@dataclass(frozen=True, slots=True)
class Change:
    """One value the supplier said differently: what was ordered and what it said."""

    field: Field
    ordered: str | None
    said: str | None


@dataclass(frozen=True, slots=True)
class ReplyLine:
    """One line as the supplier sent it and what was understood of it."""

    order: str | None
    line: str | None
    item: str | None
    verdict: Verdict
    quantity: str | None = None
    date: str | None = None
    price: str | None = None
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    """One thing the buyer needs fixed, about an order (and line) of this supplier."""

    ask: Ask
    order: str | None = None
    line: str | None = None
    ordered: str | None = None
    said: str | None = None


@dataclass(frozen=True, slots=True)
class FillInRow:
    """A row of the table an unreadable reply gets: what is known is filled in, the rest is
    the supplier's to write."""

    order: str = ""
    line: str = ""
    item: str = ""
    quantity: str = ""
    date: str = ""


class UnreadWhy(StrEnum):
    """Why a part of a reply was not read, in the few kinds a supplier can act on; each has a
    sentence per language (`unread_why_<kind>` in the catalogue)."""

    NOT_COMMITTED = "not_committed"      # a condition, a question, a hedge, a negation
    AMBIGUOUS = "ambiguous"              # a date that reads as day/month and month/day
    INVALID_VALUE = "invalid_value"      # a date or number that cannot be read
    NOTHING_ANSWERED = "nothing_answered"
    ATTACHMENT = "attachment"            # an attachment of a kind, size or shape not read
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class UnreadPart:
    """A part of the supplier's message that was not read with confidence: where (a line of
    the body, or an attachment), the supplier's own words there, why in a kind every
    language has a sentence for, and the reader's own remark (English), which the English
    reply shows as it is."""

    why: UnreadWhy
    detail: str
    line: int | None = None
    attachment: str | None = None
    quote: str | None = None

    def __str__(self) -> str:
        # What an operator's own template printed before parts had their fields.
        return self.detail


@dataclass(frozen=True, slots=True)
class ReplyContent:
    """Everything a reply says, in the order it says it."""

    supplier_name: str
    language: Language
    lines: tuple[ReplyLine, ...] = ()
    requests: tuple[Request, ...] = ()
    # What could not be read, each place with why.
    unread: tuple[UnreadPart, ...] = ()
    fill_in: tuple[FillInRow, ...] = ()

    @property
    def all_clear(self) -> bool:
        return not self.requests and not self.unread and all(
            line.verdict is Verdict.CONFIRMED for line in self.lines)


@dataclass(frozen=True, slots=True)
class OverdueLine:
    """A line whose confirmation is missing, for a reminder."""

    order: str
    line: str
    item: str | None
    quantity: str | None
    date: str | None
    order_date: str | None = None


@dataclass(frozen=True, slots=True)
class ReminderContent:
    supplier_name: str
    language: Language
    lines: tuple[OverdueLine, ...]
    # Which reminder this is (1 for the first) and how many there will be at most.
    number: int = 1
    of: int = 1


@dataclass(frozen=True, slots=True)
class RejectionContent:
    """The buyer does not accept the supplier's change of one line: which value, what the
    supplier said, and what stands (the ordered value)."""

    supplier_name: str
    language: Language
    order: str
    line: str | None
    item: str | None
    field: Field
    ordered: str | None
    said: str | None
