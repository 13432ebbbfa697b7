"""Alerts leave through the outbox to real servers on loopback: an aiosmtpd relay receives the
alert mail and the digest, an HTTP server the signed webhook, whose HMAC the test verifies as
a receiver would; Slack bodies arrive unsigned and escaped. SQLite and PostgreSQL."""

from __future__ import annotations

import email
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.config import OutboundSettings
from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.silence import Silence
from gateway.domain.tolerances import DEFAULT_PROFILE, Severity
from gateway.services.digest import send_digests
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import SupplierInfo
from gateway.services.outbox_sender import OutboxSender, Transports
from outbound.transports.filedrop import FileDrop
from outbound.transports.smtp import RelayAddress, SmtpRelay
from outbound.transports.webhook import Webhooks
from outbound.webhook.signing import SignatureRejected, verify
from tests.integration.conftest import transactions
from tests.integration.outbound_servers import Relay, WebhookReceiver, smtp_relay, webhook_server

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SECRET = "whsec-alerts-test"
Transactions = Callable[[], AbstractContextManager[Session]]
ACME = SupplierInfo("ACME", "Acme <b>Fasteners</b>", None, DEFAULT_PROFILE)


def partners(hook_url: str, style: str = "json") -> dict[str, Any]:
    webhook: dict[str, str] = {"url": f"{hook_url}/alerts", "style": style}
    if style == "json":
        webhook["secret_env"] = "GATEWAY_TEST_ALERT_SECRET"
    return {"suppliers": [{"code": "ACME", "name": "Acme <b>Fasteners</b>"}],
            "notify": {"sender": "Gateway <gateway@buyer.example>", "recipients": {
                "anna@buyer.example": {"language": "zh", "webhook": webhook}}}}


def problem(severity: Severity, line: str) -> Discrepancy:
    return Discrepancy(DiscrepancyCode.QTY_SHORT, severity, "PO-7", line, "100 PCE",
                       "<script>40</script> PCE", "-60 PCE", "short", "strict v1", 5.0, None,
                       "anna@buyer.example")


def record(begin: Transactions, found: list[Discrepancy]) -> None:
    with begin() as session:
        ledger = ExceptionLedger(session)
        ledger.record(Silence(found, []), ACME, {}, Source(None, None, NOW))
        ledger.flush()


def deliver(begin: Transactions, tmp_path: Path, port: int) -> None:
    settings = OutboundSettings(drop_dir=tmp_path / "outbox", smtp_timeout=2.0,
                                webhook_timeout=2.0)
    transports = Transports(
        FileDrop(settings.drop_dir),
        SmtpRelay(RelayAddress.from_url(f"smtp://127.0.0.1:{port}", None, 2.0)),
        Webhooks(2.0, secrets={"GATEWAY_TEST_ALERT_SECRET": SECRET}))
    report = OutboxSender(begin, transports, settings, lambda: NOW + timedelta(days=1),
                          "test").drain()
    assert report is not None


def parsed(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_alert_mail_the_digest_and_the_signed_webhook_arrive(
        engine: Engine, tmp_path: Path) -> None:
    relay, receiver = Relay(), WebhookReceiver()
    with smtp_relay(relay) as port, webhook_server(receiver) as url:
        begin = transactions(engine, partners(url), NOW)
        record(begin, [problem(Severity.HIGH, "10"), problem(Severity.LOW, "20")])
        with begin() as session:
            send_digests(session, NOW + timedelta(hours=22))
        deliver(begin, tmp_path, port)
    alert, digest = (parsed(arrived.content) for arrived in relay.arrived)
    assert [a.rcpt_tos for a in relay.arrived] == [["anna@buyer.example"]] * 2
    assert alert["Subject"].startswith("[高] 供应商异常 新建: QTY_SHORT")
    assert digest["Subject"].startswith("供应商异常每日汇总 (1)")   # the high one went at once
    html = digest.get_body(("html",))
    assert html is not None
    assert "&lt;script&gt;40&lt;/script&gt;" in html.get_content()
    assert "<script>" not in html.get_content()
    assert [r.path for r in receiver.requests] == ["/alerts", "/alerts"]
    for request in receiver.requests:
        delivery = verify(SECRET.encode(), request.body, request.headers, int(time.time()))
        assert delivery == request.headers["X-Gateway-Delivery"]
        assert "X-Gateway-Sign-With" not in request.headers
    first = json.loads(receiver.requests[0].body)
    assert (first["event"], first["alerts"][0]["actual"]) == ("alert",
                                                              "<script>40</script> PCE")
    with pytest.raises(SignatureRejected):
        verify(b"another secret", receiver.requests[0].body, receiver.requests[0].headers,
               int(time.time()))


def test_a_slack_webhook_gets_its_own_body_unsigned(engine: Engine, tmp_path: Path) -> None:
    relay, receiver = Relay(), WebhookReceiver()
    with smtp_relay(relay) as port, webhook_server(receiver) as url:
        begin = transactions(engine, partners(url, "slack"), NOW)
        record(begin, [problem(Severity.HIGH, "10")])
        deliver(begin, tmp_path, port)
    (request,) = receiver.requests
    assert "X-Gateway-Signature" not in request.headers
    body = json.loads(request.body)
    assert "&lt;script&gt;" in body["blocks"][1]["text"]["text"]
