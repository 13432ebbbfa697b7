"""`gateway imap`: poll the configured IMAP mailboxes (file format: channels/mailboxes.py)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from gateway.bootstrap import configure_logging, make_session_factory
from gateway.cli.context import AppContext, pass_app
from gateway.cli.terminal import visible
from gateway.errors import ConfigurationError

if TYPE_CHECKING:
    from gateway.channels.mailboxes import MailboxSettings
    from gateway.services.ingest import UnitOfWork
    from gateway.services.intake_worker import ReceivedWorker

log = logging.getLogger("gateway.cli.imap")


@click.command("imap")
@click.option("--mailboxes", "mailbox_file", envvar="GATEWAY_IMAP_MAILBOXES",
              type=click.Path(path_type=Path, dir_okay=False),
              help="TOML or YAML file naming the mailboxes [default: GATEWAY_IMAP_MAILBOXES].")
@click.option("--once", is_flag=True,
              help="Poll each mailbox once, process what came in, and exit (status 1 when a "
                   "mailbox could not be polled).")
@click.option("--no-process", is_flag=True,
              help="Only take mail in; leave the messages `received` for another worker.")
@click.option("--status", "show_status", is_flag=True,
              help="Print each mailbox's position and health, and exit.")
@pass_app
def imap(app: AppContext, mailbox_file: Path | None, once: bool, no_process: bool,
         show_status: bool) -> None:
    """Take supplier mail in from IMAP mailboxes: each message is archived and committed, then
    moved to the processed folder, then processed. Between polls it waits in IDLE where the
    server offers it. Stops on SIGINT or SIGTERM after the batch under way."""
    from gateway.channels.imap import CHANNEL
    from gateway.channels.mailboxes import read_mailbox_file
    from gateway.cli.worker import celery_dispatcher
    from gateway.services.intake_worker import ReceivedWorker

    if show_status:
        _print_status(app)
        return
    if mailbox_file is None:
        raise ConfigurationError("no mailboxes configured: pass --mailboxes FILE or set "
                                 "GATEWAY_IMAP_MAILBOXES (see README, 'IMAP mailboxes')")
    mailboxes = read_mailbox_file(mailbox_file, os.environ)
    _log_to_stderr()
    _check_schema(app)
    transaction = make_session_factory(app.engine, app.session_info()).begin
    if app.settings.broker_url is not None and not no_process:
        # Celery workers process what is taken in; --once publishes before it exits.
        with celery_dispatcher(app) as dispatcher:
            _poll(mailboxes, transaction, app, once, dispatcher.dispatch)
        return
    worker = ReceivedWorker(transaction, [CHANNEL], app.today, app.now,
                            authenticate=app.sender_authentication(),
                            settings=app.pipeline())
    background = not (no_process or once)
    if background:
        worker.start()
    try:
        _poll(mailboxes, transaction, app, once, worker.wake if background else _nothing)
    finally:
        if once and not no_process:
            _drain(worker)
        worker.stop()


def _nothing(_message_ids: list[int]) -> None:
    """--no-process and --once: nothing is handed on while polling."""


def _poll(mailboxes: list[MailboxSettings], transaction: UnitOfWork, app: AppContext,
          once: bool, dispatch: Callable[[list[int]], None]) -> None:
    """Poll with the ids handed to `dispatch`: until stopped, or once (exit status 1 when a
    mailbox could not be polled)."""
    from gateway.channels.imap import MailboxPoller

    stop = threading.Event()
    pollers = [MailboxPoller(m, transaction, app.now, stop, dispatch) for m in mailboxes]
    with _stop_on_signals(stop):
        if once:
            failed = [p.settings.name for p in pollers if not p.run(once=True)]
            if failed:
                click.echo(f"could not poll: {', '.join(failed)} (see the log above)", err=True)
                sys.exit(1)
            return
        threads = [threading.Thread(target=p.run, name=f"imap-{p.settings.name}")
                   for p in pollers]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.5)


def _check_schema(app: AppContext) -> None:
    """A database without the schema is a mistake to report; one that is down is an outage
    the pollers ride out (they leave the mail untouched and try again)."""
    from gateway.persistence.schema import current_revision

    try:
        revision = current_revision(app.engine)
    except OperationalError as exc:
        log.warning("the database is unavailable (%s); polling will start once it is back",
                    str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)
        return
    if revision is None:
        raise ConfigurationError(f"{app.settings.display_url} holds no gateway schema; run "
                                 "`gateway init` first")


def _drain(worker: ReceivedWorker) -> None:
    try:
        while worker.run_once():
            pass
    except SQLAlchemyError as exc:
        log.warning("processing stopped, the messages stay `received`: %s", type(exc).__name__)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handle(number: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after the batch under way", signal.Signals(number).name)
        stop.set()

    previous = {number: signal.signal(number, handle)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _print_status(app: AppContext) -> None:
    from gateway.services.connector_status import all_statuses

    with app.transaction() as session:
        rows = all_statuses(session)
    if not rows:
        click.echo("no mailbox has been polled yet")
    for row in rows:
        click.echo(f"{row.connector} {visible(row.name)}: UIDVALIDITY {row.uidvalidity}, last UID "
                   f"{row.last_uid}, {row.messages_taken_in} message(s) taken in, last success "
                   f"{_when(row.last_success_at)}, {row.consecutive_failures} failure(s) in a row")
        if row.last_error:
            click.echo(f"  last error ({_when(row.last_error_at)}): {visible(row.last_error)}")
        if row.notice:
            click.echo(f"  notice ({_when(row.notice_at)}): {visible(row.notice)}")


def _when(moment: object) -> str:
    return "never" if moment is None else str(moment)


def _log_to_stderr() -> None:
    # JSON lines; imapclient, which logs protocol lines (LOGIN arguments among them) at DEBUG,
    # is held at WARNING there.
    configure_logging()
