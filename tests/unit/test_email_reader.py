"""The reader table (format sniffing) and the email reader's composition of body, attachments
and forwarded messages."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import xlwt
from click.testing import CliRunner

from gateway.cli import cli
from gateway.domain.documents import Document
from mappings.email.message import read_email, read_email_message
from mappings.registry import read_message, read_stream, reader_for
from parsers.errors import Problem, ProblemCode, Severity

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEAD = ("From: Supplier <orders@supplier.example>\nTo: orders@buyer.example\n"
        "Subject: RE: PO 4500012345\nMessage-ID: <a1@supplier.example>\nMIME-Version: 1.0\n")


def reader_name(head: bytes, name: str = "file") -> str | None:
    reader = reader_for(head, name)
    return reader.name if reader else None


def results_of(raw: bytes, name: str = "reply.eml") -> list[Document | Problem]:
    return list(read_email(raw, name, readers=reader_for))


def mixed(body: str, *parts: tuple[str, str, bytes]) -> bytes:
    """A multipart/mixed email: the text body, then (content type, file name, bytes) parts."""
    text = HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
    text += f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    for content_type, filename, data in parts:
        text += (f"--b\nContent-Type: {content_type}; name=\"{filename}\"\n"
                 f"Content-Disposition: attachment; filename=\"{filename}\"\n"
                 "Content-Transfer-Encoding: base64\n\n"
                 f"{base64.b64encode(data).decode()}\n")
    return (text + "--b--\n").encode()


# -- sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("head", [
    HEAD.encode(),
    b"Received: from mx.example by mx.buyer.example; Thu, 26 Nov 2026 09:00:00 +0100\r\n"
    b"\tfor <orders@buyer.example>\r\nSubject: x\r\n\r\nbody",
    b"From supplier@example Thu Nov 26 09:00:00 2026\nReturn-Path: <s@example>\nSubject: x\n",
    b"\r\n\r\nDelivered-To: orders@buyer.example\r\nX-Custom:value\r\n",
])
def test_email_is_recognised_by_its_header_block(head: bytes) -> None:
    assert reader_name(head) == "email"


@pytest.mark.parametrize("head", [
    b"UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000001:14+261126:0900+1'",
    b"UNB+UNOC:3+5412345000013:14+5400000000001:14+261126:0900+1'\nUNH+1+ORDRSP:D:96A:UN'",
    b"From:;To:;Quantity\n2026-11-26;2026-12-01;80\n",
    b"Subject: no mail system wrote this\nNote: a text file with labels\n",
    b"Message-ID: <x@y>\nthis line is not a header field\n",
    b'{"From": "json", "Message-ID": 1}',
    b"order_number,line_no,quantity\n4500012345,10,80\n",
])
def test_other_files_are_not_taken_for_email(head: bytes) -> None:
    assert reader_name(head, "file.csv") != "email"


def test_an_edifact_file_stays_edifact_whatever_its_name() -> None:
    head = b"UNA:+.? 'UNB+UNOC:3+1:14+2:14+261126:0900+1'"
    assert reader_name(head, "reply.eml") == reader_name(head, "x.csv") == "edifact"


def test_csv_is_read_by_its_name_only() -> None:
    text = b"PO;Line;Qty\n4500012345;10;80\n"
    assert reader_name(text, "confirmation.CSV") == "csv"
    assert reader_name(text, "confirmation.txt") is None
    [problem] = read_stream(io.BufferedReader(io.BytesIO(text)), "confirmation.txt")
    assert isinstance(problem, Problem)
    assert "nor named .csv" in problem.detail


def test_a_zip_that_is_no_workbook_is_refused_clearly() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    data = buffer.getvalue()
    assert reader_name(data, "conf.xlsx") == "xlsx"
    [problem] = read_stream(io.BufferedReader(io.BytesIO(data)), "conf.xlsx")
    assert isinstance(problem, Problem)
    assert problem.is_error
    assert "not an xlsx file" in problem.detail


def test_an_unreadable_xls_is_one_error_that_says_so() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert reader_name(data, "old.xls") == "xls"
    [problem] = read_stream(io.BufferedReader(io.BytesIO(data)), "old.xls")
    assert isinstance(problem, Problem)
    assert problem.is_error
    assert "not a readable Excel 97-2003 workbook (.xls)" in problem.detail


def legacy_confirmation() -> bytes:
    """An .xls answer (written with xlwt, a test dependency: see pyproject.toml)."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("AB")
    dates, plain = xlwt.easyxf(num_format_str="dd.mm.yyyy"), xlwt.easyxf()
    for row, values in enumerate([("PO", "Line", "Confirmed qty", "Delivery date"),
                                  ("4500012345", 10, 80, date(2026, 12, 5)),
                                  ("4500012345", 20, 40, date(2026, 12, 9))]):
        for column, value in enumerate(values):
            sheet.write(row, column, value, dates if isinstance(value, date) else plain)
    sheet.row(2).hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xls_attachment_is_read_into_an_order_response() -> None:
    raw = mixed("see attachment", ("application/vnd.ms-excel", "AB.xls", legacy_confirmation()))
    results = results_of(raw)
    [document] = [r for r in results if isinstance(r, Document)]
    assert (document.file, document.message_type) == ("reply.eml, attachment 'AB.xls'",
                                                     "SPREADSHEET")
    [line] = document.lines
    assert (line.order_line_no, line.quantity) == ("10", Decimal(80))
    assert [(w.code, w.segment) for w in document.warnings] == [("SKIPPED_ROW", 3)]
    assert "hidden" in document.warnings[0].detail


