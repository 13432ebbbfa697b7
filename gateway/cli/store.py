"""Database commands: init, partners, orders, ingest, replay, exceptions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from gateway.cli.context import AppContext
from gateway.cli.parse import expand_paths
from gateway.domain.discrepancies import ExceptionState
from gateway.errors import ImportRowError, InvalidTransition
from gateway.persistence.models import ExceptionRow
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake, replay
from gateway.services.ingest import ingest as ingest_intakes
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from gateway.services.processing import MessageReport
from gateway.services.queue import (
    LineTimeline,
    OrderTimeline,
    act_on_exception,
    exception_to_json,
    list_exceptions,
    order_timeline,
    show_exception,
)
from gateway.services.watch import check_overdue

pass_app = click.make_pass_decorator(AppContext)
_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def _masked(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if at else url


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database (safe to run again)."""
    revision = upgrade(app.engine)
    click.echo(f"database ready at {_masked(app.settings.database_url)} (schema {revision})")


@click.group()
def partners() -> None:
    """Suppliers, their addresses and EDI ids, and tolerance profiles."""


@partners.command("load")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@pass_app
def partners_load(app: AppContext, path: Path) -> None:
    """Load suppliers and tolerance profiles from a TOML or YAML file."""
    data = read_partner_file(path)
    with app.transaction() as session:
        loaded = load_partners(session, data, app.now())
    new = f"; new profile versions: {', '.join(loaded.profiles_new)}" if loaded.profiles_new else ""
    click.echo(f"{loaded.suppliers} supplier(s), {loaded.identities} address(es)/id(s){new}")


@click.group()
def orders() -> None:
    """Open orders: import from the ERP, show a timeline."""


@orders.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--supplier", help="Supplier code for rows (or ORDERS) that name none.")
@click.option("--owner", help="Buyer email for rows that name none.")
@pass_app
def orders_import(app: AppContext, paths: tuple[Path, ...], supplier: str | None,
                  owner: str | None) -> None:
    """Import open orders from CSV, JSON or EDIFACT ORDERS files. Bad rows are listed with
    their row numbers; the good rows are imported."""
    failed = False
    for path in paths:
        try:
            lines, errors = read_order_file(path, supplier, owner)
        except ImportRowError as exc:
            click.echo(f"{path}: not imported: {exc}", err=True)
            failed = True
            continue
        with app.transaction() as session:
            report = import_lines(session, lines, path.name, app.now())
        click.echo(f"{path}: {len(report.orders)} order(s); lines {report.created} new, "
                   f"{report.updated} changed, {report.unchanged} unchanged")
        for error in sorted([*errors, *report.errors], key=lambda e: e.row):
            click.echo(f"  row {error.row}: {error.detail}", err=True)
        failed = failed or bool(errors) or bool(report.errors)
    sys.exit(1 if failed else 0)


@orders.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def orders_show(app: AppContext, number: str, as_json: bool) -> None:
    """Each line of an order with every version of its promise and where it came from."""
    with app.transaction() as session:
        timeline = order_timeline(session, number)
        if as_json:
            click.echo(json.dumps(_timeline_json(timeline), indent=2, default=str))
            return
        console = Console()
        order = timeline.order
        console.print(f"[bold]Order {order.number}[/bold]  supplier {order.supplier_code or '—'}"
                      f"  buyer {order.owner_email or '—'}")
        for problem in timeline.exceptions:
            console.print(f"  [red]{problem.code}[/red] #{problem.id} {problem.state}: "
                          f"{problem.actual}")
        for line in timeline.lines:
            console.print(_line_table(line))


