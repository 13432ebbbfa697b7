"""Sender authentication's pure rules: DMARC alignment and records, the verdict a partner's
policy turns into, Authentication-Results parsing and which such fields are believed, and the
From domain of a header block."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from gateway.config import MailAuthSettings
from gateway.errors import ConfigurationError
from gateway.mailauth.authres import AuthResultsSyntaxError, parse, trusted_results
from gateway.mailauth.dns import public_suffix_organizational
from gateway.mailauth.headers import MAX_FIELDS, MAX_HEADER_BYTES, from_domain, header_fields
from gateway.mailauth.verdict import (
    OPERATOR_VERDICT,
    DkimResult,
    DmarcRecord,
    MailAuthPolicy,
    Method,
    SignatureKey,
    SpfResult,
    Trust,
    Verdict,
    aligned,
    dmarc_alignment,
    message_trust,
    parse_dmarc_record,
    signature_keys,
    supplier_domains,
)
from gateway.mailauth.verify import (
    MAX_SIGNATURES,
    MESSAGE_SECONDS,
    SPF_SECONDS,
    SenderVerifier,
    SmtpFacts,
)

ORG = public_suffix_organizational()
ACME = frozenset({"acme.example"})


@pytest.mark.parametrize(("identifier", "author", "mode", "expected"), [
    ("acme.example", "acme.example", "s", True),
    ("mail.acme.example", "acme.example", "r", True),     # a subdomain of the organization
    ("mail.acme.example", "acme.example", "s", False),    # strict: the same name only
    ("acme.example", "eu.acme.example", "r", True),
    ("evil.example", "acme.example", "r", False),
    ("acme.co.uk", "other.co.uk", "r", False),            # co.uk is a public suffix
    ("mail.acme.co.uk", "acme.co.uk", "r", True),
    ("ACME.example.", "acme.example", "s", True),         # case and the root dot
    ("", "acme.example", "r", False),
])
def test_identifier_alignment_strict_and_relaxed(identifier, author, mode, expected):
    assert aligned(identifier, author, mode, ORG) is expected


def test_dmarc_passes_on_an_aligned_dkim_pass_or_an_aligned_spf_pass_only():
    passing = DkimResult("acme.example", "s1", "pass")
    foreign = DkimResult("evil.example", "s1", "pass")
    assert dmarc_alignment("acme.example", [passing], None, None, ORG) == \
        ("pass", "dkim", "acme.example")
    assert dmarc_alignment("acme.example", [foreign], None, None, ORG) == ("fail", None, None)
    assert dmarc_alignment("acme.example", [], SpfResult("pass", "bounce.acme.example"),
                           None, ORG) == ("pass", "spf", "bounce.acme.example")
    # A published aspf=s makes the bounce subdomain unaligned.
    strict = DmarcRecord("reject", "r", "s")
    assert dmarc_alignment("acme.example", [], SpfResult("pass", "bounce.acme.example"),
                           strict, ORG)[0] == "fail"
    assert dmarc_alignment("acme.example", [DkimResult("acme.example", "s1", "fail")],
                           SpfResult("softfail", "acme.example"), None, ORG)[0] == "fail"
    assert dmarc_alignment("acme.example", [DkimResult("acme.example", "s1", "temperror")],
                           None, None, ORG)[0] == "temperror"
    assert dmarc_alignment(None, [passing], None, None, ORG)[0] == "fail"


def test_dmarc_records_are_read_strictly():
    assert parse_dmarc_record("v=DMARC1; p=reject; adkim=s") == DmarcRecord("reject", "s", "r")
    assert parse_dmarc_record("v=DMARC1;p=quarantine;aspf=s;rua=mailto:x@acme.example") == \
        DmarcRecord("quarantine", "r", "s")
    assert parse_dmarc_record("v=DMARC1; p=bogus") == DmarcRecord("none", "r", "r")
    assert parse_dmarc_record("v=spf1 -all") is None
    assert parse_dmarc_record("p=reject; v=DMARC1") is None      # v must come first
    assert parse_dmarc_record("v=DMARC1; adkim=s") is None       # p is required


def verdict(dmarc: str, from_domain: str = "acme.example") -> Verdict:
    return Verdict(Method.LOCAL, from_domain, (DkimResult(from_domain, "s1", dmarc),), None,
                   dmarc, "dkim" if dmarc == "pass" else None)


@pytest.mark.parametrize(("found", "policy", "trust"), [
    (verdict("pass"), MailAuthPolicy.REQUIRED, Trust.VERIFIED),
    (verdict("fail"), MailAuthPolicy.REQUIRED, Trust.QUARANTINED),
    (verdict("fail"), MailAuthPolicy.PREFERRED, Trust.UNVERIFIED),
    (verdict("fail"), MailAuthPolicy.NONE, Trust.TRUSTED),
    # Authenticated, but as a domain that is not the supplier's.
    (verdict("pass", "evil.example"), MailAuthPolicy.PREFERRED, Trust.UNVERIFIED),
    (verdict("pass", "evil.example"), MailAuthPolicy.REQUIRED, Trust.QUARANTINED),
    (None, MailAuthPolicy.PREFERRED, Trust.UNVERIFIED),           # never checked
    (OPERATOR_VERDICT, MailAuthPolicy.REQUIRED, Trust.TRUSTED),
])
def test_a_partners_policy_decides_what_unauthenticated_mail_may_do(found, policy, trust):
    stored = None if found is None else found.as_json()
    got, why = message_trust("smtp", stored, policy.value, ACME)
    assert got is trust
    assert (why is None) == (trust in (Trust.VERIFIED, Trust.TRUSTED))


def test_the_policy_stored_with_the_verdict_applies_when_the_partner_names_none():
    stored = {**verdict("fail").as_json(), "default_policy": "required"}
    assert message_trust("imap", stored, None, ACME)[0] is Trust.QUARANTINED
    assert message_trust("imap", stored, "preferred", ACME)[0] is Trust.UNVERIFIED
    # Without any: preferred. And what an operator hands in is not mail.
    assert message_trust("imap", verdict("fail").as_json(), None, ACME)[0] is Trust.UNVERIFIED
    assert message_trust("cli", None, "required", ACME)[0] is Trust.TRUSTED


def test_a_verdict_survives_its_json_round_trip():
    found = Verdict(Method.UPSTREAM, "acme.example", (DkimResult("acme.example", "s1", "pass"),),
                    SpfResult("fail", "acme.example"), "pass", "dkim", "acme.example", "reject",
                    "mx.buyer.example", None, "orders@acme.example")
    assert Verdict.from_json(found.as_json()) == found
    assert found.authenticated_domain == "acme.example"
    assert found.summary() == ("upstream via mx.buyer.example: dkim=pass (acme.example) "
                               "spf=fail (acme.example) dmarc=pass for acme.example")


def test_supplier_domains_are_its_domains_as_compared():
    assert supplier_domains(["ACME.example.", ""]) == frozenset({"acme.example"})


def test_an_authenticated_domain_verifies_the_suppliers_own_address_not_its_neighbours():
    """DMARC vouches for a domain: at a mail provider the supplier shares, only the
    supplier's own address is the supplier, not whoever else the provider authenticates."""
    def at_provider(author: str) -> dict[str, object]:
        return replace(verdict("pass", "mail.example"), from_address=author).as_json()

    emails = frozenset({"acme.orders@mail.example"})
    assert message_trust("smtp", at_provider("acme.orders@mail.example"), "required",
                         frozenset(), emails)[0] is Trust.VERIFIED
    trust, why = message_trust("smtp", at_provider("attacker@mail.example"), "required",
                               frozenset(), emails)
    assert trust is Trust.QUARANTINED
    assert "attacker@mail.example is not an address or domain of this supplier" in (why or "")
    # Authentication failed: the supplier's own address is not enough.
    failed = replace(verdict("fail", "mail.example"), from_address="acme.orders@mail.example")
    assert message_trust("smtp", failed.as_json(), "required", frozenset(), emails)[0] \
        is Trust.QUARANTINED
    # A verdict stored without the author address: only the supplier's domains verify.
    assert message_trust("smtp", verdict("pass", "mail.example").as_json(), "required",
                         frozenset(), emails)[0] is Trust.QUARANTINED


