"""The MIME layer on exact bytes: parts cut at boundary lines only (RFC 2046 section 5.1.1),
header blocks unfolded, transfer encodings undone."""

from __future__ import annotations

import pytest

from gateway.as2.errors import MalformedMessage
from gateway.as2.mime import canonical, multipart_parts, split_entity


def test_parts_are_cut_at_boundary_lines_and_the_crlf_before_belongs_to_the_boundary() -> None:
    body = (b"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\none --b1 inside\r\n"
            b"--b1 \r\n\r\ntwo\n--b1--\r\nepilogue")
    assert multipart_parts(body, b"b1") == [
        b"Content-Type: text/plain\r\n\r\none --b1 inside", b"\r\ntwo"]


def test_a_longer_boundary_that_starts_like_ours_is_content() -> None:
    body = b"--b1\r\nA\r\n--b1x\r\nB\r\n--b1--"
    assert multipart_parts(body, b"b1") == [b"A\r\n--b1x\r\nB"]


def test_a_multipart_without_its_closing_boundary_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="closing boundary"):
        multipart_parts(b"--b1\r\nA\r\n--b1\r\nB\r\n", b"b1")


def test_a_header_block_is_unfolded_and_a_line_without_a_colon_refused() -> None:
    entity = split_entity(b"Content-Type: multipart/report;\r\n\treport-type=x\r\n\r\nbody")
    assert entity.get("content-type") == "multipart/report; report-type=x"
    assert entity.content_type == "multipart/report"
    with pytest.raises(MalformedMessage, match="without a colon"):
        split_entity(b"Content-Type: text/plain\r\nnot a header\r\n\r\nbody")


def test_base64_is_decoded_and_an_unknown_transfer_encoding_refused() -> None:
    entity = split_entity(b"Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n")
    assert entity.decoded_body() == b"hello"
    with pytest.raises(MalformedMessage, match="quoted-printable"):
        split_entity(b"Content-Transfer-Encoding: quoted-printable\r\n\r\nx").decoded_body()
    with pytest.raises(MalformedMessage, match="does not decode"):
        split_entity(b"Content-Transfer-Encoding: base64\r\n\r\na*b=").decoded_body()


def test_canonical_turns_lone_lf_into_crlf_and_leaves_crlf() -> None:
    assert canonical(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
