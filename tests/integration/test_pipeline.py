"""The Celery pipeline with real processes: `gateway worker` and `gateway beat` subprocesses on a
real Redis broker (the essential cases on RabbitMQ too) and a scratch PostgreSQL database.
Messages are processed exactly once through worker kills, a database outage, a broker outage and
repeated deliveries; retries are capped.

Counts are compared with a reference: the same messages ingested in this process on SQLite.
Without Redis or RabbitMQ the tests skip with a reason outside CI and fail under CI=true."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from gateway.bench.pipeline import effect_counts
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import PipelineSettings, Settings
from gateway.errors import ConfigurationError, InvalidTransition
from gateway.persistence.models import (
    DocumentRow,
    InboundMessage,
    LineVersionRow,
)
from gateway.persistence.schema import upgrade
from gateway.services.dispatch import BatchPublisher
from gateway.services.inbound import release
from gateway.services.ingest import Intake, archive_many, ingest
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners
from gateway.services.pipeline import ProcessingDeferred, process_ids, retry_delay
from gateway.tasks.app import PROCESS_MESSAGES, create_app, publish
from tests.integration.conftest import (
    _postgres_settings,
    edifact_interchange,
    require_rabbitmq,
    require_redis,
)
from tests.integration.test_smtp import TcpProxy, free_port

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
GLN = "4012345000009"
OURS = "orders@buyer.example"
# Its mail is taken without sender authentication (tested in test_mail_authentication.py).
PARTNERS = {"suppliers": [{"code": "ACME", "name": "Acme Fasteners GmbH",
                           "emails": ["orders@acme.example"],
                           "edi_ids": [{"id": GLN, "qualifier": "14"}], "mail_auth": "none"}]}
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
RABBITMQ_URL = os.environ.get("GATEWAY_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
# The essential cases run on both brokers: `@BOTH_BROKERS` on a test that uses `scenario`.
BOTH_BROKERS = pytest.mark.parametrize("broker", ["redis", "rabbitmq"], indirect=True)
GATEWAY = [sys.executable, "-c", "from gateway.cli import main; main()"]
LINES_PER_ORDER = 40


# -- pure parts -------------------------------------------------------------------------------


def test_retry_delay_is_exponential_with_full_jitter_and_a_cap():
    assert [retry_delay(n, 2.0, 60.0, lambda: 1.0) for n in range(7)] == [
        2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert retry_delay(3, 2.0, 60.0, lambda: 0.0) == 0.0
    assert retry_delay(10_000, 2.0, 60.0, lambda: 0.5) == 30.0


def test_pipeline_settings_from_the_environment():
    settings = PipelineSettings.from_env({"GATEWAY_PIPELINE_MAX_RETRIES": "0",
                                          "GATEWAY_PIPELINE_STUCK_SECONDS": "2.5",
                                          "GATEWAY_PIPELINE_QUEUE": "q1"})
    assert (settings.max_retries, settings.stuck_seconds, settings.queue,
            settings.batch_size) == (0, 2.5, "q1", 200)
    for env in ({"GATEWAY_PIPELINE_BATCH_SIZE": "0"}, {"GATEWAY_PIPELINE_MAX_RETRIES": "1.5"},
                {"GATEWAY_PIPELINE_SWEEP_SECONDS": "soon"},
                {"GATEWAY_PIPELINE_RETRY_MAX_SECONDS": "inf"}):
        with pytest.raises(ConfigurationError, match="GATEWAY_PIPELINE_"):
            PipelineSettings.from_env(env)


def test_batch_publisher_batches_and_never_raises_into_the_channel():
    sent: list[list[int]] = []
    publisher = BatchPublisher(sent.append, batch_size=3, linger_seconds=0.2)
    publisher.start()
    publisher.dispatch([1])
    publisher.dispatch([2, 3, 4, 5])
    publisher.stop()
    assert sorted(i for batch in sent for i in batch) == [1, 2, 3, 4, 5]
    assert max(len(batch) for batch in sent) == 3
    assert len(sent) == 2          # the ids of a burst travel together

    def broken(_ids: list[int]) -> None:
        raise ConnectionError("broker down")

    failing = BatchPublisher(broken, batch_size=2, max_pending=3)
    failing.start()
    failing.dispatch([1, 2, 3, 4])    # one over the limit: left to the sweeper
    failing.stop()
    assert (failing.published, failing.dropped) == (0, 4)


def test_each_app_runs_its_own_tasks_not_the_first_apps():
    """Each app has its own task: `app.task` shares one with every Celery app of the process
    by default, so a second `create_app` (another database, queue or retry cap) would run
    the first one's closures."""
    first = create_app(Settings("sqlite:///first.db", broker_url="redis://127.0.0.1:6379/11"),
                       PipelineSettings(queue="first"))
    second = create_app(Settings("sqlite:///second.db", broker_url="redis://127.0.0.1:6379/11"),
                        PipelineSettings(queue="second"))
    try:
        assert first.tasks[PROCESS_MESSAGES].run is not second.tasks[PROCESS_MESSAGES].run
        assert second.tasks[PROCESS_MESSAGES].max_retries == PipelineSettings().max_retries
        assert second.tasks[PROCESS_MESSAGES].app is second
    finally:
        first.close()
        second.close()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> str:
    """The broker's URL: Redis, or RabbitMQ for a test marked `BOTH_BROKERS`."""
    if getattr(request, "param", "redis") == "rabbitmq":
        return require_rabbitmq(RABBITMQ_URL)
    return require_redis(REDIS_URL)


