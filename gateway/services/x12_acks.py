"""What a 997/999 answers for a received X12 file: its functional groups and the verdict on
each transaction set, from what the parser and the mappings found (pure).

Each transaction set is accepted (A), accepted with errors noted (E: a wrong SE count or
control number, read all the same) or rejected (R: cut short, not an 855/856/850, or refused
by its mapping); each group is answered with the counts and its own trailer problems. The
acknowledgement text itself is written by `outbound.x12`. Sending it through the outbox when a
partner asks is not wired yet (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from outbound.x12 import GroupResult, InterchangeParties, TransactionResult
from parsers.errors import Problem, ProblemCode
from parsers.x12 import Transaction

# 718 Transaction Set Syntax Error Code, by what the parser or mapping reported.
_TRANSACTION_CODES: dict[ProblemCode, str] = {
    ProblemCode.UNSUPPORTED_MESSAGE: "1",
    ProblemCode.MESSAGE_NOT_TERMINATED: "2",
    ProblemCode.REFERENCE_MISMATCH: "3",
    ProblemCode.COUNT_MISMATCH: "4",
}
# 716 Functional Group Syntax Error Code, for the group's own trailer.
_GROUP_CODES: dict[ProblemCode, str] = {
    ProblemCode.GROUP_NOT_TERMINATED: "3",
    ProblemCode.REFERENCE_MISMATCH: "4",
    ProblemCode.COUNT_MISMATCH: "5",
}


@dataclass(slots=True)
class _Group:
    parties: InterchangeParties | None
    functional_id: str
    control_number: str
    version: str
    transactions: list[TransactionResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def functional_groups(items: Iterable[Transaction | Problem],
                      refusals: dict[int, list[Problem]] | None = None
                      ) -> list[tuple[GroupResult, InterchangeParties]]:
    """The groups of a parsed X12 file, each with the parties of its interchange.

    `refusals` holds, per transaction index, the errors its mapping refused it with. A
    file-level problem at a GE counts against the group before it."""
    refusals = refusals or {}
    groups: list[_Group] = []
    for item in items:
        if isinstance(item, Problem):
            if item.tag == "GE" and groups and item.code in _GROUP_CODES:
                groups[-1].errors.append(_GROUP_CODES[item.code])
            continue
        group = item.group
        header = item.interchange
        if group is None or header is None:
            continue
        if not groups or groups[-1].control_number != group.control_number \
                or groups[-1].functional_id != group.functional_id:
            parties = InterchangeParties(header.sender_qualifier or "ZZ", header.sender or "",
                                         header.receiver_qualifier or "ZZ",
                                         header.receiver or "", header.test)
            groups.append(_Group(parties, group.functional_id, group.control_number,
                                 group.version or ""))
        groups[-1].transactions.append(_result(item, refusals.get(item.index, [])))
    return [(GroupResult(g.functional_id, g.control_number, g.version, tuple(g.transactions),
                         tuple(dict.fromkeys(g.errors))), g.parties)
            for g in groups if g.parties is not None]


def _result(transaction: Transaction, refused: list[Problem]) -> TransactionResult:
    problems = [*transaction.problems, *refused]
    codes = [_TRANSACTION_CODES.get(p.code, "5") for p in problems
             if p.is_error or p.code in _TRANSACTION_CODES]
    return TransactionResult(transaction.type, transaction.control_number,
                             rejected=any(p.is_error for p in problems),
                             errors=tuple(dict.fromkeys(codes)))