# -- Authentication-Results (RFC 8601) -----------------------------------------------------------


def test_an_authentication_results_field_is_parsed_with_comments_and_properties():
    found = parse('mx.buyer.example 1 (version one); dkim=pass (good sig) header.d=acme.example '
                  'header.s=s1; spf=softfail reason="ip not listed" smtp.mailfrom=x@acme.example;'
                  ' dmarc=pass header.from=acme.example')
    assert found.authserv_id == "mx.buyer.example"
    assert [(r.method, r.result) for r in found.results] == [
        ("dkim", "pass"), ("spf", "softfail"), ("dmarc", "pass")]
    assert found.results[0].properties == {"header.d": "acme.example", "header.s": "s1"}
    assert found.results[1].reason == "ip not listed"
    assert parse("mx.buyer.example; none").results == ()


@pytest.mark.parametrize("value", [
    "",                                          # no authserv-id
    "mx.buyer.example",                          # no results
    "mx.buyer.example; dkim",                    # no result
    "mx.buyer.example; dkim=pass header.d",      # a property without a value
    "mx.buyer.example; dkim=pass d=acme.example",  # a property without ptype
    "mx.buyer.example; dkim=pass (unclosed comment",
    "mx.buyer.example; dkim=pass " + "x" * 20_000,
])
def test_a_malformed_field_is_refused(value):
    with pytest.raises(AuthResultsSyntaxError):
        parse(value)