@pytest.fixture
def postgres() -> Iterator[Settings]:
    yield from _postgres_settings()


@dataclass
class Scenario:
    """A scratch PostgreSQL database with partners and open orders, a queue of its own, and
    the messages of the test, with the counts a single processing of them gives."""

    settings: Settings
    engine: Engine
    queue: str
    var: Path
    orders: int
    broker: str

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "GATEWAY_DATABASE_URL": self.settings.database_url,
                "GATEWAY_VAR_DIR": str(self.var), "GATEWAY_BROKER_URL": self.broker,
                "GATEWAY_PIPELINE_QUEUE": self.queue,
                "GATEWAY_PIPELINE_STUCK_SECONDS": "2", "GATEWAY_PIPELINE_SWEEP_SECONDS": "0.5",
                "GATEWAY_PIPELINE_RETRY_BASE_SECONDS": "0.2",
                "GATEWAY_PIPELINE_RETRY_MAX_SECONDS": "1", **extra}

    def archive(self, raws: list[bytes], sender: str = "orders@acme.example") -> list[int]:
        with make_session_factory(self.engine).begin() as session:
            archived = archive_many(session, [Intake(raw, "cli", sender, "m.edi")
                                              for raw in raws], datetime.now(UTC))
        return [a.message_id for a in archived]

    def publish(self, ids: list[int], batch: int) -> None:
        app = create_app(Settings(self.settings.database_url, self.var, self.broker),
                         PipelineSettings(queue=self.queue))
        try:
            for start in range(0, len(ids), batch):
                publish(app, ids[start : start + batch])
        finally:
            app.close()

    def states(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return dict(connection.execute(select(InboundMessage.state, func.count())
                                           .group_by(InboundMessage.state)).all())

    def wait_until_done(self, timeout: float, done: Callable[[dict[str, int]], bool] =
                        lambda states: "received" not in states) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if done(states):
                return states
            time.sleep(0.2)
        pytest.fail(f"not done in {timeout} s: {self.states()}")


def orders_csv(orders: int) -> str:
    rows = ["order_number,line_no,quantity,unit,price,currency,requested_date,supplier_id"]
    rows += [f"45{n:08d},{line * 10},100,PCE,2.50,EUR,2026-12-05,ACME"
             for n in range(orders) for line in range(1, LINES_PER_ORDER + 1)]
    return "\n".join(rows) + "\n"


def order_response(n: int, ref: str = "") -> bytes:
    """Confirms every line of order n: lines 1-10 short (80 of 100), the rest in full."""
    lines = "".join(f"LIN+{i}+3'QTY+113:{80 if i <= 10 else 100}:PCE'"
                    f"RFF+ON:45{n:08d}:{i * 10}'" for i in range(1, LINES_PER_ORDER + 1))
    return edifact_interchange(f"ORDRSP+'BGM+231+RSP-{n}{ref}+4'RFF+ON:45{n:08d}'{lines}",
                               f"IC{n}{ref}", GLN)


def prepare(settings: Settings, tmp_path: Path, orders: int) -> Engine:
    engine = make_engine(settings)
    upgrade(engine)
    path = tmp_path / "orders.csv"
    path.write_text(orders_csv(orders))
    lines, errors = read_order_file(path)
    assert errors == []
    with make_session_factory(engine).begin() as session:
        load_partners(session, PARTNERS, NOW)
        import_lines(session, lines, "orders.csv", NOW)
    return engine


def archived(engine: Engine, raw: bytes) -> int:
    with make_session_factory(engine).begin() as session:
        (message,) = archive_many(session, [Intake(raw, "cli", "orders@acme.example",
                                                   "m.edi")], datetime.now(UTC))
    return message.message_id


@pytest.fixture
def scenario(postgres: Settings, broker: str, tmp_path: Path) -> Iterator[Scenario]:
    orders = 60
    engine = prepare(postgres, tmp_path, orders)
    queue = f"gateway-test-{uuid.uuid4().hex[:10]}"
    yield Scenario(postgres, engine, queue, tmp_path, orders, broker)
    engine.dispose()
    delete_queue(broker, queue)


def delete_queue(broker: str, queue: str) -> None:
    if broker.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker)
        client.delete(queue)
        client.close()
        return
    import kombu

    with kombu.Connection(broker) as connection:
        connection.default_channel.queue_delete(queue)