def test_gateway_parse_prints_an_xls_file(tmp_path: Path) -> None:
    (tmp_path / "AB.xls").write_bytes(legacy_confirmation())
    result = CliRunner().invoke(cli, ["parse", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [document] = json.loads(result.output)["documents"]
    assert document["message_type"] == "SPREADSHEET"
    assert document["file"].endswith("AB.xls")


# -- composition -------------------------------------------------------------------------------


def test_sheets_past_the_message_budget_are_refused_and_the_first_ones_read() -> None:
    """Each sheet is bounded as a file; an email's sheets, forwarded ones included, are
    counted too, so that a hundred attachments cannot make a hundred files' work."""
    from mappings.email.message import MAX_SHEETS_PER_MESSAGE

    sheets = [("text/csv", f"conf{n}.csv",
               f"PO;Line;Confirmed qty;Delivery date\n4500012345;{10 * n};40;2026-12-09\n"
               .encode()) for n in range(1, MAX_SHEETS_PER_MESSAGE + 3)]
    results = results_of(mixed("Please find our confirmation attached.", *sheets))
    documents = [r for r in results if isinstance(r, Document)]
    assert [d.lines[0].order_line_no for d in documents] == [
        str(10 * n) for n in range(1, MAX_SHEETS_PER_MESSAGE + 1)]
    refused = [r for r in results if isinstance(r, Problem) and r.severity is Severity.ERROR]
    assert [r.detail.split(":")[0] for r in refused] == [
        f"attachment 'conf{n}.csv' (part {n + 1})"
        for n in (MAX_SHEETS_PER_MESSAGE + 1, MAX_SHEETS_PER_MESSAGE + 2)]
    assert all(f"more than {MAX_SHEETS_PER_MESSAGE} spreadsheets" in r.detail for r in refused)


def test_body_and_attachments_are_read_each_with_its_place() -> None:
    csv = "PO;Line;Confirmed qty;Delivery date\n4500012345;20;40;2026-12-09\n".encode("cp1252")
    raw = mixed("PO 4500012345 line 10: 80 pcs, delivery 2026-12-05",
                ("text/csv; charset=windows-1252", "conf.csv", csv),
                ("application/pdf", "terms.pdf", b"%PDF-1.4 not read"))
    results = results_of(raw)
    documents = [r for r in results if isinstance(r, Document)]
    assert [(d.file, d.message_type, d.lines[0].order_line_no) for d in documents] == [
        ("reply.eml", "EMAIL", "10"), ("reply.eml, attachment 'conf.csv'", "SPREADSHEET", "20")]
    [warning] = [r for r in results if isinstance(r, Problem)]
    assert (warning.severity, warning.code) == (Severity.WARNING,
                                                ProblemCode.UNSUPPORTED_ATTACHMENT)
    assert "attachment 'terms.pdf' (application/pdf) not read" in warning.detail


def test_a_body_that_only_points_to_the_attachment_is_no_problem() -> None:
    edifact = (SAMPLES / "edifact" / "ordrsp_accepted.edi").read_bytes()
    raw = mixed("Please find our order response attached.",
                ("application/octet-stream", "rsp.edi", edifact))
    results = results_of(raw)
    assert not [r for r in results if isinstance(r, Problem) and r.is_error]
    [document] = [r for r in results if isinstance(r, Document)]
    assert (document.message_type, document.file) == ("ORDRSP", "reply.eml, attachment 'rsp.edi'")


def test_problems_in_an_attachment_say_which_attachment_and_row() -> None:
    csv = b"PO;Line;Confirmed qty;Delivery date\n4500012345;10;80;31.02.2026\n"
    results = results_of(mixed("see attachment", ("text/csv", "conf.csv", csv)))
    body, row = [r for r in results if isinstance(r, Problem) and r.is_error]
    assert body.code is ProblemCode.NOTHING_READABLE  # the body is no answer either
    assert (row.code, row.segment) == (ProblemCode.INVALID_DATE, 2)
    assert row.detail.startswith("attachment 'conf.csv' (part 2): 'conf.csv' row 2: ")


def test_quoted_po_alone_is_nothing_readable_never_a_confirmation() -> None:
    raw = (HEAD + "Content-Type: text/plain\n\n\n"
           "> PO 4500012345 line 10: 100 pcs, delivery 2026-12-05\n").encode()
    [problem] = results_of(raw)
    assert isinstance(problem, Problem)
    assert (problem.code, problem.severity) == (ProblemCode.NOTHING_READABLE, Severity.ERROR)


def test_an_email_with_nothing_at_all_is_one_nothing_readable_error() -> None:
    raw = mixed("", ("image/jpeg", "photo.jpg", b"\xff\xd8\xff"))
    codes = [(r.severity, r.code) for r in results_of(raw) if isinstance(r, Problem)]
    assert (Severity.ERROR, ProblemCode.NOTHING_READABLE) in codes


def test_forwarded_message_is_read_and_its_sender_known() -> None:
    reading = read_email_message((SAMPLES / "email" / "forwarded_message.eml").read_bytes(),
                                 "fwd.eml", readers=reader_for)
    assert reading.envelope is not None
    assert reading.envelope.sender_addresses == ("markus.brandt@brenner-antrieb.example",
                                                 "objednavky@kovolis.example")
    assert reading.envelope.order_numbers == ("4500020012",)
    [document] = reading.results
    assert isinstance(document, Document)
    assert document.file == "fwd.eml, forwarded message"


def test_tnef_is_an_error_that_says_what_to_do() -> None:
    results = results_of((SAMPLES / "email" / "tnef_attachment.eml").read_bytes())
    [tnef] = [r for r in results if isinstance(r, Problem)
              and r.code is ProblemCode.UNSUPPORTED_ATTACHMENT]
    assert tnef.is_error
    assert "plain attachments" in tnef.detail


def test_read_message_gives_the_envelope_only_for_email() -> None:
    edifact = (SAMPLES / "edifact" / "ordrsp_accepted.edi").read_bytes()
    assert read_message(edifact, "x.edi").envelope is None
    email = read_message((SAMPLES / "email" / "unreadable_reply.eml").read_bytes(), "m")
    assert email.envelope is not None
    assert email.envelope.sender_addresses == ("sales3@huaxin-elec.example",)
    assert not [r for r in email.results if isinstance(r, Document)]


def test_gateway_parse_reads_a_folder_of_emails_and_sheets() -> None:
    result = CliRunner().invoke(cli, ["parse", str(SAMPLES / "sheets"),
                                      str(SAMPLES / "email" / "html_table.eml")])
    assert result.exit_code == 0, result.output
    for name in ("confirmation_title_block.xlsx", "bestaetigung_semicolon_cp1252.csv",
                 "html_table.eml", "SPREADSHEET", "EMAIL"):
        assert name in result.output