def fields(*results: str) -> list[tuple[str, str]]:
    head = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return header_fields(f"{head}From: a@acme.example\r\n\r\nbody".encode())


TRUSTED = frozenset({"mx.buyer.example"})
REAL = "mx.buyer.example; dkim=fail header.d=acme.example; dmarc=fail header.from=acme.example"
FORGED = "mx.buyer.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example"


def test_only_the_topmost_field_of_a_trusted_authserv_id_is_believed():
    found = trusted_results(fields("other.example; dkim=pass header.d=acme.example", REAL,
                                   FORGED), TRUSTED)
    assert found is not None
    assert [r.result for r in found.results] == ["fail", "fail"]
    # No trusted id configured, or none in the message: nothing is believed.
    assert trusted_results(fields(FORGED), frozenset()) is None
    assert trusted_results(fields("evil.example; dkim=pass header.d=acme.example"),
                           TRUSTED) is None


def test_a_malformed_field_that_may_be_the_trusted_mxs_stops_the_search():
    assert trusted_results(fields("mx.buyer.example; dkim=(broken", FORGED), TRUSTED) is None


def test_the_from_domain_needs_exactly_one_author():
    def domain(head: str) -> str | None:
        return from_domain(header_fields(head.encode() + b"\r\n\r\nbody"))[0]

    assert domain("From: Acme <Orders@Acme.Example>") == "acme.example"
    assert domain("From: a@acme.example\r\nFrom: b@evil.example") is None
    assert domain("From: a@acme.example, b@evil.example") is None
    assert domain("Subject: none") is None
    # Folded over two lines, and a body that looks like a header is never read.
    assert from_domain(header_fields(b"From: Acme\r\n <orders@acme.example>\r\n\r\n"
                                     b"From: x@evil.example\r\n"))[0] == "acme.example"


# -- configuration ---------------------------------------------------------------------------------


def test_the_settings_are_read_from_the_environment_and_checked():
    assert MailAuthSettings.from_env({}) == MailAuthSettings("preferred", frozenset(), (), 5.0)
    found = MailAuthSettings.from_env({
        "GATEWAY_MAIL_AUTH": "Required",
        "GATEWAY_MAIL_AUTH_TRUSTED_AUTHSERV_IDS": "MX.Buyer.example, mx2.buyer.example",
        "GATEWAY_MAIL_AUTH_TRUSTED_RELAYS": "192.0.2.25, 2001:db8::/64",
        "GATEWAY_MAIL_AUTH_DNS_TIMEOUT": "2.5"})
    assert found == MailAuthSettings("required",
                                     frozenset({"mx.buyer.example", "mx2.buyer.example"}),
                                     ("192.0.2.25", "2001:db8::/64"), 2.5)
    for name, value in (("GATEWAY_MAIL_AUTH", "strict"),
                        ("GATEWAY_MAIL_AUTH_TRUSTED_RELAYS", "mx.buyer.example"),
                        ("GATEWAY_MAIL_AUTH_DNS_TIMEOUT", "0"),
                        ("GATEWAY_MAIL_AUTH_DNS_TIMEOUT", "soon")):
        with pytest.raises(ConfigurationError, match=name):
            MailAuthSettings.from_env({name: value})


