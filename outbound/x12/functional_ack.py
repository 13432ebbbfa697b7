"""The 997 Functional Acknowledgment (and the 999 Implementation Acknowledgment), ASC X12.

One acknowledgement answers one received functional group (GS ... GE): AK1 names the group
(GS01 functional identifier, GS06 control number, and in a 999 GS08 the version), one AK2
per transaction set (ST01, ST02) with its AK5 (997) or IK5 (999) verdict and up to five
syntax error codes (X12 element 718), and AK9 the group's verdict with the counts (included,
received, accepted) and up to five group error codes (element 716). It travels in its own
interchange whose ISA swaps the received sender and receiver, with our own control numbers.

Verdicts (element 717/715): A accepted, E accepted but errors were noted, R rejected;
P (AK9 only) partially accepted, some transaction sets rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from enum import StrEnum

_MAX_CODES = 5


class AckCode(StrEnum):
    """717 / 715 Transaction set and functional group acknowledgment codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """One received transaction set: ST01, ST02, whether it was refused, and the 718 codes
    of what was wrong with it (1 not supported, 2 trailer missing, 3 control numbers differ,
    4 segment count wrong, 5 segments in error)."""

    type: str
    control_number: str
    rejected: bool
    errors: tuple[str, ...] = ()

    @property
    def code(self) -> AckCode:
        if self.rejected:
            return AckCode.REJECTED
        return AckCode.ACCEPTED_WITH_ERRORS if self.errors else AckCode.ACCEPTED


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One received functional group: GS01, GS06, GS08, its transaction sets and the 716
    codes of the group itself (3 trailer missing, 4 control numbers differ, 5 count wrong)."""

    functional_id: str
    control_number: str
    version: str
    transactions: tuple[TransactionResult, ...]
    errors: tuple[str, ...] = ()

    @property
    def accepted(self) -> int:
        return sum(not t.rejected for t in self.transactions)

    @property
    def code(self) -> AckCode:
        if self.transactions and self.accepted == 0:
            return AckCode.REJECTED
        if self.accepted < len(self.transactions):
            return AckCode.PARTIALLY_ACCEPTED
        if self.errors or any(t.errors for t in self.transactions):
            return AckCode.ACCEPTED_WITH_ERRORS
        return AckCode.ACCEPTED


@dataclass(frozen=True, slots=True)
class InterchangeParties:
    """The received ISA's sender and receiver (ISA05/06, ISA07/08): swapped in the answer."""

    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    test: bool = False


def functional_ack(group: GroupResult, parties: InterchangeParties, control_number: int,
                   now: datetime, kind: str = "997") -> str:
    """The acknowledgement interchange, with `~` terminators and a line break after each
    (separators `*`, `:` and `^`, the ones most translators expect)."""
    if kind not in ("997", "999"):
        raise ValueError(f"a functional acknowledgement is a 997 or a 999, not {kind!r}")
    body = _transaction_set(group, kind)
    number = f"{control_number:09d}"
    version = "00501" if kind == "999" else "00401"
    repetition = "^" if kind == "999" else "U"
    isa = "*".join([
        "ISA", "00", " " * 10, "00", " " * 10,
        _fit(parties.receiver_qualifier, 2), _fit(parties.receiver, 15),
        _fit(parties.sender_qualifier, 2), _fit(parties.sender, 15),
        now.strftime("%y%m%d"), now.strftime("%H%M"), repetition, version, number, "0",
        "T" if parties.test else "P", ":"])
    gs = "*".join(["GS", "FA", parties.receiver.strip(), parties.sender.strip(),
                   now.strftime("%Y%m%d"), now.strftime("%H%M"), str(control_number), "X",
                   "005010X231A1" if kind == "999" else (group.version or "004010")])
    segments = [isa, gs, *body, f"GE*1*{control_number}", f"IEA*1*{number}"]
    return "".join(segment + "~\n" for segment in segments)


def _transaction_set(group: GroupResult, kind: str) -> list[str]:
    header = ["ST", kind, "0001"] + (["005010X231A1"] if kind == "999" else [])
    segments = ["*".join(header)]
    ak1 = ["AK1", group.functional_id, group.control_number]
    if kind == "999":
        ak1.append(group.version)
    segments.append("*".join(ak1))
    verdict = "IK5" if kind == "999" else "AK5"
    for transaction in group.transactions:
        segments.append(f"AK2*{transaction.type}*{transaction.control_number}")
        segments.append("*".join([verdict, transaction.code, *transaction.errors[:_MAX_CODES]]))
    segments.append("*".join([
        "AK9", group.code, str(len(group.transactions)), str(len(group.transactions)),
        str(group.accepted), *group.errors[:_MAX_CODES]]))
    segments.append(f"SE*{len(segments) + 1}*0001")
    return segments


def _fit(value: str, width: int) -> str:
    """An ISA element is fixed width: padded with spaces, never longer."""
    return value[:width].ljust(width)



def functional_ack_email(sender: str, recipient: str, message_id: str, subject: str,
                         text: str, acknowledgement: str, filename: str,
                         prepared: datetime) -> bytes:
    """The acknowledgement attached to an email (RFC 1767's `application/EDI-X12`), base64,
    so no line is rewrapped; an automatic answer (RFC 3834) that no auto-reply answers."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(prepared)
    message["Message-ID"] = f"<{message_id}>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(text)
    message.add_attachment(acknowledgement.encode("ascii", errors="replace"),
                           maintype="application", subtype="EDI-X12", filename=filename)
    return message.as_bytes()
