"""Property-based tests: serialize-then-parse round trips, and no foreign exception ever."""

from __future__ import annotations

import io
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydifact.control import Characters
from pydifact.segments import Segment as PydifactSegment
from pydifact.serializer import Serializer

from mappings.registry import read_stream
from parsers.edifact import Delimiters, Segment, iter_segments
from parsers.edifact.interchange import parse_edifact
from parsers.errors import ParseError

# Control characters are outside every EDIFACT repertoire (ISO 9735-1 annex A lists graphic
# characters only), and line breaks inside a segment are removed as wrap repair by design. The
# typographic quote is left out: before a tag and a data separator it is read as a terminator
# (the repair for senders who type it), which text ending an element in "\u2019ABC" would trip.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\u2019"),
    min_size=0, max_size=12)
TAGS = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True).filter(
    lambda t: t not in {"UNA", "UNB", "UNZ"})
COMPONENTS = st.lists(TEXT, min_size=2, max_size=4).filter(lambda c: c[-1] != "")
ELEMENT = st.one_of(TEXT, COMPONENTS)
SEGMENTS = st.lists(st.tuples(TAGS, st.lists(ELEMENT, min_size=1, max_size=5)), min_size=1,
                    max_size=8)
SEPARATORS = st.sampled_from([
    Delimiters(),
    Delimiters(component="|", data="^", decimal=",", release="#", terminator="!"),
    Delimiters(component=":", data="+", decimal=".", release="?", terminator="~"),
])


def _serialize(segments: list[tuple[str, list[str | list[str]]]], d: Delimiters) -> str:
    characters = Characters.from_str(d.service_string())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = [PydifactSegment(tag, *elements) for tag, elements in segments]
    return d.service_string() + Serializer(characters).serialize(built, with_una_header=False)


def _canonical(elements: list[str | list[str]]) -> list[str | list[str]]:
    """pydifact drops trailing empty components when it serializes; so does this."""
    out: list[str | list[str]] = []
    for element in elements:
        if isinstance(element, list):
            trimmed = list(element)
            while len(trimmed) > 1 and trimmed[-1] == "":
                trimmed.pop()
            out.append(trimmed if len(trimmed) > 1 else trimmed[0])
        else:
            out.append(element)
    return out


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(segments=SEGMENTS, delimiters=SEPARATORS, chunk=st.integers(min_value=1, max_value=64))
def test_serialize_then_parse_round_trips(
        segments: list[tuple[str, list[str | list[str]]]], delimiters: Delimiters,
        chunk: int) -> None:
    text = _serialize(segments, delimiters)
    parsed = [t for t in iter_segments(io.BytesIO(text.encode()), chunk_size=chunk)
              if isinstance(t, Segment)]
    assert [(s.tag, s.elements) for s in parsed] == [
        (tag, _canonical(elements)) for tag, elements in segments]


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    error: ParseError | None = None
    try:
        list(read_stream(io.BufferedReader(io.BytesIO(data)), "fuzz"))
        list(parse_edifact(io.BytesIO(b"UNH+1+ORDRSP:D:96A:UN'" + data)))
    except ParseError as exc:
        error = exc
    assert error is None or error.detail


EDIFACT_ALPHABET = st.sampled_from(list("UNHBGMLINQTYDTMRFF+:'?.0123456789 \r\n\u2019A"))


@settings(max_examples=500, deadline=None)
@given(body=st.text(alphabet=EDIFACT_ALPHABET, max_size=300))
def test_edifact_like_noise_maps_without_crashing(body: str) -> None:
    data = ("UNB+UNOC:3+S+R+261120:1015+X'UNH+1+ORDRSP:D:96A:UN'BGM+231+R+4'" + body).encode()
    results = list(read_stream(io.BufferedReader(io.BytesIO(data)), "fuzz"))
    assert results, "at least one document or problem for a message that was started"
