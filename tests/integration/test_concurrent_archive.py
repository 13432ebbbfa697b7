"""Two transactions archiving the same bytes from the same sender at the same time keep one
original and one duplicate, on SQLite and PostgreSQL (an SMTP retry while the first commit is
still running, two pollers of one mailbox during a restart)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine

from gateway.bootstrap import make_session_factory
from gateway.services.ingest import Archived, Intake, archive_many

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MAIL = Intake(b"From: lieferant@example.com\r\n\r\nPO 4500012345 line 10: 80 pcs\r\n", "smtp",
              "lieferant@example.com")


def test_the_second_of_two_concurrent_copies_is_a_duplicate(engine: Engine) -> None:
    factory = make_session_factory(engine)
    first_archived = threading.Event()
    results: dict[str, Archived] = {}

    def second() -> None:
        first_archived.wait(10)
        with factory.begin() as session:
            (results["second"],) = archive_many(session, [MAIL], NOW)

    racer = threading.Thread(target=second)
    racer.start()
    with factory.begin() as session:
        (results["first"],) = archive_many(session, [MAIL], NOW)
        first_archived.set()
        # The second transaction is now waiting for this one: it must not see "no copy yet".
        racer.join(0.5)
        assert racer.is_alive()
    racer.join(30)
    assert not racer.is_alive()
    assert results["first"].duplicate_of is None
    assert results["second"].duplicate_of == results["first"].message_id
