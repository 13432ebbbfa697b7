"""Envelopes: group an X12 segment stream into transaction sets (ISA/GS/ST ... SE/GE/IEA).

One transaction set at a time is assembled and handed on. Control counts and numbers are
checked as the trailers arrive (ASC X12.6): SE01 counts the segments of its transaction set
including ST and SE, SE02 repeats ST02; GE01 counts the transaction sets of the group, GE02
repeats GS06; IEA01 counts the functional groups, IEA02 repeats ISA13. A mismatch is a located
warning, as for EDIFACT's UNT/UNZ: the content is still read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from parsers.errors import MAX_PROBLEMS, Problem, ProblemCode, Severity
from parsers.x12.segments import X12Segment
from parsers.x12.tokenizer import Token, iter_segments

# The most segments one transaction set may hold, and the most characters (a segment may be
# 64 KiB): a bigger one is refused, what is past the cap not buffered.
MAX_TRANSACTION_SEGMENTS = 500_000
MAX_TRANSACTION_CHARACTERS = 32 << 20


@dataclass(frozen=True, slots=True)
class InterchangeHeader:
    """What the ISA (and the GS) say about the interchange a transaction set travelled in."""

    sender: str | None
    sender_qualifier: str | None
    receiver: str | None
    receiver_qualifier: str | None
    control_number: str | None
    version: str | None
    test: bool

    @classmethod
    def from_isa(cls, isa: X12Segment) -> InterchangeHeader:
        return cls(sender=isa.element(6) or None, sender_qualifier=isa.element(5) or None,
                   receiver=isa.element(8) or None, receiver_qualifier=isa.element(7) or None,
                   control_number=isa.element(13) or None, version=isa.element(12) or None,
                   test=isa.element(15) == "T")


@dataclass(frozen=True, slots=True)
class GroupHeader:
    """The GS: functional identifier (PR for 855, SH for 856, PO for 850), control number
    (GS06) and the version/release/industry code (GS08, e.g. 004010)."""

    functional_id: str
    sender: str | None
    receiver: str | None
    control_number: str
    version: str | None

    @classmethod
    def from_gs(cls, gs: X12Segment) -> GroupHeader:
        return cls(gs.element(1), gs.element(2) or None, gs.element(3) or None,
                   gs.element(6), gs.element(8) or None)


@dataclass(slots=True)
class Transaction:
    """One ST ... SE transaction set: its identification, body segments and problems."""

    index: int
    type: str
    control_number: str
    version: str | None
    first_number: int
    interchange: InterchangeHeader | None
    group: GroupHeader | None
    segments: list[X12Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Problems past `MAX_PROBLEMS`, counted and not listed.
    unlisted: int = 0
    # The characters of the segments read, and whether a cap was passed (then refused).
    characters: int = 0
    over_limit: bool = False

    def position(self, segment: X12Segment) -> int:
        """The segment's position in this transaction set, ST being 1 (as SE01 counts)."""
        return segment.number - self.first_number + 1

    def problem(self, severity: Severity, code: ProblemCode, detail: str,
                segment: X12Segment | None = None) -> None:
        self.problems.append(Problem(
            severity, code, detail, self.index,
            self.position(segment) if segment is not None else None,
            segment.tag if segment is not None else None))

    @property
    def refused(self) -> bool:
        return any(problem.is_error for problem in self.problems)


Item = Transaction | Problem


def parse_x12(stream: BinaryIO) -> Iterator[Item]:
    """Transaction sets of every interchange in an X12 byte stream, and file-level problems."""
    return assemble(iter_segments(stream))


def assemble(tokens: Iterable[Token]) -> Iterator[Item]:
    return _Assembler().run(tokens)


@dataclass(slots=True)
class _Envelope:
    header: X12Segment
    count: int = 0