def _line_table(timeline: LineTimeline) -> Table:
    line = timeline.line
    title = (f"line {line.line_no}  {line.description or line.gtin or line.buyer_part or ''}"
             f"  — now {line.state}")
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("when", "what", "qty", "date", "price", "from"):
        table.add_column(column, no_wrap=column == "what", overflow="fold")
    for entry in timeline.entries:
        source = (f"msg #{entry.message_id} {entry.document_number or ''} line {entry.position}"
                  if entry.message_id else entry.source)
        table.add_row(entry.at.strftime("%Y-%m-%d %H:%M"), entry.kind, _text(entry.quantity),
                      _text(entry.delivery_date), _text(entry.price), source)
    for problem in timeline.exceptions:
        style = _SEVERITY_STYLE.get(problem.severity, "")
        table.add_row("", f"[{style}]{problem.code}[/{style}]", problem.actual or "",
                      problem.difference or "", problem.state, f"exception #{problem.id}")
    return table


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _timeline_json(timeline: OrderTimeline) -> dict[str, Any]:
    return {
        "order": timeline.order.number,
        "supplier": timeline.order.supplier_code,
        "owner": timeline.order.owner_email,
        "exceptions": [exception_to_json(e) for e in timeline.exceptions],
        "lines": [{
            "line_no": t.line.line_no, "state": t.line.state,
            "quantity": str(t.line.quantity),
            "versions": [{"kind": e.kind, "quantity": _json(e.quantity),
                          "delivery_date": _json(e.delivery_date), "price": _json(e.price),
                          "message_id": e.message_id, "document_number": e.document_number,
                          "position": e.position, "source": e.source}
                         for e in t.entries],
            "exceptions": [exception_to_json(e) for e in t.exceptions],
        } for t in timeline.lines],
    }


def _json(value: object) -> str | None:
    return None if value is None else str(value)


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True))
@click.option("--supplier", help="Supplier code, when the files do not identify the sender.")
@click.option("--sender", default="cli", show_default=True, help="Sender recorded on archive.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
@pass_app
def ingest(app: AppContext, paths: tuple[Path, ...], supplier: str | None, sender: str,
           as_json: bool) -> None:
    """Archive and process supplier files now, one message per file."""
    files = list(expand_paths(paths))
    if not files:
        raise click.ClickException(f"no files to ingest under {', '.join(map(str, paths))}")
    console = Console(stderr=as_json)
    reports: list[MessageReport] = []
    with _progress(console, len(files), as_json) as advance:
        for first in range(0, len(files), BATCH):
            batch = files[first : first + BATCH]
            reports += ingest_files(app, batch, supplier, sender)
            advance(len(batch))
    for report, path in zip(reports, files, strict=True):
        if as_json:
            click.echo(json.dumps(_report_json(report, path)))
        else:
            console.print(_report_line(report, path))
    sys.exit(1 if any(r.state.value in ("quarantined", "failed") for r in reports) else 0)


BATCH = 200


def ingest_files(app: AppContext, paths: list[Path], supplier: str | None,
                 sender: str) -> list[MessageReport]:
    """Archive the files (committed first), then process them, a batch per transaction."""
    intakes = [Intake(path.read_bytes(), "cli", supplier or sender, path.name, supplier)
               for path in paths]
    return ingest_intakes(app.transaction, intakes, app.today(), app.now(), BATCH)


class _progress:
    """A progress bar on long runs, nothing for one file or JSON output."""

    def __init__(self, console: Console, total: int, quiet: bool) -> None:
        self.bar = None if quiet or total < 5 else Progress(
            TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), console=console,
            transient=True)
        self.total = total

    def __enter__(self) -> Any:
        if self.bar is None:
            return lambda _count: None
        self.bar.start()
        task = self.bar.add_task("ingest", total=self.total)
        return lambda count: self.bar.advance(task, count) if self.bar else None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _report_line(report: MessageReport, path: Path) -> str:
    found = report.discrepancies
    worst = ", ".join(sorted({d.code.value for d in found})) or "nothing to flag"
    if report.state.value == "reconciled":
        summary = f"{report.documents} document(s); {worst}"
    else:
        summary = report.reason or ""
    colour = {"reconciled": "green", "duplicate": "blue"}.get(report.state.value, "red")
    return (f"#{report.message_id} [{colour}]{report.state.value}[/{colour}] "
            f"{path.name}: {summary}")


