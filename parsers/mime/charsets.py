"""Charset labels as mail and files use them, and how to turn their bytes into text.

A label is what the sender declared (MIME `charset` parameter, RFC 2046 section 4.1.2; RFC 2047
and RFC 2231 encoded words), not what the bytes are. Mailers are known to label text by its
older, smaller cousin, so a label is read as the codecs below, tried in order, the way the WHATWG
Encoding Standard (section 4.2, "Names and labels") maps labels to decoders in browsers:

- `gb2312`, `gbk`, `cp936`, `euc-cn`, `x-gbk`, `chinese` are decoded as GB 18030, the superset:
  Chinese mail clients label GBK text `GB2312`, and GB 2312 has no code for many common names.
- `big5` is decoded as `cp950` (Microsoft's Big5, what Windows in Taiwan writes, with the euro
  sign and the ETEN symbols) and, when that fails, as `big5hkscs` (Hong Kong supplementary
  characters). HKSCS alone is not chosen first: it maps about 250 ordinary Big5 symbols and the
  ETEN range C6A1-C8FE to other characters than cp950 does.
- `iso-8859-1` and `windows-1252` are decoded as Windows-1252 (WHATWG again: senders labelled
  cp1252 text, with its curly quotes and euro sign, as Latin-1); its five undefined bytes become
  the C1 controls of the same value, so that decoding never fails. Under these labels, and under
  `us-ascii`, non-ASCII bytes that form valid UTF-8 are read as UTF-8 and reported: Latin text
  almost never forms valid multi-byte UTF-8 by chance (the EDIFACT reader decides the same way).
- `shift_jis` is decoded as `cp932`, `euc-kr` and `ks_c_5601-1987` (Outlook) as `cp949`,
  `iso-2022-jp` as `iso2022_jp_2` then `iso2022_jp_ext` (half-width katakana).

Bytes that do not decode under their label are decoded as UTF-8 when they are valid UTF-8 (the
most common mislabel), else under the label with replacement characters; an unknown label is
read as UTF-8, else Windows-1252. Every such decision returns a note for a located warning:
nothing is replaced silently.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

UTF8 = "utf-8"
WINDOWS_1252 = "windows-1252"

_GB = ("gb18030",)
_LABEL_CODECS: dict[str, tuple[str, ...]] = {
    "gb2312": _GB, "gb_2312": _GB, "gb_2312-80": _GB, "csgb2312": _GB, "iso-ir-58": _GB,
    "gbk": _GB, "x-gbk": _GB, "cp936": _GB, "ms936": _GB, "windows-936": _GB, "euc-cn": _GB,
    "chinese": _GB, "gb18030": _GB,
    "big5": ("cp950", "big5hkscs"), "big5-hkscs": ("big5hkscs", "cp950"),
    "x-x-big5": ("cp950", "big5hkscs"), "cn-big5": ("cp950", "big5hkscs"),
    "csbig5": ("cp950", "big5hkscs"), "cp950": ("cp950", "big5hkscs"),
    "us-ascii": ("ascii",), "ascii": ("ascii",), "iso-8859-1": (WINDOWS_1252,),
    "iso8859-1": (WINDOWS_1252,), "latin1": (WINDOWS_1252,), "latin-1": (WINDOWS_1252,),
    "windows-1252": (WINDOWS_1252,), "cp1252": (WINDOWS_1252,), "x-cp1252": (WINDOWS_1252,),
    "shift_jis": ("cp932",), "shift-jis": ("cp932",), "sjis": ("cp932",), "x-sjis": ("cp932",),
    "ms_kanji": ("cp932",), "windows-31j": ("cp932",), "cp932": ("cp932",),
    "iso-2022-jp": ("iso2022_jp_2", "iso2022_jp_ext"), "csiso2022jp": ("iso2022_jp_2",),
    "euc-kr": ("cp949",), "ks_c_5601-1987": ("cp949",), "ks_c_5601": ("cp949",),
    "windows-949": ("cp949",), "cp949": ("cp949",),
    "tis-620": ("cp874",), "iso-8859-11": ("cp874",), "windows-874": ("cp874",),
    "iso-8859-8-i": ("iso8859-8",),
    "utf-8": (UTF8,), "utf8": (UTF8,), "unicode-1-1-utf-8": (UTF8,),
}
# Codec families a label may name when it is not in the table above: text encodings only, so a
# label such as `base64`, `zlib` or `unicode_escape` is an unknown charset, not a transformation.
_ALLOWED_FAMILIES = ("iso8859", "cp", "mac", "koi8", "utf", "euc", "iso2022", "gb", "big5",
                     "shift_jis", "hz", "johab", "tis", "ptcp", "kz", "latin", "ascii")

_SINGLE_BYTE = frozenset({"ascii", WINDOWS_1252})

# Windows-1252 as browsers decode it: bytes 81, 8D, 8F, 90 and 9D, undefined in Microsoft's
# table, stand for the C1 control of the same value instead of failing.
_CP1252_TABLE = {
    byte: codecs.decode(bytes([byte]), "cp1252", "ignore") or chr(byte) for byte in range(256)
}
_CP1252_TRANSLATION = str.maketrans({chr(byte): text for byte, text in _CP1252_TABLE.items()})


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Text decoded from bytes, the codec that decoded it, and a note when the bytes did not
    match their label (or had none) so that the caller can report it."""

    text: str
    codec: str
    note: str | None = None


