"""Segment tags of the UN/EDIFACT directories the gateway reads (D93A-D10A, EANCOM).

The tokenizer uses them to tell a segment from text in its repairs: a line break or a
typographic quote followed by one of these tags and a data separator starts a segment; followed
by other capitals ("D\u2019ART+1 RUE") it is text.
"""

from __future__ import annotations

SERVICE_SEGMENTS = frozenset({"UNA", "UNB", "UNG", "UNH", "UNT", "UNE", "UNZ", "UNS"})

# The segments of the ORDERS, ORDRSP and DESADV message structures.
MESSAGE_SEGMENTS = frozenset({
    "AJT", "ALC", "ALI", "APR", "ARD", "BGM", "CAV", "CCI", "CDI", "CNT", "COD", "COM", "CPS",
    "CTA", "CUX", "DGS", "DLM", "DOC", "DTM", "EFI", "EQA", "EQD", "FII", "FTX", "GEI", "GIN",
    "GIR", "GIS", "HAN", "HYN", "IMD", "INP", "IRQ", "LIN", "LOC", "MEA", "MOA", "MTD", "NAD",
    "PAC", "PAI", "PAT", "PCD", "PCI", "PGI", "PIA", "PRI", "QTY", "QVR", "RCS", "RFF", "RJL",
    "RNG", "RTE", "SCC", "SEL", "SEQ", "SGP", "STG", "STS", "TAX", "TDT", "TMD", "TOD", "TSR",
    "UNS", "QVA", "ERC", "EQN", "SPS",
})

SEGMENT_TAGS = SERVICE_SEGMENTS | MESSAGE_SEGMENTS
