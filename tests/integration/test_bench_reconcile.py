"""`gateway bench reconcile`'s gateway side on each database: every message reconciled, and
the CPU it took counted, its worker processes' and the PostgreSQL server's too."""

from __future__ import annotations

from gateway.bench.reconcile import gateway_run, make_messages, make_orders
from gateway.config import Settings


def test_a_gateway_side_reconciles_every_message_and_counts_its_cpu(settings: Settings) -> None:
    orders = make_orders(300)
    messages = make_messages(orders, 20)
    # Four batches: on PostgreSQL two worker processes, whose backends end before the count.
    result = gateway_run(settings, orders, messages, "side", batch_size=5, processes=2)
    assert result.messages == 20
    assert result.seconds > 0
    assert result.cpu_seconds is not None
    assert result.cpu_seconds > 0
    if settings.is_sqlite:
        assert result.server_cpu_seconds == 0.0      # SQLite runs in this process
    else:
        # The server runs on this machine in tests and CI: its processes' CPU is read, the
        # backends that served the workers and ended included.
        assert result.server_cpu_seconds is not None
        assert result.server_cpu_seconds > 0