def _report_json(report: MessageReport, path: Path) -> dict[str, Any]:
    return {"message_id": report.message_id, "file": str(path), "state": report.state.value,
            "documents": report.documents, "reason": report.reason,
            "discrepancies": [{"code": d.code.value, "severity": d.severity.value,
                               "order_number": d.order_number, "line_no": d.line_no}
                              for d in report.discrepancies],
            "errors": [{"code": e.code.value, "message_index": e.message_index,
                        "segment": e.segment, "detail": e.detail} for e in report.errors]}


@click.command("replay")
@click.argument("message_id", type=int)
@pass_app
def replay_command(app: AppContext, message_id: int) -> None:
    """Undo what an archived message did and process it again (after a tolerance change)."""
    with app.transaction() as session:
        report = replay(session, message_id, app.today(), app.now())
    Console().print(_report_line(report, Path(f"message {message_id}")))


@click.group()
def exceptions() -> None:
    """The buyers' exception queue."""


@exceptions.command("list")
@click.option("--supplier", help="Only this supplier's (code).")
@click.option("--severity", type=click.Choice(["low", "medium", "high"]))
@click.option("--state", type=click.Choice(["open", *(s.value for s in ExceptionState)]),
              help="Only these (open: every state not closed); default all.")
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def exceptions_list(app: AppContext, supplier: str | None, severity: str | None,
                    state: str | None, limit: int, as_json: bool) -> None:
    """The queue, worst first: open before closed, then severity, then risk."""
    with app.transaction() as session:
        rows = list_exceptions(session, supplier, severity, state, limit)
        if as_json:
            click.echo(json.dumps([exception_to_json(r) for r in rows], indent=2))
            return
        Console().print(exception_table(rows))


def exception_table(rows: list[ExceptionRow], width: int | None = None) -> RenderableType:
    """The queue as a table on a wide terminal; on a narrow one a block per exception, so
    that nothing is cut letter by letter."""
    width = width or Console().width
    if width < 120:
        return _exception_blocks(rows)
    table = Table(title=f"Exceptions ({len(rows)})", title_justify="left")
    for column in ("id", "sev", "risk", "code", "order", "line", "expected", "supplier said",
                   "state", "owner"):
        table.add_column(column, overflow="fold",
                         no_wrap=column in ("id", "sev", "risk", "code", "order", "state"),
                         justify="right" if column in ("id", "risk") else "left")
    for row in rows:
        style = _SEVERITY_STYLE.get(row.severity, "")
        table.add_row(str(row.id), f"[{style}]{row.severity}[/{style}]", f"{row.risk:.1f}",
                      row.code, row.order_number or "—", row.line_no or "",
                      row.expected or "", row.actual or "", row.state,
                      (row.owner or "").split("@")[0])
    return table


def _exception_blocks(rows: list[ExceptionRow]) -> RenderableType:
    blocks: list[RenderableType] = [Text(f"Exceptions ({len(rows)})", style="bold")]
    for row in rows:
        style = _SEVERITY_STYLE.get(row.severity, "")
        place = f"order {row.order_number or '—'}" + (f" line {row.line_no}"
                                                      if row.line_no else "")
        head = Text.assemble((f"#{row.id} ", "bold"), (f"{row.severity} ", style),
                             f"risk {row.risk:.1f}  ", (row.code, "bold"), f"  {place}")
        said = " · ".join(part for part in (
            f"expected {row.expected}" if row.expected else "",
            f"supplier said {row.actual}" if row.actual else "",
            row.difference or "") if part)
        owner = (row.owner or "—").split("@")[0]
        blocks += [head, Text(f"    {said}"), Text(f"    state {row.state} · owner {owner}")]
    return Group(*blocks)


