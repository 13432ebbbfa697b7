"""HTTP webhooks: the stored body POSTed to the row's URL.

Each request carries the row's wire id as `X-Gateway-Delivery` and `Idempotency-Key`, the same
on every attempt, so a receiver that saw it already can say so (the way GitHub's
`X-GitHub-Delivery` is used). A webhook stored with `X-Gateway-Sign-With` is signed afresh at
each attempt with HMAC-SHA256 (`outbound.webhook.signing`). Redirects are not followed: a
webhook URL names its receiver.

What a status means (RFC 9110 section 15): 2xx delivered; 408, 429 and 5xx transient (a
`Retry-After` in seconds is honoured as the shortest wait, RFC 9110 section 10.2.3); any other
answer permanent. No URL, a URL that is not http(s) and a host name that does not exist are
permanent; a connection refused, reset or timed out is transient.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from outbound.errors import PermanentDelivery, TransientDelivery
from outbound.transports.base import Delivered, Outgoing
from outbound.webhook.signing import MissingSecret, sign_attempt

USER_AGENT = "supplier-gateway-outbox/1"
_RESPONSE_KEPT = 300   # characters of the receiver's answer kept on the attempt


class Webhooks:
    def __init__(self, timeout: float, context: ssl.SSLContext | None = None,
                 secrets: Mapping[str, str] | None = None) -> None:
        """`secrets`: where the signing secrets of signed webhooks are read (default: the
        process environment; `outbound.webhook.signing`)."""
        self.timeout = timeout
        self._context = context
        self.secrets = os.environ if secrets is None else secrets

    @property
    def context(self) -> ssl.SSLContext:
        """Made at the first https URL: loading the system's CAs takes a noticeable time."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def send(self, message: Outgoing) -> Delivered:
        url = message.recipient.strip()
        if not url:
            raise PermanentDelivery("no webhook URL")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentDelivery(f"not an http(s) URL: {parts.scheme or 'no scheme'}")
        connection = (http.client.HTTPSConnection(parts.hostname, parts.port,
                                                  timeout=self.timeout, context=self.context)
                      if parts.scheme == "https" else
                      http.client.HTTPConnection(parts.hostname, parts.port,
                                                 timeout=self.timeout))
        headers = {"Content-Type": message.content_type, "User-Agent": USER_AGENT,
                   "X-Gateway-Delivery": message.wire_id, "Idempotency-Key": message.wire_id,
                   **dict(message.headers)}
        try:   # signed at each attempt, so a retry is inside the receiver's replay window
            headers = sign_attempt(headers, message.payload, self.secrets, int(time.time()))
        except MissingSecret as exc:
            raise PermanentDelivery(str(exc)) from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=message.payload, headers=headers)
            response = connection.getresponse()
            answer = response.read(4096).decode("utf-8", "replace")
            status, reason = response.status, response.reason
            retry_after = _seconds(response.getheader("Retry-After"))
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                raise PermanentDelivery(f"unknown host {parts.hostname}") from None
            raise TransientDelivery(f"cannot resolve {parts.hostname}: {exc.strerror}") \
                from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransientDelivery(f"{parts.hostname}: {_describe(exc)}") from None
        finally:
            connection.close()
        said = " ".join(f"{status} {reason} {answer}".split())[:_RESPONSE_KEPT]
        if 200 <= status < 300:
            return Delivered(said)
        if status in (408, 429) or status >= 500:
            raise TransientDelivery(f"{parts.hostname} answered {status}", said, retry_after)
        raise PermanentDelivery(f"{parts.hostname} answered {status}", said)

    def close(self) -> None:
        return None


def _seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds; an HTTP date is left to the back-off."""
    return float(value) if value and value.strip().isdigit() else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)[:300]
