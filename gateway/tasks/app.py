"""The Celery app, built from settings by `create_app` (no app exists at import time).

Tasks (names are the wire contract between processes; arguments are ids, never payloads):

- `gateway.process_messages(ids)`: claim (under the worker's node name) and process
  `received` messages in arrival order (`gateway.services.pipeline.process_ids`). Late
  acknowledgement and reject-on-worker-lost: a pool process killed mid-task sends the task
  back to the queue at once. A worker killed whole leaves its transaction rolled back and the
  task unacknowledged on the broker (RabbitMQ requeues it when the connection drops, Redis
  only after the visibility timeout); its heartbeat stops, and within `worker_lost_seconds`
  plus a heartbeat another worker or the sweeper publishes its messages again
  (`gateway.services.worker_liveness`). The state machine makes a second run process each
  message once. A transient error is retried with exponential back-off and full jitter, at
  most `max_retries` times; then the messages are `failed` with the reason.
- `gateway.daily_jobs()`: sent by `gateway beat` every minute; runs the daily jobs that are due
  (`gateway.services.watch.run_daily_jobs`): the overdue check, SLA escalation and supplier
  reminders at `GATEWAY_CHECK_OVERDUE_AT`, the buyers' digest at `GATEWAY_DIGEST_AT` (wall
  clock of `GATEWAY_SCHEDULE_TIMEZONE`), and the AS2 certificate expiry check with the overdue
  check when `GATEWAY_AS2_PARTNERS` names the partner file. Whether a job is due is read
  from `scheduled_runs` under a row lock in the job's transaction, so a late beat runs the
  day's job once, late, and two deliveries of the task run it once.
- `gateway.sweep()`: run by `gateway beat` every `sweep_seconds`; publishes again the messages
  of lost workers, and each message still `received` `stuck_seconds` after its task was
  published (a publish lost with its process, a broker that was down, a task lost with a
  broker), so a lost task costs latency, never data.

- `gateway.send_outbound()`: run by `gateway beat` every `GATEWAY_OUTBOUND_POLL_SECONDS`
  (and by anyone who wants the outbox sent now); gives back outbound rows whose sender died
  mid-attempt and sends what is due (`gateway.services.outbox_sender`). Several at once are
  safe: each claims its own rows (`FOR UPDATE SKIP LOCKED`). It publishes itself again while
  due rows remain after `OUTBOUND_BATCHES_PER_TASK` batches, so one task never holds a
  worker for long.

One worker process takes one task at a time (prefetch multiplier 1 with late
acknowledgement): a long batch never holds back tasks another worker could take.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import (
    MailAuthSettings,
    OutboundSettings,
    PipelineSettings,
    ScheduleSettings,
    Settings,
    checked_broker_url,
)
from gateway.persistence.queries import chunked
from gateway.services.pipeline import (
    TRANSIENT,
    ProcessingDeferred,
    describe,
    give_up,
    mark_enqueued,
    process_ids,
    retry_delay,
    stuck_messages,
)
from gateway.services.unit_of_work import UnitOfWork
from gateway.services.worker_liveness import publish_again, take_over_lost

if TYPE_CHECKING:
    from gateway.services.mail_auth import Authenticate

log = logging.getLogger(__name__)

PROCESS_MESSAGES = "gateway.process_messages"
SWEEP = "gateway.sweep"
DAILY_JOBS = "gateway.daily_jobs"
DAILY_JOBS_SECONDS = 60.0
SEND_OUTBOUND = "gateway.send_outbound"
OUTBOUND_BATCHES_PER_TASK = 10
# Redis redelivers an unacknowledged task after this long (kombu's default, one hour); it must
# exceed the longest task including a retry's countdown (`retry_max_seconds`). A task lost with
# its worker is normally published again by the sweeper long before.
VISIBILITY_TIMEOUT_SECONDS = 3600


class _Runtime:
    """The database side of a worker process, made on first use in the process that uses it:
    a prefork child must not share the parent's connections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._pid = 0
        self.mail_auth = MailAuthSettings()
        self._authenticate: Authenticate | None = None

    @property
    def authenticate(self) -> Authenticate:
        """Built on first use in the worker process (it loads the Public Suffix List)."""
        if self._authenticate is None:
            from gateway.services.mail_auth import SenderAuthentication

            self._authenticate = SenderAuthentication.from_settings(self.mail_auth)
        return self._authenticate

    @property
    def transaction(self) -> UnitOfWork:
        if self._sessions is None or self._pid != os.getpid():
            if self._engine is not None:
                self._engine.dispose(close=False)
            self._engine = make_engine(self.settings)
            from gateway.services.replies import replier_info

            self._sessions = make_session_factory(self._engine, replier_info(os.environ))
            self._pid = os.getpid()
        return self._sessions.begin

    def close(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, pipeline: PipelineSettings,
               today: Callable[[], date] | None = None,
               mail_auth: MailAuthSettings | None = None,
               outbound: OutboundSettings | None = None,
               schedule: ScheduleSettings | None = None,
               clock: Callable[[], datetime] | None = None) -> Celery:
    """`mail_auth` None: the default sender authentication (gateway.config.MailAuthSettings)
    with the system's DNS; `outbound` None: the outbox's defaults (emails dropped into
    `<var>/outbox`); `schedule` None: the default times of the daily jobs
    (gateway.config.ScheduleSettings). `clock` (tests): the time the daily jobs see."""
    outbound = outbound or OutboundSettings(drop_dir=settings.var_dir / "outbox")
    broker = checked_broker_url(settings)
    app = Celery("gateway", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=pipeline.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        # A broker lost while an acknowledged-late task runs redelivers that task anyway: the
        # running copy is cancelled (its transaction rolls back) instead of finishing twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        beat_schedule={"sweep": {"task": SWEEP, "schedule": pipeline.sweep_seconds,
                                 "options": {"expires": max(pipeline.sweep_seconds, 1.0)}},
                       "send-outbound": {"task": SEND_OUTBOUND,
                                         "schedule": outbound.poll_seconds,
                                         "options": {"expires": max(outbound.poll_seconds,
                                                                    1.0)}},
                       "daily-jobs": {"task": DAILY_JOBS, "schedule": DAILY_JOBS_SECONDS,
                                      "options": {"expires": DAILY_JOBS_SECONDS}}},
        beat_max_loop_interval=max(1.0, min(pipeline.sweep_seconds, 60.0)),
        worker_hijack_root_logger=True,
    )
    runtime = _Runtime(settings)
    runtime.mail_auth = mail_auth or MailAuthSettings()
    clock_today = today or (lambda: now().date())
    # shared=False: Celery's default gives a task to every app of the process, so a second
    # app (other settings) would run the first one's closures.
    app.task(name=PROCESS_MESSAGES, bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=pipeline.max_retries, ignore_result=True, shared=False)(
        _process_messages_task(runtime, pipeline, clock_today))
    app.task(name=SWEEP, bind=True, ignore_result=True, shared=False)(
        _sweep_task(app, runtime, pipeline))
    app.task(name=SEND_OUTBOUND, bind=True, ignore_result=True, shared=False)(
        _send_outbound_task(app, runtime, outbound))
    app.task(name=DAILY_JOBS, ignore_result=True, shared=False)(
        _daily_jobs_task(runtime, schedule or ScheduleSettings(), clock or now))
    return app


