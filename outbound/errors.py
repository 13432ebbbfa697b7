"""Errors of the outbound transports.

Exception tree::

    DeliveryError               a message did not reach the other side this time
    ├── TransientDelivery       retrying later may help (relay down or slow, 4xx, 408/429/5xx)
    │   └── TransportUnavailable   the transport itself failed (connect, TLS, login): every
    │                              further message of the batch would fail the same way
    └── PermanentDelivery       retrying cannot help (SMTP 5xx for this message, an unknown
                                domain, HTTP 4xx other than 408/429, no URL)

Each carries `response`, what the other side answered (an SMTP reply, an HTTP status line),
when it answered, and says whether it is `retryable`. Texts never hold the payload.
"""

from __future__ import annotations


class DeliveryError(Exception):
    retryable = False

    def __init__(self, reason: str, response: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
        # Seconds the other side asked us to wait (HTTP Retry-After), when it said.
        self.retry_after = retry_after


class TransientDelivery(DeliveryError):
    retryable = True


class TransportUnavailable(TransientDelivery):
    """Nothing can go through this transport now: the rest of the batch waits too."""


class PermanentDelivery(DeliveryError):
    retryable = False
