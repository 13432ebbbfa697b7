"""Errors of the gateway application (parsers have their own root, `parsers.errors.ParseError`).

Exception tree::

    GatewayError                the root of the application's own errors
    ├── ConfigurationError      settings or partner files that cannot be used (not a message error)
    ├── InvalidTransition       a state change the state machine does not allow
    ├── MailboxError            an IMAP server unreachable or failing (gateway.channels.imap)
    └── ImportRowError          one row of an order or partner import that cannot be read

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

    def __init__(self, row: int, detail: str) -> None:
        super().__init__(f"row {row}: {detail}")
        self.row = row
        self.detail = detail
