"""The daily jobs fire at their configured time of day, once a day, in the scheduler of
`gateway run` and in the Celery task `gateway beat` sends; the clock is injected, nothing
sleeps."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.bootstrap import make_engine
from gateway.config import PipelineSettings, ScheduleSettings, Settings
from gateway.errors import ConfigurationError
from gateway.persistence.models import ScheduledRunRow
from gateway.persistence.schema import upgrade
from gateway.services.schedule import DailyScheduler
from tests.integration.conftest import transactions

Transactions = Callable[[], AbstractContextManager[Session]]
BERLIN = ScheduleSettings(time(6, 0), time(7, 30), "Europe/Berlin")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def begin(engine: Engine) -> Transactions:
    return transactions(engine, {}, datetime(2026, 12, 6, tzinfo=UTC))


def runs(begin: Transactions) -> dict[str, datetime]:
    with begin() as session:
        return {row.name: row.last_run_at.replace(tzinfo=UTC)
                for row in session.scalars(select(ScheduledRunRow))
                if row.last_run_at.year > 1970}   # the migration's "never"


def test_every_daily_job_has_its_row_to_lock_from_the_start(begin: Transactions) -> None:
    with begin() as session:
        assert sorted(session.scalars(select(ScheduledRunRow.name))) == [
            "as2-certificates", "check-overdue", "digest"]
    assert runs(begin) == {}


def test_the_overdue_check_fires_at_its_local_time_and_once(begin: Transactions) -> None:
    # 04:59 UTC is 05:59 in Berlin in December.
    clock = Clock(datetime(2026, 12, 6, 4, 59, tzinfo=UTC))
    scheduler = DailyScheduler(begin, BERLIN, clock.now)
    assert scheduler.tick().ran == ()
    assert scheduler.seconds_to_next() == 60
    clock.advance(60)
    assert scheduler.tick().ran == ("check-overdue",)
    assert scheduler.tick().ran == ()
    for _nap in range(18):   # naps of at most 5 minutes up to 07:30 Berlin
        clock.advance(scheduler.seconds_to_next())
        if (ran := scheduler.tick().ran) != ():
            break
    assert (ran, clock.now()) == (("digest",), datetime(2026, 12, 6, 6, 30, tzinfo=UTC))
    assert runs(begin) == {"check-overdue": datetime(2026, 12, 6, 5, 0, tzinfo=UTC),
                           "digest": datetime(2026, 12, 6, 6, 30, tzinfo=UTC)}


def test_a_scheduler_started_after_the_hour_runs_the_day_once_and_a_second_does_not(
        begin: Transactions) -> None:
    clock = Clock(datetime(2026, 12, 6, 11, 0, tzinfo=UTC))
    first = DailyScheduler(begin, BERLIN, clock.now)
    second = DailyScheduler(begin, BERLIN, clock.now)
    assert first.tick().ran == ("check-overdue", "digest")
    assert second.tick().ran == ()
    clock.advance(24 * 3600)
    assert second.tick().ran == ("check-overdue", "digest")


def test_the_loop_wakes_at_each_configured_time_without_sleeping(begin: Transactions) -> None:
    clock = Clock(datetime(2026, 12, 6, 4, 0, tzinfo=UTC))
    fired: list[tuple[str, datetime]] = []

    def wait(seconds: float) -> bool:
        clock.waits.append(seconds)
        clock.advance(seconds)
        return clock.now() >= datetime(2026, 12, 7, 7, 0, tzinfo=UTC)

    scheduler = DailyScheduler(begin, BERLIN, clock.now, wait)
    original = scheduler.tick

    def tick() -> object:
        done = original()
        fired.extend((name, clock.now()) for name in done.ran)
        return done

    scheduler.tick = tick  # type: ignore[method-assign]
    scheduler.run()
    assert fired == [
        ("check-overdue", datetime(2026, 12, 6, 5, 0, tzinfo=UTC)),
        ("digest", datetime(2026, 12, 6, 6, 30, tzinfo=UTC)),
        ("check-overdue", datetime(2026, 12, 7, 5, 0, tzinfo=UTC)),
        ("digest", datetime(2026, 12, 7, 6, 30, tzinfo=UTC))]
    assert max(clock.waits) <= 300


def test_the_celery_task_runs_what_is_due_and_beat_sends_it(tmp_path: Path) -> None:
    """On SQLite: the app's worker-side engine lives as long as the process."""
    from gateway.tasks.app import DAILY_JOBS, create_app

    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path,
                        "redis://127.0.0.1:6379/15")
    engine = make_engine(settings)
    upgrade(engine)
    begin = transactions(engine, {}, datetime(2026, 12, 6, tzinfo=UTC))
    clock = Clock(datetime(2026, 12, 6, 4, 59, tzinfo=UTC))
    app = create_app(settings, PipelineSettings(), schedule=BERLIN, clock=clock.now)
    assert app.conf.beat_schedule["daily-jobs"]["task"] == DAILY_JOBS
    task = app.tasks[DAILY_JOBS]
    assert task() == []
    clock.advance(60)
    assert task() == ["check-overdue"]
    assert task() == []
    assert set(runs(begin)) == {"check-overdue"}
    engine.dispose()


