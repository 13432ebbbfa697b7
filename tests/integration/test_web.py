"""The web process: liveness, readiness (database, schema, broker) and Prometheus metrics read
from the real database, on SQLite and on PostgreSQL; `gateway web` as a real process."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text, update

from gateway.bootstrap import configure_logging, make_session_factory
from gateway.config import Settings
from gateway.domain.discrepancies import ExceptionState
from gateway.observability import JsonLogFormatter
from gateway.persistence.models import ExceptionRow, InboundMessage
from gateway.persistence.schema import upgrade
from gateway.services import pipeline
from gateway.services.ingest import Intake, archive, process
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.orders import import_lines, read_order_file
from gateway.services.processing import ReadBatch, read_batch
from gateway.services.queue import act_on_exception
from gateway.web.app import create_app
from tests.integration.conftest import (
    POSTGRES_ADMIN_URL,
    edifact_interchange,
    require_redis,
    transactions,
)

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
GLN = "4012345000009"
PARTNERS = {
    "profiles": {"strict": {"qty_under_pct": 5, "date_late_warning_days": 0,
                            "date_late_error_days": 2, "price_pct": 1}},
    "suppliers": [{"code": "ACME", "name": "Acme Fasteners GmbH",
                   "emails": ["orders@acme.example"], "edi_ids": [{"id": GLN, "qualifier": "14"}],
                   "buyer_contact": "anna@buyer.example", "profile": "strict"}],
}
ORDERS_CSV = ("order_number,line_no,quantity,unit,price,currency,requested_date,gtin,"
              "supplier_id,owner_email\n"
              "4500000001,10,100,PCE,12.50,EUR,2026-12-05,4000862141404,ACME,anna@buyer.example\n")
# 80 of 100 pieces (QTY_SHORT past 5 %), four days after the requested date (DATE_LATE past
# the two days of the error level); the price is the ordered one.
SHORT_AND_LATE = edifact_interchange(
    "ORDRSP+'BGM+231+RSP-1+4'RFF+ON:4500000001'LIN+1+3+4000862141404:EN'QTY+21:100:PCE'"
    "QTY+113:80:PCE'DTM+69:20261209:102'PRI+AAA:12.50'RFF+ON:4500000001:10'", "IC1", GLN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def fetch(app: FastAPI, path: str):
    """One request, with the app started and stopped around it (its engine disposed)."""
    with TestClient(app) as client:
        return client.get(path)


def test_healthz_answers_without_asking_anything(settings: Settings) -> None:
    # No schema, and the process is alive all the same.
    response = fetch(create_app(settings), "/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_on_an_upgraded_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "schema": "ok", "broker": "skipped"}


def test_readyz_names_the_database_when_it_is_unreachable() -> None:
    closed = free_port()
    base = POSTGRES_ADMIN_URL.rsplit("@", 1)[0]
    settings = Settings(f"{base}@127.0.0.1:{closed}/gateway")
    response = fetch(create_app(settings), "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["status"] == "failed"
    assert str(closed) in body["checks"]["database"]["detail"]
    assert body["checks"]["schema"]["status"] == "skipped"
    assert "Traceback" not in response.text


def test_readyz_names_the_schema_when_not_upgraded(settings: Settings) -> None:
    response = fetch(create_app(settings), "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["schema"]
    assert body["checks"]["database"]["status"] == "ok"
    assert "gateway init" in body["checks"]["schema"]["detail"]


def test_readyz_names_the_schema_when_behind(settings: Settings, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    body = fetch(create_app(settings), "/readyz").json()
    assert body["failed"] == ["schema"]
    assert "at revision 0001" in body["checks"]["schema"]["detail"]


def test_readyz_asks_the_broker_when_one_is_configured(settings: Settings,
                                                       engine: Engine) -> None:
    reachable = Settings(settings.database_url, settings.var_dir, REDIS_URL)
    response = fetch(create_app(reachable), "/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["broker"]["status"] == "ok"
    closed = Settings(settings.database_url, settings.var_dir,
                      f"redis://127.0.0.1:{free_port()}/0")
    response = fetch(create_app(closed), "/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def samples(families: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(families):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def load_orders(sessions: object, tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    lines, errors = read_order_file(path)
    assert errors == []
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, lines, "orders.csv", now)


def test_metrics_report_what_the_database_holds(settings: Settings, engine: Engine,
                                                tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    sessions = transactions(engine, PARTNERS, now)
    load_orders(sessions, tmp_path, now)
    with sessions() as session:
        reconciled = archive(session, Intake(SHORT_AND_LATE, "cli", "as2:acme", "r.edi"), now)
        archive(session, Intake(b"From: a@x.example\r\n\r\none", "smtp", "a@x.example"), now)
        archive(session, Intake(b"From: b@x.example\r\n\r\ntwo", "smtp", "b@x.example"), now)
        duplicate = archive(session, Intake(b"From: b@x.example\r\n\r\ntwo", "smtp",
                                            "b@x.example"), now)
    assert duplicate.duplicate_of is not None
    with sessions() as session:
        # Reconciled 2.5 s after it was archived, as a worker would.
        report = process(session, reconciled.message_id, now.date(),
                         now + timedelta(seconds=2.5))
    assert report.state.value == "reconciled"
    with sessions() as session:
        (late_id,) = session.scalars(select(ExceptionRow.id)
                                     .where(ExceptionRow.code == "DATE_LATE")).all()
        act_on_exception(session, late_id, ExceptionState.ACCEPTED_CHANGE, "anna", None, now)

    response = fetch(create_app(settings), "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("gateway_database_up", ())] == 1
    assert found[("gateway_inbound_messages", (("channel", "cli"), ("state", "reconciled")))] == 1
    assert found[("gateway_inbound_messages", (("channel", "smtp"), ("state", "received")))] == 2
    assert found[("gateway_inbound_messages", (("channel", "smtp"), ("state", "duplicate")))] == 1
    assert found[("gateway_received_messages", ())] == 2
    latency = {dict(labels)["le"]: value for (name, labels), value in found.items()
               if name == "gateway_processing_latency_seconds_bucket"}
    assert (latency["1.0"], latency["2.5"], latency["+Inf"]) == (0, 1, 1)
    assert found[("gateway_processing_latency_seconds_gcount", ())] == 1
    assert found[("gateway_processing_latency_seconds_gsum", ())] == pytest.approx(2.5, abs=0.01)
    short, late = (("code", "QTY_SHORT"), ("severity", "medium")), \
        (("code", "DATE_LATE"), ("severity", "high"))
    assert (found[("gateway_exceptions_open", short)],
            found[("gateway_exceptions_raised_total", short)]) == (1, 1)
    # The buyer accepted the later date: no longer open, still raised.
    assert (found.get(("gateway_exceptions_open", late)),
            found[("gateway_exceptions_raised_total", late)]) == (None, 1)
    assert "gateway_broker_queue_length" not in response.text
    # Labels are states, channels, codes and severities: never a sender, an order or a price.
    # (The process's own metrics are left out: its CPU seconds may well read 12.5.)
    ours = "\n".join(line for line in response.text.lower().splitlines()
                     if not line.startswith(("process_", "python_")))
    assert "gateway_exceptions_open" in ours
    for secret in ("acme", "x.example", "4500000001", "12.5"):
        assert secret not in ours


def test_latency_runs_from_the_archive_to_the_reconciling_commit(
        settings: Settings, engine: Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A message taken up 13 ms after its archive by a batch that read it for 108 s counts
    108 s: the latency ends when its batch finished writing, not when the batch began."""
    archived = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sessions = transactions(engine, PARTNERS, archived)
    load_orders(sessions, tmp_path, archived)
    with sessions() as session:
        message = archive(session, Intake(SHORT_AND_LATE, "cli", "as2:acme", "r.edi"), archived)
    now = [archived + timedelta(milliseconds=13)]

    def slow_read(*args: Any, **kwargs: Any) -> ReadBatch:
        batch = read_batch(*args, **kwargs)
        now[0] += timedelta(seconds=108)
        return batch

    monkeypatch.setattr(pipeline, "read_batch", slow_read)
    (report,) = pipeline.process_ids(sessions, [message.message_id], archived.date(),
                                     lambda: now[0], 5)
    assert report.state.value == "reconciled"
    found = samples(fetch(create_app(settings), "/metrics").text)
    assert found[("gateway_processing_latency_seconds_gcount", ())] == 1
    assert found[("gateway_processing_latency_seconds_gsum", ())] == pytest.approx(108.013,
                                                                                   abs=0.002)
    # Its answer sent, the message moves on to `acknowledged`: it still counts, the same.
    with sessions() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == message.message_id)
                        .values(state="acknowledged"))
    found = samples(fetch(create_app(settings), "/metrics").text)
    assert found[("gateway_processing_latency_seconds_gcount", ())] == 1
    assert found[("gateway_processing_latency_seconds_gsum", ())] == pytest.approx(108.013,
                                                                                   abs=0.002)


