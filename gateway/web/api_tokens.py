"""API tokens as the web process checks them: the bearer header read, and a short-lived memory
of tokens found valid.

A token is checked against `api_tokens` (its SHA-256, not revoked) and then remembered for
`GATEWAY_API_TOKEN_CACHE_SECONDS` (default 2; 0 checks the database on every request). Within
that time a request with the same token needs no lookup: an integration polling the queue
pays one statement a page, not two. What that costs: a token revoked with
`gateway users token revoke` is refused by every web process at most that many seconds later
(each process remembers for itself; nothing is shared, nothing outlives the process). Only
tokens found valid are remembered, never a refusal, and at most `MAX_ENTRIES` of them (a
flood of made-up tokens cannot grow it, as none of them is valid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.domain.access import Actor
from gateway.errors import ConfigurationError
from gateway.services.accounts import token_actor

DEFAULT_CACHE_SECONDS = 2.0
MAX_CACHE_SECONDS = 60.0  # never longer than the last use is recorded (once a minute)
MAX_ENTRIES = 1024


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1); None for
    any other scheme or an empty token."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@dataclass(slots=True)
class TokenCache:
    """Tokens found valid, each until `seconds` after it was looked up (by the app's clock).
    A dict under the GIL: the threads of one process share it without a lock (a race costs a
    second lookup, never a wrong answer)."""

    seconds: float = DEFAULT_CACHE_SECONDS
    _found: dict[str, tuple[Actor, datetime]] = field(default_factory=dict)

    def remembered(self, token: str, now: datetime) -> Actor | None:
        """The token's integration when it was found valid within the last `seconds`."""
        remembered = self._found.get(token)
        if remembered is not None and _fresh(remembered[1], now, self.seconds):
            return remembered[0]
        return None

    def actor(self, session: Session, token: str, now: datetime) -> Actor | None:
        """The token's integration, remembered or looked up in `session` (the request's own
        transaction, which also records its last use); None when unknown or revoked."""
        remembered = self.remembered(token, now)
        if remembered is not None:
            return remembered
        found = token_actor(session, token, now)
        if found is None:
            self._found.pop(token, None)
        elif self.seconds > 0:
            if len(self._found) >= MAX_ENTRIES:
                self._found.clear()
            self._found[token] = (found, now)
        return found


def _fresh(looked_up: datetime, now: datetime, seconds: float) -> bool:
    """Within `seconds` of the lookup; a clock set back counts as stale."""
    return looked_up <= now < looked_up + timedelta(seconds=seconds)


def cache_seconds(value: str | None) -> float:
    """`GATEWAY_API_TOKEN_CACHE_SECONDS`: blank is the default; bounded to 0..60."""
    if value is None or not value.strip():
        return DEFAULT_CACHE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError(
            f"GATEWAY_API_TOKEN_CACHE_SECONDS {value!r} is not a number of seconds") from None
    if not 0 <= seconds <= MAX_CACHE_SECONDS:
        raise ConfigurationError("GATEWAY_API_TOKEN_CACHE_SECONDS must be 0 to 60")
    return seconds
