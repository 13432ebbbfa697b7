"""Envelopes: group a segment stream into messages (UNB/UNG/UNH ... UNT/UNE/UNZ).

One message at a time is assembled and handed on, never the whole interchange: building every
message first makes parsing several times slower (docs/architecture.md, "Measured facts") and costs
memory linear in the file. Control counts and references are checked as the trailers arrive (ISO
9735-1, sections 5 and 7: UNT counts the segments of its message including UNH and UNT; UNE counts
the messages of its group; UNZ counts the messages, or the groups when there are groups).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from parsers.edifact.charsets import SYNTAX_CODECS
from parsers.edifact.segments import Segment
from parsers.edifact.tokenizer import Token, iter_segments
from parsers.errors import Problem, ProblemCode, Severity

_SERVICE_TAGS = frozenset({"UNB", "UNG", "UNH", "UNT", "UNE", "UNZ"})


@dataclass(frozen=True, slots=True)
class InterchangeHeader:
    """What the UNB says about the interchange a message travelled in."""

    syntax_id: str | None
    syntax_version: str | None
    sender: str | None
    sender_qualifier: str | None
    receiver: str | None
    receiver_qualifier: str | None
    reference: str | None
    prepared: str | None
    test: bool

    @classmethod
    def from_unb(cls, unb: Segment) -> InterchangeHeader:
        return cls(
            syntax_id=unb.component(0, 0) or None,
            syntax_version=unb.component(0, 1) or None,
            sender=unb.component(1, 0) or None,
            sender_qualifier=unb.component(1, 1) or None,
            receiver=unb.component(2, 0) or None,
            receiver_qualifier=unb.component(2, 1) or None,
            reference=unb.component(4, 0) or None,
            prepared=":".join(p for p in (unb.component(3, 0), unb.component(3, 1)) if p) or None,
            test=unb.component(10, 0) == "1",
        )


@dataclass(slots=True)
class EdifactMessage:
    """One UNH ... UNT message: its identification, its body segments and its problems."""

    index: int
    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    first_number: int
    interchange: InterchangeHeader | None
    group_reference: str | None = None
    segments: list[Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def position(self, segment: Segment) -> int:
        """The segment's position in this message, UNH being 1 (as UNT and CONTRL count)."""
        return segment.number - self.first_number + 1

    def problem(self, severity: Severity, code: ProblemCode, detail: str,
                segment: Segment | None = None) -> None:
        self.problems.append(Problem(
            severity, code, detail, self.index,
            self.position(segment) if segment is not None else None,
            segment.tag if segment is not None else None,
        ))

    @property
    def refused(self) -> bool:
        return any(problem.is_error for problem in self.problems)


Item = EdifactMessage | Problem


def parse_edifact(stream: BinaryIO) -> Iterator[Item]:
    """Messages of every interchange in an EDIFACT byte stream, and file-level problems."""
    return assemble(iter_segments(stream))


def assemble(tokens: Iterable[Token]) -> Iterator[Item]:
    """Group tokens into messages; see the module docstring."""
    return _Assembler().run(tokens)


@dataclass(slots=True)
class _Envelope:
    header_segment: Segment
    messages: int = 0
    groups: int = 0


