"""The pure parts of the outbound transports and their settings: drop-file names, what an
RCPT TO can be, the relay URL, GATEWAY_OUTBOUND_*."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import OutboundSettings
from gateway.errors import ConfigurationError
from outbound.errors import PermanentDelivery, TransientDelivery, TransportUnavailable
from outbound.transports.filedrop import file_name
from outbound.transports.smtp import RelayAddress, dot_stuffed, is_address, smtp_path


@pytest.mark.parametrize(("wire_id", "content_type", "name"), [
    ("<abc.1@gw.example>", "message/rfc822", "abc.1@gw.example.eml"),
    ("GW000042", "application/edifact", "GW000042.edi"),
    ("delivery-7", "application/json; charset=utf-8", "delivery-7.json"),
    ("x", "application/octet-stream", "x.bin"),
])
def test_a_drop_file_is_named_by_its_wire_id(wire_id: str, content_type: str,
                                             name: str) -> None:
    assert file_name(wire_id, content_type) == name


def test_a_wire_id_a_file_name_cannot_hold_keeps_a_hash_so_two_never_collide() -> None:
    first = file_name("<a/b@x>", "message/rfc822")
    second = file_name("<a_b@x>", "message/rfc822")
    assert first.startswith("a_b@x-")
    assert second == "a_b@x.eml"
    assert first != second
    assert "/" not in file_name("<../../etc/passwd>", "text/plain")
    assert not file_name("<..hidden>", "text/plain").startswith(".")


@pytest.mark.parametrize(("address", "ok"), [
    ("buyer@example.com", True), ("a.b+c@sub.example.co.uk", True),
    ("einkauf@bücher.example", True), ("root@[192.0.2.1]", True),
    ("buyer@nodots", False), ("buyer", False), ("@example.com", False),
    ("buyer@-bad.example", False), ("a b@example.com", False),
    ("buyer@example.com>\r\nRCPT TO:<x@y.z", False),
])
def test_what_can_be_an_rcpt_to_path(address: str, ok: bool) -> None:
    assert is_address(address) is ok


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
ATOMS = st.text(alphabet=ATEXT, min_size=1, max_size=8)
LABELS = st.text(alphabet="abz09-", min_size=1, max_size=8)


@given(st.lists(ATOMS, min_size=1, max_size=3), st.lists(LABELS, min_size=1, max_size=3))
def test_a_plain_address_is_written_as_smtplib_quotes_it(atoms: list[str],
                                                         labels: list[str]) -> None:
    address = ".".join(atoms) + "@" + ".".join(labels)
    assert smtp_path(address) == smtplib.quoteaddr(address) == f"<{address}>"


@pytest.mark.parametrize("address", [
    "Buyer <buyer@example.com>", '"a b"@example.com', "a..b@example.com", ".a@example.com",
    "a(comment)@example.com", "einkauf@bücher.example", "käufer@example.com",
    "root@[192.0.2.1]", "buyer", "buyer@example.com>\r\nRCPT TO:<x@y.z", "",
])
def test_any_other_address_is_left_to_smtplib(address: str) -> None:
    assert smtp_path(address) is None


@given(st.lists(st.sampled_from([b".", b"..", b"\r\n", b"\n", b"\r", b"a", b"\r\n.\r\n",
                                 b"\x00", b"\xff"]), max_size=30))
def test_dot_stuffing_doubles_every_period_that_begins_a_line(parts: list[bytes]) -> None:
    payload = b"".join(parts)
    # smtplib's rule, as its `data` applies it to bytes: "^." in multi-line mode, then CRLF.
    stuffed = re.sub(rb"(?m)^\.", b"..", payload)
    if stuffed[-2:] != b"\r\n":
        stuffed += b"\r\n"
    assert dot_stuffed(payload) == stuffed + b".\r\n"


def test_a_relay_url_gives_its_parts_and_default_ports() -> None:
    relay = RelayAddress.from_url("smtp+starttls://gw%40buyer.example@relay.example", "pw",
                                  12.0)
    assert (relay.scheme, relay.host, relay.port, relay.user, relay.password) == (
        "smtp+starttls", "relay.example", 587, "gw@buyer.example", "pw")
    assert RelayAddress.from_url("smtps://relay.example", None, 1.0).port == 465
    assert RelayAddress.from_url("smtp://relay.example:2525", None, 1.0).port == 2525
    assert "pw" not in repr(relay)
    assert relay.display == "smtp+starttls://gw@buyer.example@relay.example:587"


def test_outbound_settings_from_the_environment(tmp_path: Path) -> None:
    settings = OutboundSettings.from_env({
        "GATEWAY_OUTBOUND_SMTP_URL": "smtps://gw@relay.example:465",
        "GATEWAY_OUTBOUND_SMTP_PASSWORD": "s3cret", "GATEWAY_OUTBOUND_SMTP_TIMEOUT": "7.5",
        "GATEWAY_OUTBOUND_BATCH_SIZE": "20", "GATEWAY_OUTBOUND_DROP_ALL": "yes",
        "GATEWAY_OUTBOUND_MAX_ATTEMPTS": "3"}, tmp_path)
    assert settings.smtp_url == "smtps://gw@relay.example:465"
    assert settings.smtp_password == "s3cret"
    assert "s3cret" not in repr(settings)
    assert (settings.smtp_timeout, settings.batch_size, settings.drop_all,
            settings.max_attempts) == (7.5, 20, True, 3)
    assert settings.drop_dir == tmp_path / "outbox"
    assert OutboundSettings.from_env({"GATEWAY_OUTBOUND_DIR": "/srv/out"}).drop_dir == \
        Path("/srv/out")
    assert OutboundSettings.from_env({}).smtp_url is None


@pytest.mark.parametrize(("env", "says"), [
    ({"GATEWAY_OUTBOUND_SMTP_URL": "smtp://gw:pw@relay.example"}, "must not hold the password"),
    ({"GATEWAY_OUTBOUND_SMTP_URL": "http://relay.example"}, "must be smtp://"),
    ({"GATEWAY_OUTBOUND_SMTP_URL": "smtp://"}, "must be smtp://"),
    ({"GATEWAY_OUTBOUND_SMTP_URL": "smtp://relay.example:99999"}, "not a URL"),
    ({"GATEWAY_OUTBOUND_SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT must be a number"),
    ({"GATEWAY_OUTBOUND_BATCH_SIZE": "-1"}, "BATCH_SIZE must be a positive"),
    ({"GATEWAY_OUTBOUND_DROP_ALL": "maybe"}, "DROP_ALL must be true or false"),
])
def test_outbound_settings_that_cannot_be_used_say_why(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        OutboundSettings.from_env(env)


def test_delivery_errors_say_whether_retrying_helps() -> None:
    assert TransientDelivery("x").retryable
    assert TransportUnavailable("x").retryable
    assert not PermanentDelivery("x").retryable