def reference_counts(tmp_path: Path, orders: int, raws: list[bytes],
                     sender: str = "orders@acme.example") -> dict[str, int]:
    """The same messages processed once, in this process, on SQLite."""
    settings = Settings(f"sqlite:///{tmp_path / 'reference.db'}", tmp_path)
    engine = prepare(settings, tmp_path, orders)
    ingest(make_session_factory(engine).begin,
           [Intake(raw, "cli", sender, "m.edi") for raw in raws], TODAY, NOW)
    found = effect_counts(engine)
    engine.dispose()
    return found


class Process:
    """A `gateway` subprocess in a process group of its own, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("ab")
        self.popen = subprocess.Popen([*GATEWAY, *args], env=env, stdout=self._file,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(self, text: str, timeout: float = 30.0, start: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output()[start:]:
                return
            if self.popen.poll() is not None:
                pytest.fail(f"exited {self.popen.returncode}:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"{text!r} not seen in {timeout} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.popen.pid:
                found.append(int(stat.parent.name))
        return found

    def kill(self) -> None:
        """kill -9 of the whole process group: the machine lost, not a clean stop."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(30)
        self._file.close()

    def stop_output(self) -> str:
        """Stop it (SIGTERM, a warm shutdown) and return all it wrote."""
        self.stop()
        return self.output()

    def stop(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._file.close()
        return self.popen.returncode


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


def start(processes: list[Process], args: list[str], env: dict[str, str], log: Path,
          ready: str | None) -> Process:
    process = Process(args, env, log)
    processes.append(process)
    if ready:
        process.wait_for(ready)
    return process


WORKER_READY = " ready."
BEAT_READY = "beat: Starting"


def start_worker(processes: list[Process], scenario: Scenario, env: dict[str, str],
                 name: str = "worker", concurrency: int = 1) -> Process:
    return start(processes, ["worker", "-c", str(concurrency)], env,
                 scenario.var / f"{name}.log", WORKER_READY)


# -- exactly once -----------------------------------------------------------------------------


@BOTH_BROKERS
def test_archived_messages_are_processed_exactly_once(scenario, processes, tmp_path):
    raws = [order_response(n) for n in range(scenario.orders)]
    expected = reference_counts(tmp_path / "ref", scenario.orders, raws)
    ids = scenario.archive(raws)
    # Every id published twice, in batches that overlap differently, to two workers.
    scenario.publish(ids, batch=7)
    scenario.publish(list(reversed(ids)), batch=11)
    workers = [start_worker(processes, scenario, scenario.env(), name) for name in ("w1", "w2")]
    assert scenario.wait_until_done(60) == {"reconciled": scenario.orders}
    assert effect_counts(scenario.engine) == expected
    # The pool processes run with the entry point's collector settings. A worker's "ready"
    # comes before its pool process has finished starting, and the other worker may have done
    # all the work by then: wait for the line rather than expect it already written.
    for worker in workers:
        worker.wait_for("garbage collector threshold (20000, 20, 20)")
    # Every line a worker wrote is a JSON log record, Celery's own and the tasks' alike.
    records = [record for worker in workers for record in json_lines(worker.stop_output())]
    assert {"celery.apps.worker", "gateway.tasks.app"} <= {r["logger"] for r in records}
    assert sum(r["message"].endswith(" reconciled") for r in records) == scenario.orders
    # A version per line as ordered (the import), and one per confirmation.
    assert expected["line_versions"] == 2 * scenario.orders * LINES_PER_ORDER
    assert expected["exceptions"] == scenario.orders * 10   # the ten short lines of each
    assert expected["duplicate versions"] == 0


@BOTH_BROKERS
def test_worker_killed_mid_batch_repeatedly_every_message_reconciled_once(
        scenario, processes, tmp_path):
    raws = [order_response(n) for n in range(scenario.orders)]
    expected = reference_counts(tmp_path / "ref", scenario.orders, raws)
    ids = scenario.archive(raws)
    env = scenario.env(GATEWAY_DATABASE_URL=scenario.settings.database_url
                       + "?application_name=gateway-test-worker",
                       GATEWAY_PIPELINE_MAX_ATTEMPTS="50")
    start(processes, ["beat"], env, scenario.var / "beat.log", BEAT_READY)
    scenario.publish(ids, batch=4)
    rng = random.Random(20261126)
    kills = {"whole worker": 0, "pool process": 0}
    worker: Process | None = None
    for attempt in range(40):
        if sum(kills.values()) >= 6:
            break
        if worker is None:
            worker = start_worker(processes, scenario, env, f"worker{attempt}")
        # Wait for a transaction of the worker, then kill at a random point of it (when the
        # transaction ended before that point, wait for the next one).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not worker_in_transaction(scenario.engine):
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.03))
        if not worker_in_transaction(scenario.engine):
            continue
        if rng.random() < 0.5 and worker.children():
            # The pool process only: the worker sees it lost, and with reject_on_worker_lost
            # the task goes back to the queue at once; a new pool process takes it.
            kills["pool process"] += 1
            for child in worker.children():
                os.kill(child, signal.SIGKILL)
        else:
            # The whole worker: its task stays unacknowledged on Redis, and the heartbeat
            # of the next worker or the sweeper publishes the messages again; RabbitMQ
            # requeues it when the connection drops.
            kills["whole worker"] += 1
            worker.kill()
            worker = None
    assert sum(kills.values()) >= 5, f"too few kills landed during processing: {kills}"
    assert any("beat: Starting" in r["message"] for r in json_lines(processes[0].output()))
    if worker is None:
        start_worker(processes, scenario, env, "final")
    assert scenario.wait_until_done(90) == {"reconciled": scenario.orders}
    assert effect_counts(scenario.engine) == expected
    with scenario.engine.connect() as connection:
        retried = connection.execute(select(func.count()).where(
            InboundMessage.attempts > 1)).scalar_one()
    print(f"kills during a transaction: {kills}; "
          f"{retried} message(s) started more than once; rows {effect_counts(scenario.engine)}")
    assert retried >= 1


