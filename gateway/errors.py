"""Errors of the gateway application (parsers have their own root, `parsers.errors.ParseError`).

Exception tree::

    GatewayError                the root of the application's own errors
    ├── ConfigurationError      settings or partner files that cannot be used (not a message error)
    ├── InvalidTransition       a state change the state machine does not allow
    ├── MailboxError            an IMAP server unreachable or failing (gateway.channels.imap)
    ├── ImportRowError          one row of an order or partner import that cannot be read
    └── AccessError             the web app or the API refuses a request (carries its HTTP status)
        ├── SignInRefused       401: wrong or unknown credentials, disabled user, or rate-limited
        ├── Forbidden           403: signed in, but the role or ownership does not allow it
        └── StaleVersion        412: an action on an exception someone changed meanwhile

Each says whether retrying could help (`retryable`).
"""

from __future__ import annotations


class GatewayError(Exception):
    retryable = False


class ConfigurationError(GatewayError):
    """Settings, partner or profile data that cannot be used; fix the file, then run again."""


class InvalidTransition(GatewayError):
    """A state change that the allowed-transition table forbids."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"{kind} cannot go from {current} to {target}")
        self.current = current
        self.target = target


class ImportRowError(GatewayError):
    """One row of an import that cannot be read: where and what."""

    def __init__(self, row: int, detail: str, field: str | None = None) -> None:
        super().__init__(f"row {row}: {detail}")
        self.row = row
        self.detail = detail
        # The column at fault, when one is (the API names it in its problem document).
        self.field = field


class AccessError(GatewayError):
    """A web or API request the gateway refuses; `http_status` is how it is answered (as an
    RFC 9457 problem in the API)."""

    http_status = 400
    title = "Bad request"


class SignInRefused(AccessError):
    http_status = 401
    title = "Not signed in"


class Forbidden(AccessError):
    http_status = 403
    title = "Forbidden"


class StaleVersion(AccessError):
    http_status = 412
    title = "Precondition failed"
