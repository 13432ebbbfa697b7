"""What a token's scopes cover (gateway.domain.access.token_may)."""

from __future__ import annotations

from gateway.domain.access import Actor, Scope, token_may


def test_a_write_scope_covers_reading_the_same_resource_only() -> None:
    writer = Actor("erp", None, None, None, frozenset({Scope.ORDERS_WRITE}))
    assert token_may(writer, Scope.ORDERS_READ)
    assert token_may(writer, Scope.ORDERS_WRITE)
    assert not token_may(writer, Scope.EXCEPTIONS_READ)
    reader = Actor("erp", None, None, None, frozenset({Scope.ORDERS_READ}))
    assert not token_may(reader, Scope.ORDERS_WRITE)
