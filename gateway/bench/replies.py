"""`gateway bench replies`: how the email reader does on adversarial supplier replies.

Not a timing: a measurement of what is read. Each case of the corpus (by default
`samples/replies/adversarial.yaml`) is a reply's text with the line facts it states; the reply
goes the way a received email's body goes (`map_email_body`, then `document_events`, what
reconciliation applies), and what comes out is compared with the facts:

- **wrong confirmations**: a line confirmed (or an order acknowledged as a whole) that the reply
  does not confirm. The goal is 0; it is the one error that must never happen. Precision is the
  share of the confirmations made that are right.
- **recall**: the share of the stated facts (order, line, status and, where given, quantity and
  date) that were read.
- **supplier numbers read**: a number that is the supplier's own, or another customer's, read
  as an order of the buyer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from gateway.domain.documents import Document, LineStatus
from gateway.domain.events import (
    Event,
    LineConfirmed,
    LineRejected,
    OrderAcknowledged,
    document_events,
)
from mappings.email import EmailHints, map_email_body

DEFAULT_CORPUS = Path("samples/replies/adversarial.yaml")
# The line of a fact about a whole order (accepted as ordered).
_WHOLE = "*"
_STATUSES = {s.value: s for s in (LineStatus.ACCEPTED, LineStatus.CHANGED, LineStatus.REJECTED)}


class CorpusError(ValueError):
    """The corpus file is not a list of cases as described in its header."""


@dataclass(frozen=True, slots=True)
class Fact:
    """A line fact a reply states."""

    order: str
    line: str
    status: LineStatus
    quantity: Decimal | None = None
    delivery: date | None = None

    def __str__(self) -> str:
        values = ", ".join(v for v in (str(self.quantity or ""), str(self.delivery or "")) if v)
        return f"{self.order}/{self.line} {self.status}" + (f" ({values})" if values else "")


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    subject: str | None = None
    read: tuple[Fact, ...] = ()
    never_orders: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        return self.id.split("-", 1)[0]


@dataclass(slots=True)
class Verdict:
    """What the reader made of one case."""

    case: Case
    confirmations: int = 0
    wrong: list[str] = field(default_factory=list)
    missed: list[Fact] = field(default_factory=list)
    supplier_numbers: list[str] = field(default_factory=list)

    @property
    def facts_read(self) -> int:
        return len(self.case.read) - len(self.missed)


def load_cases(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise CorpusError(f"{path}: expected a list of cases")
    return [_case(entry, path) for entry in data]


def _case(entry: Any, path: Path) -> Case:
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or "id" not in entry:
        raise CorpusError(f"{path}: every case needs an id and a text, not {entry!r}")
    try:
        facts = tuple(Fact(str(f["order"]), str(f["line"]), _STATUSES[f["status"]],
                           Decimal(str(f["quantity"])) if "quantity" in f else None,
                           date.fromisoformat(str(f["date"])) if "date" in f else None)
                      for f in entry.get("read") or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise CorpusError(f"{path}: case {entry['id']}: a fact is not readable ({exc})") from exc
    return Case(str(entry["id"]), entry["text"], entry.get("subject"), facts,
                tuple(str(n) for n in entry.get("never_orders") or ()))


def evaluate(case: Case) -> Verdict:
    """Read the reply as a received body is read, and compare with its facts."""
    results = map_email_body(case.text, hints=EmailHints(subject=case.subject))
    documents = [r for r in results if isinstance(r, Document)]
    events = [event for document in documents for event in document_events(document)]
    verdict = Verdict(case)
    confirmed = {f for f in case.read if f.status is not LineStatus.REJECTED}
    allowed = {(f.order, _line(f.line)) for f in confirmed}
    for event in events:
        if isinstance(event, LineConfirmed):
            verdict.confirmations += 1
            key = (event.ref.order_number or "", _line(event.ref.order_line_no or ""))
            if key not in allowed:
                verdict.wrong.append(f"line {key[0]}/{key[1]} confirmed")
        elif isinstance(event, OrderAcknowledged):
            verdict.confirmations += 1
            if (event.order_number, _WHOLE) not in allowed:
                verdict.wrong.append(f"order {event.order_number} acknowledged as a whole")
    verdict.missed = [f for f in case.read if not any(_states(f, e) for e in events)]
    named = {n for d in documents for n in (*d.order_numbers,
                                             *(line.order_number for line in d.lines)) if n}
    verdict.supplier_numbers = sorted(named & set(case.never_orders))
    return verdict


def _line(number: str) -> str:
    return number.strip().lstrip("0")


def _states(fact: Fact, event: Event) -> bool:
    if isinstance(event, OrderAcknowledged):
        return (event.order_number, _WHOLE) == (fact.order, fact.line)
    if isinstance(event, LineRejected):
        return fact.status is LineStatus.REJECTED and _same_line(fact, event.ref.order_number,
                                                                 event.ref.order_line_no)
    if not isinstance(event, LineConfirmed) or fact.status is LineStatus.REJECTED:
        return False
    return (_same_line(fact, event.ref.order_number, event.ref.order_line_no)
            and event.changed == (fact.status is LineStatus.CHANGED)
            and fact.quantity in (None, event.quantity)
            and fact.delivery in (None, event.delivery_date))


def _same_line(fact: Fact, order: str | None, line: str | None) -> bool:
    return (order, _line(line or "")) == (fact.order, _line(fact.line))


@dataclass(frozen=True, slots=True)
class Summary:
    cases: int
    confirmations: int
    wrong_confirmations: int
    facts: int
    facts_read: int
    supplier_numbers_read: int

    @property
    def precision(self) -> float:
        right = self.confirmations - self.wrong_confirmations
        return right / self.confirmations if self.confirmations else 1.0

    @property
    def recall(self) -> float:
        return self.facts_read / self.facts if self.facts else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "confirmations": self.confirmations,
                "wrong_confirmations": self.wrong_confirmations,
                "precision": round(self.precision, 4), "facts": self.facts,
                "facts_read": self.facts_read, "recall": round(self.recall, 4),
                "supplier_numbers_read": self.supplier_numbers_read}


def summarise(verdicts: Iterable[Verdict]) -> Summary:
    verdicts = list(verdicts)
    return Summary(len(verdicts), sum(v.confirmations for v in verdicts),
                   sum(len(v.wrong) for v in verdicts),
                   sum(len(v.case.read) for v in verdicts),
                   sum(v.facts_read for v in verdicts),
                   sum(len(v.supplier_numbers) for v in verdicts))


def measure_replies(path: Path) -> dict[str, Any]:
    """Every case of the corpus read and compared: totals, per language, and what went wrong
    or was missed, case by case."""
    verdicts = [evaluate(case) for case in load_cases(path)]
    languages = sorted({v.case.language for v in verdicts})
    return {
        "corpus": str(path),
        "total": summarise(verdicts).as_dict(),
        "languages": {lang: summarise(v for v in verdicts if v.case.language == lang).as_dict()
                      for lang in languages},
        "wrong": [{"case": v.case.id, "wrong": v.wrong, "supplier_numbers": v.supplier_numbers}
                  for v in verdicts if v.wrong or v.supplier_numbers],
        "missed": [{"case": v.case.id, "missed": [str(f) for f in v.missed]}
                   for v in verdicts if v.missed],
    }


def print_measurement(result: dict[str, Any], console: Console) -> None:
    console.print(_table(result))
    for failure in result["wrong"]:
        console.print(f"WRONG {failure['case']}: "
                      f"{', '.join([*failure['wrong'], *failure['supplier_numbers']])}",
                      style="red", markup=False)
    for miss in result["missed"]:
        console.print(f"missed {miss['case']}: {', '.join(miss['missed'])}", markup=False)


def _table(result: dict[str, Any]) -> Table:
    table = Table(title="Adversarial replies: what was read")
    for name in ("language", "cases", "confirmations", "wrong", "precision", "facts read",
                 "recall", "supplier numbers read"):
        table.add_column(name, justify="right" if name != "language" else "left")
    for name, summary in (*result["languages"].items(), ("all", result["total"])):
        table.add_row(name, str(summary["cases"]), str(summary["confirmations"]),
                      str(summary["wrong_confirmations"]), f"{summary['precision']:.1%}",
                      f"{summary['facts_read']}/{summary['facts']}", f"{summary['recall']:.1%}",
                      str(summary["supplier_numbers_read"]))
    return table