@BOTH_BROKERS
def test_a_worker_killed_whole_is_recovered_within_a_minute_by_default(
        scenario, processes, tmp_path):
    """kill -9 of a worker and its pool process in the middle of its batch, no beat running,
    the heartbeat settings left at their defaults: another worker finishes every message
    within 60 s, each once. RabbitMQ requeues the task of the lost connection at once; Redis
    keeps it unacknowledged for its visibility timeout (an hour), and the heartbeat is what
    brings the messages back."""
    raws = [order_response(n) for n in range(scenario.orders)]
    expected = reference_counts(tmp_path / "ref", scenario.orders, raws)
    ids = scenario.archive(raws)
    env = scenario.env(GATEWAY_DATABASE_URL=scenario.settings.database_url
                       + "?application_name=gateway-test-worker")
    assert not {k for k in env if k.startswith(("GATEWAY_PIPELINE_HEARTBEAT",
                                                "GATEWAY_PIPELINE_WORKER_LOST"))}
    victim = start_worker(processes, scenario, env, "victim")
    scenario.publish(ids, batch=len(ids))     # one task: the victim has every message
    deadline = time.monotonic() + 30
    while not (claimed(scenario.engine) and worker_in_transaction(scenario.engine)):
        assert time.monotonic() < deadline, "the worker never started its batch"
        time.sleep(0.005)
    victim.kill()
    killed = time.monotonic()
    assert scenario.states() == {"received": scenario.orders}   # its batch rolled back
    start_worker(processes, scenario, scenario.env(), "rescuer")
    assert scenario.wait_until_done(60 - (time.monotonic() - killed)) == {
        "reconciled": scenario.orders}
    print(f"{scenario.broker.partition(':')[0]}: every message reconciled "
          f"{time.monotonic() - killed:.1f} s after the kill")
    assert effect_counts(scenario.engine) == expected


