"""Character repertoires of EDIFACT (syntax identifier, UNB S001/0001) and how to decode them.

ISO 9735-1 (syntax version 4) names the repertoires by syntax level: UNOA and UNOB are subsets of
ISO 646 (ASCII), UNOC-UNOK and UNOL are ISO 8859 parts, UNOW is ISO 10646 in UTF-8 and UNOY is
ISO 10646 without code extension, which real partners send as UTF-8 too. UNOX is ISO 2022 with
escape sequences; Python's `iso2022_jp_2` codec covers the sequences seen in practice.
"""

from __future__ import annotations

import codecs

SYNTAX_CODECS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOL": "iso8859-15",
    "UNOW": "utf-8",
    "UNOX": "iso2022_jp_2",
    "UNOY": "utf-8",
}

UTF8_BOM = codecs.BOM_UTF8
_DECIDED_CODECS = frozenset({"utf-8", "iso2022_jp_2"})


def choose_codec(syntax_id: str | None, sample: bytes) -> tuple[str, str | None]:
    """The codec for a stream, from its declared syntax identifier and its first non-ASCII
    bytes, and a note when it differs from what was declared.

    Partners often declare UNOA/UNOC and send UTF-8 (the typographic quote in a Koha ORDRSP is
    the UTF-8 bytes E2 80 99 under UNOC). Latin-1 text almost never forms valid multi-byte UTF-8,
    so non-ASCII bytes that decode as UTF-8 are read as UTF-8, and the choice is reported.
    """
    declared = SYNTAX_CODECS.get(syntax_id or "")
    if declared == "utf-8" or sample.isascii():
        return declared or "utf-8", None
    if _is_utf8(sample):
        if syntax_id is None:
            return "utf-8", None
        return "utf-8", f"declared {syntax_id} but the bytes are UTF-8; read as UTF-8"
    if declared is None or declared == "ascii":
        return "latin-1", (
            f"declared {syntax_id} (ASCII) but non-ASCII bytes occur; read as ISO 8859-1"
            if syntax_id
            else "no syntax identifier and the bytes are not UTF-8; read as ISO 8859-1")
    return declared, None


def _is_utf8(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


class AdaptiveDecoder:
    """Decodes a stream by its declared repertoire, deciding on the first non-ASCII bytes
    whether the sender really used it (see `choose_codec`). Never fails, never drops a byte."""

    def __init__(self, syntax_id: str | None) -> None:
        self._syntax_id = syntax_id
        self._decoder: CountingDecoder | None = None
        self.codec = "ascii"
        self.note: str | None = None
        declared = SYNTAX_CODECS.get(syntax_id or "")
        if declared in _DECIDED_CODECS:
            # ISO 2022 switches repertoires with escape sequences made of ASCII bytes.
            self.codec = declared
            self._decoder = CountingDecoder(declared)

    @property
    def replaced(self) -> int:
        return self._decoder.replaced if self._decoder else 0

    def decode(self, data: bytes, final: bool = False) -> str:
        if self._decoder is None:
            if data.isascii():
                return data.decode("ascii")
            self.codec, self.note = choose_codec(self._syntax_id, data)
            self._decoder = CountingDecoder(self.codec)
        return self._decoder.decode(data, final)


class CountingDecoder:
    """An incremental decoder that never fails: undecodable bytes are read as ISO 8859-1."""

    def __init__(self, codec: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self._codec = codec
        self.replaced = 0

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError:
            pass
        # Slow path, only for chunks with bad bytes: decode piece by piece.
        out: list[str] = []
        buffered, _ = self._decoder.getstate()
        data = bytes(buffered) + data
        self._decoder.reset()
        position = 0
        while position < len(data):
            try:
                out.append(self._decoder.decode(data[position:], final))
                break
            except UnicodeDecodeError as exc:
                good_end = position + exc.start
                out.append(data[position:good_end].decode(self._codec, errors="strict"))
                bad_end = position + exc.end
                out.append(data[good_end:bad_end].decode("latin-1"))
                self.replaced += bad_end - good_end
                self._decoder.reset()
                position = bad_end
        return "".join(out)
