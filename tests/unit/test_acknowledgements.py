"""EDIFACT acknowledgements: the CONTRL and APERAK builders (outbound/edifact) and the pure
decisions (gateway.services.acknowledgements). Every interchange built here is read back by
the gateway's own EDIFACT reader."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.documents import Document, DocumentKind, Notice, SourceFormat
from gateway.domain.outbound import OutboundKind
from gateway.domain.tolerances import Severity as Level
from gateway.services.acknowledgements import (
    AckPolicy,
    AckWhen,
    Answered,
    contrl_report,
    decide,
    fingerprint,
    received_interchanges,
    render,
    syntax_fault,
)
from mappings.registry import MessageHeading, read_message
from outbound.edifact import (
    Action,
    AperakError,
    AperakMessage,
    ContrlReport,
    ErrorKind,
    InboundEnvelope,
    MessageIdentifier,
    MessageResponse,
    Party,
    SyntaxFault,
    answer_interchange,
    answer_written,
    aperak_segments,
    aperaks_written,
    contrl_segments,
    contrl_written,
)
from outbound.edifact.aperak import text_parts
from outbound.edifact.envelope import UNA, Segment, Written, codec_of, fit_text, serialize
from parsers.edifact import EdifactMessage, InterchangeHeader, parse_edifact
from parsers.errors import Problem, ProblemCode, Severity

PREPARED = datetime(2026, 12, 6, 9, 30)
ENVELOPE = InboundEnvelope("UNOC", "3", Party("8719993000004", "14"),
                           Party("4099997000007", "14"), "DV0001")
ORDRSP = MessageIdentifier("1", "ORDRSP", "D", "96A", "UN", "EAN005")


def read_back(data: bytes) -> list[EdifactMessage]:
    """The messages of `data` as the gateway's reader sees them; no problem allowed."""
    items = list(parse_edifact(io.BytesIO(data)))
    problems = [i for i in items if isinstance(i, Problem)]
    assert problems == []
    messages = [i for i in items if isinstance(i, EdifactMessage)]
    assert all(m.problems == [] for m in messages), [m.problems for m in messages]
    return messages


def segments_of(message: EdifactMessage) -> list[tuple[str, list[object]]]:
    return [(s.tag, s.elements) for s in message.segments]


def test_the_answer_swaps_sender_and_receiver_and_keeps_the_syntax() -> None:
    report = ContrlReport("DV0001", ENVELOPE.sender, ENVELOPE.receiver,
                          (MessageResponse(ORDRSP, False),))
    data = answer_interchange(ENVELOPE, "17", PREPARED, [contrl_segments(report)], "CONTRL")
    (message,) = read_back(data)
    unb = message.interchange
    assert unb is not None
    assert (unb.syntax_id, unb.syntax_version) == ("UNOC", "3")
    assert (unb.sender, unb.sender_qualifier) == ("4099997000007", "14")
    assert (unb.receiver, unb.receiver_qualifier) == ("8719993000004", "14")
    assert unb.reference == "17"
    assert unb.prepared == "261206:0930"
    assert (message.type, message.version, message.release, message.agency) == \
        ("CONTRL", "D", "3", "UN")
    assert segments_of(message) == [
        ("UCI", ["DV0001", ["8719993000004", "14"], ["4099997000007", "14"], "7"]),
        ("UCM", ["1", ["ORDRSP", "D", "96A", "UN", "EAN005"], "7"]),
    ]


def test_syntax_version_4_writes_a_four_digit_year_and_contrl_4_1() -> None:
    envelope = InboundEnvelope("UNOY", "4", Party("A"), Party("B"), "R9", test=True)
    report = ContrlReport("R9", Party("A"), Party("B"), (), None, "4")
    data = answer_interchange(envelope, "1", PREPARED, [contrl_segments(report)], "CONTRL")
    (message,) = read_back(data)
    assert message.interchange is not None
    assert message.interchange.prepared == "20261206:0930"
    assert message.interchange.test is True
    assert (message.version, message.release) == ("4", "1")


