"""`gateway run`, the embedded default, as a subprocess on SQLite with no other service: mail
taken in by SMTP is processed by the worker of the same process; SIGINT in the middle of a
burst exits 0, every message answered 250 is stored, and what was not processed yet is
processed at the next start."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.persistence.models import InboundMessage
from gateway.persistence.schema import upgrade
from gateway.services.partners import load_partners
from tests.integration.test_pipeline import (
    GATEWAY,
    NOW,
    OURS,
    PARTNERS,
    order_response,
    orders_csv,
)
from tests.integration.test_smtp import free_port


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(InboundMessage.state, func.count())
                                       .group_by(InboundMessage.state)).all())


class Run:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*GATEWAY, "run", "--smtp-port", str(port), "--no-web"], env=env,
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "listening on" not in log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"gateway run did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def wait_for(engine: Engine, wanted: dict[str, int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while states(engine) != wanted:
        if time.monotonic() > deadline:
            pytest.fail(f"expected {wanted}, found {states(engine)}")
        time.sleep(0.1)


def test_gateway_run_takes_mail_in_processes_it_and_stops_cleanly(tmp_path):
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    orders = tmp_path / "orders.csv"
    orders.write_text(orders_csv(30))
    from gateway.services.orders import import_lines, read_order_file

    with make_session_factory(engine).begin() as session:
        load_partners(session, PARTNERS, NOW)
        import_lines(session, read_order_file(orders)[0], "orders.csv", NOW)
    env = {key: value for key, value in os.environ.items()
           if key not in ("GATEWAY_BROKER_URL", "GATEWAY_IMAP_MAILBOXES")}
    env |= {"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_VAR_DIR": str(tmp_path),
            "GATEWAY_SMTP_RECIPIENTS": OURS, "GATEWAY_SMTP_HOSTNAME": "mx.buyer.example"}
    port = free_port()
    log = tmp_path / "run.log"

    run = Run(env, port, log)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        assert client.sendmail("orders@acme.example", [OURS], order_response(0) + b"\r\n") == {}
    wait_for(engine, {"reconciled": 1})
    # A burst, interrupted half-way: each 250 means stored; the rest is refused or unsent.
    accepted = 1
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for n in range(1, 30):
            if n == 10:
                run.process.send_signal(signal.SIGINT)
            try:
                client.sendmail("orders@acme.example", [OURS], order_response(n) + b"\r\n")
            except (smtplib.SMTPException, OSError):
                break
            accepted += 1
    assert run.interrupt() == 0, log.read_text()[-3000:]
    assert accepted >= 10
    stopped = states(engine)
    assert sum(stopped.values()) == accepted
    assert set(stopped) <= {"reconciled", "received"}
    assert "gateway stopped" in log.read_text()
    assert "Traceback" not in log.read_text()
    print(f"{accepted} accepted; at the stop: {stopped}")

    # What the worker had not reached is processed at the next start.
    again = Run(env, port, tmp_path / "run-again.log")
    wait_for(engine, {"reconciled": accepted})
    assert again.interrupt() == 0
    engine.dispose()


# `python -m gateway ARGS`, once the interpreter has started: one byte on stdout first.
_STARTED_THEN_GATEWAY = ("import os, runpy, sys; os.write(1, b'.'); sys.argv[0] = 'gateway'; "
                         "runpy.run_module('gateway', run_name='__main__', alter_sys=True)")


@pytest.mark.parametrize("delay", [0.2, 0.4, 0.55, 0.7, 0.85, 1.0])
def test_sigint_during_the_start_ends_in_one_line_not_a_traceback(tmp_path: Path,
                                                                 delay: float) -> None:
    """Ctrl-C while the command line is still importing, or while the database is upgraded,
    or once it serves: never a traceback, never lost. Before serving it is status 130
    (128 + SIGINT) with one line; once serving, the documented clean stop, status 0. The delay
    counts from the moment the interpreter has started and runs `python -m gateway`'s way in
    (it writes one byte first): in the interpreter's own start, before any code runs, Python
    reports an interrupt its own way, and on a loaded machine that start alone can take longer
    than the shortest delay."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
           "GATEWAY_SMTP_RECIPIENTS": "buyer.example"}
    process = subprocess.Popen(
        [sys.executable, "-c", _STARTED_THEN_GATEWAY, "run", "--smtp-port", "0", "--no-web"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.read(1) == "."
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in out + err
    assert process.returncode in (0, 130), err[-2000:]
    if process.returncode == 130:
        assert err.splitlines()[-1].startswith("gateway: interrupted"), err[-2000:]
    else:
        # The log is JSON, a record per line (spacing is the encoder's).
        records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert "gateway stopped" in [record["message"] for record in records], err[-2000:]
