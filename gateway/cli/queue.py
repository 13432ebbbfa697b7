"""The buyers' queue: exceptions list, show and act, and the overdue check."""

from __future__ import annotations

import json
import os
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gateway.cli.context import SEVERITY_STYLE, AppContext, pass_app
from gateway.cli.terminal import terminal_text, visible
from gateway.domain.discrepancies import ExceptionState
from gateway.errors import InvalidTransition
from gateway.persistence.models import ExceptionRow
from gateway.services.mail_view import email_summary
from gateway.services.queue import (
    act_on_exception,
    exception_to_json,
    list_exceptions,
    show_exception,
)
from gateway.services.watch import check_overdue


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
        style = SEVERITY_STYLE.get(row.severity, "")
        table.add_row(str(row.id), terminal_text(row.severity, style), f"{row.risk:.1f}",
                      terminal_text(row.code), terminal_text(row.order_number or "—"),
                      terminal_text(row.line_no), terminal_text(row.expected),
                      terminal_text(row.actual), terminal_text(row.state),
                      terminal_text((row.owner or "").split("@")[0]))
    return table


def _exception_blocks(rows: list[ExceptionRow]) -> RenderableType:
    blocks: list[RenderableType] = [Text(f"Exceptions ({len(rows)})", style="bold")]
    for row in rows:
        style = SEVERITY_STYLE.get(row.severity, "")
        place = f"order {visible(row.order_number) or '—'}" + (
            f" line {visible(row.line_no)}" if row.line_no else "")
        head = Text.assemble((f"#{row.id} ", "bold"), (f"{visible(row.severity)} ", style),
                             f"risk {row.risk:.1f}  ", (visible(row.code), "bold"),
                             f"  {place}")
        said = " · ".join(part for part in (
            f"expected {visible(row.expected)}" if row.expected else "",
            f"supplier said {visible(row.actual)}" if row.actual else "",
            visible(row.difference)) if part)
        owner = visible((row.owner or "—").split("@")[0])
        blocks += [head, Text(f"    {said}"),
                   Text(f"    state {visible(row.state)} · owner {owner}")]
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
            email = email_summary(detail.message)
            if email is not None:
                data["email"] = email
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
    """Work an exception: ack, resolve, accept (the supplier's change: the order line takes
    its value), reject (a reply to the supplier through the outbox; -m gives the reason),
    reopen, or comment. Every step lands in the exception's audit trail."""
    if action in ("comment", "reject") and not (comment or "").strip():
        raise click.UsageError(f"{action} needs --comment (for reject: the reason, kept in "
                               "the audit trail; the supplier is not shown it)")
    reply = ""
    with app.transaction() as session:
        try:
            if action == "reject":
                # As the web app and the API reject: the reply goes to the supplier through
                # the outbox in the same transaction (gateway.services.rejections).
                from gateway.services.rejections import reject_change

                row, rejected = reject_change(session, exception_id, actor,
                                              (comment or "").strip()[:2000], app.now())
                reply = (f"; reply to the supplier queued (outbox #{rejected.outbox_id})"
                         if rejected.why_not is None else
                         f"; reply to the supplier not sent: {rejected.why_not} "
                         f"(outbox #{rejected.outbox_id})")
            elif action == "accept":
                # As the web app and the API accept: the order line takes the supplier's
                # value as a line version `accepted` (gateway.services.acceptances).
                from gateway.services.acceptances import accept_change

                row = accept_change(session, exception_id, actor, comment, app.now())
            else:
                row = act_on_exception(session, exception_id, _ACTIONS[action], actor,
                                       comment, app.now())
        except InvalidTransition as exc:
            raise click.ClickException(f"exception #{exception_id}: {exc}") from exc
        click.echo(f"exception #{row.id} {visible(row.code)} is {visible(row.state)}"
                   + visible(reply))


def _print_detail(data: dict[str, Any]) -> None:
    """Every value printed here may be the supplier's text: each is a plain `Text` line
    (never markup) with its control characters spelled out by `visible`."""
    console = Console(highlight=False)

    def say(line: str, style: str = "") -> None:
        console.print(Text(line, style=style))

    console.print(Text.assemble(
        (f"Exception #{data['id']}", "bold"), f" {visible(data['code'])} "
        f"({visible(data['severity'])}, risk {data['risk']}) — {visible(data['state'])}"))
    for label, key in (("order", "order_number"), ("line", "line_no"),
                       ("expected", "expected"), ("supplier said", "actual"),
                       ("difference", "difference"), ("rule", "rule"),
                       ("tolerance", "tolerance"), ("owner", "owner"),
                       ("seen", "occurrences")):
        if data.get(key) is not None:
            say(f"  {label:>14}: {visible(data[key])}")
    message, document = data.get("message"), data.get("document")
    if message:
        say(f"  {'message':>14}: #{message['id']} {visible(message['file'])} from "
            f"{visible(message['sender'])} at {message['received_at'][:19]}")
        say(f"  {'sha256':>14}: {message['sha256']}")
    email = data.get("email")
    if email and message:
        say(f"  {'email':>14}: {visible(email['subject']) or '(no subject)'} — from "
            f"{visible(email['from']) or '?'} "
            f"<{visible(email['message_id']) or 'no Message-ID'}>")
        for item in email["unread"]:
            say(f"  {'not read':>14}: {visible(item)}")
        say(f"  {'open it':>14}: gateway messages show {message['id']} --raw > reply.eml")
    if document:
        say(f"  {'document':>14}: {visible(document['type'])} "
            f"{visible(document['number']) or '—'} "
            f"(message {document['message_index']} of the file)")
    say("  trail:")
    for event in data["trail"]:
        say(f"    {event['at'][:19]} {visible(event['action'])}: {visible(event['detail'])}")


@click.command("check-overdue")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def check_overdue_command(app: AppContext, as_json: bool) -> None:
    """Flag silence: lines unconfirmed past the confirmation due hours, not despatched by the
    despatch lead days, or undelivered past the promised date. It also runs by itself once a day
    (`GATEWAY_CHECK_OVERDUE_AT`: `gateway run`'s scheduler, or `gateway beat`)."""
    from gateway.services.reminders import remind_suppliers

    with app.transaction() as session:
        found = check_overdue(session, app.today(), app.now())
        # Suppliers whose partner entry asks for it are reminded of missing confirmations.
        reminders = remind_suppliers(session, app.now())
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
    queued = [r for r in reminders if r.why_not is None]
    if reminders:
        click.echo(f"{len(queued)} reminder(s) to suppliers queued in the outbox"
                   + (f", {len(reminders) - len(queued)} not sent" if len(queued) < len(
                       reminders) else ""))

