"""Database commands: init, partners, orders, ingest, replay, exceptions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from gateway.cli.context import SEVERITY_STYLE, AppContext, pass_app
from gateway.cli.parse import expand_paths
from gateway.cli.terminal import terminal_text, visible
from gateway.errors import ImportRowError
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake
from gateway.services.ingest import ingest as ingest_intakes
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from gateway.services.processing import MessageReport
from gateway.services.queue import (
    LineTimeline,
    OrderTimeline,
    exception_to_json,
    order_timeline,
)
from gateway.services.replay import replay
from gateway.services.spread import Spread


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
    if loaded.acknowledged:
        click.echo(f"EDIFACT acknowledgements: {'; '.join(loaded.acknowledged)}")


@click.group()
def orders() -> None:
    """Open orders: import from the ERP, show a timeline."""


@orders.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--supplier", help="Supplier (code, EDI id or email address) for rows (or "
              "ORDERS) that name none.")
@click.option("--owner", help="Buyer email for rows that name none.")
@pass_app
def orders_import(app: AppContext, paths: tuple[Path, ...], supplier: str | None,
                  owner: str | None) -> None:
    """Import open orders from CSV, JSON, EDIFACT ORDERS, X12 850, UBL Order or cXML
    OrderRequest files. Bad rows are listed with their row numbers; the good rows are
    imported."""
    failed = False
    for path in paths:
        try:
            lines, errors = read_order_file(path, supplier, owner)
        except ImportRowError as exc:
            click.echo(f"{visible(path)}: not imported: {visible(exc)}", err=True)
            failed = True
            continue
        with app.transaction() as session:
            report = import_lines(session, lines, path.name, app.now())
        click.echo(f"{path}: {len(report.orders)} order(s); lines {report.created} new, "
                   f"{report.updated} changed, {report.unchanged} unchanged")
        for error in sorted([*errors, *report.errors], key=lambda e: e.row):
            click.echo(f"  row {error.row}: {visible(error.detail)}", err=True)
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
        console = Console(highlight=False)
        order = timeline.order
        console.print(Text.assemble((f"Order {visible(order.number)}", "bold"),
                                    f"  supplier {visible(order.supplier_code) or '—'}"
                                    f"  buyer {visible(order.owner_email) or '—'}"))
        for problem in timeline.exceptions:
            console.print(Text.assemble("  ", (visible(problem.code), "red"),
                                        f" #{problem.id} {visible(problem.state)}: "
                                        f"{visible(problem.actual)}"))
        for line in timeline.lines:
            console.print(_line_table(line))


def _line_table(timeline: LineTimeline) -> Table:
    line = timeline.line
    title = terminal_text(f"line {line.line_no}  "
                          f"{line.description or line.gtin or line.buyer_part or ''}"
                          f"  — now {line.state}")
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("when", "what", "qty", "date", "price", "from"):
        table.add_column(column, no_wrap=column == "what", overflow="fold")
    for entry in timeline.entries:
        source = (f"msg #{entry.message_id} {entry.document_number or ''} line {entry.position}"
                  if entry.message_id else entry.source)
        table.add_row(entry.at.strftime("%Y-%m-%d %H:%M"), terminal_text(entry.kind),
                      terminal_text(entry.quantity), terminal_text(entry.delivery_date),
                      terminal_text(entry.price), terminal_text(source))
    for problem in timeline.exceptions:
        style = SEVERITY_STYLE.get(problem.severity, "")
        table.add_row("", terminal_text(problem.code, style), terminal_text(problem.actual),
                      terminal_text(problem.difference), terminal_text(problem.state),
                      f"exception #{problem.id}")
    return table


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
@click.option("--processes", type=click.IntRange(1), envvar="GATEWAY_INGEST_PROCESSES",
              help="Worker processes that process the batches side by side, on PostgreSQL "
                   "[default: one per usable CPU].")
@pass_app
def ingest(app: AppContext, paths: tuple[Path, ...], supplier: str | None, sender: str,
           as_json: bool, processes: int | None) -> None:
    """Archive and process supplier files now, one message per file."""
    files = list(expand_paths(paths))
    spread = app.spread(processes or len(os.sched_getaffinity(0)))
    if not files:
        raise click.ClickException(f"no files to ingest under {', '.join(map(str, paths))}")
    console = Console(stderr=as_json)
    reports: list[MessageReport] = []
    with _progress(console, len(files), as_json) as advance:
        for chunk in handed_in(files, [path.stat().st_size for path in files]):
            reports += ingest_files(app, chunk, supplier, sender, spread)
            advance(len(chunk))
    for report, path in zip(reports, files, strict=True):
        if as_json:
            click.echo(json.dumps(_report_json(report, path)))
        else:
            console.print(_report_line(report, path))
    sys.exit(1 if any(r.state.value in ("quarantined", "failed") for r in reports) else 0)


BATCH = 200
# Files read into memory and handed to `ingest` at once: several batches, so that the next
# batch is read while one is written (docs/architecture.md, "Reading the next batch while one
# is written"), and at most this many bytes, plus one file.
CHUNK_BATCHES = 10
CHUNK_BYTES = 64 * 1024 * 1024


def handed_in(files: list[Path], sizes: list[int]) -> Iterator[list[Path]]:
    """The files in arrival order, in chunks of at most `CHUNK_BATCHES` batches and
    `CHUNK_BYTES` bytes (a bigger file alone)."""
    chunk: list[Path] = []
    total = 0
    for path, size in zip(files, sizes, strict=True):
        if chunk and (len(chunk) >= CHUNK_BATCHES * BATCH or total + size > CHUNK_BYTES):
            yield chunk
            chunk, total = [], 0
        chunk.append(path)
        total += size
    if chunk:
        yield chunk


def ingest_files(app: AppContext, paths: list[Path], supplier: str | None,
                 sender: str, spread: Spread | None = None) -> list[MessageReport]:
    """Archive the files (committed first), then process them, a batch per transaction
    (batches side by side in the processes of `spread`, on PostgreSQL)."""
    intakes = [Intake(path.read_bytes(), "cli", supplier or sender, path.name, supplier)
               for path in paths]
    return ingest_intakes(app.transaction, intakes, app.today(), app.now(), BATCH,
                          app.pipeline(), spread=spread)


class _progress:
    """A progress bar on long runs, nothing for one file or JSON output. Drawn when it moves,
    with no refresh thread: `ingest` forks worker processes on PostgreSQL
    (`gateway.services.spread`), and a thread that holds a lock at the fork leaves it held
    in the child."""

    def __init__(self, console: Console, total: int, quiet: bool) -> None:
        self.bar = None if quiet or total < 5 else Progress(
            TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), console=console,
            transient=True, auto_refresh=False)
        self.total = total

    def __enter__(self) -> Any:
        if self.bar is None:
            return lambda _count: None
        self.bar.start()
        task = self.bar.add_task("ingest", total=self.total)
        self.bar.refresh()

        def advance(count: int) -> None:
            if self.bar is not None:
                self.bar.advance(task, count)
                self.bar.refresh()
        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _report_line(report: MessageReport, path: Path) -> Text:
    found = report.discrepancies
    worst = ", ".join(sorted({d.code.value for d in found})) or "nothing to flag"
    if report.state.value == "reconciled":
        summary = f"{report.documents} document(s); {worst}"
    else:
        summary = report.reason or ""
    colour = {"reconciled": "green", "duplicate": "blue"}.get(report.state.value, "red")
    return Text.assemble(f"#{report.message_id} ", (report.state.value, colour),
                         f" {visible(path.name)}: {visible(summary)}")


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
    report = replay(app.transaction, message_id, app.today(), app.now(), app.pipeline())
    Console().print(_report_line(report, Path(f"message {message_id}")))