def test_a_partly_accepted_interchange_is_uci_7_with_the_rejected_message_ucm_4() -> None:
    rejected = MessageIdentifier("2", "ORDRSP", "D", "96A", "UN", "EAN005")
    report = ContrlReport("DV0001", ENVELOPE.sender, ENVELOPE.receiver, (
        MessageResponse(ORDRSP, False),
        MessageResponse(rejected, True, (SyntaxFault("13", 8, "UNH"),
                                         SyntaxFault("29", 17, "UNT", 1)))))
    assert report.action is Action.ACCEPTED
    (message,) = read_back(answer_interchange(ENVELOPE, "1", PREPARED,
                                              [contrl_segments(report)]))
    assert segments_of(message)[2:] == [
        ("UCM", ["2", ["ORDRSP", "D", "96A", "UN", "EAN005"], "4"]),
        ("UCS", ["8", "13"]),
        ("UCS", ["17"]),
        ("UCD", ["29", "1"]),
    ]


def test_nothing_accepted_is_uci_4_and_an_unlocated_refusal_is_coded_in_the_ucm() -> None:
    report = ContrlReport("DV0001", ENVELOPE.sender, ENVELOPE.receiver,
                          (MessageResponse(ORDRSP, True, (SyntaxFault("13"),)),))
    assert report.action is Action.REJECTED
    (message,) = read_back(answer_interchange(ENVELOPE, "1", PREPARED,
                                              [contrl_segments(report)]))
    assert segments_of(message)[0][1][3] == "4"
    assert segments_of(message)[1] == ("UCM", ["1", ["ORDRSP", "D", "96A", "UN", "EAN005"],
                                               "4", "13"])


def test_text_is_fitted_to_the_repertoire_and_released() -> None:
    assert fit_text("Größe 5'+:?_", "UNOA") == "GROSSE 5'+:?."
    assert fit_text("深圳 Größe", "UNOC") == ".. Größe"
    assert fit_text("深圳", "UNOW") == "深圳"
    assert fit_text("a\r\nb", "UNOW") == "a  b"
    parts = text_parts("word " * 80)
    assert len(parts) == 5
    assert all(len(p) <= 70 for p in parts)
    assert parts[-1].endswith("...")


def _heading(index: int, problems: tuple[Problem, ...] = (), refused: bool = False,
             header: InterchangeHeader | None = None) -> MessageHeading:
    header = header or InterchangeHeader("UNOC", "3", "8719993000004", "14", "4099997000007",
                                         "14", "DV0001", "261206:0900", False)
    return MessageHeading(index, str(index), "ORDRSP", "D", "96A", "UN", "EAN005", header,
                          problems, refused)


@given(st.sampled_from(list(ProblemCode)), st.integers(1, 10_000),
       st.sampled_from(["UNH", "BGM", "LIN", "QTY", "UNT", "DTM"]),
       st.sampled_from([Severity.ERROR, Severity.WARNING]))
def test_any_parse_problem_is_located_in_the_contrl_where_the_problem_is(
        code: ProblemCode, position: int, tag: str, severity: Severity) -> None:
    problem = Problem(severity, code, "detail", 1, position, tag)
    heading = _heading(1, (problem,), severity is Severity.ERROR)
    (received,) = received_interchanges([heading])
    report = contrl_report(received)
    data = answer_interchange(received.envelope, "1", PREPARED, [contrl_segments(report)])
    (message,) = read_back(data)
    ucs = [s for s in message.segments if s.tag == "UCS"]
    assert [s.component(0) for s in ucs] == [str(position)]
    fault = syntax_fault(problem)
    ucd = [s for s in message.segments if s.tag == "UCD"]
    if fault.element is None:
        assert ucs[0].component(1) == code.contrl_code
        assert ucd == []
    else:
        assert [(s.component(0), s.component(1)) for s in ucd] == \
            [(code.contrl_code, str(fault.element))]
    ucm = next(s for s in message.segments if s.tag == "UCM")
    assert ucm.component(2) == ("4" if severity is Severity.ERROR else "7")


