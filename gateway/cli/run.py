"""`gateway run`: the embedded default (docs/architecture.md, "Who runs the processing"): the
SMTP intake, the IMAP pollers, the web app, a worker, the outbox sender and the scheduler of the
daily jobs (the overdue check and the buyers' digest, `gateway.services.schedule`) in one process
on one machine, with no broker. The message rows are the queue: the worker thread takes what the
channels committed, and what it did not reach before a stop is taken at the next start; the
outbox thread sends what was decided, every few seconds. SIGINT or SIGTERM stops taking messages
in, lets the commits under way finish and be answered, finishes the batch being processed, and
exits 0.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import click

from gateway.bootstrap import make_session_factory
from gateway.cli.context import INTERRUPTED, AppContext, pass_app
from gateway.config import ScheduleSettings, SmtpSettings
from gateway.services.dispatch import InProcessDispatcher
from gateway.services.ingest import UnitOfWork

log = logging.getLogger("gateway.cli.run")
# The web app is built by `gateway.web.app.create_app(settings)` (an ASGI app) once it exists.
WEB_APP_MODULE = "gateway.web.app"


@click.command("run")
@click.option("--smtp-host", help="SMTP address [default: GATEWAY_SMTP_HOST, else 127.0.0.1].")
@click.option("--smtp-port", type=click.IntRange(0, 65535),
              help="SMTP port, 0 for any free one [default: GATEWAY_SMTP_PORT, else 2525].")
@click.option("--mailboxes", "mailbox_file", envvar="GATEWAY_IMAP_MAILBOXES",
              type=click.Path(path_type=Path, dir_okay=False),
              help="IMAP mailboxes to poll [default: GATEWAY_IMAP_MAILBOXES; none].")
@click.option("--web-host", envvar="GATEWAY_WEB_HOST", default="127.0.0.1", show_default=True)
@click.option("--web-port", envvar="GATEWAY_WEB_PORT", default=8000, show_default=True,
              type=click.IntRange(0, 65535))
@click.option("--no-web", is_flag=True, help="Do not serve the web app.")
@pass_app
def run(app: AppContext, smtp_host: str | None, smtp_port: int | None,
        mailbox_file: Path | None, web_host: str, web_port: int, no_web: bool) -> None:
    """Run the gateway on this machine: SMTP (when GATEWAY_SMTP_RECIPIENTS is set), IMAP
    pollers (when mailboxes are configured), the web app, and a worker that processes what
    they take in. Creates or upgrades the database first. Stops cleanly on SIGINT/SIGTERM."""
    requested = _stop_requests()
    from gateway.channels.mailboxes import read_mailbox_file
    from gateway.cli.channels import _log_to_stderr
    from gateway.persistence.schema import upgrade
    from gateway.services.as2_certificates import daily_certificate_check
    from gateway.services.intake_worker import ReceivedWorker
    from gateway.services.schedule import DailyScheduler

    smtp = SmtpSettings.from_env(os.environ)
    schedule = ScheduleSettings.from_env(os.environ)
    smtp = replace(smtp, host=smtp_host or smtp.host,
                   port=smtp.port if smtp_port is None else smtp_port)
    mailboxes = read_mailbox_file(mailbox_file, os.environ) if mailbox_file else []
    _log_to_stderr()
    if app.settings.broker_url is not None:
        log.warning("GATEWAY_BROKER_URL is set, but `gateway run` processes in this process; "
                    "for Celery workers run `gateway smtp`, `gateway imap`, `gateway worker` "
                    "and `gateway beat` instead")
    log.info("database %s at schema %s", app.settings.display_url, upgrade(app.engine))
    if requested.is_set():
        click.echo("gateway: interrupted before it started; nothing was taken in", err=True)
        raise click.exceptions.Exit(INTERRUPTED)
    transaction = make_session_factory(app.engine, app.session_info()).begin
    worker = ReceivedWorker(transaction, None, app.today, app.now,
                            authenticate=app.sender_authentication(),
                            settings=app.pipeline())
    scheduler = DailyScheduler(transaction, schedule, app.now,
                               certificates=daily_certificate_check(os.environ))
    outbox = _outbox_thread(app, transaction)
    dispatcher = InProcessDispatcher(worker.wake)
    stop_threads = threading.Event()
    pollers = _pollers(mailboxes, transaction, app, stop_threads, dispatcher.dispatch)
    web = None if no_web else _web_server(app, web_host, web_port, dispatcher.dispatch)
    worker.start()
    outbox.start()
    scheduler.start()
    log.info("daily jobs: overdue check at %s, digest at %s (%s)",
             schedule.check_overdue_at.strftime("%H:%M"), schedule.digest_at.strftime("%H:%M"),
             schedule.timezone)
    threads = [threading.Thread(target=p.run, name=f"imap-{p.settings.name}")
               for p in pollers]
    for thread in threads:
        thread.start()
    if web is not None:
        web.start()
    try:
        asyncio.run(_serve_smtp(smtp, transaction, app, dispatcher.dispatch, requested))
    finally:
        log.info("stopping: %d mailbox poller(s), web app, scheduler, worker", len(pollers))
        stop_threads.set()
        if web is not None:
            web.stop()
        for thread in threads:
            thread.join()
        scheduler.stop()
        worker.stop()
        outbox.stop()
        log.info("gateway stopped")


def _outbox_thread(app: AppContext, transaction: UnitOfWork) -> Any:
    """The sender of everything the gateway decided to send (gateway.services.outbox)."""
    from gateway.config import OutboundSettings
    from gateway.services.outbox_sender import OutboxSender, OutboxThread, Transports

    settings = OutboundSettings.from_env(os.environ, app.settings.var_dir)
    where = (settings.smtp_url if settings.smtp_url and not settings.drop_all
             else f"dropped into {settings.drop_dir}")
    log.info("outbox: emails %s, every %.0f s", where, settings.poll_seconds)
    sender = OutboxSender(transaction, Transports.from_settings(settings), settings, app.now,
                          f"run@{socket.gethostname()}:{os.getpid()}")
    return OutboxThread(sender, settings.poll_seconds)


def _pollers(mailboxes: list[Any], transaction: UnitOfWork, app: AppContext,
             stop: threading.Event, dispatch: Callable[[list[int]], None]) -> list[Any]:
    from gateway.channels.imap import MailboxPoller

    if not mailboxes:
        log.info("IMAP: no mailboxes configured (GATEWAY_IMAP_MAILBOXES), none polled")
    return [MailboxPoller(m, transaction, app.now, stop, dispatch) for m in mailboxes]


def _stop_requests() -> threading.Event:
    """From now on SIGINT and SIGTERM set the event instead of raising KeyboardInterrupt
    wherever the start happens to be (a worker thread already started would then keep the
    process alive); the SMTP loop takes the signals over once it runs."""
    requested = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
    return requested


async def _serve_smtp(smtp: SmtpSettings, transaction: UnitOfWork, app: AppContext,
                      dispatch: Callable[[list[int]], None],
                      requested: threading.Event) -> None:
    """Serve SMTP (if configured) until SIGINT or SIGTERM, also one that came during the
    start (`requested`); then stop it gracefully."""
    from gateway.channels.smtp import build_server

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if requested.is_set():
        stop.set()
    if not smtp.recipients:
        log.info("SMTP: not started, GATEWAY_SMTP_RECIPIENTS is not set")
        await stop.wait()
        return
    server = build_server(smtp, transaction, app.now, smtp.hostname or socket.getfqdn(),
                          dispatch)
    await server.serve(stop)


class _WebServer:
    """uvicorn in a thread of its own: off the main thread it leaves the signals to us."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.run, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def _web_server(app: AppContext, host: str, port: int,
                dispatch: Callable[[Sequence[int]], None]) -> _WebServer | None:
    try:
        module = importlib.import_module(WEB_APP_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != WEB_APP_MODULE:
            raise
        log.info("web app: not served, this build has no %s", WEB_APP_MODULE)
        return None
    try:
        import uvicorn
    except ModuleNotFoundError:
        log.warning("web app: not served, uvicorn is not installed")
        return None
    asgi = module.create_app(app.settings, dispatch=dispatch)
    # The standard asyncio loop, not uvloop: with uvloop running in this thread, SIGINT ended
    # `gateway run` as an interrupt (exit 130) instead of its orderly stop
    # (tests/integration/test_run.py).
    config = uvicorn.Config(asgi, host=host, port=port, log_config=None, access_log=False,
                            loop="asyncio")
    log.info("web app on http://%s:%d", host, port)
    return _WebServer(uvicorn.Server(config))
