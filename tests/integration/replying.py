"""Replies to EDI sent by email: a supplier's email carrying an interchange as an attachment,
sessions that write prose replies and acknowledgements, and one email archived and processed.

Shared by the EDIFACT (CONTRL/APERAK) and X12 (997/999) acknowledgement tests: an attached
interchange must be acknowledged like a bare one, and the acknowledgement replaces the prose
reply."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage

from sqlalchemy import Engine

from gateway.bootstrap import make_session_factory
from gateway.services.ingest import Intake, archive, process
from gateway.services.partners import load_partners
from gateway.services.replies import replier_info
from tests.integration.test_ingest import NOW, TODAY

REPLY_SETTINGS = {
    "GATEWAY_REPLY_FROM": "einkauf@buyer.example",
    "GATEWAY_ACK_FROM": "edi@buyer.example",
    "GATEWAY_REPLY_MESSAGE_ID_DOMAIN": "gw.buyer.example",
}


def email_with_attachment(attachment: bytes, *, subtype: str, filename: str, subject: str,
                          message_id: str, body: str) -> bytes:
    """A plain-text email from Acme's EDI address with `attachment` as application/`subtype`."""
    mail = EmailMessage()
    mail["From"] = "Acme EDI <edi@acme.example>"
    mail["To"] = "orders@buyer.example"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail["Date"] = "Thu, 26 Nov 2026 08:00:00 +0000"
    mail.set_content(body)
    mail.add_attachment(attachment, maintype="application", subtype=subtype, filename=filename)
    return mail.as_bytes()


def replying_sessions(engine: Engine, partners: Mapping[str, object],
                      env: Mapping[str, str] = REPLY_SETTINGS) -> object:
    """Sessions that write prose replies too (an acknowledgement must replace them), with
    `partners` loaded."""
    factory = make_session_factory(engine, replier_info(dict(env)))
    with factory.begin() as session:
        load_partners(session, dict(partners), NOW)
    return factory.begin


def process_email(sessions: object, raw: bytes) -> int:
    """Archive `raw` as an email from Acme, process it, and return its message id."""
    with sessions() as session:  # type: ignore[operator]
        message_id = archive(session, Intake(raw, "cli", "edi@acme.example", "reply.eml"),
                             NOW).message_id
    with sessions() as session:  # type: ignore[operator]
        process(session, message_id, TODAY, NOW)
    return message_id