def test_metrics_say_when_the_database_cannot_be_read() -> None:
    base = POSTGRES_ADMIN_URL.rsplit("@", 1)[0]
    settings = Settings(f"{base}@127.0.0.1:{free_port()}/gateway")
    response = fetch(create_app(settings), "/metrics")
    assert response.status_code == 200
    assert samples(response.text)[("gateway_database_up", ())] == 0


def test_metrics_count_the_tasks_waiting_in_the_broker(settings: Settings,
                                                       engine: Engine) -> None:
    import redis

    queue = f"gateway-test-{os.getpid()}"
    client = redis.Redis.from_url(require_redis(REDIS_URL))
    try:
        client.delete(queue)
        client.rpush(queue, b"task-1", b"task-2", b"task-3")
        app = create_app(Settings(settings.database_url, settings.var_dir, REDIS_URL),
                         broker_queues=[queue])
        found = samples(fetch(app, "/metrics").text)
    finally:
        client.delete(queue)
        client.close()
    assert found[("gateway_broker_up", ())] == 1
    assert found[("gateway_broker_queue_length", (("queue", queue),))] == 3


def test_a_log_line_is_json_with_the_message_id_and_no_payload(settings: Settings,
                                                               engine: Engine) -> None:
    now = datetime.now(UTC)
    factory = make_session_factory(engine)
    payload = b"From: someone@unknown.example\r\n\r\nPO 4500000001 line 10: 80 pcs at 12.50 EUR"
    with factory.begin() as session:
        archived = archive(session, Intake(payload, "smtp", "someone@unknown.example"), now)
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(stream=stream)
    try:
        worker = ReceivedWorker(factory.begin, ["smtp"], lambda: now.date(), lambda: now)
        assert worker.run_once() == 1
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (entry,) = [e for e in lines if e["logger"] == "gateway.services.intake_worker"]
    assert entry["message_id"] == archived.message_id
    assert entry["level"] == "INFO"
    assert {"timestamp", "message", "state"} <= set(entry)
    assert "4500000001" not in stream.getvalue()
    assert "12.50" not in stream.getvalue()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_gateway_web_serves_healthz(settings: Settings, engine: Engine,
                                    tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url,
           "GATEWAY_VAR_DIR": str(tmp_path)}
    env.pop("GATEWAY_BROKER_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "web", "--port",
         str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gateway web did not start: {process.poll()}")
                time.sleep(0.1)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        process.terminate()
        stderr = process.communicate(timeout=30)[1]
    # uvicorn shuts down cleanly, then ends by the signal it was sent.
    assert process.returncode in (0, -signal.SIGTERM), stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert "Application shutdown complete." in [r["message"] for r in records], stderr
    assert any(r["logger"] == "uvicorn.access" for r in records), stderr
    assert "color_message" not in stderr


def test_upgrade_then_ready(settings: Settings) -> None:
    """`gateway init` (the compose file's migrate service) is what makes a web process ready."""
    app = create_app(settings)
    assert fetch(app, "/readyz").status_code == 503
    engine = app.state.sessions.kw["bind"]
    upgrade(engine)
    assert fetch(app, "/readyz").status_code == 200


def test_a_raw_payload_handed_to_the_log_by_mistake_is_not_written() -> None:
    stream = io.StringIO()
    log = logging.getLogger("gateway.test_web")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    log.addHandler(handler)
    try:
        log.warning("stored", extra={"message_id": 7, "raw": b"PRI+AAA:12.50'",
                                     "sha256": "ab" * 32, "lines": ["12.50"]})
    finally:
        log.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert (entry["message_id"], entry["sha256"]) == (7, "ab" * 32)
    assert "raw" not in entry
    assert "lines" not in entry
    assert "12.50" not in stream.getvalue()
