"""CONTRL, the syntax and service report message (UN/EDIFACT D.3; ISO 9735-1 annex B).

    UNH  CONTRL:D:3:UN (syntax versions 1-3) or CONTRL:4:1:UN (syntax version 4)
    UCI  the interchange answered: its control reference (0020), sender (S002) and recipient
         (S003) as received, the action (0083), and for a fault of the interchange itself the
         syntax error (0085), the service segment (0013) and the data element (S011)
    UCM  one per message received: its reference (0062) and identifier (S009), the action,
         and for a rejected message without a located fault the syntax error
      UCS  one per located fault: the segment's position in the message, UNH being 1 (0096),
           and the syntax error when the fault is the segment's
      UCD  when the fault is one data element of that segment: the syntax error and the
           element (S011: 0098 element position, 0104 component position)
    UNT

The action codes (0083, the same for UCI and UCM): 7 "this level acknowledged and all lower
levels acknowledged if not explicitly rejected", 4 "this level and all lower levels rejected".
An interchange accepted in part is UCI 7 with UCM 4 for each rejected message: that is how ISO
9735 says "partially". Code 8 ("interchange received") says only that the envelope was read and
the rest is still to be checked; the gateway has checked everything when it answers, so it never
sends 8 (it exists here to name it).

Only the segments common to syntax versions 3 and 4 are written: the leading data elements of
UCI, UCM, UCS and UCD are the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from outbound.edifact.envelope import (
    Element,
    MessageIdentifier,
    Party,
    Segment,
    Written,
    line,
    segment,
    wrap_message,
)

# What a builder below makes of each segment: a `Segment` (`segment`), or its line of text
# (`line`, the same text `serialize` writes of the segment).
T = TypeVar("T")


class Action(StrEnum):
    """Data element 0083, Action, coded."""

    REJECTED = "4"
    ACCEPTED = "7"
    RECEIVED = "8"


@dataclass(frozen=True, slots=True)
class SyntaxFault:
    """One fault: the syntax error code (0085, code list of ISO 9735) and where it is.

    `segment` is the segment's position in its message (UNH = 1) for a message's fault, else
    None; `tag` the segment's tag; `element` and `component` count from 1 (S011)."""

    code: str
    segment: int | None = None
    tag: str | None = None
    element: int | None = None
    component: int | None = None

    def element_id(self) -> Element:
        if self.element is None:
            return ""
        return [str(self.element), str(self.component)] if self.component else str(self.element)


@dataclass(frozen=True, slots=True)
class MessageResponse:
    """What is said about one received message."""

    message: MessageIdentifier
    rejected: bool
    faults: tuple[SyntaxFault, ...] = ()

    @property
    def action(self) -> Action:
        return Action.REJECTED if self.rejected else Action.ACCEPTED


@dataclass(frozen=True, slots=True)
class ContrlReport:
    """The answer to one interchange: what was received, and each message's fate."""

    reference: str
    sender: Party
    receiver: Party
    messages: tuple[MessageResponse, ...]
    interchange_fault: SyntaxFault | None = None
    syntax_version: str = "3"

    @property
    def action(self) -> Action:
        """Rejected when no message was accepted (and there was something wrong), else
        acknowledged: the rejected messages are named in their UCM."""
        if self.messages and any(not m.rejected for m in self.messages):
            return Action.ACCEPTED
        if not self.messages and self.interchange_fault is None:
            return Action.ACCEPTED
        return Action.REJECTED

    @property
    def has_faults(self) -> bool:
        return self.interchange_fault is not None or any(
            m.rejected or m.faults for m in self.messages)


_SERVICE_TAGS = frozenset({"UNA", "UNB", "UNG", "UNE", "UNZ"})


def contrl_identifier(reference: str, syntax_version: str) -> MessageIdentifier:
    if syntax_version == "4":
        return MessageIdentifier(reference, "CONTRL", "4", "1", "UN")
    return MessageIdentifier(reference, "CONTRL", "D", "3", "UN")


def contrl_segments(report: ContrlReport, reference: str = "1") -> list[Segment]:
    """The CONTRL message (UNH ... UNT) for `report`; `reference` is its 0062."""
    body: list[Segment] = [_uci(report, segment)]
    for response in report.messages:
        body += _ucm(response, segment)
    return wrap_message(contrl_identifier(reference, report.syntax_version), body)


def contrl_written(report: ContrlReport, reference: str = "1") -> Written:
    """The text `serialize` writes of `contrl_segments(report, reference)`, written line by
    line without segment objects (a CONTRL has a UCM for each message received)."""
    identifier = contrl_identifier(reference, report.syntax_version)
    lines = [line("UNH", reference, identifier.composite()), _uci(report, line)]
    for response in report.messages:
        lines += _ucm(response, line)
    lines.append(line("UNT", str(len(lines) + 1), reference))
    return Written("".join(lines), len(lines))


def _uci(report: ContrlReport, write: Callable[..., T]) -> T:
    fault = report.interchange_fault
    if fault is None:
        return write("UCI", report.reference, report.sender.composite(),
                     report.receiver.composite(), report.action.value)
    tag = fault.tag if fault.tag in _SERVICE_TAGS else ""
    return write("UCI", report.reference, report.sender.composite(),
                 report.receiver.composite(), report.action.value, fault.code, tag or "",
                 fault.element_id() if tag else "")


def _ucm(response: MessageResponse, write: Callable[..., T]) -> list[T]:
    message = response.message
    if not response.faults:  # nearly every message
        return [write("UCM", message.reference, message.composite(), response.action.value)]
    located = [f for f in response.faults if f.segment is not None]
    unlocated = [f for f in response.faults if f.segment is None]
    # A rejected message whose fault has no segment (the file ended inside it, a value the
    # gateway cannot store) says why in the UCM itself.
    code = unlocated[0].code if response.rejected and unlocated else ""
    segments = [write("UCM", message.reference, message.composite(), response.action.value,
                      code)]
    for fault in located:
        # A fault in one data element is coded in its UCD, the UCS only locates the segment.
        if fault.element is None:
            segments.append(write("UCS", str(fault.segment), fault.code))
        else:
            segments += [write("UCS", str(fault.segment)),
                         write("UCD", fault.code, fault.element_id())]
    return segments
