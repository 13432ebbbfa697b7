"""Golden test: the CONTRL and APERAK the gateway writes for the sample interchanges.

`samples/acks/demo/<name>.contrl` and `.aperak` are the acknowledgements of the demo's
interchanges (`samples/demo/messages/<name>.edi`), processed in order as `gateway demo` does
(on the demo's day, every supplier asking for both, `always`), read from the outbox;
`samples/acks/edifact/<name>.contrl` and `.aperak` answer the EDIFACT samples
(`samples/edifact/<name>.edi`, many of them malformed), decided without a database (no
order is known, so an APERAK reports only unreadable values). Dates and control numbers are
fixed: prepared 2026-11-26 09:00 UTC; the EDIFACT samples' interchanges are numbered from 1
per file. Each file is read back by the gateway's own EDIFACT reader.

After a deliberate change, regenerate and review the diff:

    .venv/bin/python -m tests.test_golden_acks
"""

from __future__ import annotations

import email
import io
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.domain.documents import Document
from gateway.persistence.models import InboundMessage, OutboundMessageRow
from gateway.persistence.schema import upgrade
from gateway.services.acknowledgements import (
    AckPolicy,
    AckWhen,
    Answered,
    decide,
    received_interchanges,
    render,
)
from gateway.services.ingest import Intake, ingest
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from mappings.registry import read_message
from parsers.edifact import EdifactMessage, parse_edifact

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ACKS = SAMPLES / "acks"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ALWAYS = AckPolicy(AckWhen.ALWAYS, AckWhen.ALWAYS)


def demo_acks() -> dict[str, bytes]:
    """The demo's messages processed on the demo's day, every supplier asking for both."""
    partners = read_partner_file(SAMPLES / "demo" / "partners.toml")
    for supplier in partners["suppliers"]:
        supplier["contrl"] = supplier["aperak"] = "always"
    found: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(Settings(f"sqlite:///{folder}/acks.db", Path(folder)))
        try:
            upgrade(engine)
            transaction = make_session_factory(engine).begin
            with transaction() as session:
                load_partners(session, partners, NOW)
                lines, _errors = read_order_file(SAMPLES / "demo" / "orders.csv")
                import_lines(session, lines, "orders.csv", NOW)
            files = sorted((SAMPLES / "demo" / "messages").glob("*.edi"))
            intakes = [Intake(path.read_bytes(), "cli", "demo", path.name) for path in files]
            ingest(transaction, intakes, NOW.date(), NOW)
            with transaction() as session:
                rows = session.execute(
                    select(OutboundMessageRow.kind, OutboundMessageRow.payload,
                           InboundMessage.filename)
                    .join(InboundMessage, InboundMessage.id == OutboundMessageRow.message_id)
                    .order_by(OutboundMessageRow.id)).all()
        finally:
            engine.dispose()
    for kind, payload, filename in rows:
        name = f"demo/{Path(filename).stem}.{kind}"
        found[name] = found.get(name, b"") + _attachment(payload)
    return found


def _attachment(payload: bytes) -> bytes:
    mail = email.message_from_bytes(payload)
    (part,) = [p for p in mail.walk() if p.get_content_type() == "application/edifact"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def sample_acks() -> dict[str, bytes]:
    """The EDIFACT samples answered without a database: interchanges numbered from 1."""
    found: dict[str, bytes] = {}
    for path in sorted((SAMPLES / "edifact").glob("*.edi")):
        reading = read_message(path.read_bytes(), path.name)
        answered = [Answered(r, ()) for r in reading.results if isinstance(r, Document)]
        specs = decide(ALWAYS, received_interchanges(reading.edifact), answered)
        for number, spec in enumerate(specs, 1):
            name = f"edifact/{path.stem}.{spec.kind.value}"
            found[name] = found.get(name, b"") + render(spec, str(number), NOW)
    return found


def all_acks() -> dict[str, bytes]:
    return {**demo_acks(), **sample_acks()}


@pytest.fixture(scope="module")
def produced() -> dict[str, bytes]:
    return all_acks()


def test_every_golden_acknowledgement_is_produced_and_nothing_else(
        produced: dict[str, bytes]) -> None:
    stored = {p.relative_to(ACKS).as_posix() for p in ACKS.glob("*/*")
              if p.suffix in (".contrl", ".aperak")}
    assert sorted(produced) == sorted(stored)


def test_the_acknowledgements_are_as_stored(produced: dict[str, bytes]) -> None:
    for name, data in produced.items():
        assert data.decode("latin-1") == (ACKS / name).read_bytes().decode("latin-1"), name


def test_every_acknowledgement_reads_back_without_a_problem(
        produced: dict[str, bytes]) -> None:
    for name, data in produced.items():
        items = list(parse_edifact(io.BytesIO(data)))
        assert all(isinstance(i, EdifactMessage) and not i.problems for i in items), name
        kinds = {i.type for i in items if isinstance(i, EdifactMessage)}
        assert kinds == {name.rsplit(".", 1)[1].upper()}, name


def test_the_demo_answers_each_interchange_it_processed() -> None:
    """Every demo file but the byte-identical re-delivery (12, a duplicate never processed)
    has its CONTRL; the broken sample batch rejects exactly its cut message."""
    demo = {p.name for p in (ACKS / "demo").glob("*.contrl")}
    messages = sorted(p.stem for p in (SAMPLES / "demo" / "messages").glob("*.edi"))
    assert demo == {f"{m}.contrl" for m in messages if not m.startswith("12_")}
    broken = (ACKS / "edifact" / "ordrsp_broken_message_in_batch.contrl").read_text()
    assert "UCM+2+ORDRSP:D:96A:UN:EAN005+4'" in broken
    assert "UCS+8+13'" in broken


if __name__ == "__main__":
    for name, data in sorted(all_acks().items()):
        target = ACKS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        sys.stdout.write(f"{target.relative_to(SAMPLES.parent)}\n")