def test_the_samples_broken_batch_gets_a_contrl_rejecting_only_the_cut_message() -> None:
    with open("samples/edifact/ordrsp_broken_message_in_batch.edi", "rb") as file:
        reading = read_message(file.read(), "batch.edi")
    (received,) = received_interchanges(reading.edifact)
    report = contrl_report(received)
    assert [(m.message.reference, m.action) for m in report.messages] == [
        ("1", Action.ACCEPTED), ("2", Action.REJECTED), ("3", Action.ACCEPTED)]
    assert report.messages[1].faults == (SyntaxFault("13", 8, "UNH"),)
    assert report.messages[2].faults == (SyntaxFault("29", 17, "UNT", 1),)
    assert report.action is Action.ACCEPTED


def test_the_same_batch_attached_to_an_email_gets_the_same_contrl() -> None:
    from email.message import EmailMessage

    with open("samples/edifact/ordrsp_broken_message_in_batch.edi", "rb") as file:
        data = file.read()
    mail = EmailMessage()
    mail["From"] = "edi@acme.example"
    mail["Message-ID"] = "<b@acme.example>"
    mail.set_content("Our order responses.")
    mail.add_attachment(data, maintype="application", subtype="EDIFACT", filename="batch.edi")
    reading = read_message(mail.as_bytes(), "reply.eml")
    bare = read_message(data, "batch.edi")
    assert reading.edifact == ()
    (attached,) = reading.attached
    assert attached.file == "reply.eml, attachment 'batch.edi'"
    documents = [r for r in reading.results if isinstance(r, Document)]
    assert {d.file for d in documents} == {attached.file}
    (received,) = received_interchanges(attached.edifact)
    (alone,) = received_interchanges(bare.edifact)
    assert contrl_report(received) == contrl_report(alone)


def test_file_problems_belong_to_the_interchange_around_them() -> None:
    first = InterchangeHeader("UNOC", "3", "S", "14", "R", "14", "ONE", None, False)
    second = InterchangeHeader("UNOC", "3", "S", "14", "R", "14", "TWO", None, False)
    unz = Problem(Severity.WARNING, ProblemCode.COUNT_MISMATCH, "count", None, 9, "UNZ")
    unb = Problem(Severity.WARNING, ProblemCode.UNSUPPORTED_SYNTAX, "syntax", None, 10, "UNB")
    found = received_interchanges([_heading(1, header=first), unz, unb,
                                   _heading(2, header=second)])
    assert [(r.envelope.reference, r.problems) for r in found] == [("ONE", [unz]),
                                                                   ("TWO", [unb])]
    report = contrl_report(found[1])
    assert report.interchange_fault == SyntaxFault("2", None, "UNB", 1, 1)


def _answered(*codes: DiscrepancyCode, warnings: tuple[Notice, ...] = ()) -> Answered:
    document = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                        document_number="AB-77", document_date=date(2026, 12, 1),
                        order_numbers=["4500012347"], warnings=list(warnings),
                        message_index=1)
    found = tuple(Discrepancy(code, Level.HIGH, "4500012347", "20", "LM1117", "AMS1117",
                              None, "rule", "overseas v1", 1.0) for code in codes)
    return Answered(document, found)


def test_policies_decide_what_is_sent() -> None:
    (received,) = received_interchanges([_heading(1)])
    clean, faulty = _answered(), _answered(DiscrepancyCode.ITEM_MISMATCH)
    never = decide(AckPolicy(), [received], [faulty])
    on_error = decide(AckPolicy(AckWhen.ON_ERROR, AckWhen.ON_ERROR), [received], [clean])
    always = decide(AckPolicy(AckWhen.ALWAYS, AckWhen.ALWAYS), [received], [clean])
    aperak = decide(AckPolicy(AckWhen.ON_ERROR, AckWhen.ON_ERROR), [received], [faulty])
    assert never == []
    assert on_error == []
    assert [s.kind for s in always] == [OutboundKind.CONTRL, OutboundKind.APERAK]
    assert [s.kind for s in aperak] == [OutboundKind.APERAK]


