"""Webhook signatures and bodies: the HMAC a receiver checks, and supplier text escaped for
Slack and Teams."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from gateway.domain.alerts import Change, DigestItem
from gateway.domain.tolerances import Severity
from outbound.webhook.bodies import json_body, slack_body, teams_body
from outbound.webhook.signing import (
    MissingSecret,
    SignatureRejected,
    sign_attempt,
    signed_headers,
    verify,
)

SECRET = b"s3cret"
BODY = b'{"event":"alert"}'


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    headers = dict(signed_headers(SECRET, BODY, 1_796_000_000, "d-1"))
    expected = hmac.new(SECRET, b"1796000000." + BODY, hashlib.sha256).hexdigest()
    assert headers["X-Gateway-Signature"] == f"v1={expected}"
    assert verify(SECRET, BODY, headers, 1_796_000_100) == "d-1"


@pytest.mark.parametrize(("body", "secret", "now"), [
    (BODY + b" ", SECRET, 1_796_000_000),            # body changed
    (BODY, b"other", 1_796_000_000),                 # wrong secret
    (BODY, SECRET, 1_796_000_000 + 301),             # replayed after the window
])
def test_verification_refuses_changed_body_wrong_secret_and_replays(
        body: bytes, secret: bytes, now: int) -> None:
    headers = dict(signed_headers(SECRET, BODY, 1_796_000_000, "d-1"))
    with pytest.raises(SignatureRejected):
        verify(secret, body, headers, now)


def test_a_rotated_secret_may_sign_twice() -> None:
    old = dict(signed_headers(b"old", BODY, 100, "d"))["X-Gateway-Signature"]
    new = dict(signed_headers(SECRET, BODY, 100, "d"))["X-Gateway-Signature"]
    assert verify(SECRET, BODY, {"x-gateway-timestamp": "100",
                                 "x-gateway-signature": f"{old},{new}"}, 100) == ""


HOSTILE = DigestItem(7, "ACME", "<Acme & *Co*>", "QTY_SHORT", Severity.HIGH, 41.234, "open",
                     Change.OPENED, "PO<1>", "10", "100 PCE", "[click](http://x)")


def test_the_json_body_carries_the_exception_as_data() -> None:
    body = json.loads(json_body("alert", "d-1", "anna@buyer.example",
                                datetime(2026, 12, 6, tzinfo=UTC), [HOSTILE]))
    assert body["alerts"][0] == {
        "exception_id": 7, "change": "opened", "code": "QTY_SHORT", "severity": "high",
        "risk": 41.23, "state": "open", "supplier": {"code": "ACME", "name": "<Acme & *Co*>"},
        "order_number": "PO<1>", "line_no": "10", "expected": "100 PCE",
        "actual": "[click](http://x)", "changes": 1}


def test_slack_escapes_its_control_characters() -> None:
    body = json.loads(slack_body("1 alert", [HOSTILE]))
    line = body["blocks"][1]["text"]["text"]
    assert "&lt;Acme &amp; *Co*&gt;" in line
    assert "PO&lt;1&gt;" in line
    assert "<" not in line
    assert ">" not in line


def test_teams_escapes_markdown() -> None:
    body = json.loads(teams_body("1 alert", [HOSTILE]))
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    text = card["body"][1]["text"]
    assert r"\[click\]\(http://x\)" in text
    assert r"\*Co\*" in text


def test_each_attempt_is_signed_afresh_and_the_secret_name_never_leaves() -> None:
    stored = {"X-Gateway-Delivery": "d-9", "X-Gateway-Sign-With": "HOOK_SECRET"}
    sent = sign_attempt(stored, BODY, {"HOOK_SECRET": "s3cret"}, 1_796_000_000)
    assert "X-Gateway-Sign-With" not in sent
    assert sent["X-Gateway-Timestamp"] == "1796000000"
    assert verify(SECRET, BODY, sent, 1_796_000_000) == "d-9"
    later = sign_attempt(stored, BODY, {"HOOK_SECRET": "s3cret"}, 1_796_007_200)
    assert verify(SECRET, BODY, later, 1_796_007_200) == "d-9"
    assert sign_attempt({"A": "b"}, BODY, {}, 1) == {"A": "b"}
    with pytest.raises(MissingSecret, match="HOOK_SECRET"):
        sign_attempt(stored, BODY, {}, 1_796_000_000)
