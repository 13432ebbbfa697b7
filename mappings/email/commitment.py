"""Whether a sentence commits to what it says about an order line.

A supplier's "we cannot confirm line 40 (600 pcs, 2026-12-10)" names the line, its quantity and
its date: read word by word it looks like a confirmation. It is the one reading the gateway must
never make, so every sentence about a line is judged here before its values count:

- a **negation** ("cannot", "nicht", "无法") undoes the sentence's commitment; two negations
  ("we can't not deliver") are not worked out, the sentence is refused as unclear;
- a **question** ("can you accept …?", "ob", "是否"), a **hedge** ("probably",
  "voraussichtlich", "争取"), an answer promised **later** ("will confirm next week", "folgt",
  "稍后确认"), an **exception** ("except line 30", "außer", "除了"), a **range** or
  approximation ("400-500 pcs", "ca. 500 Stück", "约500件") and a **foreign** language
  (French, Spanish, Japanese …: not read, never guessed) all say the sentence is no
  commitment;
- the status phrases that hold a negation themselves ("not available", "nicht bestätigt",
  "无法交货") are read whole first, so their negation is the status, not a doubt about it; so
  are idioms whose negation commits ("no later than", "keine Änderungen", "确认无误").

The judgement is one left-to-right scan of one sentence with one regular expression whose
alternatives are all bounded: linear in the sentence, whatever the supplier writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from gateway.domain.documents import LineStatus
from mappings.email.text import fold
from mappings.email.vocabulary import (
    COMMITTING_IDIOMS,
    CONDITION_WORDS,
    EXCEPTION_WORDS,
    FOREIGN_WORDS,
    HEADING_WORDS,
    HEDGE_WORDS,
    LATER_WORDS,
    NEGATION_WORDS,
    PENDING,
    QUESTION_WORDS,
    RANGE_WORDS,
    STATUS_WORDS,
)


class Doubt(StrEnum):
    """Why a sentence does not commit, in the order they are reported."""

    FOREIGN = "foreign language"
    DOUBLE_NEGATION = "double negation"
    NEGATION = "negation"
    QUESTION = "question"
    CONDITION = "condition"
    HEDGE = "hedge"
    EXCEPTION = "exception"
    LATER = "answer promised later"
    RANGE = "range"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The first doubt found in a sentence (None: nothing undoes what it says) and the words
    that raised it, as they stand in the folded sentence."""

    doubt: Doubt | None = None
    words: str = ""

    @property
    def commits(self) -> bool:
        return self.doubt is None

    def reason(self) -> str:
        """Why the sentence is not read as a commitment, for the buyer."""
        return _REASONS[self.doubt or Doubt.NEGATION].format(words=self.words)


_REASONS = {
    Doubt.FOREIGN: "is written in a language the gateway does not read ({words!r}); it is "
                   "not guessed",
    Doubt.DOUBLE_NEGATION: "holds more than one negation ({words}); what it commits to is not "
                           "clear",
    Doubt.NEGATION: "is negated ({words!r}): it does not commit to the line",
    Doubt.QUESTION: "asks rather than answers ({words!r})",
    Doubt.CONDITION: "makes its answer depend on a condition ({words!r}); it is an offer, not "
                     "an answer",
    Doubt.HEDGE: "does not commit ({words!r})",
    Doubt.EXCEPTION: "answers only part of what it names ({words!r})",
    Doubt.LATER: "promises an answer later ({words!r}); it is not one",
    Doubt.RANGE: "gives no single quantity ({words!r})",
}


def _alternatives(patterns: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _settled_phrases() -> tuple[str, ...]:
    """The rejection and pending phrases, longest first: their negation is their meaning."""
    phrases = {p for status in (LineStatus.REJECTED, PENDING)
               for by_language in (STATUS_WORDS[status].values()) for p in by_language}
    escaped = ((p, re.escape(fold(p)).replace(r"\ ", r"\s+"))
               for p in sorted(phrases, key=len, reverse=True))
    # Latin phrases are whole words, as `values.find_status` reads them: "can't delivery" holds
    # no "can't deliver", and its negation counts.
    return tuple(rf"(?<![^\W\d_]){e}(?![^\W_])" if p.isascii() else e for p, e in escaped)


# One scan: the first alternative that matches at a position wins, so a settled phrase or an
# idiom is taken whole before the negation inside it could be.
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("settled", _settled_phrases()),
    ("idiom", COMMITTING_IDIOMS),
    ("foreign", FOREIGN_WORDS),
    ("later", LATER_WORDS),
    ("question", QUESTION_WORDS),
    ("condition", CONDITION_WORDS),
    ("hedge", HEDGE_WORDS),
    ("exception", EXCEPTION_WORDS),
    ("negation", tuple(p for by_language in NEGATION_WORDS.values() for p in by_language)),
)
_SCAN = re.compile("|".join(f"(?P<{name}>{_alternatives(patterns)})"
                            for name, patterns in _GROUPS), re.IGNORECASE)
_RANGE = re.compile(_alternatives(RANGE_WORDS), re.IGNORECASE)
_HEADING = re.compile(_alternatives(HEADING_WORDS), re.IGNORECASE)
_DOUBTS = {"foreign": Doubt.FOREIGN, "question": Doubt.QUESTION, "condition": Doubt.CONDITION,
           "hedge": Doubt.HEDGE, "exception": Doubt.EXCEPTION, "later": Doubt.LATER}
_CACHE = 1024


@lru_cache(maxsize=_CACHE)
def judge(words: str, sentence: str = "") -> Judgement:
    """What undoes the commitment of a sentence. `words`: the sentence with its values (order,
    line, quantities, dates, prices) taken out; `sentence`: as written, for ranges."""
    folded = fold(words)
    found: dict[Doubt, str] = {}
    negations: list[str] = []
    for match in _SCAN.finditer(folded):
        kind = match.lastgroup
        if kind == "negation":
            negations.append(match.group(0))
        elif kind in _DOUBTS:
            found.setdefault(_DOUBTS[kind], match.group(0))
    if len(negations) > 1:
        found[Doubt.DOUBLE_NEGATION] = ", ".join(repr(n) for n in negations)
    elif negations:
        found[Doubt.NEGATION] = negations[0]
    spread = _RANGE.search(fold(sentence)) if sentence else None
    if spread is not None:
        found[Doubt.RANGE] = spread.group(0)
    for doubt in Doubt:
        if doubt in found:
            return Judgement(doubt, found[doubt])
    return Judgement()


def commits_in_advance(sentence: str) -> bool:
    """A sentence that says the answer it introduces is a confirmation ("we confirm as
    follows", "please find our confirmation attached", "我司确认如下"), undone by nothing."""
    folded = fold(sentence)
    return _HEADING.search(folded) is not None and judge(folded).commits


def is_heading(sentence: str) -> bool:
    """A sentence that commits, in advance, to the lines listed below it ("we confirm as
    follows:", "zu Ihrer Bestellung bestätigen wir:", "我司确认如下:"): it ends with a colon
    and commits in advance."""
    return fold(sentence).endswith(":") and commits_in_advance(sentence)