def _send_outbound_task(app: Celery, runtime: _Runtime,
                        outbound: OutboundSettings) -> Callable[..., int]:
    def send_outbound(task: Task[Any, Any]) -> int:
        from gateway.services.outbox_sender import OutboxSender, Transports

        sender = OutboxSender(runtime.transaction, Transports.from_settings(outbound),
                              outbound, now, task.request.hostname or "celery")
        try:
            sender.sweep()
            report = sender.drain(max_batches=OUTBOUND_BATCHES_PER_TASK)
        except TRANSIENT as exc:   # the next beat tries again
            log.warning("send_outbound skipped: %s", describe(exc))
            return 0
        if report.sent or report.failed or report.retrying:
            log.info("outbox: %d sent, %d to retry, %d failed", len(report.sent),
                     len(report.retrying), len(report.failed))
        batches = len(report.sent) + len(report.failed) + len(report.retrying)
        if not report.untried and batches >= OUTBOUND_BATCHES_PER_TASK * outbound.batch_size:
            app.send_task(SEND_OUTBOUND, queue=app.conf.task_default_queue)
        return len(report.sent)

    return send_outbound


def _daily_jobs_task(runtime: _Runtime, schedule: ScheduleSettings,
                     clock: Callable[[], datetime]) -> Callable[[], list[str]]:
    def daily_jobs() -> list[str]:
        from gateway.services.as2_certificates import daily_certificate_check
        from gateway.services.watch import run_daily_jobs

        moment = clock()
        zone = schedule.zone
        try:
            with runtime.transaction() as session:
                done = run_daily_jobs(session, moment.astimezone(zone).date(), moment,
                                      schedule.check_overdue_at, schedule.digest_at, zone,
                                      certificates=daily_certificate_check(os.environ))
        except TRANSIENT as exc:   # the next beat tries again
            log.warning("daily jobs deferred: %s", describe(exc))
            return []
        for name in done.ran:
            log.info("scheduled %s ran: %d overdue, %d escalated, %d digest(s)", name,
                     done.overdue, done.escalated, done.digests)
        return list(done.ran)

    return daily_jobs


