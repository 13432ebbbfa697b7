"""`gateway bench parse --dialects`: its generated inputs are what it claims (every X12
transaction set and every XML file reads to one document without an error), each side is
checked before it is timed, and the report carries every side's runs."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gateway.bench import dialects


def test_generated_x12_reads_without_errors() -> None:
    for kind in ("855", "856"):
        data = dialects.build_x12(kind, 7)
        documents, lines, errors = dialects.parse_and_map(data, "bench.x12")
        assert (documents, errors) == (7, 0)
        assert lines >= 14


def test_generated_xml_files_read_without_errors() -> None:
    for kind in ("UBL OrderResponse", "cXML ConfirmationRequest"):
        files = dialects.build_xml_files(kind, 4)
        documents, lines, errors = dialects.ours_files(files, "bench.xml")
        assert (documents, errors) == (4, 0)
        assert 20 <= lines <= 200
        assert dialects.lxml_bare(files) == 4


def test_the_walk_visits_every_element_of_every_file() -> None:
    files = dialects.build_xml_files("UBL OrderResponse", 3)
    elements = sum(sum(1 for _ in etree.fromstring(data).iter()) for data in files)
    assert elements > 3 * 5 * 10
    assert dialects.lxml_walk(files) == elements


def test_an_xml_input_reports_the_walk_beside_the_bare_parse() -> None:
    result = dialects.bench_xml("cXML ConfirmationRequest", 3, 1)
    assert list(result.sides) == ["lxml", "ours", "walk"]
    assert result.walk_ratio == result.sides["lxml"].median / result.sides["walk"].median
    report = dialects.results_json([result], None, 1)["inputs"]["cXML ConfirmationRequest"]
    assert report["walk_ratio"] == result.walk_ratio
    assert dialects.bench_x12("855", 2, 1).walk_ratio is None


def test_bots_reads_the_same_transaction_sets() -> None:
    assert dialects.bots_x12(dialects.build_x12("856", 3)) == 3


def test_sides_are_timed_and_reported() -> None:
    result = dialects.bench_x12("855", 3, 2)
    assert [len(side.seconds) for side in result.sides.values()] == [2, 2]
    report = dialects.results_json([result], None, 2)
    assert report["inputs"]["X12 855"]["units"] == 3
    assert report["inputs"]["X12 855"]["ratio"] == result.ratio


def test_a_file_of_a_given_size_holds_that_many_sets(tmp_path: Path) -> None:
    path = tmp_path / "asn.x12"
    count = dialects.write_x12(path, 20_000)
    assert path.stat().st_size >= 20_000
    documents, _lines, errors = dialects.parse_and_map(path.read_bytes(), "asn.x12")
    assert (documents, errors) == (count, 0)