class _Assembler:
    """The envelope state machine. Long by nature: one branch per control segment."""

    def __init__(self) -> None:
        self.interchange: _Envelope | None = None
        self.header: InterchangeHeader | None = None
        self.group: _Envelope | None = None
        self.group_header: GroupHeader | None = None
        self.transaction: Transaction | None = None
        self.count = 0
        self.file_problems = 0
        self.unlisted = 0

    def run(self, tokens: Iterable[Token]) -> Iterator[Item]:
        control_tags = _CONTROL_TAGS
        for token in tokens:
            if token.__class__ is Problem:
                yield from self._listed(self._problem(token))
                continue
            assert isinstance(token, X12Segment)
            transaction = self.transaction
            if transaction is not None:
                tag = token.tag
                if tag == "SE":
                    yield self._close(transaction, token)
                    continue
                if tag not in control_tags:
                    transaction.characters += token.size
                    if transaction.over_limit or \
                            len(transaction.segments) >= MAX_TRANSACTION_SEGMENTS or \
                            transaction.characters > MAX_TRANSACTION_CHARACTERS:
                        self._add(transaction, token)
                    else:
                        transaction.segments.append(token)
                    continue
                yield self._truncated(transaction, token)
            yield from self._listed(self._control(token))
        yield from self._end_of_file()
        if self.unlisted:
            yield Problem(Severity.WARNING, ProblemCode.OVER_LIMIT,
                          f"{self.unlisted} more problems outside transaction sets are not "
                          f"listed (the first {MAX_PROBLEMS} are)")

    def _listed(self, items: Iterator[Item]) -> Iterator[Item]:
        """File-level problems up to `MAX_PROBLEMS`; the rest are counted."""
        for item in items:
            if item.__class__ is not Problem:
                yield item
            elif self.file_problems < MAX_PROBLEMS:
                self.file_problems += 1
                yield item
            else:
                self.unlisted += 1

    def _add(self, transaction: Transaction, segment: X12Segment) -> None:
        """A segment past a cap: the first one refuses the transaction set, the rest are
        dropped (its count is still checked against SE01)."""
        if not transaction.over_limit:
            transaction.over_limit = True
            transaction.segments.append(segment)
            transaction.problem(Severity.ERROR, ProblemCode.OVER_LIMIT,
                                f"the transaction set holds more than "
                                f"{MAX_TRANSACTION_SEGMENTS} segments or "
                                f"{MAX_TRANSACTION_CHARACTERS} characters: refused", segment)

    def _problem(self, problem: Problem) -> Iterator[Item]:
        transaction = self.transaction
        if transaction is None or problem.segment is None:
            yield problem
            return
        if len(transaction.problems) >= MAX_PROBLEMS:
            transaction.unlisted += 1
            return
        transaction.problems.append(Problem(
            problem.severity, problem.code, problem.detail, transaction.index,
            problem.segment - transaction.first_number + 1, problem.tag))

    def _control(self, segment: X12Segment) -> Iterator[Item]:
        tag = segment.tag
        if tag == "ST":
            if self.header is None:
                yield _file_problem(ProblemCode.MISSING_ENVELOPE,
                                    "the transaction set has no ISA envelope", segment)
            self._open(segment)
        elif tag == "ISA":
            if self.interchange is not None:
                yield _file_problem(ProblemCode.INTERCHANGE_NOT_TERMINATED,
                                    "a new ISA starts before the previous interchange ended "
                                    "with IEA", segment)
            self.interchange = _Envelope(segment)
            self.header = InterchangeHeader.from_isa(segment)
            self.group = None
        elif tag == "GS":
            if self.group is not None:
                yield _file_problem(ProblemCode.GROUP_NOT_TERMINATED,
                                    "a new GS starts before the previous group ended with GE",
                                    segment)
            self.group = _Envelope(segment)
            self.group_header = GroupHeader.from_gs(segment)
            if self.interchange is not None:
                self.interchange.count += 1
        elif tag == "GE":
            yield from self._close_group(segment)
        elif tag == "IEA":
            yield from self._close_interchange(segment)
        else:
            yield _file_problem(ProblemCode.SEGMENT_OUTSIDE_MESSAGE,
                                f"segment {tag} stands outside any transaction set (no ST "
                                "before it); not read", segment, Severity.ERROR)

    def _open(self, st: X12Segment) -> None:
        self.count += 1
        if self.group is not None:
            self.group.count += 1
        group = self.group_header if self.group is not None else None
        self.transaction = Transaction(
            index=self.count, type=st.element(1), control_number=st.element(2),
            version=st.element(3) or (group.version if group else None)
            or (self.header.version if self.header else None),
            first_number=st.number, interchange=self.header, group=group)
        if not self.transaction.control_number:
            self.transaction.problem(Severity.WARNING, ProblemCode.MISSING_VALUE,
                                     "ST has no transaction set control number (ST02)", st)

    def _close(self, transaction: Transaction, se: X12Segment) -> Transaction:
        self.transaction = None
        _count_unlisted(transaction, se)
        counted = transaction.position(se)
        declared = se.element(1)
        if declared.lstrip("0") != str(counted):
            transaction.problem(Severity.WARNING, ProblemCode.COUNT_MISMATCH,
                                f"SE01 says the transaction set has {declared or 'no'} "
                                f"segments, it has {counted}", se)
        if se.element(2) != transaction.control_number:
            transaction.problem(Severity.WARNING, ProblemCode.REFERENCE_MISMATCH,
                                f"SE02 control number {se.element(2)!r} does not match ST02 "
                                f"{transaction.control_number!r}", se)
        return transaction

    def _truncated(self, transaction: Transaction, following: X12Segment) -> Transaction:
        self.transaction = None
        _count_unlisted(transaction, following)
        transaction.problem(Severity.ERROR, ProblemCode.MESSAGE_NOT_TERMINATED,
                            f"transaction set {transaction.control_number!r} has no SE: "
                            f"{following.tag} follows after {len(transaction.segments) + 1} "
                            "segments, so it may be cut short", following)
        return transaction

    def _close_group(self, ge: X12Segment) -> Iterator[Problem]:
        group, self.group = self.group, None
        if group is None:
            yield _file_problem(ProblemCode.SEGMENT_OUTSIDE_MESSAGE,
                                "GE without a GS before it", ge)
            return
        yield from _check_trailer(ge, group.count, "GE01", "transaction sets",
                                  group.header.element(6), "GE02", "GS06")

    def _close_interchange(self, iea: X12Segment) -> Iterator[Problem]:
        envelope, self.interchange = self.interchange, None
        if self.group is not None:
            yield _file_problem(ProblemCode.GROUP_NOT_TERMINATED,
                                "IEA arrives while a functional group is open (no GE)", iea)
            self.group = None
        if envelope is None:
            return
        yield from _check_trailer(iea, envelope.count, "IEA01", "functional groups",
                                  envelope.header.element(13), "IEA02", "ISA13")

    def _end_of_file(self) -> Iterator[Item]:
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            _count_unlisted(transaction, None)
            transaction.problem(Severity.ERROR, ProblemCode.MESSAGE_NOT_TERMINATED,
                                f"the file ends inside transaction set "
                                f"{transaction.control_number!r} (no SE): it may be cut short")
            yield transaction
        if self.group is not None:
            yield Problem(Severity.WARNING, ProblemCode.GROUP_NOT_TERMINATED,
                          "the functional group has no GE trailer")
        if self.interchange is not None:
            yield Problem(Severity.WARNING, ProblemCode.INTERCHANGE_NOT_TERMINATED,
                          "the interchange has no IEA trailer")