def claimed(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(select(func.count()).where(
            InboundMessage.claimed_by.is_not(None))).scalar_one())


def json_lines(output: str) -> list[dict[str, object]]:
    """Each line of a process's output as the JSON object it must be."""
    records = []
    for line in output.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"not a JSON log line: {line!r}")
    return records


def worker_in_transaction(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
            "'gateway-test-worker' AND xact_start IS NOT NULL")).scalar_one())


# -- the database goes away -------------------------------------------------------------------


def proxied(settings: Settings, proxy: TcpProxy) -> str:
    url = make_url(settings.database_url)
    return url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def test_database_outage_retries_and_everything_completes(scenario, processes, tmp_path):
    raws = [order_response(n) for n in range(scenario.orders)]
    expected = reference_counts(tmp_path / "ref", scenario.orders, raws)
    url = make_url(scenario.settings.database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        env = scenario.env(GATEWAY_DATABASE_URL=proxied(scenario.settings, proxy),
                           GATEWAY_PIPELINE_MAX_RETRIES="30")
        worker = start_worker(processes, scenario, env)
        ids = scenario.archive(raws)
        scenario.publish(ids, batch=3)
        scenario.wait_until_done(30, lambda states: states.get("reconciled", 0) >= 3)
        proxy.cut()
        time.sleep(3)
        during = scenario.states()
        proxy.restore()
        assert scenario.wait_until_done(90) == {"reconciled": scenario.orders}
    finally:
        proxy.cut()
    assert during.get("received", 0) > 0, "the outage came too late to matter"
    assert effect_counts(scenario.engine) == expected
    retries = worker.output().count("deferred (")
    assert retries >= 1
    print(f"during the outage {during}; {retries} retries logged")


def test_past_the_retry_cap_a_message_is_failed_with_the_reason_and_can_be_retried(
        scenario, processes):
    (message_id,) = scenario.archive([order_response(0)])
    # A lock held elsewhere longer than the worker's lock timeout: a transient error that
    # repeats while the database itself answers, so giving up can be recorded.
    env = scenario.env(GATEWAY_DATABASE_URL=scenario.settings.database_url
                       + "?options=-c%20lock_timeout%3D200",
                       GATEWAY_PIPELINE_MAX_RETRIES="2", GATEWAY_PIPELINE_RETRY_BASE_SECONDS="0.1")
    holder = create_engine(scenario.settings.database_url)
    with holder.connect() as connection:
        connection.execute(text("SELECT id FROM order_lines FOR UPDATE"))
        worker = start_worker(processes, scenario, env)
        scenario.publish([message_id], batch=1)
        assert scenario.wait_until_done(60) == {"failed": 1}
        connection.rollback()
    holder.dispose()
    assert worker.output().count("deferred (") == 2
    shown = subprocess.run([*GATEWAY, "messages", "list", "--state", "failed", "--json"],
                           env=scenario.env(), capture_output=True, text=True, timeout=60)
    (row,) = json.loads(shown.stdout)
    assert row["id"] == message_id
    assert row["reason"].startswith("gave up after 2 retries on a transient error: "
                                    "LockNotAvailable")
    retried = subprocess.run([*GATEWAY, "messages", "retry", "--all"], env=scenario.env(),
                             capture_output=True, text=True, timeout=60)
    assert retried.returncode == 0, retried.stderr
    assert f"message #{message_id}: reconciled" in retried.stdout
    assert scenario.states() == {"reconciled": 1}


def test_a_message_that_keeps_killing_its_worker_is_failed_not_retried_for_ever(
        scenario, processes):
    (message_id,) = scenario.archive([order_response(0)])
    with scenario.engine.begin() as connection:   # as if three workers died on it
        connection.execute(text("UPDATE inbound_messages SET attempts = 3"))
    start_worker(processes, scenario, scenario.env(GATEWAY_PIPELINE_MAX_ATTEMPTS="3"))
    scenario.publish([message_id], batch=1)
    assert scenario.wait_until_done(30) == {"failed": 1}
    with scenario.engine.connect() as connection:
        reason = connection.execute(select(InboundMessage.state_reason)).scalar_one()
    assert reason.startswith("processing was started 3 time(s) and never finished")


def test_give_up_with_the_database_still_down_is_logged_not_raised(caplog):
    """Past the retry cap with the database unreachable, `give_up` cannot record `failed`:
    the task logs that the sweeper takes the messages again, rather than ending in an
    OperationalError traceback (its statement and parameters in the worker's log)."""
    settings = Settings("postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                        broker_url="redis://127.0.0.1:6379/11")
    app = create_app(settings, PipelineSettings(max_retries=0))
    try:
        result = app.tasks[PROCESS_MESSAGES].apply(args=[[1, 2]])
    finally:
        app.close()
    assert result.state == "SUCCESS", result.result
    assert result.result == 0
    assert "cannot be marked failed" in caplog.text


def test_a_transient_error_is_not_counted_as_a_start_that_never_finished(postgres, tmp_path):
    """A lock timeout (a transient error) after the claim committed: the message is not
    `failed` as "started N times and never finished" before the retry cap is reached (the
    defaults allow 8 retries and 5 attempts)."""
    engine = prepare(postgres, tmp_path, 1)
    message_id = archived(engine, order_response(0))
    waiting = make_engine(Settings(postgres.database_url + "?options=-c%20lock_timeout%3D200"))
    transaction = make_session_factory(waiting).begin
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT id FROM order_lines FOR UPDATE"))
            for _ in range(4):
                with pytest.raises(ProcessingDeferred, match="LockNotAvailable"):
                    process_ids(transaction, [message_id], TODAY, lambda: datetime.now(UTC),
                                max_attempts=2)
            holder.rollback()
        with engine.connect() as connection:
            state, reason, attempts = connection.execute(
                select(InboundMessage.state, InboundMessage.state_reason,
                       InboundMessage.attempts)).one()
        assert (state, reason, attempts) == ("received", None, 0)
        reports = process_ids(transaction, [message_id], TODAY, lambda: datetime.now(UTC),
                              max_attempts=2)
        assert [r.state.value for r in reports] == ["reconciled"]
    finally:
        waiting.dispose()
        engine.dispose()


def test_two_retries_of_one_failed_message_at_once_process_it_once(postgres, tmp_path: Path):
    """`gateway messages retry` run twice at once (two operators, a cron job): the second
    waits for the first and then finds the message handled, instead of processing it again
    (a second set of line versions). Both read the message outside their write transaction;
    the row lock in the write step is what orders them."""
    engine = prepare(postgres, tmp_path, 1)
    message_id = archived(engine, order_response(0))
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbound_messages SET state = 'failed', "
                                "state_reason = 'gave up'"))
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    results: list[object] = []

    def retry() -> None:
        try:
            results.append(release(sessions.begin, message_id, TODAY, now).state.value)
        except Exception as exc:  # noqa: BLE001 - examined below
            results.append(exc)

    with engine.connect() as holder:
        # Both retries read the message, then queue for its row in their write step.
        holder.execute(text("SELECT id FROM inbound_messages FOR UPDATE"))
        threads = [threading.Thread(target=retry) for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _waiting_on_a_lock(engine) < 2:
            assert time.monotonic() < deadline, "the retries never both waited"
            time.sleep(0.02)
        holder.rollback()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2, results
    assert "reconciled" in results, results
    [refused] = [r for r in results if r != "reconciled"]
    assert isinstance(refused, InvalidTransition), results
    with engine.connect() as connection:
        versions = connection.execute(select(func.count()).select_from(LineVersionRow)
                                      .where(LineVersionRow.message_id == message_id)
                                      ).scalar_one()
    assert versions == 40       # one confirmation per line, once
    engine.dispose()


def _waiting_on_a_lock(engine: Engine) -> int:
    """How many connections wait on a lock."""
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar_one())