def test_schedule_settings_from_the_environment() -> None:
    settings = ScheduleSettings.from_env({"GATEWAY_CHECK_OVERDUE_AT": "05:45",
                                          "GATEWAY_DIGEST_AT": "18:00",
                                          "GATEWAY_SCHEDULE_TIMEZONE": "Asia/Shanghai"})
    assert (settings.check_overdue_at, settings.digest_at, settings.zone) == (
        time(5, 45), time(18, 0), ZoneInfo("Asia/Shanghai"))
    assert ScheduleSettings.from_env({}) == ScheduleSettings(time(6, 0), time(7, 0), "UTC")
    with pytest.raises(ConfigurationError, match="HH:MM"):
        ScheduleSettings.from_env({"GATEWAY_DIGEST_AT": "7am"})
    with pytest.raises(ConfigurationError, match="time zone"):
        ScheduleSettings.from_env({"GATEWAY_SCHEDULE_TIMEZONE": "Mars/Olympus"})


def _partner_file_with_acme_ending_in(days: int, folder: Path) -> Path:
    from tests.as2_material import make_party

    make_party(folder, "ours", days=365)
    make_party(folder, "acme", days=days)
    (folder / "ours.key").chmod(0o600)
    path = folder / "partners.toml"
    path.write_text('[as2]\ncertificate_warn_days = 10\n[[as2.stations]]\n'
                    'as2_id = "BUYER-AS2"\nkey = "ours.key"\ncertificate = "ours.pem"\n\n'
                    '[[suppliers]]\ncode = "ACME"\nas2_id = "ACME-AS2"\n[suppliers.as2]\n'
                    'certificates = ["acme.pem"]\n')
    return path


def test_the_as2_certificate_check_runs_daily_with_one_exception_per_certificate(
        begin: Transactions, tmp_path: Path) -> None:
    from gateway.persistence.models import ConnectorStatusRow, ExceptionRow
    from gateway.services.as2_certificates import daily_certificate_check

    check = daily_certificate_check(
        {"GATEWAY_AS2_PARTNERS": str(_partner_file_with_acme_ending_in(5, tmp_path))})
    assert check is not None
    assert daily_certificate_check({}) is None   # no AS2: no job
    clock = Clock(datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0))
    scheduler = DailyScheduler(begin, ScheduleSettings(time(4, 0), time(7, 0)), clock.now,
                               certificates=check)
    assert scheduler.tick().ran == ()
    clock.advance(3600)
    done = scheduler.tick()
    assert (done.ran, done.certificates) == (("check-overdue", "as2-certificates"), 1)
    assert scheduler.tick().ran == ()
    clock.advance(24 * 3600)
    assert "as2-certificates" in scheduler.tick().ran
    with begin() as session:
        (row,) = session.scalars(select(ExceptionRow)).all()
        assert (row.code, row.supplier_code, row.occurrences, row.state) == (
            "CERTIFICATE_EXPIRING", "ACME", 2, "open")
        assert "CN=acme" in (row.actual or "")
        status = session.scalars(select(ConnectorStatusRow).where(
            ConnectorStatusRow.connector == "as2")).one()
        assert status.name == "certificates"
        assert (status.notice or "").startswith("1 AS2 certificate(s) end within 10 days: "
                                                "partner ACME-AS2: CN=acme ends ")


def test_the_celery_daily_task_runs_the_as2_certificate_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.persistence.models import ExceptionRow
    from gateway.tasks.app import DAILY_JOBS, create_app

    monkeypatch.setenv("GATEWAY_AS2_PARTNERS",
                       str(_partner_file_with_acme_ending_in(3, tmp_path)))
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path,
                        "redis://127.0.0.1:6379/15")
    engine = make_engine(settings)
    upgrade(engine)
    begin = transactions(engine, {}, datetime(2026, 12, 6, tzinfo=UTC))
    clock = Clock(datetime.now(UTC).replace(hour=5, minute=1))
    app = create_app(settings, PipelineSettings(), schedule=ScheduleSettings(time(5, 0)),
                     clock=clock.now)
    assert app.tasks[DAILY_JOBS]() == ["check-overdue", "as2-certificates"]
    with begin() as session:
        (row,) = session.scalars(select(ExceptionRow)).all()
        assert (row.code, row.severity) == ("CERTIFICATE_EXPIRING", "high")
    engine.dispose()