def normalise_label(label: str | None) -> str | None:
    """A charset label lower-cased, unquoted, without an RFC 2231 language suffix (`utf-8*en`)."""
    if label is None:
        return None
    cleaned = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    return cleaned or None


def codecs_for(label: str | None) -> tuple[str, ...]:
    """The codecs to try for a label, best first; empty for an unknown or unusable label."""
    name = normalise_label(label)
    if name is None:
        return ()
    if name in _LABEL_CODECS:
        return _LABEL_CODECS[name]
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        return ()
    return (codec,) if codec.startswith(_ALLOWED_FAMILIES) else ()


def decode_windows_1252(data: bytes) -> str:
    """Windows-1252 that never fails (see the module docstring)."""
    return data.decode("latin-1").translate(_CP1252_TRANSLATION)


def decode_labelled(data: bytes, label: str | None) -> DecodedText:
    """Decode bytes declared as `label` (None: no label, which RFC 2045 section 5.2 reads as
    US-ASCII). Never raises; every guess made is said in `note`."""
    candidates = codecs_for(label)
    if candidates and candidates[0] in _SINGLE_BYTE and not data.isascii() and (
            text := _strict(data, UTF8)) is not None:
        return DecodedText(text, UTF8, f"declared charset {label!r} but the bytes are UTF-8; "
                           "read as UTF-8")
    for codec in candidates:
        text = _strict(data, codec)
        if text is not None:
            return DecodedText(text, codec)
    if label is None or not candidates:
        return _guess(data, label)
    if (text := _strict(data, UTF8)) is not None:
        return DecodedText(text, UTF8, f"declared charset {label!r} does not match the bytes, "
                           "which are valid UTF-8; read as UTF-8")
    codec = WINDOWS_1252 if candidates[0] == "ascii" else candidates[0]
    return _replaced(data, codec, f"declared charset {label!r} does not match the bytes")


def decode_unlabelled(data: bytes, fallback: str = WINDOWS_1252) -> DecodedText:
    """Bytes with no declared charset: a byte-order mark, else UTF-8 when valid, else
    `fallback`, which is then reported."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom) and (text := _strict(data, codec)) is not None:
            return DecodedText(text, codec)
    if (text := _strict(data, UTF8)) is not None:
        return DecodedText(text, UTF8)
    fallback_codecs = codecs_for(fallback) or (WINDOWS_1252,)
    note = f"the bytes are not UTF-8 and no charset was declared; read as {fallback}"
    for codec in fallback_codecs:
        if (text := _strict(data, codec)) is not None:
            return DecodedText(text, codec, note)
    return _replaced(data, fallback_codecs[0], note)


def _guess(data: bytes, label: str | None) -> DecodedText:
    if data.isascii():
        note = None if label is None else f"unknown charset {label!r}; the text is plain ASCII"
        return DecodedText(data.decode("ascii"), "ascii", note)
    what = "no charset declared" if label is None else f"unknown charset {label!r}"
    if (text := _strict(data, UTF8)) is not None:
        return DecodedText(text, UTF8, f"{what}; the bytes are valid UTF-8 and were read so")
    return DecodedText(decode_windows_1252(data), WINDOWS_1252,
                       f"{what}; the bytes are not UTF-8 and were read as Windows-1252")


def _strict(data: bytes, codec: str) -> str | None:
    if codec == WINDOWS_1252:
        return decode_windows_1252(data)
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _replaced(data: bytes, codec: str, why: str) -> DecodedText:
    if codec == WINDOWS_1252:
        return DecodedText(decode_windows_1252(data), codec, why)
    text = data.decode(codec, errors="replace")
    count = text.count("\ufffd") - data.decode(codec, errors="ignore").count("\ufffd")
    return DecodedText(text, codec,
                       f"{why}; read as {codec} with {count} undecodable character(s) replaced")
