"""Sender authentication end to end, on SQLite and PostgreSQL: real mails signed with dkimpy
keys made for the test, sent over SMTP to the running intake, checked (DKIM, SPF, DMARC) with
every DNS answer from a local stub, then processed; and what each partner policy lets a mail
that claims a supplier do."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dkim
import pytest
from alembic import command
from click.testing import CliRunner
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key
from dkim.util import parse_tag_value
from sqlalchemy import Engine, func, null, select, text, update
from sqlalchemy.orm import Session

from gateway.bootstrap import make_engine
from gateway.cli import cli
from gateway.config import MailAuthSettings, Settings
from gateway.errors import ConfigurationError
from gateway.mailauth import DnsTemporaryFailure
from gateway.mailauth.verdict import Trust, message_trust
from gateway.mailauth.verify import SmtpFacts
from gateway.persistence.models import (
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    Supplier,
)
from gateway.persistence.schema import alembic_config, upgrade
from gateway.services.inbound import release
from gateway.services.ingest import Intake, UnitOfWork, ingest
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.mail_auth import SenderAuthentication, forget_spoiled_verdict
from gateway.services.orders import import_lines, read_order_file
from gateway.services.processing import read_batch, write_batch
from tests.integration import test_imap as imap
from tests.integration.conftest import transactions
from tests.integration.test_smtp import OURS, smtp_server

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
SUPPLIER = "orders@acme.example"
ATTACKER = "attacker@evil.example"
ORDERS = """order_number,line_no,quantity,unit,price,currency,requested_date,supplier_id,owner_email
4500012346,20,1500,PCE,,,2026-12-08,ACME,anna.buyer@buyer.example
"""
# The buyer's upstream MX, when one is configured.
UPSTREAM = "mx.buyer.example"


def partners(mail_auth: str | None) -> dict[str, Any]:
    acme = {"code": "ACME", "name": "Acme Fasteners GmbH", "emails": [SUPPLIER],
            "domains": ["acme.example"], "buyer_contact": "anna.buyer@buyer.example"}
    return {"suppliers": [{**acme, "mail_auth": mail_auth} if mail_auth else acme]}


@dataclass
class Keys:
    private: bytes
    public: str   # the p= of the DKIM key record


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Keys]:
    """An RSA key per signing domain, made with the openssl command (dkimpy makes none)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make DKIM keys")
    folder = tmp_path_factory.mktemp("dkim")
    made = {}
    for domain in ("acme.example", "evil.example", "mail.example"):
        key = folder / f"{domain}.pem"
        subprocess.run([openssl, "genrsa", "-out", str(key), "1024"], check=True,
                       capture_output=True)
        der = subprocess.run([openssl, "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        made[domain] = Keys(key.read_bytes(), base64.b64encode(der).decode())
    return made


@dataclass
class StubDns:
    """The DNS: TXT, A and the rest answered from a dictionary; a name listed in `down`
    times out."""

    records: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def txt(self, name: str, text: str) -> None:
        self.records.setdefault((name, "TXT"), []).append((text.encode(),))

    def __call__(self, name: str, qtype: str) -> list[Any]:
        self.asked.append((name.lower(), qtype))
        if name.lower() in self.down:
            raise DnsTemporaryFailure(f"{qtype} {name}: timed out")
        return list(self.records.get((name.lower(), qtype), []))


@pytest.fixture
def dns(keys: dict[str, Keys]) -> StubDns:
    stub = StubDns()
    for domain, key in keys.items():
        stub.txt(f"s1._domainkey.{domain}", f"v=DKIM1; k=rsa; p={key.public}")
    # Acme sends from its own server, not from this test's loopback client; the attacker's
    # domain allows the loopback address: its own SPF passes.
    stub.txt("acme.example", "v=spf1 ip4:192.0.2.10 -all")
    stub.txt("_dmarc.acme.example", "v=DMARC1; p=reject")
    stub.txt("evil.example", "v=spf1 ip4:127.0.0.1 -all")
    return stub


def mail(body: str, author: str = SUPPLIER, extra: str = "") -> bytes:
    return (f"{extra}From: Acme Orders <{author}>\r\nTo: {OURS}\r\n"
            f"Subject: PO 4500012346\r\nMessage-ID: <{abs(hash(body + extra))}@acme.example>\r\n"
            f"Date: Thu, 26 Nov 2026 08:00:00 +0000\r\n\r\n{body}\r\n").encode()


def signed(raw: bytes, keys: dict[str, Keys], domain: str = "acme.example") -> bytes:
    signature = dkim.sign(raw, b"s1", domain.encode(), keys[domain].private,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


LATE = "PO 4500012346 line 20: 1500 pcs confirmed, delivery 2026-12-15"
ON_TIME = "PO 4500012346 line 20: 1500 pcs confirmed, delivery 2026-12-08"


@dataclass
class Gateway:
    engine: Engine
    transaction: UnitOfWork
    worker: ReceivedWorker
    authenticate: SenderAuthentication

    def send(self, raw: bytes, mail_from: str, *, verbatim: bool = False,
             process: bool = True) -> int:
        """Over SMTP to the intake, then processed (unless not `process`); the message's id.
        `verbatim`: the bytes as they are, where smtplib would make each bare CR or LF a CRLF
        (a hostile client does not)."""
        before = self.last_id()
        with smtp_server(self.transaction) as running, \
                smtplib.SMTP("127.0.0.1", running.port, local_hostname="mx.sender.example",
                             timeout=60) as client:
            if verbatim:
                client.ehlo_or_helo_if_needed()
                assert client.mail(mail_from)[0] == 250
                assert client.rcpt(OURS)[0] == 250
                assert client.docmd("DATA")[0] == 354
                client.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
                assert client.getreply()[0] == 250
            else:
                client.sendmail(mail_from, [OURS], raw)
        if process:
            assert self.worker.run_once() == 1
        message_id = self.last_id()
        assert message_id != before
        return message_id

    def last_id(self) -> int:
        with self.transaction() as session:
            return session.scalar(select(InboundMessage.id).order_by(InboundMessage.id.desc())
                                  .limit(1)) or 0

    def message(self, message_id: int) -> InboundMessage:
        with self.transaction() as session:
            return session.get_one(InboundMessage, message_id)

    def line(self) -> OrderLineRow:
        with self.transaction() as session:
            return session.scalars(select(OrderLineRow)).one()

    def exceptions(self) -> dict[str, str]:
        with self.transaction() as session:
            return {row.code: row.state for row in session.scalars(select(ExceptionRow))}


def gateway(engine: Engine, tmp_path: Path, dns: StubDns, mail_auth: str | None,
            settings: MailAuthSettings | None = None,
            suppliers: dict[str, Any] | None = None) -> Gateway:
    transaction = transactions(engine, suppliers or partners(mail_auth), NOW)
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    lines, errors = read_order_file(path)
    assert not errors
    with transaction() as session:
        import_lines(session, lines, path.name, NOW)
    authenticate = SenderAuthentication.from_settings(settings or MailAuthSettings(), dns)
    worker = ReceivedWorker(transaction, ["smtp"], lambda: TODAY, lambda: NOW,
                            authenticate=authenticate)
    return Gateway(engine, transaction, worker, authenticate)


@pytest.fixture
def preferred(engine: Engine, tmp_path: Path, dns: StubDns) -> Gateway:
    return gateway(engine, tmp_path, dns, None)   # the default policy: preferred


@pytest.fixture
def late(preferred: Gateway, keys: dict[str, Keys]) -> Gateway:
    """The supplier's own, signed answer: the line is late; a DATE_LATE exception is open."""
    message_id = preferred.send(signed(mail(LATE), keys), SUPPLIER)
    found = preferred.message(message_id)
    assert found.state == "reconciled"
    assert found.sender_trust == "verified"
    assert found.authentication["dkim"] == [
        {"domain": "acme.example", "selector": "s1", "result": "pass"}]
    assert found.authentication["dmarc"] == "pass"
    assert found.authentication["published_policy"] == "reject"
    assert found.envelope == {"client_ip": "127.0.0.1", "helo": "mx.sender.example",
                              "recipients": [OURS]}
    assert preferred.line().confirmed_date == date(2026, 12, 15)
    assert preferred.exceptions() == {"DATE_LATE": "open"}
    return preferred


def test_a_forged_from_no_longer_resolves_the_suppliers_exception(late: Gateway) -> None:
    """The case reported: envelope sender of the attacker's domain, From the supplier's
    address, the promise "back on time". It resolved a high DATE_LATE; now it changes
    nothing and the buyer sees an UNVERIFIED_SENDER exception instead."""
    message_id = late.send(mail(ON_TIME), ATTACKER)
    found = late.message(message_id)
    assert found.state == "reconciled"
    assert found.sender_trust == "unverified"
    assert found.authentication["spf"] == {"result": "pass", "domain": "evil.example"}
    assert found.authentication["dmarc"] == "fail"
    assert "UNVERIFIED_SENDER" in (found.state_reason or "")
    assert late.line().confirmed_date == date(2026, 12, 15)
    assert late.exceptions() == {"DATE_LATE": "open", "UNVERIFIED_SENDER": "open"}
    with late.transaction() as session:
        raised = session.scalars(select(ExceptionRow)
                                 .where(ExceptionRow.code == "UNVERIFIED_SENDER")).one()
    assert (raised.message_id, raised.severity, raised.order_number) == \
        (message_id, "high", "4500012346")
    assert raised.difference == "withheld: 1 line change(s), 0 finding(s)"


def test_the_suppliers_signed_answer_after_a_forged_one_still_applies(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """A forged document does not take the supplier's document number or content first."""
    late.send(mail(ON_TIME, extra="X-Forged: 1\r\n"), ATTACKER)
    message_id = late.send(signed(mail(ON_TIME), keys), SUPPLIER)
    assert late.message(message_id).sender_trust == "verified"
    assert late.line().confirmed_date == date(2026, 12, 8)
    assert late.exceptions()["DATE_LATE"] == "resolved"


def test_a_valid_signature_of_another_domain_does_not_authenticate_the_from(
        late: Gateway, keys: dict[str, Keys]) -> None:
    message_id = late.send(signed(mail(ON_TIME), keys, "evil.example"), ATTACKER)
    found = late.message(message_id)
    assert found.authentication["dkim"] == [
        {"domain": "evil.example", "selector": "s1", "result": "pass"}]
    assert (found.authentication["dmarc"], found.sender_trust) == ("fail", "unverified")
    assert late.exceptions()["DATE_LATE"] == "open"


def test_the_attackers_own_authenticated_domain_is_not_the_suppliers(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """From the attacker's own address, signed and SPF-passing: authenticated, but as
    evil.example, which names no supplier: the order number in the body claims none."""
    message_id = late.send(signed(mail(ON_TIME, author=ATTACKER), keys, "evil.example"),
                           ATTACKER)
    found = late.message(message_id)
    assert found.authentication["dmarc"] == "pass"
    assert found.state == "quarantined"
    assert "unknown sender" in (found.state_reason or "")


def signed_without_from(raw: bytes, keys: dict[str, Keys]) -> bytes:
    """A signature of acme.example whose h= leaves the From out: dkimpy refuses to make one
    (RFC 6376 section 5.4), so it is made here the way dkimpy makes its own."""
    checker = dkim.DKIM(raw)
    checker.signature_algorithm, checker.hasher = b"rsa-sha256", hashlib.sha256
    canon = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
    body_hash = base64.b64encode(hashlib.sha256(canon.canonicalize_body(checker.body)).digest())
    heads = [b"to", b"subject", b"date"]
    tags = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/simple"),
            (b"d", b"acme.example"), (b"s", b"s1"), (b"h", b":".join(heads)),
            (b"bh", body_hash), (b"b", b"0" * 60)]
    value = checker.gen_header(tags, heads, canon, b"DKIM-Signature",
                               parse_pem_private_key(keys["acme.example"].private))
    return b"DKIM-Signature:" + value + raw


def test_a_signature_that_does_not_sign_the_from_authenticates_nothing(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """RFC 6376 section 6.1.1: a signature whose h= lacks From is ignored (PERMFAIL), however
    valid; dkimpy's verify does not check it."""
    message_id = late.send(signed_without_from(mail(ON_TIME), keys), ATTACKER)
    found = late.message(message_id)
    assert found.authentication["dkim"] == [
        {"domain": "acme.example", "selector": "s1", "result": "permerror"}]
    assert (found.authentication["dmarc"], found.sender_trust) == ("fail", "unverified")
    assert late.line().confirmed_date == date(2026, 12, 15)


def test_text_appended_past_a_signatures_body_length_is_not_the_suppliers(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """A genuine mail of the supplier signed with l= (RFC 6376 section 3.5: the signature
    covers only that many bytes of the body), the attacker's promise appended below them:
    the signature verifies, but does not vouch for what the gateway reads (section 8.2)."""
    raw = mail("Thank you for your order, we will confirm it shortly.")
    genuine = dkim.sign(raw, b"s1", b"acme.example", keys["acme.example"].private,
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                        length=True) + raw
    message_id = late.send(genuine + ON_TIME.encode() + b"\r\n", ATTACKER)
    found = late.message(message_id)
    assert found.authentication["dkim"] == [
        {"domain": "acme.example", "selector": "s1", "result": "policy"}]
    assert (found.authentication["dmarc"], found.sender_trust) == ("fail", "unverified")
    assert late.line().confirmed_date == date(2026, 12, 15)
    assert late.exceptions()["DATE_LATE"] == "open"
    # The supplier's own mail whose l= covers all of its body is still its own.
    raw = mail(ON_TIME)
    whole = dkim.sign(raw, b"s1", b"acme.example", keys["acme.example"].private,
                      include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                      length=True) + raw
    assert late.message(late.send(whole, SUPPLIER)).sender_trust == "verified"
    assert late.line().confirmed_date == date(2026, 12, 8)


def test_a_field_added_above_a_signed_one_is_not_the_suppliers(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """The supplier's genuine, signed answer to another order, with the attacker's Subject
    naming this order written above the signed one: dkimpy verifies the bottom instance of a
    field (RFC 6376 section 5.4.2), the reader takes the top one. The signature does not
    vouch for the message read (section 8.15)."""
    raw = mail("Line 20: 1500 pcs confirmed, delivery 2026-12-08").replace(
        b"Subject: PO 4500012346", b"Subject: PO 4500099999")
    message_id = late.send(b"Subject: PO 4500012346\r\n" + signed(raw, keys), ATTACKER)
    found = late.message(message_id)
    assert found.authentication["dkim"] == [
        {"domain": "acme.example", "selector": "s1", "result": "policy"}]
    assert (found.authentication["dmarc"], found.sender_trust) == ("fail", "unverified")
    assert late.line().confirmed_date == date(2026, 12, 15)
    assert late.exceptions()["DATE_LATE"] == "open"


@pytest.mark.parametrize("hidden", [
    b"X-Note: 1\r\r" + ON_TIME.encode() + b"\r\n",   # a bare CR ends the header early
    b"Note\r\n" + ON_TIME.encode() + b"\r\n",         # a line that is no field ends it
], ids=["bare-cr", "not-a-field"])
def test_a_header_read_otherwise_than_the_reader_reads_it_authenticates_nothing(
        late: Gateway, keys: dict[str, Keys], hidden: bytes) -> None:
    """The supplier's genuine, signed "thank you", with the attacker's promise written above
    its fields so that the mail reader (which, like Python's email package, ends a line at
    CR, LF or CRLF and the header at the first line that is not a field) reads it as body
    and every field below as body too. The From the check reads must be the reader's:
    here there is none, nothing is verified and nothing applied."""
    genuine = signed(mail("Thank you for your order, we will confirm it shortly."), keys)
    message_id = late.send(hidden + genuine, SUPPLIER, verbatim=True)
    found = late.message(message_id)
    assert found.authentication["from_domain"] is None
    assert found.sender_trust != "verified"
    assert late.line().confirmed_date == date(2026, 12, 15)
    assert late.exceptions()["DATE_LATE"] == "open"


# A supplier that writes from an address at a mail provider: the provider's other users
# authenticate as the same domain.
PROVIDER_ADDRESS = "acme.orders@mail.example"
NEIGHBOUR = "attacker@mail.example"


@pytest.fixture
def provider(engine: Engine, tmp_path: Path, dns: StubDns) -> Gateway:
    dns.txt("mail.example", "v=spf1 ip4:127.0.0.1 -all")
    acme = {"code": "ACME", "name": "Acme Fasteners GmbH", "emails": [PROVIDER_ADDRESS],
            "buyer_contact": "anna.buyer@buyer.example"}
    return gateway(engine, tmp_path, dns, None, suppliers={"suppliers": [acme]})


def forwarding(author: str, inner: bytes) -> bytes:
    """A mail from `author` that forwards `inner` as a message/rfc822 part."""
    return (f"From: {author}\r\nTo: {OURS}\r\nSubject: Fwd: PO 4500012346\r\n"
            "Date: Thu, 26 Nov 2026 08:30:00 +0000\r\nMessage-ID: <fwd-1@mail.example>\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
            "--b1\r\nContent-Type: message/rfc822\r\n\r\n").encode() + inner + \
        b"\r\n--b1--\r\n"


def test_the_providers_other_users_are_not_the_supplier(
        provider: Gateway, keys: dict[str, Keys]) -> None:
    """The supplier's own address at its provider is verified; another user of the provider,
    authenticated as the provider's domain, is not the supplier, whether the supplier was
    found by the envelope sender or by the From of a message the mail forwards."""
    genuine = provider.send(signed(mail(LATE, author=PROVIDER_ADDRESS), keys, "mail.example"),
                            PROVIDER_ADDRESS)
    assert provider.message(genuine).sender_trust == "verified"
    assert provider.line().confirmed_date == date(2026, 12, 15)
    by_envelope = provider.send(signed(mail(ON_TIME, author=NEIGHBOUR), keys, "mail.example"),
                                PROVIDER_ADDRESS)
    inner = mail(ON_TIME, author=PROVIDER_ADDRESS, extra="X-Inner: 1\r\n")
    by_forward = provider.send(signed(forwarding(NEIGHBOUR, inner), keys, "mail.example"),
                               NEIGHBOUR)
    for message_id in (by_envelope, by_forward):
        found = provider.message(message_id)
        assert found.authentication["dmarc"] == "pass"   # as mail.example: true, not Acme
        assert (found.supplier_code, found.sender_trust) == ("ACME", "unverified")
    assert provider.line().confirmed_date == date(2026, 12, 15)
    assert provider.exceptions() == {"DATE_LATE": "open", "UNVERIFIED_SENDER": "open"}


def test_a_forged_authentication_results_field_is_not_believed(
        engine: Engine, tmp_path: Path, dns: StubDns, keys: dict[str, Keys]) -> None:
    """The attacker writes the upstream MX's field claiming pass; the upstream is configured,
    but this client is not the upstream: the field is ignored and the mail checked here."""
    settings = MailAuthSettings(trusted_authserv_ids=frozenset({UPSTREAM}),
                                trusted_relays=("192.0.2.25",))
    site = gateway(engine, tmp_path, dns, "required", settings)
    forged = (f"Authentication-Results: {UPSTREAM}; dkim=pass header.d=acme.example "
              "header.s=s1; spf=pass smtp.mailfrom=orders@acme.example; "
              "dmarc=pass header.from=acme.example\r\n")
    message_id = site.send(mail(ON_TIME, extra=forged), ATTACKER)
    found = site.message(message_id)
    assert found.authentication["method"] == "local"
    assert found.authentication["dmarc"] == "fail"
    assert found.state == "quarantined"
    assert "sender not authenticated" in (found.state_reason or "")
    assert site.line().confirmed_quantity is None


def test_over_smtp_no_field_is_believed_until_the_upstreams_addresses_are_set(
        engine: Engine, tmp_path: Path, dns: StubDns) -> None:
    """An authserv-id is configured, its relays are not: any client that reaches the SMTP
    port could write that id's field, so none is believed over SMTP and the mail is checked
    here (a field of the id is believed over IMAP, where the mailbox server received it)."""
    settings = MailAuthSettings(trusted_authserv_ids=frozenset({UPSTREAM}))
    site = gateway(engine, tmp_path, dns, "required", settings)
    forged = (f"Authentication-Results: {UPSTREAM}; dkim=pass header.d=acme.example "
              "header.s=s1; spf=pass smtp.mailfrom=orders@acme.example; "
              "dmarc=pass header.from=acme.example\r\n")
    message_id = site.send(mail(ON_TIME, extra=forged), ATTACKER)
    found = site.message(message_id)
    assert (found.authentication["method"], found.authentication["dmarc"]) == ("local", "fail")
    assert found.state == "quarantined"
    assert site.line().confirmed_quantity is None


def test_required_quarantines_unauthenticated_mail_with_a_reason_it_can_read(
        engine: Engine, tmp_path: Path, dns: StubDns, keys: dict[str, Keys],
        settings: Settings) -> None:
    site = gateway(engine, tmp_path, dns, "required")
    forged = site.send(mail(ON_TIME), ATTACKER)
    genuine = site.send(signed(mail(LATE), keys), SUPPLIER)
    assert site.message(forged).state == "quarantined"
    assert site.message(genuine).state == "reconciled"
    assert site.line().confirmed_date == date(2026, 12, 15)
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    listed = CliRunner().invoke(cli, ["messages", "list", "--state", "quarantined", "--json"],
                                env=env)
    (row,) = json.loads(listed.output)
    assert row["id"] == forged
    assert "sender not authenticated" in row["reason"]
    assert "dmarc=fail for acme.example" in row["reason"]
    shown = CliRunner().invoke(cli, ["messages", "show", str(forged)], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"envelope: client 127.0.0.1, HELO mx.sender.example, to {OURS}" in shown.output
    assert ("sender authentication: local: dkim=none spf=pass (evil.example) dmarc=fail for "
            "acme.example") in shown.output
    detail = json.loads(CliRunner().invoke(cli, ["messages", "show", str(forged), "--json"],
                                           env=env).output)
    assert detail["authentication"]["spf"]["domain"] == "evil.example"
    assert detail["envelope"]["recipients"] == [OURS]


def test_spf_alone_aligned_with_the_from_authenticates(
        engine: Engine, tmp_path: Path, dns: StubDns) -> None:
    dns.records[("acme.example", "TXT")] = [(b"v=spf1 ip4:127.0.0.0/8 -all",)]
    site = gateway(engine, tmp_path, dns, "required")
    message_id = site.send(mail(LATE), SUPPLIER)
    found = site.message(message_id)
    assert (found.authentication["aligned"], found.sender_trust) == ("spf", "verified")
    assert site.line().confirmed_date == date(2026, 12, 15)


def test_a_dns_outage_is_recorded_as_temperror_and_changes_nothing(
        preferred: Gateway, dns: StubDns, keys: dict[str, Keys]) -> None:
    dns.down |= {"s1._domainkey.acme.example", "acme.example"}
    message_id = preferred.send(signed(mail(LATE), keys), SUPPLIER)
    found = preferred.message(message_id)
    assert found.authentication["dkim"][0]["result"] == "temperror"
    assert found.authentication["spf"]["result"] == "temperror"
    assert (found.authentication["dmarc"], found.sender_trust) == ("temperror", "unverified")
    assert preferred.line().confirmed_quantity is None


def test_a_release_checks_again_what_a_dns_outage_quarantined(
        engine: Engine, tmp_path: Path, dns: StubDns, keys: dict[str, Keys]) -> None:
    """What `gateway messages release` does: a verdict spoiled by a DNS outage is dropped and
    the message checked again; a forged one's verdict stands."""
    site = gateway(engine, tmp_path, dns, "required")
    dns.down |= {"s1._domainkey.acme.example", "acme.example"}
    genuine = site.send(signed(mail(LATE), keys), SUPPLIER)
    forged = site.send(mail(ON_TIME), ATTACKER)
    assert "dmarc=temperror" in (site.message(genuine).state_reason or "")
    dns.down.clear()
    for message_id, spoiled in ((genuine, True), (forged, False)):
        with site.transaction() as session:
            assert forget_spoiled_verdict(session, message_id) is spoiled
        site.authenticate(site.transaction, [message_id])
        release(site.transaction, message_id, TODAY, NOW)
    assert (site.message(genuine).state, site.message(genuine).sender_trust) == \
        ("reconciled", "verified")
    assert site.message(forged).state == "quarantined"
    assert site.line().confirmed_date == date(2026, 12, 15)


def test_a_check_that_breaks_on_hostile_bytes_is_that_messages_permerror(
        preferred: Gateway, dns: StubDns) -> None:
    """A key record dkimpy cannot read, and a stored client address pyspf refuses: the
    message is not authenticated, with the reason, and the worker goes on."""
    dns.records[("s1._domainkey.acme.example", "TXT")] = [(b"v=DKIM1; k=rsa; p=!!!",)]
    raw = (b"DKIM-Signature: v=1; a=rsa-sha256; d=acme.example; s=s1; h=from; bh=AAAA; b=!!!"
           b"\r\n" + mail(LATE))
    message_id = preferred.send(raw, SUPPLIER)
    with preferred.transaction() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == message_id)
                        .values(authentication=null(), state="received",
                                envelope={"client_ip": "not-an-ip", "helo": None}))
    assert preferred.authenticate(preferred.transaction, [message_id]) == 1
    verdict = preferred.message(message_id).authentication
    assert (verdict["dkim"][0]["result"], verdict["spf"]["result"], verdict["dmarc"]) == \
        ("permerror", "permerror", "fail")

    def unexpected(name: str, qtype: str) -> list[Any]:
        raise ValueError(f"{qtype} {name}: a resolver bug")

    broken = SenderAuthentication(replace(preferred.authenticate.verifier, lookup=unexpected))
    with preferred.transaction() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == message_id)
                        .values(authentication=null()))
    assert broken(preferred.transaction, [message_id]) == 1
    verdict = preferred.message(message_id).authentication
    assert (verdict["dmarc"], verdict["note"]) == ("permerror", "the check failed: ValueError")


def test_gateway_ingest_by_an_operator_is_trusted(preferred: Gateway) -> None:
    """What an operator hands in (`gateway ingest`) is taken as the supplier's, as before."""
    [report] = ingest(preferred.transaction, [Intake(mail(LATE), "cli", "cli")], TODAY, NOW)
    found = preferred.message(report.message_id)
    assert (found.state, found.sender_trust, found.authentication) == \
        ("reconciled", "trusted", None)
    assert preferred.line().confirmed_quantity == Decimal(1500)


# -- the trusted upstream, as an IMAP mailbox behind it delivers --------------------------------


@pytest.fixture
def verifier(dns: StubDns) -> SenderAuthentication:
    return SenderAuthentication.from_settings(
        MailAuthSettings(trusted_authserv_ids=frozenset({UPSTREAM})), dns)


def test_the_upstreams_field_is_believed_over_imap_and_a_forged_one_below_it_is_not(
        verifier: SenderAuthentication, dns: StubDns) -> None:
    forged = (f"Authentication-Results: {UPSTREAM}; dkim=pass header.d=acme.example; "
              "dmarc=pass header.from=acme.example\r\n")
    real = (f"Authentication-Results: {UPSTREAM}; dkim=none; spf=fail "
            f"smtp.mailfrom={ATTACKER}; dmarc=fail header.from=acme.example\r\n")
    found = verifier.verifier.verify(real.encode() + mail(ON_TIME, extra=forged), None)
    assert (found.method.value, found.authserv_id, found.dmarc) == ("upstream", UPSTREAM, "fail")
    assert dns.asked == []   # nothing checked here: the upstream's word is taken
    genuine = (f"Authentication-Results: {UPSTREAM}; dkim=pass header.d=acme.example "
               "header.s=s1; spf=pass smtp.mailfrom=orders@acme.example\r\n")
    found = verifier.verifier.verify(genuine.encode() + mail(ON_TIME), None)
    assert (found.dmarc, found.aligned, found.authenticated_domain) == \
        ("pass", "dkim", "acme.example")


def test_without_an_upstream_field_imap_mail_is_checked_by_dkim_here(
        verifier: SenderAuthentication, keys: dict[str, Keys]) -> None:
    found = verifier.verifier.verify(signed(mail(LATE), keys), None)
    assert (found.method.value, found.dmarc, found.spf) == ("local", "pass", None)
    assert "SPF not checked: fetched over IMAP" in (found.note or "")
    unsigned = verifier.verifier.verify(mail(LATE), SmtpFacts(None, None, SUPPLIER))
    assert unsigned.dmarc == "fail"


# -- replays (RFC 6376 section 8.6) --------------------------------------------------------------


@pytest.fixture
def replayed(preferred: Gateway, keys: dict[str, Keys]) -> tuple[Gateway, bytes, int]:
    """The supplier's signed "on time" answer, applied; then its "late" one: the line is
    late, DATE_LATE open. Returns the first mail's bytes and id."""
    on_time = signed(mail(ON_TIME), keys)
    first = preferred.send(on_time, SUPPLIER)
    assert preferred.message(first).state == "reconciled"
    assert preferred.line().confirmed_date == date(2026, 12, 8)
    late = preferred.send(signed(mail(LATE), keys), SUPPLIER)
    assert preferred.message(late).sender_trust == "verified"
    assert preferred.line().confirmed_date == date(2026, 12, 15)
    assert preferred.exceptions() == {"DATE_LATE": "open"}
    return preferred, on_time, first


def test_a_replayed_signed_mail_is_a_duplicate_of_the_first_and_changes_nothing(
        replayed: tuple[Gateway, bytes, int], settings: Settings) -> None:
    """The case reported: the supplier's earlier "on time" mail sent again by the attacker
    after the "late" one, with one unsigned field more and its own envelope sender. Its
    signature still verifies and aligns; it is the same signed content delivered again."""
    site, on_time, first = replayed
    replay = site.send(b"X-Replayed: yes\r\n" + on_time, ATTACKER)
    found = site.message(replay)
    assert found.sender_trust == "verified"   # the signature is the supplier's indeed
    assert (found.state, found.duplicate_of_id) == ("duplicate", first)
    assert f"a replay of message #{first} (the same DKIM signature d=acme.example, b=" \
        in (found.state_reason or "")
    assert site.line().confirmed_date == date(2026, 12, 15)
    assert site.exceptions() == {"DATE_LATE": "open"}
    with site.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LineVersionRow)
                              .where(LineVersionRow.message_id == replay)) == 0
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    shown = CliRunner().invoke(cli, ["messages", "show", str(replay)], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"message #{replay}: duplicate, a replay of message #{first}" in shown.output
    assert f"a duplicate delivery of message #{first}" in shown.output
    # The stored verdict names the signature that made the message verified.
    header = on_time[:on_time.index(b"From: ")].partition(b":")[2]
    b_value = b"".join(parse_tag_value(header)[b"b"].split())
    key = {"d": "acme.example", "b_sha256": hashlib.sha256(b_value).hexdigest()}
    assert found.authentication["signatures"] == [key]
    assert site.message(first).authentication["signatures"] == [key]


def test_a_replay_with_another_of_the_suppliers_signatures_is_a_duplicate_of_the_first(
        replayed: tuple[Gateway, bytes, int], keys: dict[str, Keys]) -> None:
    """The same content signed once more by the supplier's domain (a second route that signs
    again): a replay of the first; one that keeps only the newer signature is too."""
    site, on_time, first = replayed
    raw = on_time[on_time.index(b"From: "):]
    again = dkim.sign(on_time, b"s1", b"acme.example", keys["acme.example"].private,
                      include_headers=[b"from", b"subject"])
    both = site.send(again + on_time, ATTACKER)
    assert (site.message(both).state, site.message(both).duplicate_of_id) == \
        ("duplicate", first)
    newer_only = site.send(again + raw, ATTACKER)
    found = site.message(newer_only)
    assert found.sender_trust == "verified"
    assert (found.state, found.duplicate_of_id) == ("duplicate", first)
    assert site.line().confirmed_date == date(2026, 12, 15)
    assert site.exceptions() == {"DATE_LATE": "open"}


def test_a_different_signed_mail_of_the_supplier_still_applies(
        replayed: tuple[Gateway, bytes, int], keys: dict[str, Keys]) -> None:
    site, on_time, _first = replayed
    site.send(b"X-Replayed: yes\r\n" + on_time, ATTACKER)
    again = site.send(signed(mail(ON_TIME, extra="X-Revised: 1\r\n"), keys), SUPPLIER)
    assert site.message(again).state == "reconciled"
    assert site.line().confirmed_date == date(2026, 12, 8)
    assert site.exceptions()["DATE_LATE"] == "resolved"


def test_one_signature_twice_in_one_batch_applies_once(
        late: Gateway, keys: dict[str, Keys]) -> None:
    on_time = signed(mail(ON_TIME), keys)
    first = late.send(on_time, SUPPLIER, process=False)
    replay = late.send(b"X-Replayed: yes\r\n" + on_time, ATTACKER, process=False)
    assert late.worker.run_once() == 2
    assert late.message(first).state == "reconciled"
    found = late.message(replay)
    assert (found.state, found.duplicate_of_id) == ("duplicate", first)
    with late.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LineVersionRow)
                              .where(LineVersionRow.message_id == replay)) == 0
    assert late.line().confirmed_date == date(2026, 12, 8)


def test_two_workers_writing_one_signature_at_once_apply_it_once(
        late: Gateway, keys: dict[str, Keys]) -> None:
    """Both messages read before either is written, as two workers do; the second write
    runs while the first is not committed: it waits for the first's claim (PostgreSQL's row
    lock on the key, SQLite's write lock) and finds it."""
    on_time = signed(mail(ON_TIME), keys)
    first = late.send(on_time, SUPPLIER, process=False)
    replay = late.send(b"X-Replayed: yes\r\n" + on_time, ATTACKER, process=False)
    assert late.authenticate(late.transaction, [first, replay]) == 2
    with late.transaction() as session:
        read_first = read_batch(session, [first], TODAY, NOW)
    with late.transaction() as session:
        read_replay = read_batch(session, [replay], TODAY, NOW)
    written: list[str] = []

    def second_worker() -> None:
        with late.transaction() as session:
            (report,) = write_batch(session, read_replay, TODAY, NOW)
            written.append(report.state.value)

    with late.transaction() as session:
        (report,) = write_batch(session, read_first, TODAY, NOW)
        worker = threading.Thread(target=second_worker)
        worker.start()
        if late.engine.dialect.name == "postgresql":
            _wait_for_a_lock_wait(late.engine)
        else:
            worker.join(0.5)
        assert written == []   # still waiting for the first write
    worker.join(30)
    assert (report.state.value, written) == ("reconciled", ["duplicate"])
    assert late.message(replay).duplicate_of_id == first
    assert late.line().confirmed_date == date(2026, 12, 8)


def _wait_for_a_lock_wait(engine: Engine) -> None:
    """Until a session of the test's database waits for a lock (pg_stat_activity)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")):
                return
        time.sleep(0.05)
    pytest.fail("the second worker never waited for the first one's claim")


# -- configuration and upgrade -----------------------------------------------------------------


def test_a_partners_mail_auth_is_loaded_and_checked(engine: Engine) -> None:
    transaction = transactions(engine, partners("required"), NOW)
    with transaction() as session:
        assert session.scalars(select(Supplier.mail_auth)).one() == "required"
    with pytest.raises(ConfigurationError, match="mail_auth = 'strict'"):
        transactions(engine, partners("strict"), NOW)


def test_mail_archived_before_the_upgrade_is_taken_as_before(settings: Settings) -> None:
    """Migration 0006 marks earlier messages `legacy`: a replay of one applies it again,
    whatever the policy."""
    engine = make_engine(settings)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO inbound_messages (sha256, size, channel, sender, received_at, "
                "state, raw, updated_at, attempts) VALUES ('x', 1, 'smtp', 'a@acme.example', "
                "'2026-11-01 00:00:00+00', 'reconciled', 'x', '2026-11-01 00:00:00+00', 0)"
                if engine.dialect.name == "postgresql" else
                "INSERT INTO inbound_messages (sha256, size, channel, sender, received_at, "
                "state, raw, updated_at, attempts) VALUES ('x', 1, 'smtp', 'a@acme.example', "
                "'2026-11-01 00:00:00', 'reconciled', X'78', '2026-11-01 00:00:00', 0)")
        upgrade(engine)
        with engine.connect() as connection:
            stored = connection.execute(select(InboundMessage.authentication)).scalar_one()
    finally:
        engine.dispose()
    assert stored["method"] == "legacy"
    assert message_trust("smtp", stored, "required", frozenset())[0] is Trust.TRUSTED


# -- over IMAP, behind a trusted upstream MX (a real Dovecot, `gateway imap` as a user runs it) --


@pytest.fixture
def dovecot() -> Iterator[imap.Dovecot]:
    """A Dovecot of its own, as test_imap.py starts them."""
    root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
    root.chmod(0o755)   # the unprivileged mail user walks into its maildir
    server = imap.Dovecot(imap._dovecot_binary(), root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


class UpstreamImapGateway(imap.Gateway):
    def env(self, database_url: str | None = None) -> dict[str, str]:
        return {**super().env(database_url), "GATEWAY_MAIL_AUTH": "required",
                "GATEWAY_MAIL_AUTH_TRUSTED_AUTHSERV_IDS": UPSTREAM}


def test_over_imap_the_upstreams_verdict_decides_and_a_forged_one_is_not_read(
        settings: Settings, engine: Engine, dovecot: imap.Dovecot, tmp_path: Path) -> None:
    site = UpstreamImapGateway(settings, tmp_path, dovecot)
    transactions(engine, partners(None), NOW)
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    lines, _errors = read_order_file(path)
    with transactions(engine, {}, NOW)() as session:
        import_lines(session, lines, path.name, NOW)
    passed = (f"Authentication-Results: {UPSTREAM}; dkim=pass header.d=acme.example "
              "header.s=s1; spf=pass smtp.mailfrom=orders@acme.example; "
              "dmarc=pass header.from=acme.example\r\n")
    failed = (f"Authentication-Results: {UPSTREAM}; dkim=none; spf=fail "
              f"smtp.mailfrom={ATTACKER}; dmarc=fail header.from=acme.example\r\n")
    dovecot.deliver(passed.encode() + mail(LATE))
    dovecot.deliver(failed.encode() + mail(ON_TIME, extra=passed))   # a forged pass below
    result = site.once()
    assert result.returncode == 0, result.stderr
    genuine, forged = imap.messages(engine)
    assert (genuine.channel, genuine.state, genuine.sender_trust) == \
        ("imap", "reconciled", "verified")
    assert (genuine.authentication["method"], genuine.authentication["authserv_id"]) == \
        ("upstream", UPSTREAM)
    assert (forged.state, forged.authentication["dmarc"]) == ("quarantined", "fail")
    with Session(engine) as session:
        line = session.scalars(select(OrderLineRow)).one()
    assert line.confirmed_date == date(2026, 12, 15)
