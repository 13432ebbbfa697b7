"""No automatic reply to what must not get one (outbound/email/loops.py): auto-replies,
bounces, lists, bulk mail, our own messages."""

from __future__ import annotations

import pytest

from outbound.email.loops import LoopRisk, no_reply

OWN = "gateway.buyer.example"
PLAIN = [("from", "Acme Orders <orders@acme.example>"), ("to", "orders@buyer.example"),
         ("subject", "PO 4500012346"), ("message-id", "<a1@acme.example>")]


@pytest.mark.parametrize(("extra", "return_path", "risk"), [
    ([("auto-submitted", "auto-replied")], "orders@acme.example", LoopRisk.AUTO_SUBMITTED),
    ([("auto-submitted", "auto-generated; owner-email=it@acme.example")], None,
     LoopRisk.AUTO_SUBMITTED),
    ([("auto-submitted", "auto-notified")], None, LoopRisk.AUTO_SUBMITTED),
    ([("x-autoreply", "yes")], None, LoopRisk.AUTO_SUBMITTED),
    ([("precedence", "bulk")], None, LoopRisk.BULK),
    ([("precedence", " Junk ")], None, LoopRisk.BULK),
    ([("precedence", "list")], None, LoopRisk.BULK),
    ([("list-id", "Suppliers <suppliers.lists.acme.example>")], None, LoopRisk.LIST),
    ([("list-unsubscribe", "<mailto:leave@lists.acme.example>")], None, LoopRisk.LIST),
    ([("list-post", "NO")], None, LoopRisk.LIST),
    ([], "<>", LoopRisk.BOUNCE),
    ([], "", LoopRisk.BOUNCE),
    ([("return-path", "<>")], None, LoopRisk.BOUNCE),
    ([], "MAILER-DAEMON@mx.acme.example", LoopRisk.BOUNCE),
    ([("sender", "Mail Delivery System <Mailer-Daemon@mx.acme.example>")], None,
     LoopRisk.BOUNCE),
    ([("content-type", "multipart/report; report-type=delivery-status; boundary=x")], None,
     LoopRisk.REPORT),
    ([("x-auto-response-suppress", "DR, OOF, AutoReply")], None, LoopRisk.SUPPRESS_REQUESTED),
    ([("x-auto-response-suppress", "All")], None, LoopRisk.SUPPRESS_REQUESTED),
])
def test_automatic_and_bulk_mail_gets_no_reply(extra: list[tuple[str, str]],
                                               return_path: str | None,
                                               risk: LoopRisk) -> None:
    found = no_reply([*extra, *PLAIN], return_path, OWN)
    assert found is not None
    assert found.risk is risk
    assert found.describe().startswith(risk.value)


def test_a_bounce_from_the_postmaster_gets_no_reply() -> None:
    bounce = [("from", "postmaster@acme.example"), ("subject", "Undeliverable")]
    assert no_reply(bounce, "bounces@acme.example", OWN) == no_reply(bounce, None, OWN)
    assert no_reply(bounce, None, OWN) is not None


def test_our_own_message_coming_back_gets_no_reply() -> None:
    ours = [*PLAIN[:3], ("message-id", f"<reply.0a1b2c@{OWN.upper()}>")]
    found = no_reply(ours, "orders@acme.example", OWN)
    assert found is not None
    assert found.risk is LoopRisk.OWN_MESSAGE
    # A supplier's answer to our reply names our id in In-Reply-To: it is answered.
    answer = [*PLAIN, ("in-reply-to", f"<reply.0a1b2c@{OWN}>"),
              ("references", f"<reply.0a1b2c@{OWN}>")]
    assert no_reply(answer, "orders@acme.example", OWN) is None


@pytest.mark.parametrize("extra", [
    [],
    [("auto-submitted", "no")],
    [("precedence", "normal")],
    [("x-auto-response-suppress", "DR, RN")],
    [("content-type", "multipart/mixed; boundary=x")],
])
def test_a_person_writing_gets_a_reply(extra: list[tuple[str, str]]) -> None:
    assert no_reply([*PLAIN, *extra], "orders@acme.example", OWN) is None
    assert no_reply([*PLAIN, *extra], None, None) is None