def test_a_field_cannot_be_smuggled_in_by_a_line_separator_inside_another():
    raw = (b"Subject: hi\x0cAuthentication-Results: mx.buyer.example; dkim=pass "
           b"header.d=acme.example\xe2\x80\xa8From: x@acme.example\r\nFrom: a@evil.example"
           b"\r\n\r\n")
    assert [name for name, _value in header_fields(raw)] == ["subject", "from"]
    assert trusted_results(header_fields(raw), TRUSTED) is None



def test_a_message_without_a_from_domain_asks_no_dns():
    asked: list[str] = []
    verifier = SenderVerifier(lambda name, qtype: asked.append(name) or [], ORG)
    found = verifier.verify(b"UNA:+.? 'UNB+UNOC:3+4012345000009:14'", SmtpFacts(
        "192.0.2.1", "mx.acme.example", "orders@acme.example"))
    assert (found.dmarc, found.from_domain, found.note, asked) == ("fail", None, "0 From fields",
                                                                  [])


def test_an_spf_check_that_a_slow_dns_drags_out_stops_at_its_time_budget():
    """RFC 7208 section 4.6.4 bounds the lookups (ten terms), not their answers: nine `mx`
    of ten exchanges each are 100 queries, each answered just inside the per-query timeout.
    The whole check stops at SPF_SECONDS with temperror."""
    now = [0.0]
    records = {("slow.example", "TXT"): [(b"v=spf1 " + b" ".join(
        b"mx:m%d.slow.example" % i for i in range(9)) + b" -all",)]}
    for i in range(9):
        records[(f"m{i}.slow.example", "MX")] = [
            (10, f"h{j}.m{i}.slow.example") for j in range(10)]
        records.update({(f"h{j}.m{i}.slow.example", "A"): ["192.0.2.99"] for j in range(10)})

    def slow(name: str, qtype: str) -> list[object]:
        now[0] += 4.9
        return list(records.get((name, qtype), []))

    verifier = SenderVerifier(slow, ORG, clock=lambda: now[0])
    found = verifier.spf(SmtpFacts("127.0.0.1", "mx.slow.example", "a@slow.example"))
    assert found.result == "temperror"
    assert now[0] <= SPF_SECONDS + 4.9