class _Assembler:
    """The envelope state machine. Long by nature: one branch per service segment."""

    def __init__(self) -> None:
        self.interchange: _Envelope | None = None
        self.header: InterchangeHeader | None = None
        self.group: _Envelope | None = None
        self.message: EdifactMessage | None = None
        self.count = 0

    def run(self, tokens: Iterable[Token]) -> Iterator[Item]:
        for token in tokens:
            if isinstance(token, Problem):
                yield from self._problem(token)
                continue
            message = self.message
            if message is not None:
                tag = token.tag
                if tag not in _SERVICE_TAGS:
                    message.segments.append(token)
                    continue
                if tag == "UNT":
                    yield self._close_message(message, token)
                    continue
                yield self._truncated(message, token)
            yield from self._service(token)
        yield from self._end_of_file()

    def _problem(self, problem: Problem) -> Iterator[Item]:
        message = self.message
        if message is None:
            yield problem
            return
        position = None if problem.segment is None else problem.segment - message.first_number + 1
        message.problems.append(replace(problem, message_index=message.index, segment=position))

    def _service(self, segment: Segment) -> Iterator[Item]:
        tag = segment.tag
        if tag == "UNH":
            if self.header is None and self.count == 0:
                yield self._file_problem(
                    ProblemCode.MISSING_ENVELOPE,
                    "the message has no interchange envelope (UNB ... UNZ): sender, receiver "
                    "and character set are not stated", segment)
            self._open_message(segment)
        elif tag == "UNB":
            if self.interchange is not None:
                yield self._file_problem(
                    ProblemCode.INTERCHANGE_NOT_TERMINATED,
                    "a new UNB starts before the previous interchange ended with UNZ", segment)
            self.interchange = _Envelope(segment)
            self.header = InterchangeHeader.from_unb(segment)
            self.group = None
            yield from self._check_syntax(segment)
        elif tag == "UNG":
            self.group = _Envelope(segment)
            if self.interchange is not None:
                self.interchange.groups += 1
        elif tag == "UNE":
            yield from self._close_group(segment)
        elif tag == "UNZ":
            yield from self._close_interchange(segment)
        elif tag == "UNT":
            yield self._file_problem(ProblemCode.SEGMENT_OUTSIDE_MESSAGE,
                                     "UNT without a UNH before it", segment)
        else:
            # Data that belongs to no message is lost data: an error (ISO 9735 syntax error
            # 33, "invalid occurrence outside message"), such as a message whose UNH is garbled.
            yield self._file_problem(
                ProblemCode.SEGMENT_OUTSIDE_MESSAGE,
                f"segment {tag} stands outside any message (no UNH before it); not read",
                segment, Severity.ERROR)

    def _open_message(self, unh: Segment) -> None:
        self.count += 1
        for envelope in (self.interchange, self.group):
            if envelope is not None:
                envelope.messages += 1
        self.message = EdifactMessage(
            index=self.count,
            reference=unh.component(0),
            type=unh.component(1, 0).upper(),
            version=unh.component(1, 1),
            release=unh.component(1, 2),
            agency=unh.component(1, 3),
            association=unh.component(1, 4),
            first_number=unh.number,
            interchange=self.header,
            group_reference=self.group.header_segment.component(4) if self.group else None,
        )
        if not self.message.reference:
            self.message.problem(Severity.WARNING, ProblemCode.MISSING_VALUE,
                                 "UNH has no message reference number (0062)", unh)

    def _close_message(self, message: EdifactMessage, unt: Segment) -> EdifactMessage:
        self.message = None
        counted = message.position(unt)
        declared = unt.component(0)
        if declared != str(counted):
            message.problem(
                Severity.WARNING, ProblemCode.COUNT_MISMATCH,
                f"UNT says the message has {declared or 'no'} segments, it has {counted}", unt)
        reference = unt.component(1)
        if reference != message.reference:
            message.problem(
                Severity.WARNING, ProblemCode.REFERENCE_MISMATCH,
                f"UNT reference {reference!r} does not match UNH reference "
                f"{message.reference!r}", unt)
        return message

    def _truncated(self, message: EdifactMessage, next_segment: Segment) -> EdifactMessage:
        self.message = None
        message.problem(
            Severity.ERROR, ProblemCode.MESSAGE_NOT_TERMINATED,
            f"message {message.reference!r} has no UNT: {next_segment.tag} follows after "
            f"{len(message.segments) + 1} segments, so the message may be cut short",
            next_segment)
        return message

    def _close_group(self, une: Segment) -> Iterator[Problem]:
        group, self.group = self.group, None
        if group is None:
            yield self._file_problem(ProblemCode.SEGMENT_OUTSIDE_MESSAGE,
                                     "UNE without a UNG before it", une)
            return
        # UNG: 0038 group id, S006, S007, S004, 0048 group reference number (ISO 9735-1).
        yield from self._check_trailer(une, group.messages, "UNE", "messages",
                                       group.header_segment.component(4), "UNG")

    def _close_interchange(self, unz: Segment) -> Iterator[Problem]:
        envelope, self.interchange = self.interchange, None
        if self.group is not None:
            yield self._file_problem(ProblemCode.GROUP_NOT_TERMINATED,
                                     "UNZ arrives while a functional group is open (no UNE)", unz)
            self.group = None
        if envelope is None:
            return
        expected, what = ((envelope.groups, "groups") if envelope.groups
                          else (envelope.messages, "messages"))
        yield from self._check_trailer(unz, expected, "UNZ", what,
                                       envelope.header_segment.component(4), "UNB")

    def _check_trailer(self, trailer: Segment, expected: int, name: str, what: str,
                       reference: str, header_name: str) -> Iterator[Problem]:
        declared = trailer.component(0)
        if declared != str(expected):
            yield self._file_problem(
                ProblemCode.COUNT_MISMATCH,
                f"{name} says the interchange holds {declared or 'no'} {what}, "
                f"it holds {expected}", trailer)
        if trailer.component(1) != reference:
            yield self._file_problem(
                ProblemCode.REFERENCE_MISMATCH,
                f"{name} reference {trailer.component(1)!r} does not match {header_name} "
                f"reference {reference!r}", trailer)

    def _check_syntax(self, unb: Segment) -> Iterator[Problem]:
        syntax_id = unb.component(0, 0)
        if syntax_id not in SYNTAX_CODECS:
            yield self._file_problem(
                ProblemCode.UNSUPPORTED_SYNTAX,
                f"unknown syntax identifier {syntax_id!r}; read as UTF-8 or ISO 8859-1", unb)

    def _end_of_file(self) -> Iterator[Item]:
        if self.message is not None:
            message, self.message = self.message, None
            message.problem(
                Severity.ERROR, ProblemCode.MESSAGE_NOT_TERMINATED,
                f"the file ends inside message {message.reference!r} (no UNT): it may be cut "
                "short")
            yield message
        if self.interchange is not None:
            yield Problem(Severity.WARNING, ProblemCode.INTERCHANGE_NOT_TERMINATED,
                          "the interchange has no UNZ trailer")

    @staticmethod
    def _file_problem(code: ProblemCode, detail: str, segment: Segment,
                      severity: Severity = Severity.WARNING) -> Problem:
        return Problem(severity, code, detail, None, segment.number, segment.tag)
