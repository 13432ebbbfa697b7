"""`gateway messages`: the inbound archive as IT works it (list, show, release, retry)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from gateway.cli.context import AppContext, pass_app
from gateway.cli.terminal import terminal_text, visible
from gateway.domain.messages import MessageState
from gateway.errors import InvalidTransition
from gateway.services.inbound import (
    RELEASABLE,
    MessageDetail,
    MessageSummary,
    list_messages,
    message_detail,
    raw_bytes,
    release,
)
from gateway.services.pipeline import describe

STATE_STYLE = {"quarantined": "bold yellow", "failed": "bold red", "duplicate": "dim"}


@click.group()
def messages() -> None:
    """Inbound messages: what arrived, in which state, and why."""


@messages.command("list")
@click.option("--state", "states", multiple=True,
              type=click.Choice([s.value for s in MessageState]),
              help="Only messages in this state (repeat for several).")
@click.option("--channel", help="Only messages from this channel (smtp, imap, cli ...).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def messages_list(app: AppContext, states: tuple[str, ...], channel: str | None, limit: int,
                  as_json: bool) -> None:
    """The newest messages first."""
    with app.transaction() as session:
        found = list_messages(session, [MessageState(s) for s in states], channel, limit)
    if as_json:
        click.echo(json.dumps([m.as_json() for m in found], indent=2))
        return
    if not found:
        click.echo("no messages" + (f" in state {', '.join(states)}" if states else ""))
        return
    Console().print(_table(found))


def _table(found: list[MessageSummary]) -> Table:
    table = Table(title="inbound messages, newest first", title_justify="left")
    for column in ("id", "received", "channel", "sender", "state", "why"):
        table.add_column(column, overflow="fold")
    for message in found:
        style = STATE_STYLE.get(message.state.value, "")
        why = message.reason or (f"copy of #{message.duplicate_of}" if message.duplicate_of
                                 else "")
        table.add_row(str(message.id), f"{message.received_at:%Y-%m-%d %H:%M}",
                      terminal_text(message.channel), terminal_text(message.sender),
                      terminal_text(message.state.value, style), terminal_text(why))
    return table


@messages.command("show")
@click.argument("message_id", type=int)
@click.option("--raw", is_flag=True, help="Write the bytes exactly as received to stdout.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def messages_show(app: AppContext, message_id: int, raw: bool, as_json: bool) -> None:
    """One message: where it came from, its state and reason, its problems, documents and
    exceptions; or, with --raw, its bytes (pipe them to a file or a viewer)."""
    with app.transaction() as session:
        if raw:
            sys.stdout.buffer.write(raw_bytes(session, message_id))
            sys.stdout.buffer.flush()
            return
        detail = message_detail(session, message_id)
    if as_json:
        click.echo(json.dumps(detail.as_json(), indent=2))
        return
    _print_detail(detail)


def _print_detail(detail: MessageDetail) -> None:
    summary = detail.summary
    lines = [
        f"message #{summary.id}: {summary.state.value}"
        + (f", {visible(summary.reason)}" if summary.reason else ""),
        f"  received {summary.received_at:%Y-%m-%d %H:%M:%S} via {visible(summary.channel)} "
        f"from {visible(summary.sender)}"
        + (f" as {visible(summary.filename)}" if summary.filename else ""),
        f"  {summary.size:,} bytes, sha256 {detail.sha256}",
        f"  supplier: {visible(summary.supplier_code) or 'not identified'}",
    ]
    if summary.duplicate_of:
        lines.append(f"  a duplicate delivery of message #{summary.duplicate_of}")
    lines += _sender_lines(detail)
    for problem in detail.problems:
        where = " ".join(f"{k} {visible(problem[k])}" for k in ("message_index", "segment")
                         if problem.get(k) is not None)
        lines.append(f"  {visible(problem.get('severity'))} {visible(problem.get('code'))}"
                     f"{' at ' + where if where else ''}: {visible(problem.get('detail'))}")
    lines += [f"  document #{d['id']}: {visible(d['message_type'])} "
              f"{visible(d['document_number'])}" for d in detail.documents]
    lines += [f"  exception #{e['id']}: {visible(e['code'])} ({visible(e['severity'])}, "
              f"{visible(e['state'])}) order {visible(e['order_number']) or '-'} "
              f"line {visible(e['line_no']) or '-'}"
              for e in detail.exceptions]
    lines.append(f"  raw bytes: gateway messages show {summary.id} --raw")
    click.echo("\n".join(lines))


def _sender_lines(detail: MessageDetail) -> list[str]:
    """The SMTP envelope and the sender authentication verdict (docs/mail-authentication.md)."""
    from gateway.mailauth.verdict import Verdict

    lines = []
    envelope = detail.envelope or {}
    if envelope:
        lines.append(f"  envelope: client {envelope.get('client_ip') or '?'}, HELO "
                     f"{envelope.get('helo') or '?'}, to "
                     f"{', '.join(envelope.get('recipients') or []) or '?'}")
    if detail.authentication:
        verdict = Verdict.from_json(detail.authentication)
        lines.append(f"  sender authentication: {verdict.summary()}")
    elif detail.summary.channel in ("smtp", "imap"):
        lines.append("  sender authentication: not checked yet")
    if detail.sender_trust:
        lines.append(f"  sender trust: {detail.sender_trust}")
    return lines


@messages.command("release")
@click.argument("message_id", type=int)
@pass_app
def messages_release(app: AppContext, message_id: int) -> None:
    """Process a quarantined or failed message again, after fixing its cause (for an unknown
    sender: add the address to the partner file and `gateway partners load` it)."""
    try:
        _check_sender(app, message_id)
        report = release(app.transaction, message_id, app.today(), app.now(), app.pipeline())
    except InvalidTransition as exc:
        allowed = " or ".join(s.value for s in RELEASABLE)
        raise click.ClickException(
            f"message #{message_id} is {exc.current}: only {allowed} messages are released; "
            f"`gateway replay {message_id}` processes a handled message again") from exc
    click.echo(f"message #{message_id}: {report.state.value}"
               + (f", {visible(report.reason)}" if report.reason else "")
               + (f", {len(report.exception_ids)} exception(s)" if report.exception_ids
                  else ""))


@messages.command("retry")
@click.argument("message_ids", type=int, nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every failed message, oldest first.")
@pass_app
def messages_retry(app: AppContext, message_ids: tuple[int, ...], every: bool) -> None:
    """Process failed messages again, once the cause is fixed (the database back, say). A
    message is `failed` when a transient error outlasted its retries or its processing never
    finished; `gateway messages list --state failed` shows why. Exit status 1 when one still
    does not reach a final state."""
    if every == bool(message_ids):
        raise click.UsageError("name the failed messages to retry, or pass --all")
    if every:
        with app.transaction() as session:
            found = list_messages(session, [MessageState.FAILED], limit=1_000_000)
        message_ids = tuple(sorted(m.id for m in found))
        if not message_ids:
            click.echo("no failed messages")
            return
    still_failing = False
    for message_id in message_ids:
        try:
            with app.transaction() as session:
                state = message_detail(session, message_id).summary.state
                if state is not MessageState.FAILED:
                    raise click.ClickException(
                        f"message #{message_id} is {state.value}, not failed: `gateway "
                        f"messages release {message_id}` for a quarantined one")
            _check_sender(app, message_id)
            report = release(app.transaction, message_id, app.today(), app.now(),
                             app.pipeline())
        except (click.ClickException, LookupError, InvalidTransition):
            raise
        except Exception as exc:  # noqa: BLE001 - rolled back: it stays `failed`, said below
            still_failing = True
            click.echo(f"message #{message_id}: failed, still: {visible(describe(exc))}")
            continue
        still_failing |= report.state is MessageState.FAILED
        click.echo(f"message #{message_id}: {report.state.value}"
                   + (f", {visible(report.reason)}" if report.reason else ""))
    if still_failing:
        raise SystemExit(1)


def _check_sender(app: AppContext, message_id: int) -> None:
    """Mail released or retried gets the sender check it has not had (or that a DNS outage
    spoiled) before it is processed again (docs/mail-authentication.md)."""
    from gateway.services.mail_auth import forget_spoiled_verdict

    with app.transaction() as session:
        forget_spoiled_verdict(session, message_id)
    app.sender_authentication()(app.transaction, [message_id])