# -- the broker goes away, and deliveries repeat ---------------------------------------------


def mail(raw: bytes) -> bytes:
    return raw + b"\r\n"


@BOTH_BROKERS
def test_broker_down_smtp_still_answers_250_and_the_sweeper_publishes_later(
        scenario, processes, tmp_path):
    address = urlsplit(scenario.broker)
    proxy = TcpProxy((address.hostname or "127.0.0.1",
                      address.port or (6379 if address.scheme == "redis" else 5672)))
    broker = address._replace(netloc=f"{address.netloc.rpartition('@')[0]}@127.0.0.1:"
                                     f"{proxy.port}".lstrip("@")).geturl()
    port = free_port()
    try:
        env = scenario.env(GATEWAY_BROKER_URL=broker, GATEWAY_SMTP_RECIPIENTS=OURS,
                           GATEWAY_SMTP_HOSTNAME="mx.buyer.example")
        start_worker(processes, scenario, env)
        start(processes, ["beat"], env, scenario.var / "beat.log", BEAT_READY)
        smtp = start(processes, ["smtp", "--port", str(port)], env,
                     scenario.var / "smtp.log", "listening on")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            assert client.sendmail("orders@acme.example", [OURS], mail(order_response(0))) == {}
        scenario.wait_until_done(30, lambda states: states == {"reconciled": 1})
        proxy.cut()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for n in range(1, 6):
                assert client.sendmail("orders@acme.example", [OURS],
                                       mail(order_response(n))) == {}
        smtp.wait_for("could not publish", timeout=20)
        time.sleep(1)
        assert scenario.states() == {"reconciled": 1, "received": 5}
        proxy.restore()
        assert scenario.wait_until_done(60) == {"reconciled": 6}
        assert smtp.stop() == 0
    finally:
        proxy.cut()
    assert "sweeper published" in "".join(p.output() for p in processes)


