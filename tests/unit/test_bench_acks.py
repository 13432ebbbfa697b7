"""`gateway bench parse`'s acknowledgement table (gateway.bench.acks) on a small interchange:
both sides read every message, the acknowledgements are written and read back."""

from __future__ import annotations

import io

from gateway.bench.acks import ack_table, bench_acks, parse_map_and_acknowledge
from gateway.bench.parse import build_interchange
from parsers.edifact import EdifactMessage, parse_edifact


def test_both_sides_read_every_message_and_the_table_shows_the_added_share() -> None:
    result = bench_acks("DESADV", 20, 1)
    assert result.messages == 20
    assert len(result.plain.seconds) == len(result.acked.seconds) == 1
    assert result.added_pct == (result.acked.median / result.plain.median - 1.0) * 100.0
    assert ack_table([result], 1).row_count == 1


def test_the_acknowledged_side_writes_a_contrl_and_an_aperak_per_message() -> None:
    documents, written = parse_map_and_acknowledge(build_interchange("ORDRSP", 15))
    assert documents == 15
    assert written > 0


def test_the_generated_interchanges_read_back() -> None:
    from gateway.bench.acks import _ALWAYS, _PREPARED
    from gateway.domain.documents import Document
    from gateway.services.acknowledgements import (
        Answered,
        decide,
        received_interchanges,
        render,
    )
    from mappings.registry import read_message

    reading = read_message(build_interchange("ORDRSP", 5), "bench.edi")
    answered = [Answered(r, ()) for r in reading.results if isinstance(r, Document)]
    specs = decide(_ALWAYS, received_interchanges(reading.edifact), answered)
    types = []
    for number, spec in enumerate(specs, 1):
        items = list(parse_edifact(io.BytesIO(render(spec, str(number), _PREPARED))))
        assert all(isinstance(i, EdifactMessage) and not i.problems for i in items)
        types += [i.type for i in items if isinstance(i, EdifactMessage)]
    assert types == ["CONTRL"] + ["APERAK"] * 5
