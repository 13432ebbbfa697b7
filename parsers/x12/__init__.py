"""ANSI ASC X12 syntax (X12.5/X12.6): separators from the ISA, tokenizer, envelopes."""

from parsers.x12.envelope import InterchangeHeader, Transaction, parse_x12
from parsers.x12.segments import Separators, X12Segment
from parsers.x12.tokenizer import iter_segments

__all__ = [
    "InterchangeHeader",
    "Separators",
    "Transaction",
    "X12Segment",
    "iter_segments",
    "parse_x12",
]
