"""`gateway parse` in the terminal: a row per document, printed as it is read.

Columns have fixed widths (a streamed table cannot measure rows it has not seen); a longer value
is cut with `…`. Past `rows` documents of a file, its rows stop and a summary closes the file:
documents by message type, lines, warnings by code. Errors are always printed, one line each.
Supplier text goes through `visible`: data, never terminal control.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click

from gateway.cli.terminal import visible
from gateway.domain.documents import Document, Notice
from parsers.errors import Problem, ProblemCode, Severity

# (header, width, right-aligned)
_COLUMNS = (("msg", 5, True), ("type", 11, False), ("document", 20, False),
            ("status", 10, False), ("orders", 32, False), ("lines", 6, True),
            ("warnings", 8, True))
_ORDERS_SHOWN = 3


def _cell(value: str, width: int, right: bool) -> str:
    text = visible(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _row(values: tuple[str, ...]) -> str:
    cells = (_cell(value, width, right)
             for value, (_, width, right) in zip(values, _COLUMNS, strict=True))
    return "  ".join(cells).rstrip()


def document_row(document: Document) -> str:
    orders = ", ".join(document.order_numbers[:_ORDERS_SHOWN])
    if len(document.order_numbers) > _ORDERS_SHOWN:
        orders += " …"
    return _row((str(document.message_index or ""), document.message_type,
                 document.document_number or "—", document.status or "—", orders or "—",
                 str(len(document.lines)),
                 str(len(document.warnings)) if document.warnings else ""))


def problem_line(problem: Problem) -> str:
    mark = (click.style("error", fg="red") if problem.is_error
            else click.style(" warn", fg="yellow"))
    place = [f"{name} {value}" for name, value in (("msg", problem.message_index),
                                                   ("seg", problem.segment)) if value]
    if problem.tag:
        place.append(visible(problem.tag))
    return "  ".join(["", mark, *place, f"{problem.code.value}: {visible(problem.detail)}"])


def warning_of(document: Document, notice: Notice) -> Problem:
    """A warning a document carries, as the located problem it was."""
    return Problem(Severity.WARNING, ProblemCode(notice.code), notice.detail,
                   document.message_index, notice.segment, notice.tag)


@dataclass(slots=True)
class _FileTally:
    documents: int = 0
    lines: int = 0
    errors: int = 0
    types: Counter[str] = field(default_factory=Counter)
    unlisted_warnings: Counter[str] = field(default_factory=Counter)


class TableOutput:
    """Writes to standard output through click (colour only on a terminal)."""

    def __init__(self, rows: int) -> None:
        self.rows = rows  # 0: every document
        self.tally = _FileTally()

    def _listing(self) -> bool:
        return self.rows == 0 or self.tally.documents <= self.rows

    def file_started(self, path: Path) -> None:
        self.tally = _FileTally()
        click.echo(click.style(visible(path), bold=True))

    def document(self, document: Document) -> None:
        tally = self.tally
        if tally.documents == 0:
            click.echo(click.style(_row(tuple(name for name, _, _ in _COLUMNS)), bold=True))
        tally.documents += 1
        tally.lines += len(document.lines)
        tally.types[document.message_type] += 1
        if self._listing():
            click.echo(document_row(document))
            for notice in document.warnings:
                click.echo(problem_line(warning_of(document, notice)))
        else:
            tally.unlisted_warnings.update(notice.code for notice in document.warnings)

    def problem(self, problem: Problem, file: str) -> None:
        if problem.is_error:
            self.tally.errors += 1
        if problem.is_error or self._listing():
            click.echo(problem_line(problem))
        else:
            self.tally.unlisted_warnings[problem.code.value] += 1

    def file_ended(self) -> None:
        tally = self.tally
        if tally.documents == 0:
            click.echo("  no documents")
        if self.rows and tally.documents > self.rows:
            click.echo(summary(tally, self.rows))
        click.echo("")

    def close(self) -> None:
        pass


def summary(tally: _FileTally, rows: int) -> str:
    types = ", ".join(f"{count:,} {name}" for name, count in tally.types.most_common())
    warnings = ", ".join(f"{count:,} {code}" for code, count in
                         tally.unlisted_warnings.most_common())
    parts = [f"  {tally.documents:,} documents ({types}), {tally.lines:,} lines, "
             f"{tally.errors:,} errors; the first {rows:,} listed (--rows 0 lists all)"]
    if warnings:
        parts.append(f"  warnings not listed: {visible(warnings)}")
    return "\n".join(parts)
