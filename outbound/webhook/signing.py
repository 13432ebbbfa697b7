"""HMAC-SHA256 signatures of outbound webhooks, and how a receiver verifies them.

Every webhook the gateway posts carries three headers:

- `X-Gateway-Delivery`: the delivery id (the outbox row's wire id), the same on every attempt:
  a receiver that has seen it already acknowledges and does nothing.
- `X-Gateway-Timestamp`: when this attempt was signed, in whole seconds since the Unix epoch.
- `X-Gateway-Signature`: `v1=<hex>`, the lowercase hex HMAC-SHA256, keyed with the shared
  secret, of the bytes `<timestamp>.<body>` (the timestamp's decimal digits, one ASCII full
  stop, then the raw body exactly as received). Several signatures (a secret being rotated) are
  separated by commas: `v1=<hex>,v1=<hex>`; one that matches is enough.

A receiver recomputes the HMAC over the raw body (before any JSON parsing), compares it in
constant time with each `v1=` value, and refuses a timestamp further than its replay window
(300 seconds by default) from its own clock; it then remembers the delivery id for at least
that window. `verify` below does exactly that and is what the tests use.

The timestamp is signed together with the body so that a captured request cannot be replayed
later under a fresh timestamp: the same scheme as Stripe's `Stripe-Signature` (`t=…,v1=…`) and
Slack's `X-Slack-Signature` (`v0=` over `v0:<timestamp>:<body>`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

DELIVERY_HEADER = "X-Gateway-Delivery"
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
EVENT_HEADER = "X-Gateway-Event"
SCHEME = "v1"
REPLAY_WINDOW_SECONDS = 300


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `v1=<hex>` value for one body signed at `timestamp` (seconds since the epoch)."""
    digest = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def signed_headers(secret: bytes, body: bytes, timestamp: int, delivery_id: str
                   ) -> tuple[tuple[str, str], ...]:
    """The headers of one attempt. A sender signs again at each attempt, so that a retry
    hours later still falls within the receiver's replay window."""
    return ((DELIVERY_HEADER, delivery_id), (TIMESTAMP_HEADER, str(timestamp)),
            (SIGNATURE_HEADER, signature(secret, timestamp, body)))


class SignatureRejected(ValueError):
    """Why a receiver refuses a webhook (answer 401 and do nothing)."""


def verify(secret: bytes, body: bytes, headers: Mapping[str, str], now: int,
           window: int = REPLAY_WINDOW_SECONDS) -> str:
    """Check a received webhook; returns its delivery id. `headers` is looked up
    case-insensitively, as HTTP header names are (RFC 9110 section 5.1)."""
    found = {name.lower(): value for name, value in headers.items()}
    stamp = found.get(TIMESTAMP_HEADER.lower(), "")
    if not stamp.isdigit():
        raise SignatureRejected("no timestamp")
    if abs(now - int(stamp)) > window:
        raise SignatureRejected(f"timestamp outside the {window} s replay window")
    expected = signature(secret, int(stamp), body)
    offered = [part.strip() for part in found.get(SIGNATURE_HEADER.lower(), "").split(",")]
    if not any(hmac.compare_digest(expected, value) for value in offered):
        raise SignatureRejected("signature does not match")
    return found.get(DELIVERY_HEADER.lower(), "")


# Set on a stored webhook, never sent: the name of the environment variable holding the
# secret. The secret itself is never written to the outbox; the sender signs each attempt.
SIGN_WITH_HEADER = "X-Gateway-Sign-With"


class MissingSecret(ValueError):
    """The variable a webhook is to be signed with is not set in the sending process."""


def sign_attempt(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str],
                 now: int) -> dict[str, str]:
    """The headers to send for this attempt: a stored `X-Gateway-Sign-With` is replaced by a
    fresh timestamp and signature; headers without it are returned as they are."""
    sent = {name: value for name, value in headers.items()
            if name.lower() != SIGN_WITH_HEADER.lower()}
    variable = next((value for name, value in headers.items()
                     if name.lower() == SIGN_WITH_HEADER.lower()), None)
    if variable is None:
        return sent
    secret = secrets.get(variable, "")
    if not secret:
        raise MissingSecret(f"the webhook signing secret variable {variable} is not set")
    delivery = sent.get(DELIVERY_HEADER, "")
    sent.update(signed_headers(secret.encode("utf-8"), body, now, delivery))
    return sent
