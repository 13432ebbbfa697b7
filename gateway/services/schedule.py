"""The in-process scheduler of `gateway run`: the daily jobs at their time of day.

One thread wakes at the next configured time (`GATEWAY_CHECK_OVERDUE_AT`,
`GATEWAY_DIGEST_AT`, on the wall clock of `GATEWAY_SCHEDULE_TIMEZONE`), runs what is due
(`watch.run_daily_jobs`, one transaction: the overdue check, SLA escalation, reminders,
the digest, and the AS2 certificate expiry check when AS2 is configured) and sleeps again.
Whether a job is due is decided from `scheduled_runs` in the database, not from the thread's
memory: a process started after the hour runs the day's job once, late; a restart, `gateway
beat` next to it, or a second `gateway run` on the same database does not run it twice. The
clock and the wait are passed in, so tests move time without sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from gateway.config import ScheduleSettings
from gateway.domain.alerts import next_run
from gateway.services.as2_certificates import CertificateCheck
from gateway.services.failures import TRANSIENT
from gateway.services.ingest import UnitOfWork
from gateway.services.watch import DailyRun, run_daily_jobs

log = logging.getLogger(__name__)
# Never sleep longer than this: a changed wall clock (suspend, NTP step) is noticed within it.
MAX_NAP_SECONDS = 300.0


class DailyScheduler:
    def __init__(self, transaction: UnitOfWork, settings: ScheduleSettings,
                 now: Callable[[], datetime],
                 wait: Callable[[float], bool] | None = None,
                 certificates: CertificateCheck | None = None) -> None:
        """`wait(seconds)` returns True when the scheduler is to stop (default: a stop
        event's `wait`, set by `stop`); `certificates`: the AS2 certificate expiry check,
        run daily with the overdue check (when AS2 is configured)."""
        self.transaction = transaction
        self.certificates = certificates
        self.settings = settings
        self.now = now
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def tick(self) -> DailyRun:
        """Run the jobs that are due now, in one transaction."""
        moment = self.now()
        zone = self.settings.zone
        with self.transaction() as session:
            done = run_daily_jobs(session, moment.astimezone(zone).date(), moment,
                                  self.settings.check_overdue_at, self.settings.digest_at, zone,
                                  certificates=self.certificates)
        for name in done.ran:
            log.info("scheduled %s ran: %d overdue, %d escalated, %d digest(s)", name,
                     done.overdue, done.escalated, done.digests)
        return done

    def seconds_to_next(self) -> float:
        moment = self.now()
        nearest = min(next_run(at, moment, self.settings.zone)
                      for at in (self.settings.check_overdue_at, self.settings.digest_at))
        return min(max((nearest - moment).total_seconds(), 0.0), MAX_NAP_SECONDS)

    def run(self) -> None:
        while True:
            try:
                self.tick()
            except TRANSIENT as exc:   # the database is away: the next wake tries again
                log.warning("scheduled jobs deferred: %s", type(exc).__name__)
            if self._wait(self.seconds_to_next()):
                return

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
