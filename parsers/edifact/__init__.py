"""EDIFACT syntax (ISO 9735): tokenizer, envelopes, serializer."""

from parsers.edifact.interchange import EdifactMessage, InterchangeHeader, parse_edifact
from parsers.edifact.segments import Delimiters, Element, Segment
from parsers.edifact.tokenizer import iter_segments, tokenize_text

__all__ = [
    "Delimiters",
    "EdifactMessage",
    "Element",
    "InterchangeHeader",
    "Segment",
    "iter_segments",
    "parse_edifact",
    "tokenize_text",
]