def test_the_same_file_three_times_through_two_channels_gives_one_set_of_events(
        scenario, processes, tmp_path):
    raw = mail(order_response(1))
    expected = reference_counts(tmp_path / "ref", scenario.orders, [raw])
    port = free_port()
    env = scenario.env(GATEWAY_SMTP_RECIPIENTS=OURS, GATEWAY_SMTP_HOSTNAME="mx.buyer.example")
    start_worker(processes, scenario, env)
    start(processes, ["smtp", "--port", str(port)], env, scenario.var / "smtp.log",
          "listening on")
    path = tmp_path / "rsp.edi"
    path.write_bytes(raw)
    cli = subprocess.Popen([*GATEWAY, "ingest", "--sender", "orders@acme.example", str(path)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(2):   # a sending MTA that lost the first 250 and retried
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            assert client.sendmail("orders@acme.example", [OURS], raw) == {}
    _out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err
    assert scenario.wait_until_done(30) == {"reconciled": 1, "duplicate": 2}
    assert effect_counts(scenario.engine) == expected
    assert expected["line_versions"] == (scenario.orders + 1) * LINES_PER_ORDER


# -- timestamps -------------------------------------------------------------------------------


def test_each_group_of_a_task_is_stamped_when_its_own_transaction_begins_and_ends(
        settings, tmp_path):
    """A task of 7 messages in groups of 3: each group is stamped when its read begins (its
    documents' `created_at`) and when its write ends (its messages' `updated_at`), one value
    per group: `updated_at - received_at` is how long each message took from archive to
    reconciled, not the task's start nor its group's. The next group is read while one is
    written, so only the order of the reads and the order of the writes are fixed."""
    engine = prepare(settings, tmp_path, 7)
    transaction = make_session_factory(engine).begin
    with transaction() as session:
        ids = [a.message_id for a in archive_many(
            session, [Intake(order_response(n), "cli", "orders@acme.example", "m.edi")
                      for n in range(7)], NOW)]
    minutes = itertools.count(1)
    lock = threading.Lock()

    def clock() -> datetime:   # read from two threads
        with lock:
            return datetime(2026, 11, 26, 9, next(minutes), tzinfo=UTC)

    reports = process_ids(transaction, ids, TODAY, clock, max_attempts=5, batch_size=3)
    assert [r.state.value for r in reports] == ["reconciled"] * 7
    with engine.connect() as connection:
        stamped = connection.execute(select(InboundMessage.updated_at)
                                     .order_by(InboundMessage.id)).scalars().all()
        documents = connection.execute(select(DocumentRow.created_at)
                                       .order_by(DocumentRow.message_id)).scalars().all()
    began = [moment.replace(tzinfo=UTC).minute for moment in documents]
    ended = [moment.replace(tzinfo=UTC).minute for moment in stamped]
    groups = [(0, 3), (3, 6), (6, 7)]
    for first, end in groups:
        assert len(set(began[first:end])) == 1
        assert len(set(ended[first:end])) == 1
        assert began[first] < ended[first]
    assert began[0] < began[3] < began[6]
    assert ended[0] < ended[3] < ended[6]
    # Each clock reading stamped one thing: 3 claims, 3 reads, 3 writes.
    assert len({*began, *ended}) == 6
    assert max(*began, *ended) <= 9
    engine.dispose()


def test_the_next_group_is_read_while_one_is_written_and_the_writes_stay_in_order(
        settings, tmp_path, monkeypatch):
    """Groups of 3 out of 7 messages: the write of a group waits (at most 20 s) until the
    next group's read has begun, which only a read ahead can start; the writes still go
    one after the other, in order, each once."""
    from gateway.services import pipeline

    engine = prepare(settings, tmp_path, 7)
    transaction = make_session_factory(engine).begin
    with transaction() as session:
        ids = [a.message_id for a in archive_many(
            session, [Intake(order_response(n), "cli", "orders@acme.example", "m.edi")
                      for n in range(7)], NOW)]
    reading = {group: threading.Event() for group in range(3)}
    writes: list[tuple[list[int], bool]] = []
    read, write = pipeline.read_batch, pipeline.write_batch

    def read_batch(session, message_ids, *args, **kwargs):
        reading[ids.index(message_ids[0]) // 3].set()
        return read(session, message_ids, *args, **kwargs)

    def write_batch(session, batch, *args, **kwargs):
        following = ids.index(batch.message_ids[0]) // 3 + 1
        ahead = following not in reading or reading[following].wait(20)
        writes.append((batch.message_ids, ahead))
        return write(session, batch, *args, **kwargs)

    monkeypatch.setattr(pipeline, "read_batch", read_batch)
    monkeypatch.setattr(pipeline, "write_batch", write_batch)
    reports = process_ids(transaction, ids, TODAY, lambda: NOW, max_attempts=5, batch_size=3)
    assert [r.state.value for r in reports] == ["reconciled"] * 7
    assert writes == [(ids[0:3], True), (ids[3:6], True), (ids[6:7], True)]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(DocumentRow)) == 7
    engine.dispose()


# -- the schema -------------------------------------------------------------------------------


def test_messages_archived_before_the_upgrade_are_swept_after_it(settings):
    """Migration 0005 on a database with messages in it, on SQLite and on PostgreSQL: they
    get no attempts and no publish time, and the sweeper finds the ones still `received`."""
    from alembic import command

    from gateway.persistence.schema import alembic_config, current_revision, head_revision
    from gateway.services.pipeline import claim, stuck_messages

    engine = make_engine(settings)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        for number, state in ((1, "received"), (2, "reconciled")):
            connection.execute(text(
                "INSERT INTO inbound_messages (id, sha256, size, channel, sender, received_at, "
                "state, raw, updated_at) VALUES (:id, :sha, 1, 'smtp', 's', :at, :state, :raw, "
                ":at)"), {"id": number, "sha": f"{number:064d}", "at": NOW, "state": state,
                          "raw": b"x"})
    assert upgrade(engine) == head_revision() == current_revision(engine)
    later = datetime(2026, 11, 26, 9, 10, tzinfo=UTC)
    with make_session_factory(engine).begin() as session:
        assert stuck_messages(session, later, 300) == [1]
        assert stuck_messages(session, NOW, 300) == []
        claimed = claim(session, [1, 2], max_attempts=3, now=later)
        assert (claimed.process, claimed.alone, claimed.failed) == ([1], frozenset(), [])
        assert session.scalars(select(InboundMessage.attempts).order_by(InboundMessage.id)
                               ).all() == [1, 0]
    engine.dispose()
