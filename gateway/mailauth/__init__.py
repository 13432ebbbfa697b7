"""Sender authentication of inbound mail: who may speak as a supplier.

- `verdict`: the result of checking one message (pure): DKIM and SPF results, DMARC's
  identifier alignment with the `From:` domain (RFC 7489 section 3.1), and the policy that
  decides what a message that claims a supplier may do.
- `authres`: Authentication-Results header fields (RFC 8601), parsed strictly; only those of a
  trusted authserv-id are read.
- `headers`: the header block of a message, read within bounds.
- `verify`: the checks themselves (dkimpy, pyspf), DNS injected as a lookup function.
- `dns`: that lookup on dnspython, for production.

Exception tree::

    GatewayError
    └── MailAuthError               sender authentication could not run
        └── DnsTemporaryFailure     a DNS query timed out or no server answered (retryable)

A DNS failure never escapes a check: it becomes the `temperror` result of that check
(RFC 7208 section 2.6.6, RFC 6376 section 6.1.2), recorded in the verdict.
"""

from __future__ import annotations

from gateway.errors import GatewayError


class MailAuthError(GatewayError):
    """Sender authentication could not run."""


class DnsTemporaryFailure(MailAuthError):
    """A DNS query that timed out or found no server to answer: try again later."""

    retryable = True