@exceptions.command("show")
@click.argument("exception_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def exceptions_show(app: AppContext, exception_id: int, as_json: bool) -> None:
    """One exception: what, why, which rule and tolerance, which message, and its trail."""
    with app.transaction() as session:
        detail = show_exception(session, exception_id)
        if detail is None:
            raise click.ClickException(f"no exception #{exception_id}")
        data = exception_to_json(detail.exception)
        data["trail"] = [{"at": e.at.isoformat(), "action": e.action, "from": e.from_state,
                          "to": e.to_state, "detail": e.detail, "message_id": e.message_id}
                         for e in detail.events]
        if detail.message is not None:
            data["message"] = {"id": detail.message.id, "file": detail.message.filename,
                               "sender": detail.message.sender,
                               "received_at": detail.message.received_at.isoformat(),
                               "sha256": detail.message.sha256}
        if detail.document is not None:
            data["document"] = {"number": detail.document.document_number,
                                "type": detail.document.message_type,
                                "message_index": detail.document.message_index}
        if as_json:
            click.echo(json.dumps(data, indent=2))
            return
        _print_detail(data)


_ACTIONS = {"ack": ExceptionState.ACKNOWLEDGED, "resolve": ExceptionState.RESOLVED,
            "accept": ExceptionState.ACCEPTED_CHANGE, "reject": ExceptionState.REJECTED_CHANGE,
            "reopen": ExceptionState.OPEN, "comment": None}


@exceptions.command("act")
@click.argument("action", type=click.Choice(list(_ACTIONS)))
@click.argument("exception_id", type=int)
@click.option("--comment", "-m", help="Why; kept in the audit trail.")
@click.option("--by", "actor", default=lambda: os.environ.get("USER", "buyer"),
              show_default="$USER", help="Who acts.")
@pass_app
def exceptions_act(app: AppContext, action: str, exception_id: int, comment: str | None,
                   actor: str) -> None:
    """Work an exception: ack, resolve, accept (the supplier's change), reject, reopen, or
    comment. Every step lands in the exception's audit trail."""
    if action == "comment" and not comment:
        raise click.UsageError("comment needs --comment")
    with app.transaction() as session:
        try:
            row = act_on_exception(session, exception_id, _ACTIONS[action], actor, comment,
                                   app.now())
        except InvalidTransition as exc:
            raise click.ClickException(f"exception #{exception_id}: {exc}") from exc
        click.echo(f"exception #{row.id} {row.code} is {row.state}")


def _print_detail(data: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]Exception #{data['id']}[/bold] {data['code']} "
                  f"({data['severity']}, risk {data['risk']}) — {data['state']}")
    for label, key in (("order", "order_number"), ("line", "line_no"),
                       ("expected", "expected"), ("supplier said", "actual"),
                       ("difference", "difference"), ("rule", "rule"),
                       ("tolerance", "tolerance"), ("owner", "owner"),
                       ("seen", "occurrences")):
        if data.get(key) is not None:
            console.print(f"  {label:>14}: {data[key]}")
    message, document = data.get("message"), data.get("document")
    if message:
        console.print(f"  {'message':>14}: #{message['id']} {message['file'] or ''} from "
                      f"{message['sender']} at {message['received_at'][:19]}")
        console.print(f"  {'sha256':>14}: {message['sha256']}")
    if document:
        console.print(f"  {'document':>14}: {document['type']} {document['number'] or '—'} "
                      f"(message {document['message_index']} of the file)")
    console.print("  trail:")
    for event in data["trail"]:
        console.print(f"    {event['at'][:19]} {event['action']}: {event['detail'] or ''}")


@click.command("check-overdue")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def check_overdue_command(app: AppContext, as_json: bool) -> None:
    """Flag silence: lines unconfirmed past the confirmation due hours, not despatched by the
    despatch lead days, or undelivered past the promised date. Run it daily (later: beat)."""
    with app.transaction() as session:
        found = check_overdue(session, app.today(), app.now())
    if as_json:
        click.echo(json.dumps([{"code": d.code.value, "severity": d.severity.value,
                                "order_number": d.order_number, "line_no": d.line_no,
                                "expected": d.expected, "difference": d.difference}
                               for d in found], indent=2))
        return
    counts: dict[str, int] = {}
    for discrepancy in found:
        counts[discrepancy.code.value] = counts.get(discrepancy.code.value, 0) + 1
    summary = ", ".join(f"{count} {code}" for code, count in sorted(counts.items()))
    click.echo(f"{len(found)} overdue line(s){': ' + summary if summary else ''}")


def iter_commands() -> Iterator[click.Command]:
    yield from (init, partners, orders, ingest, replay_command, exceptions,
                check_overdue_command)
