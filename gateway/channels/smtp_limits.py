"""How many SMTP connections the intake holds at once, overall and per client address.

A pure counter (no sockets): `GatewaySMTP` asks it on each new connection and tells it when
one closes. A connection over a limit is answered `421` and closed at once, before the
greeting: RFC 5321 section 3.8 lets a server that cannot serve answer 421 and close, and a
421 is temporary, so the sending MTA keeps the mail and tries again later (section 4.2.2
lists 421 for "service not available"; Postfix answers `421 4.7.0 ... too many connections`
past `smtpd_client_connection_count_limit`). The enhanced code 4.7.0 is RFC 3463's "other or
undefined security status": a policy refusal.
"""

from __future__ import annotations

from collections import Counter


class ConnectionLimits:
    """At most `total` connections, and `per_client` from one client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self._open: Counter[str] = Counter()
        self.open = 0

    def admit(self, client: str) -> str | None:
        """Count a new connection from `client`; or, over a limit, the refusal to answer
        (nothing counted)."""
        if self.open >= self.total:
            return f"too many connections ({self.total} open); try again later"
        if self._open[client] >= self.per_client:
            return (f"too many connections from {client} ({self.per_client} open); "
                    "try again later")
        self._open[client] += 1
        self.open += 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]
