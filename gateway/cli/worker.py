"""`gateway worker` and `gateway beat`: the Celery processes of the production deployment;
and `open_dispatcher`, how a channel command hands archived messages on (to Celery when
GATEWAY_BROKER_URL is set, else to a worker thread of its own)."""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click

from gateway.bootstrap import configure_logging, make_session_factory, tune_garbage_collector
from gateway.cli.context import AppContext, pass_app
from gateway.config import (
    MailAuthSettings,
    OutboundSettings,
    PipelineSettings,
    ScheduleSettings,
    checked_broker_url,
)
from gateway.services.dispatch import Dispatcher

log = logging.getLogger("gateway.cli.worker")
POOLS = ("prefork", "threads", "solo")


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(min=1),
              help="Worker processes (threads with --pool threads) [default: CPU count].")
@click.option("--pool", type=click.Choice(POOLS), default="prefork", show_default=True,
              help="prefork: one process per task (a crash loses one task, never the "
                   "worker); solo: in this process; threads: for I/O-bound debugging.")
@click.option("--loglevel", "-l", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--hostname", "-n", help="Node name [default: gateway-PID@this host].")
@pass_app
def worker(app: AppContext, concurrency: int | None, pool: str, loglevel: str,
           hostname: str | None) -> None:
    """Process archived messages: take `process_messages` and `sweep` tasks from the broker
    (GATEWAY_BROKER_URL) and write to the database (GATEWAY_DATABASE_URL). Run as many as the
    load needs, on as many machines; SIGTERM or SIGINT stops after the tasks under way."""
    from celery.concurrency import get_implementation
    from celery.signals import worker_process_init
    from celery.utils.nodenames import default_nodename

    from gateway.services.worker_liveness import Heartbeat
    from gateway.tasks.app import create_app, publish_batches

    checked_broker_url(app.settings)
    _log_json()
    pipeline = PipelineSettings.from_env(os.environ)
    celery = create_app(app.settings, pipeline, app.today, MailAuthSettings.from_env(os.environ),
                        OutboundSettings.from_env(os.environ, app.settings.var_dir),
                        ScheduleSettings.from_env(os.environ))
    # A pool process runs the parsing and reconciling: it gets the entry point's collector
    # settings too (a spawned one has none of its parent's; a forked one inherits the
    # threshold, and the worker's own start-up objects are frozen out of its collections).
    worker_process_init.connect(_tune_pool_process, weak=False)
    node = hostname or f"gateway-{os.getpid()}@{socket.gethostname()}"
    # Mingle and gossip synchronise revoked task ids between workers, which this pipeline
    # never uses; without them a worker starts at once and sends no broadcast traffic.
    runner = celery.Worker(hostname=node, pool_cls=get_implementation(pool),
                           concurrency=concurrency or os.cpu_count() or 1,
                           loglevel=loglevel.upper(), without_mingle=True,
                           without_gossip=True, quiet=True)
    # The heartbeat's connections belong to this process: a pool process forked from it must
    # not use or close them (SQLAlchemy, "Using Connection Pools with Multiprocessing").
    worker_process_init.connect(lambda **_: app.engine.dispose(close=False), weak=False)
    # Celery's own form of the name (`celery@` added when it has no `@`): the one its tasks
    # see as `request.hostname` and claim messages under.
    heartbeat = Heartbeat(make_session_factory(app.engine).begin, default_nodename(node), app.now,
                          pipeline.heartbeat_seconds, pipeline.worker_lost_seconds,
                          lambda ids: publish_batches(celery, ids, pipeline.batch_size))
    heartbeat.start()
    try:
        runner.start()
    finally:
        heartbeat.stop()
        app.close()
    raise SystemExit(runner.exitcode)


def _log_json() -> None:
    """JSON lines like every other gateway process, from the first line on. Celery configures
    logging itself (plain text, the root logger taken over, stdout redirected) unless a
    receiver of its `setup_logging` signal does it; and it prints its shutdown notices
    ("worker: Warm shutdown (MainProcess)") instead of logging them: they are logged here."""
    from celery.apps import worker as celery_worker
    from celery.signals import setup_logging

    configure_logging()
    setup_logging.connect(_configure_json_logging, weak=False)
    setattr(celery_worker, "safe_say", _log_notice)  # noqa: B010 - untyped module


def _log_notice(message: str, *_stream: object) -> None:
    logging.getLogger("celery.apps.worker").warning("%s", message.strip())


def _configure_json_logging(loglevel: int | str | None = None, **_signal: object) -> None:
    level = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
    configure_logging(level if isinstance(level, int) else logging.INFO)


def _tune_pool_process(**_signal: object) -> None:
    tune_garbage_collector()
    log.info("pool process %d: garbage collector threshold %s", os.getpid(),
             gc.get_threshold())


@click.command()
@click.option("--loglevel", "-l", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@pass_app
def beat(app: AppContext, loglevel: str) -> None:
    """Send the sweeper's task every GATEWAY_PIPELINE_SWEEP_SECONDS: it publishes again what
    is still `received` after GATEWAY_PIPELINE_STUCK_SECONDS; the outbox sender's every
    GATEWAY_OUTBOUND_POLL_SECONDS; and the daily jobs' task every minute: a worker runs the
    overdue check at GATEWAY_CHECK_OVERDUE_AT and the digest at GATEWAY_DIGEST_AT once a day.
    Run exactly one."""
    from gateway.tasks.app import create_app

    checked_broker_url(app.settings)
    _log_json()
    celery = create_app(app.settings, PipelineSettings.from_env(os.environ), app.today,
                        outbound=OutboundSettings.from_env(os.environ, app.settings.var_dir))
    app.settings.var_dir.mkdir(parents=True, exist_ok=True)
    schedule = app.settings.var_dir / "beat-schedule"
    celery.Beat(loglevel=loglevel.upper(), schedule=str(schedule), quiet=True).run()


@contextmanager
def open_dispatcher(app: AppContext, channels: Sequence[str] | None) -> Iterator[Dispatcher]:
    """For a channel command: a Celery publisher when GATEWAY_BROKER_URL is set, else a worker
    thread in this process that processes the messages of `channels` (None: all)."""
    if app.settings.broker_url is not None:
        with celery_dispatcher(app) as dispatcher:
            yield dispatcher
        return
    from gateway.services.dispatch import InProcessDispatcher
    from gateway.services.intake_worker import ReceivedWorker

    transaction = make_session_factory(app.engine, app.session_info()).begin
    thread = ReceivedWorker(transaction, channels, app.today, app.now,
                            authenticate=app.sender_authentication(),
                            settings=app.pipeline())
    thread.start()
    try:
        yield InProcessDispatcher(thread.wake)
    finally:
        thread.stop()


@contextmanager
def celery_dispatcher(app: AppContext) -> Iterator[Dispatcher]:
    from kombu.utils.url import maybe_sanitize_url

    from gateway.services.dispatch import BatchPublisher
    from gateway.tasks.app import create_app, publish

    broker = checked_broker_url(app.settings)
    pipeline = PipelineSettings.from_env(os.environ)
    celery = create_app(app.settings, pipeline, app.today)
    publisher = BatchPublisher(lambda ids: publish(celery, ids), pipeline.batch_size)
    log.info("archived messages go to the %r queue of %s", pipeline.queue,
             maybe_sanitize_url(broker))
    publisher.start()
    try:
        yield publisher
    finally:
        publisher.stop()
        celery.close()