def _process_messages_task(runtime: _Runtime, pipeline: PipelineSettings,
                           today: Callable[[], date]) -> Callable[..., int]:
    def process_messages(task: Task[Any, Any], message_ids: list[int]) -> int:
        ids = sorted({int(message_id) for message_id in message_ids})
        try:
            reports = process_ids(runtime.transaction, ids, today(), now,
                                  pipeline.max_attempts, pipeline.batch_size,
                                  runtime.authenticate, worker=task.request.hostname)
        except ProcessingDeferred as exc:
            retries = task.request.retries
            if retries >= pipeline.max_retries:
                return _give_up(runtime, ids, retries, str(exc))
            delay = retry_delay(retries, pipeline.retry_base_seconds,
                                pipeline.retry_max_seconds)
            log.warning("%d message(s) deferred (%s); retry %d of %d in %.1f s", len(ids), exc,
                        retries + 1, pipeline.max_retries, delay)
            raise task.retry(exc=exc, countdown=delay, max_retries=pipeline.max_retries) \
                from None
        for report in reports:
            if report.found_done:
                # Another worker took it first (its task was published twice): said apart,
                # so that one "reconciled" line is logged per message.
                log.info("message #%d: %s by another run, nothing done", report.message_id,
                         report.state.value)
            else:
                log.info("message #%d %s", report.message_id, report.state.value)
        return len(reports)

    return process_messages


def _give_up(runtime: _Runtime, ids: list[int], retries: int, error: str) -> int:
    try:
        failed = give_up(runtime.transaction, ids, retries, error, now())
    except ProcessingDeferred as exc:
        log.error("%d message(s) past the retry cap cannot be marked failed (%s): they stay "
                  "`received` and the sweeper publishes them again", len(ids), exc)
        return 0
    return len(failed)


def _sweep_task(app: Celery, runtime: _Runtime,
                pipeline: PipelineSettings) -> Callable[..., int]:
    def sweep(task: Task[Any, Any]) -> int:
        moment = now()
        try:
            with runtime.transaction() as session:
                lost = take_over_lost(session, moment, pipeline.worker_lost_seconds,
                                      task.request.hostname)
            if lost:
                publish_again(lambda ids: publish_batches(app, ids, pipeline.batch_size), lost,
                              f"a worker silent for over {pipeline.worker_lost_seconds:.0f} s")
            with runtime.transaction() as session:
                ids = stuck_messages(session, moment, pipeline.stuck_seconds)
        except TRANSIENT as exc:   # the next sweep tries again
            log.warning("sweep skipped: %s", describe(exc))
            return 0
        if not ids:
            return 0
        publish_batches(app, ids, pipeline.batch_size)
        with runtime.transaction() as session:
            mark_enqueued(session, ids, moment)
        log.warning("sweeper published %d message(s) still `received` after %.0f s "
                    "(#%d-#%d)", len(ids), pipeline.stuck_seconds, ids[0], ids[-1])
        return len(ids)

    return sweep


def publish_batches(app: Celery, message_ids: list[int], batch_size: int) -> None:
    for batch in chunked(message_ids, batch_size):
        publish(app, batch)


def publish(app: Celery, message_ids: list[int]) -> None:
    """One `process_messages` task for these ids (call only after their commit)."""
    app.send_task(PROCESS_MESSAGES, args=[message_ids],
                  queue=app.conf.task_default_queue,
                  retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                            "interval_step": 0.5, "interval_max": 1.0})