def test_the_fingerprint_is_what_an_acknowledgement_says_not_when_or_under_which_number(
        ) -> None:
    (received,) = received_interchanges([_heading(1)])
    policy = AckPolicy(AckWhen.ALWAYS, AckWhen.ALWAYS)
    contrl, clean = decide(policy, [received], [_answered()])
    again_contrl, again_clean = decide(policy, [received], [_answered()])
    _contrl, faulty = decide(policy, [received], [_answered(DiscrepancyCode.ITEM_MISMATCH)])
    assert render(clean, "1", PREPARED) != render(again_clean, "2", PREPARED)
    assert fingerprint(clean) == fingerprint(again_clean)
    assert fingerprint(contrl) == fingerprint(again_contrl)
    assert fingerprint(clean) != fingerprint(faulty)
    assert fingerprint(contrl) != fingerprint(clean)


def test_not_applied_line_rejections_are_no_aperak_errors() -> None:
    (received,) = received_interchanges([_heading(1)])
    answered = _answered(DiscrepancyCode.LINE_REJECTED, DiscrepancyCode.ORDER_REJECTED)
    assert decide(AckPolicy(aperak=AckWhen.ON_ERROR), [received], [answered]) == []


def test_the_aperak_names_the_message_document_and_each_problem() -> None:
    bad_date = Notice("INVALID_DATE", "date 20261341 is not a valid date", 7, "DTM")
    answered = _answered(DiscrepancyCode.ITEM_MISMATCH, DiscrepancyCode.QTY_OVER,
                         warnings=(bad_date,))
    (received,) = received_interchanges([_heading(1)])
    (spec,) = decide(AckPolicy(aperak=AckWhen.ALWAYS), [received], [answered])
    (message,) = read_back(render(spec, "42", PREPARED))
    assert (message.type, message.association) == ("APERAK", "EAN001")
    tags = [s.tag for s in message.segments]
    assert tags == ["BGM", "DTM", "RFF", "RFF", "DTM", "ERC", "FTX", "RFF", "ERC", "FTX",
                    "RFF", "ERC", "FTX", "RFF"]
    by_tag = [(s.tag, s.elements) for s in message.segments]
    assert by_tag[0] == ("BGM", [["12E", "", "9"], "42-1", "27"])
    assert by_tag[2] == ("RFF", [["ACW", "1"]])
    assert by_tag[3] == ("RFF", [["POR", "AB-77"]])
    assert by_tag[4] == ("DTM", [["171", "20261201", "102"]])
    assert [s.component(0, 0) for s in message.segments if s.tag == "ERC"] == \
        ["20", "30", "50"]
    assert by_tag[7] == ("RFF", [["ON", "4500012347", "20"]])
    texts = [" ".join(s.parts(3)) for s in message.segments if s.tag == "FTX"]
    assert "ORDERED ITEM LM1117" in texts[0].upper()
    assert "segment 7 (DTM)" in texts[2]


def _reads_as_utf8(values: tuple[str, ...], syntax_id: str) -> bool:
    """Whether a value, as written in `syntax_id`, is also UTF-8 with letters beyond ASCII
    ('Â\xa0' in UNOC is the bytes of UTF-8's no-break space): the reader then rightly suspects
    UTF-8 sent under the wrong syntax identifier and says so (CHARSET_MISMATCH)."""
    return syntax_id not in ("UNOW", "UNOY") and any(
        not value.isascii() and _is_utf8(fit_text(value, syntax_id), syntax_id)
        for value in values)


def _is_utf8(value: str, syntax_id: str) -> bool:
    try:
        value.encode(codec_of(syntax_id)).decode("utf-8")
    except UnicodeError:
        return False
    return True