def test_the_header_is_read_where_the_mail_reader_reads_it():
    """Lines end at CRLF, a bare CR or a bare LF; the header at the first empty line or the
    first line that is no field; a header past the bounds is not read at all."""
    def names(raw: bytes) -> list[str]:
        return [name for name, _value in header_fields(raw)]

    assert names(b"X-A: 1\rSubject: hidden\r\nSubject: signed\r\n\r\n") == \
        ["x-a", "subject", "subject"]
    assert names(b"X-A: 1\r\rFrom: orders@acme.example\r\n\r\n") == ["x-a"]
    assert names(b"Note\r\nFrom: orders@acme.example\r\n\r\n") == []
    assert names(b"Subject : spaced\r\nFrom: orders@acme.example\r\n\r\n") == []
    assert names(b"From orders@acme.example Thu Nov 26 08:00:00 2026\r\n"
                 b"From: a@acme.example\r\n\r\nbody") == ["from"]
    assert names(b"From: a@acme.example") == ["from"]   # a message that is all header
    padding = b"X-Pad: " + b"x" * 998 + b"\r\n"
    huge = b"From: a@acme.example\r\n" + padding * (MAX_HEADER_BYTES // len(padding) + 1)
    assert names(huge + b"\r\nbody") == []
    assert names(b"From: a@acme.example\r\n" + b"X: 1\r\n" * MAX_FIELDS + b"\r\n") == []


def test_all_the_checks_of_one_message_stop_at_its_time_budget():
    """Five signatures of five slow domains, a slow SPF record and slow DMARC records: each
    check is bounded, their sum too (MESSAGE_SECONDS): past it, every query left is a
    temperror, and the worker moves on."""
    now = [0.0]
    spf_record = b"v=spf1 " + b" ".join(b"mx:m%d.slow.example" % i for i in range(9)) + b" -all"

    def slow(name: str, qtype: str) -> list[object]:
        now[0] += 4.9
        if qtype == "MX":
            return [(10, f"h{j}.{name}") for j in range(10)]
        if qtype == "A":
            return ["192.0.2.99"]
        return [(spf_record,)] if name == "slow.example" else []

    raw = b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=s%d.example; s=s; h=from; "
                   b"bh=AAAA; b=AAAA\r\n" % i for i in range(500))
    raw += b"From: a@slow.example\r\n\r\nbody\r\n"
    verifier = SenderVerifier(slow, ORG, clock=lambda: now[0])
    found = verifier.verify(raw, SmtpFacts("127.0.0.1", "mx.slow.example", "a@slow.example"))
    assert found.dmarc != "pass"
    assert len(found.dkim) == MAX_SIGNATURES
    assert now[0] <= MESSAGE_SECONDS + 4.9


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_replay_keys_are_the_signatures_that_authenticate_the_from():
    """RFC 6376 section 8.6: every passing signature aligned with the From domain, each of
    which alone authenticates a replay; not a failing one, nor another domain's."""
    results = (DkimResult("evil.example", "s1", "pass"),
               DkimResult("acme.example", "s1", "fail"),
               DkimResult("mail.acme.example", "s2", "pass"),
               DkimResult("acme.example", "s1", "pass"))
    b_values = ("AAA", "BBB", "CCC", "DDD")
    assert signature_keys("acme.example", results, b_values, None, ORG) == (
        SignatureKey("mail.acme.example", _sha("CCC")), SignatureKey("acme.example", _sha("DDD")))
    # adkim=s: the subdomain's signature does not authenticate acme.example.
    assert signature_keys("acme.example", results, b_values, DmarcRecord("reject", "s"),
                          ORG) == (SignatureKey("acme.example", _sha("DDD")),)
    assert signature_keys(None, results, b_values, None, ORG) == ()
    assert signature_keys("acme.example", results[3:], (None,), None, ORG) == ()


def test_a_verdict_keeps_its_signatures_through_json():
    found = Verdict(Method.LOCAL, "acme.example", (DkimResult("acme.example", "s1", "pass"),),
                    dmarc="pass", signatures=(SignatureKey("acme.example", _sha("b")),))
    assert found.as_json()["signatures"] == [{"d": "acme.example", "b_sha256": _sha("b")}]
    assert Verdict.from_json(found.as_json()) == found
    assert "signatures" not in replace(found, signatures=()).as_json()


def test_an_upstream_verdict_keys_every_signature_it_names_by_d_and_s():
    """The upstream's field names a verified signature by d= and s= only: an unverified one
    added beside it with the same d= and s= is keyed as well, so it hides nothing."""
    raw = (b"Authentication-Results: mx.buyer.example; dkim=pass header.d=acme.example "
           b"header.s=s1\r\n"
           b"DKIM-Signature: v=1; d=acme.example; s=s1; h=from; bh=x; b=FAKE\r\n"
           b"DKIM-Signature: v=1; d=acme.example; s=s1; h=from; bh=x;\r\n b=REAL\r\n\t PART\r\n"
           b"DKIM-Signature: v=1; d=other.example; s=s1; h=from; bh=x; b=OTHER\r\n"
           b"From: orders@acme.example\r\n\r\nbody\r\n")
    verifier = SenderVerifier(lambda name, qtype: [], ORG, TRUSTED)
    found = verifier.verify(raw, None)
    assert (found.method, found.dmarc) == (Method.UPSTREAM, "pass")
    assert found.signatures == (SignatureKey("acme.example", _sha("FAKE")),
                                SignatureKey("acme.example", _sha("REALPART")))
