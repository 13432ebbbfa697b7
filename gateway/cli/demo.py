"""`gateway demo`: the main job end to end on the embedded default, with the sample data."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy import select

from gateway.cli.context import AppContext
from gateway.cli.outbox import send_and_show
from gateway.cli.parse import expand_paths
from gateway.cli.queue import exception_table
from gateway.cli.store import _line_table, _report_line, ingest_files
from gateway.config import Settings
from gateway.persistence.schema import upgrade
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from gateway.services.queue import list_exceptions, order_timeline
from gateway.services.watch import check_overdue

DEMO_DIGEST_FOR = "anna.weber@brenner-antrieb.example"

# The demo's orders are due in the first half of December 2026; a fixed "today" keeps the
# risk scores the same on every run.
DEMO_TODAY = date(2026, 11, 26)


@click.command()
@click.option("--samples", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("samples/demo"), show_default=True)
@click.option("--database", type=click.Path(path_type=Path), default=Path("var/demo.db"),
              show_default=True, help="SQLite file, made anew on every run.")
@click.option("--order", "shown_order", default="4500012345", show_default=True,
              help="The order whose timeline is shown at the end.")
def demo(samples: Path, database: Path, shown_order: str) -> None:
    """Load sample suppliers and open orders, ingest sample supplier messages, and show the
    exception queue and one order's timeline."""
    console = Console()
    database.unlink(missing_ok=True)
    app = AppContext.with_settings(Settings(f"sqlite:///{database}", database.parent),
                                  dict(os.environ), DEMO_TODAY)
    upgrade(app.engine)
    console.rule("[bold]1. Suppliers and their tolerance profiles")
    with app.transaction() as session:
        loaded = load_partners(session, read_partner_file(samples / "partners.toml"), app.now())
    console.print(f"{loaded.suppliers} suppliers from {samples / 'partners.toml'}")
    console.rule("[bold]2. Open orders from the ERP export")
    lines, errors = read_order_file(samples / "orders.csv")
    with app.transaction() as session:
        imported = import_lines(session, lines, "orders.csv", app.now())
    console.print(f"{len(imported.orders)} orders, {imported.created} lines"
                  + (f", {len(errors)} bad rows" if errors else ""))
    console.rule("[bold]3. Supplier messages arrive (order responses, despatch advices)")
    files = list(expand_paths([samples / "messages"]))
    for report, path in zip(ingest_files(app, files, None, "demo"), files, strict=True):
        console.print(_report_line(report, path))
    mails = sorted((samples / "mail").glob("*.eml")) if (samples / "mail").is_dir() else []
    if mails:
        console.rule("[bold]3b. A supplier answers by email (in German)")
        for report, path in zip(ingest_files(app, mails, None, "demo"), mails, strict=True):
            console.print(_report_line(report, path))
    console.rule("[bold]4. Silence: what the suppliers have not answered or shipped in time")
    with app.transaction() as session:
        silent = check_overdue(session, app.today(), app.now())
    console.print(f"overdue check on {app.today()}: {len(silent)} line(s) overdue "
                  f"({', '.join(sorted({d.code.value for d in silent})) or 'none'})")
    console.rule("[bold]5. The exception queue, worst first")
    with app.transaction() as session:
        rows = list_exceptions(session, state="open")
        console.print(exception_table(rows))
        codes = sorted({row.code for row in rows})
        console.print(f"{len(rows)} open exceptions of {len(codes)} kinds: {', '.join(codes)}")
        console.rule(f"[bold]6. The timeline of order {shown_order}")
        timeline = order_timeline(session, shown_order)
        for line in timeline.lines:
            console.print(_line_table(line))
    _show_replies(app, console)
    console.rule("[bold]8. Alerts to buyers: at once for high severity, the rest in a digest")
    show_alerts(console, app)
    console.rule("[bold]9. What the gateway sends: acknowledgements, replies, alerts")
    send_and_show(app, console, database.parent / "outbox")
    console.print(f"\nThe demo database is {database}; explore it with, for example:\n"
                  f"  GATEWAY_DATABASE_URL=sqlite:///{database} .venv/bin/gateway exceptions "
                  "show 1")
    app.close()


def _show_replies(app: AppContext, console: Console) -> None:
    """The email replies the gateway decided, as they wait in the outbox (the sender puts
    them into var/outbox/ or hands them to the relay)."""
    from email import message_from_bytes, policy

    from gateway.cli.terminal import visible
    from gateway.domain.outbound import OutboundKind
    from gateway.persistence.models import OutboundMessageRow

    with app.transaction() as session:
        rows = list(session.scalars(select(OutboundMessageRow).where(
            OutboundMessageRow.kind == OutboundKind.EMAIL_REPLY.value)
            .order_by(OutboundMessageRow.id)))
    if not rows:
        return
    console.rule("[bold]7. Email replies to suppliers, waiting in the outbox")
    for row in rows:
        parsed = message_from_bytes(row.payload, policy=policy.default)
        body = parsed.get_body(("plain",))
        console.print(f"#{row.id} {row.state} to {visible(row.recipient)}: "
                      f"{visible(parsed['Subject'])} "
                      f"(In-Reply-To {visible(parsed['In-Reply-To'])})")
        if body is not None:
            console.print("\n".join(visible(line) for line in body.get_content().splitlines()),
                          markup=False, highlight=False)


def show_alerts(console: Console, app: AppContext) -> None:
    """The alerts the run wrote to the outbox, then one buyer's daily digest (the others
    wait for the daily job) with its plain text."""
    import email
    from email import policy
    from email.message import EmailMessage

    from sqlalchemy import func, select

    from gateway.cli.terminal import terminal_text
    from gateway.persistence.models import OutboundMessageRow
    from gateway.services.digest import send_digests

    with app.transaction() as session:
        counted = session.execute(select(OutboundMessageRow.kind, func.count())
                                  .group_by(OutboundMessageRow.kind)).all()
        console.print("in the outbox: " + ", ".join(f"{n} {kind}" for kind, n in counted))
        reports = send_digests(session, app.now(), only=(DEMO_DIGEST_FOR,))
        payloads = [session.get(OutboundMessageRow, row_id) for report in reports
                    for row_id in report.outbox_ids]
    for report in reports:
        console.print(f"digest for {report.recipient}: {report.exceptions} exception(s)")
    for row in payloads:
        if row is not None and row.transport == "smtp":
            message = email.message_from_bytes(row.payload, policy=policy.default)
            body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
            console.print(terminal_text(f"Subject: {message['Subject']}"))
            for line in (body.get_content() if body is not None else "").splitlines():
                console.print(terminal_text(line))