@given(st.text(max_size=200), st.text(max_size=20),
       st.sampled_from(["UNOA", "UNOB", "UNOC", "UNOD", "UNOW", "UNOY", "UNOX", "XXXX"]))
def test_any_supplier_text_in_any_repertoire_reads_back(text: str, reference: str,
                                                        syntax_id: str) -> None:
    """Whatever a supplier wrote (in a reference, in what an error quotes), the answer is
    built, encoded in the received repertoire, and read back without a problem."""
    assume(not _reads_as_utf8((text, reference), syntax_id))
    header = InterchangeHeader(syntax_id, "3", "S" + reference, "14", "R", None,
                               reference or "X", None, False)
    heading = MessageHeading(1, reference, "ORDRSP", "D", "96A", "UN", "", header, (), False)
    document = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                        document_number=reference or None, order_numbers=[reference],
                        warnings=[Notice("INVALID_DATE", text, 3, "DTM")], message_index=1)
    (received,) = received_interchanges([heading])
    specs = decide(AckPolicy(AckWhen.ALWAYS, AckWhen.ALWAYS), [received],
                   [Answered(document, ())])
    for spec in specs:
        data = render(spec, "1", PREPARED)
        items = list(parse_edifact(io.BytesIO(data)))
        # An unknown level is answered under its own name; our reader says it does not know it.
        unknown = [ProblemCode.UNSUPPORTED_SYNTAX] if syntax_id == "XXXX" else []
        assert [i.code for i in items if isinstance(i, Problem)] == unknown
        assert [type(i) for i in items if not isinstance(i, Problem)] == [EdifactMessage]
        assert [p.code for i in items if isinstance(i, EdifactMessage) for p in i.problems] \
            == []


# -- The line-by-line writers write what the segment builders build ----------------------

_VALUES = st.text(max_size=12)  # any supplier text: service characters, line breaks, any letter
_OPTIONAL = st.one_of(st.none(), _VALUES)


def _identifiers() -> st.SearchStrategy[MessageIdentifier]:
    return st.builds(MessageIdentifier, _VALUES, st.sampled_from(["ORDRSP", "DESADV", "X", ""]),
                     st.sampled_from(["D", "4", ""]), st.sampled_from(["96A", "01B", "1"]),
                     st.sampled_from(["UN", ""]),
                     st.sampled_from(["", "EAN005", "ean001", "ZZZ", ":+?'"]))


_FAULTS = st.builds(SyntaxFault, st.sampled_from(["2", "12", "13", "29", ""]),
                    st.one_of(st.none(), st.integers(1, 999)),
                    st.one_of(st.none(), st.sampled_from(["UNB", "UNH", "LIN", "UNZ"])),
                    st.one_of(st.none(), st.integers(1, 9)),
                    st.one_of(st.none(), st.integers(1, 9)))
_PARTIES = st.builds(Party, _VALUES, st.one_of(st.none(), st.sampled_from(["14", "ZZ"])))
_REPORTS = st.builds(
    ContrlReport, _VALUES, _PARTIES, _PARTIES,
    st.lists(st.builds(MessageResponse, _identifiers(), st.booleans(),
                       st.lists(_FAULTS, max_size=3).map(tuple)), max_size=4).map(tuple),
    st.one_of(st.none(), _FAULTS), st.sampled_from(["3", "4"]))
_ERRORS = st.builds(AperakError, st.sampled_from(list(ErrorKind)), st.text(max_size=400),
                    _OPTIONAL, _OPTIONAL)
# Two preparation times, so that the messages of one interchange are not always alike.
_TIMES = st.sampled_from([PREPARED, datetime(2027, 1, 2, 3, 4, tzinfo=UTC)])
_APERAKS = st.builds(AperakMessage, _VALUES, _TIMES, _identifiers(), _OPTIONAL,
                     st.one_of(st.none(), st.dates()),
                     st.lists(_ERRORS, max_size=3).map(tuple))
