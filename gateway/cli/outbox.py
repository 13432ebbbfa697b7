"""`gateway outbox`: what the gateway sends, as IT works it (list, show, retry, cancel, send)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from gateway.cli.context import AppContext, pass_app
from gateway.cli.terminal import terminal_text, visible
from gateway.domain.outbound import OutboundKind, OutboundState

STATE_STYLE = {"failed": "bold red", "pending": "yellow", "sending": "yellow",
               "awaiting_mdn": "yellow",
               "cancelled": "dim", "suppressed": "dim", "sent": "green"}


@click.group()
def outbox() -> None:
    """Outbound messages: acknowledgements, replies, reminders and alerts, and where each
    stands."""


@outbox.command("list")
@click.option("--state", type=click.Choice([s.value for s in OutboundState]),
              help="Only messages in this state.")
@click.option("--kind", type=click.Choice([k.value for k in OutboundKind]),
              help="Only messages of this kind.")
@click.option("--supplier", help="Only messages about this supplier (its code).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def outbox_list(app: AppContext, state: str | None, kind: str | None, supplier: str | None,
                limit: int, as_json: bool) -> None:
    """The newest first."""
    from gateway.services.outbox import list_outbound

    with app.transaction() as session:
        found = list_outbound(session, OutboundState(state) if state else None,
                              OutboundKind(kind) if kind else None, supplier, limit)
    if as_json:
        click.echo(json.dumps([row.as_json() for row in found], indent=2))
        return
    if not found:
        click.echo("the outbox is empty" + (f" in state {state}" if state else ""))
        return
    table = Table(title="outbound messages, newest first", title_justify="left")
    for column in ("id", "created", "kind", "to", "state", "tries", "why"):
        table.add_column(column, overflow="fold")
    for row in found:
        table.add_row(str(row.id), f"{row.created_at:%Y-%m-%d %H:%M}", row.kind,
                      terminal_text(row.recipient),
                      terminal_text(row.state, STATE_STYLE.get(row.state, "")),
                      str(row.attempts), terminal_text(row.state_reason or ""))
    Console().print(table)


@outbox.command("show")
@click.argument("outbound_id", type=int)
@click.option("--payload", is_flag=True, help="Write the bytes sent (or to send) to stdout.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def outbox_show(app: AppContext, outbound_id: int, payload: bool, as_json: bool) -> None:
    """One outbound message: what it is, why it was decided, and each attempt."""
    from gateway.services.outbox import payload_of, show_outbound

    with app.transaction() as session:
        if payload:
            data = payload_of(session, outbound_id)
            if data is None:
                raise click.ClickException(f"no outbound message #{outbound_id}")
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        detail = show_outbound(session, outbound_id)
    if detail is None:
        raise click.ClickException(f"no outbound message #{outbound_id}")
    if as_json:
        click.echo(json.dumps(detail.as_json(), indent=2))
        return
    row = detail.summary
    lines = [f"outbound #{row.id}: {row.kind} by {row.transport}, {row.state}"
             + (f", {visible(row.state_reason)}" if row.state_reason else ""),
             f"  to {visible(row.recipient)}"
             + (f" from {visible(detail.sender)}" if detail.sender else ""),
             f"  wire id {visible(row.wire_id)}, {detail.size:,} bytes of "
             f"{visible(detail.content_type)}",
             f"  decided: {visible(detail.reason)}",
             f"  supplier {visible(row.supplier_code) or '-'}, inbound message "
             f"{detail.message_id or '-'}, exception {detail.exception_id or '-'}"]
    lines += [f"  attempt {n} at {a.at:%Y-%m-%d %H:%M:%S} ({a.duration_ms} ms): {a.outcome}"
              + (f", {visible(a.error)}" if a.error else "")
              + (f" [{visible(a.response)}]" if a.response else "")
              for n, a in enumerate(detail.attempts, 1)]
    if row.next_attempt_at is not None and row.state == OutboundState.PENDING:
        lines.append(f"  next attempt at {row.next_attempt_at:%Y-%m-%d %H:%M:%S}")
    if row.next_attempt_at is not None and row.state == OutboundState.AWAITING_MDN:
        lines.append(f"  its MDN is due by {row.next_attempt_at:%Y-%m-%d %H:%M:%S}")
    lines.append(f"  bytes: gateway outbox show {row.id} --payload")
    click.echo("\n".join(lines))


@outbox.command("retry")
@click.argument("outbound_ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed message.")
@pass_app
def outbox_retry(app: AppContext, outbound_ids: tuple[int, ...], all_failed: bool) -> None:
    """Send failed or cancelled messages again, with the same wire id, once the cause is
    fixed (the address, the relay, the webhook)."""
    from gateway.services.outbox import list_outbound, retry

    if all_failed == bool(outbound_ids):
        raise click.UsageError("name the messages to retry, or pass --all-failed")
    with app.transaction() as session:
        ids = list(outbound_ids) or [row.id for row in list_outbound(
            session, OutboundState.FAILED, limit=1_000_000)]
        moved = retry(session, ids, _actor(), app.now())
    _report("retried", ids, moved)


@outbox.command("cancel")
@click.argument("outbound_ids", type=int, nargs=-1, required=True)
@pass_app
def outbox_cancel(app: AppContext, outbound_ids: tuple[int, ...]) -> None:
    """Never send these pending or failed messages."""
    from gateway.services.outbox import cancel

    with app.transaction() as session:
        moved = cancel(session, list(outbound_ids), _actor(), app.now())
    _report("cancelled", list(outbound_ids), moved)


@outbox.command("send")
@pass_app
def outbox_send(app: AppContext) -> None:
    """Send what is due now, once (the sender of `gateway run` and the Celery workers does
    this by itself): rows whose sender died are given back first."""
    from gateway.config import OutboundSettings
    from gateway.services.outbox_sender import OutboxSender, Transports

    settings = OutboundSettings.from_env(os.environ, app.settings.var_dir)
    sender = OutboxSender(app.transaction, Transports.from_settings(settings), settings,
                          app.now, f"cli@{socket.gethostname()}:{os.getpid()}")
    sender.sweep()
    report = sender.drain()
    click.echo(f"{len(report.sent)} sent, {len(report.retrying)} to retry, "
               f"{len(report.failed)} failed, {len(report.untried)} waiting for their "
               "transport")


def send_and_show(app: AppContext, console: Console, folder: Path) -> None:
    """The demo's last step: send what the outbox holds into the drop folder `folder`
    (never to a server, whatever the environment says) and show each message and its file."""
    from gateway.config import OutboundSettings
    from gateway.services.outbox import list_outbound
    from gateway.services.outbox_sender import OutboxSender, Transports

    settings = OutboundSettings(drop_dir=folder, drop_all=True)
    report = OutboxSender(app.transaction, Transports.from_settings(settings), settings,
                          app.now, "demo").drain()
    with app.transaction() as session:
        rows = list(reversed(list_outbound(session, limit=1_000_000)))
    if not rows:
        console.print("the outbox is empty: nothing was decided to be sent")
        return
    table = Table(title=f"what the gateway sent (dropped into {folder}/new)",
                  title_justify="left")
    for column in ("id", "kind", "to", "state", "file"):
        table.add_column(column, overflow="fold")
    for row in rows:
        where = report.locations.get(row.id, "")
        table.add_row(str(row.id), row.kind, terminal_text(row.recipient),
                      terminal_text(row.state, STATE_STYLE.get(row.state, "")),
                      terminal_text(where or (row.state_reason or "")))
    console.print(table)


def _actor() -> str:
    return os.environ.get("USER") or "an operator"


def _report(verb: str, asked: list[int], moved: list[int]) -> None:
    for outbound_id in asked:
        click.echo(f"outbound #{outbound_id}: "
                   + (verb if outbound_id in moved else f"not {verb} (see `gateway outbox "
                      f"show {outbound_id}`)"))
    if len(moved) < len(asked):
        raise SystemExit(1)

