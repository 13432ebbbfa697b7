"""Loading the partner file into the directory (gateway.services.partners), on SQLite and on
PostgreSQL."""

from __future__ import annotations

from gateway.services.partners import load_partners
from tests.integration.test_ingest import GLN, NOW, sessions

__all__ = ["sessions"]


def test_moving_an_address_between_suppliers_does_not_depend_on_file_order(
        sessions: object) -> None:
    """The file gives orders@acme.example to FWD and takes it from ACME. Suppliers are stored
    one by one and FWD comes first, yet its clash check sees the file as a whole: the load
    succeeds."""
    moved = {"suppliers": [
        {"code": "FWD", "name": "Acme's forwarder", "emails": ["orders@acme.example"]},
        {"code": "ACME", "name": "Acme Fasteners GmbH", "edi_ids": [GLN], "profile": "strict"},
    ]}
    with sessions() as session:  # type: ignore[operator]
        load_partners(session, moved, NOW)