# Each example builds several interchanges: on a loaded machine one may pass the default
# deadline without anything being wrong.
_UNHURRIED = settings(deadline=None)
_ENVELOPES = st.builds(InboundEnvelope,
                       st.sampled_from(["UNOA", "UNOB", "UNOC", "UNOD", "UNOW", "UNOY",
                                        "UNOX", "XXXX"]),
                       st.sampled_from(["3", "4"]), _PARTIES, _PARTIES, _VALUES, st.booleans())


def _as_written(messages: list[list[Segment]]) -> Written:
    """What `serialize` writes of the messages' segments, without the UNA."""
    segments = [s for message in messages for s in message]
    return Written(serialize(segments).removeprefix(UNA + "\n"), len(segments))


@_UNHURRIED
@given(_REPORTS, st.sampled_from(["1", "2", "?+"]))
def test_contrl_written_line_by_line_is_what_the_segments_serialise_to(
        report: ContrlReport, reference: str) -> None:
    assert contrl_written(report, reference) == \
        _as_written([contrl_segments(report, reference)])


@_UNHURRIED
@given(st.lists(_APERAKS, max_size=4))
def test_aperaks_written_line_by_line_are_what_their_segments_serialise_to(
        messages: list[AperakMessage]) -> None:
    assert aperaks_written(messages) == _as_written(
        [aperak_segments(message, str(n)) for n, message in enumerate(messages, 1)])


@_UNHURRIED
@given(_ENVELOPES, _VALUES, _TIMES, st.lists(_APERAKS, max_size=3), _REPORTS)
def test_an_interchange_from_text_is_the_one_from_segments_or_none_when_it_needs_fitting(
        envelope: InboundEnvelope, reference: str, prepared: datetime,
        aperaks: list[AperakMessage], report: ContrlReport) -> None:
    """`answer_written` gives the bytes `answer_interchange` gives, or leaves the interchange
    to it (None) when some text has to be fitted to the repertoire first."""
    segments = [aperak_segments(message, str(n)) for n, message in enumerate(aperaks, 1)]
    general = answer_interchange(envelope, reference, prepared, segments, "APERAK")
    written = answer_written(envelope, reference, prepared, aperaks_written(aperaks),
                             len(aperaks), "APERAK")
    assert written in (None, general)
    general = answer_interchange(envelope, reference, prepared, [contrl_segments(report)],
                                 "CONTRL")
    assert answer_written(envelope, reference, prepared, contrl_written(report), 1,
                          "CONTRL") in (None, general)


def test_plain_values_are_written_from_text_and_fitted_ones_from_segments() -> None:
    """The usual answer takes the text path; supplier text outside UNOA takes the other, and
    `render` gives the same bytes either way."""
    message = AperakMessage("1-1", PREPARED, ORDRSP, "AB-77", date(2026, 12, 1), ())
    unoa = InboundEnvelope("UNOA", "3", Party("S"), Party("R"), "R1")
    assert answer_written(unoa, "1", PREPARED, aperaks_written([message]), 1) == \
        answer_interchange(unoa, "1", PREPARED, [aperak_segments(message)])
    lower = AperakMessage("1-1", PREPARED, ORDRSP, "ab-77 größe", None, ())
    assert answer_written(unoa, "1", PREPARED, aperaks_written([lower]), 1) is None
    assert b"RFF+POR:AB-77 GROSSE'" in answer_interchange(unoa, "1", PREPARED,
                                                          [aperak_segments(lower)])


@given(st.dates())
def test_document_dates_are_written_as_strftime_writes_them(day: date) -> None:
    message = AperakMessage("1", PREPARED, ORDRSP, "AB-77", day, ())
    (dtm,) = [s for s in aperak_segments(message) if s.tag == "DTM" and s.elements[0][0] == "171"]
    assert dtm.elements == [["171", day.strftime("%Y%m%d"), "102"]]