_CONTROL_TAGS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


def _count_unlisted(transaction: Transaction, where: X12Segment | None) -> None:
    if transaction.unlisted:
        transaction.problem(Severity.WARNING, ProblemCode.OVER_LIMIT,
                            f"{transaction.unlisted} more problems of this transaction set are "
                            f"not listed (the first {MAX_PROBLEMS} are)", where)


def _check_trailer(trailer: X12Segment, counted: int, count_name: str, what: str,
                   reference: str, reference_name: str, header_name: str) -> Iterator[Problem]:
    declared = trailer.element(1)
    if declared.lstrip("0") != str(counted).lstrip("0") or not declared:
        yield _file_problem(ProblemCode.COUNT_MISMATCH,
                            f"{count_name} says {declared or 'no'} {what}, there are {counted}",
                            trailer)
    if trailer.element(2).lstrip("0") != reference.lstrip("0"):
        yield _file_problem(ProblemCode.REFERENCE_MISMATCH,
                            f"{reference_name} control number {trailer.element(2)!r} does not "
                            f"match {header_name} {reference!r}", trailer)


def _file_problem(code: ProblemCode, detail: str, segment: X12Segment,
                  severity: Severity = Severity.WARNING) -> Problem:
    return Problem(severity, code, detail, None, segment.number, segment.tag)
