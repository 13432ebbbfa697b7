"""The IMAP channel's decisions and its mailbox file, without a server or a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.channels.imap_decisions import (
    Batch,
    MoveMethod,
    handled_up_to,
    move_method,
    new_uids,
    oversize_reason,
    plan_batches,
    retry_delay,
    sender_address,
    start_position,
)
from gateway.channels.mailboxes import TlsMode, read_mailbox_file
from gateway.errors import ConfigurationError
from gateway.services.connector_status import Position


@pytest.mark.parametrize(("capabilities", "method"), [
    ([b"IMAP4REV1", b"MOVE", b"UIDPLUS"], MoveMethod.MOVE),
    (["imap4rev1", "uidplus"], MoveMethod.COPY_UID_EXPUNGE),
    ([b"IMAP4REV1", b"IDLE"], MoveMethod.COPY_FLAG),
])
def test_move_method_follows_the_capabilities(capabilities: list[bytes | str],
                                              method: MoveMethod) -> None:
    assert move_method(capabilities) is method


def test_a_changed_uidvalidity_starts_from_uid_zero_and_says_so() -> None:
    assert start_position(Position(), 7).position == Position(7, 0)
    same = start_position(Position(7, 42), 7)
    assert (same.position, same.notice) == (Position(7, 42), None)
    changed = start_position(Position(7, 42), 9)
    assert changed.position == Position(9, 0)
    assert changed.notice is not None
    assert "from 7 to 9" in changed.notice


def test_uid_range_star_returning_an_old_uid_is_ignored() -> None:
    assert new_uids([5], 9) == []
    assert new_uids([12, 10, 10, 9], 9) == [10, 12]


def test_batches_keep_uid_order_and_set_oversized_messages_aside() -> None:
    sizes = {4: 10, 1: 10, 2: 500, 3: 10, 5: 10}
    assert plan_batches(sizes, limit=100, max_count=2) == [
        Batch((1,), (2,)), Batch((3, 4)), Batch((5,))]
    assert plan_batches(sizes, limit=1000, max_bytes=25) == [
        Batch((1,)), Batch((2,)), Batch((3, 4)), Batch((5,))]
    assert plan_batches({}, limit=10) == []


def test_a_message_the_server_did_not_return_holds_the_position_back() -> None:
    assert handled_up_to([3, 4, 5], [3, 5], last_uid=2) == 3
    assert handled_up_to([3, 4, 5], [3, 4, 5], last_uid=2) == 5
    assert handled_up_to([3], [], last_uid=2) == 2


@pytest.mark.parametrize(("raw", "sender"), [
    (b"From: ACME Orders <Orders@ACME.example>\r\nSubject: x\r\n\r\nFrom: other@x.example",
     "orders@acme.example"),
    (b"Subject: y\nFrom: =?utf-8?q?M=C3=BCller?= <mueller@lieferant.example>\n\nbody",
     "mueller@lieferant.example"),
    (b"From: undisclosed:;\r\n\r\n", ""),
    (b"UNA:+.? 'UNB+UNOC:3+4012345000009:14'", ""),
])
def test_sender_is_the_from_addr_spec_lower_cased(raw: bytes, sender: str) -> None:
    assert sender_address(raw) == sender


def test_a_utf8_from_header_keeps_its_address() -> None:
    # RFC 6532: a header may carry UTF-8 as is; a supplier registered as
    # lieferant@müller.example must be found, not quarantined as an unknown sender.
    raw = "From: Lieferant <Lieferant@Müller.example>\r\nSubject: x\r\n\r\nbody".encode()
    assert sender_address(raw) == "lieferant@müller.example"


@pytest.mark.parametrize("raw", [
    b"From: a\x00b@acme.example\r\n\r\n",
    b"From: <orders@acme.example\x00>\r\n\r\n",
    b"From: orders@acme.\x07example\r\n\r\n",
    b"From: orders@m\xfcller.example\r\n\r\n",
])
def test_a_sender_never_holds_what_a_text_column_refuses(raw: bytes) -> None:
    # PostgreSQL refuses NUL in text, and a string with lone surrogates cannot be encoded:
    # either would fail the archive of the whole batch at every poll.
    sender = sender_address(raw)
    assert "\x00" not in sender
    assert all(ch.isprintable() for ch in sender)
    sender.encode("utf-8")


def test_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    assert retry_delay(1, 2, 300, rand=lambda: 0.0) == 1.0
    assert retry_delay(3, 2, 300, rand=lambda: 1.0) == 8.0
    assert retry_delay(40, 2, 300, rand=lambda: 0.5) == 225.0
    assert retry_delay(40, 2, 300, rand=lambda: 1.0) == 300.0


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mailboxes.toml"
    path.write_text(body)
    return path


def test_the_mailbox_file_with_the_password_from_the_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[mailboxes]]\nname = "orders"\nhost = "imap.buyer.example"\n'
                            'user = "orders"\npassword_env = "ORDERS_PW"\ntls = "starttls"\n')
    [mailbox] = read_mailbox_file(path, {"ORDERS_PW": "hunter2"})
    assert (mailbox.password, mailbox.tls, mailbox.address) == (
        "hunter2", TlsMode.STARTTLS, "imap.buyer.example:143")
    assert "hunter2" not in repr(mailbox)


@pytest.mark.parametrize(("body", "problem"), [
    ('host = "imap.buyer.example"\nuser = "u"\npassword = "p"\ntls = "none"\n', "loopback"),
    ('host = "127.0.0.1"\nuser = "u"\npassword_env = "MISSING"\n', "MISSING"),
    ('host = "127.0.0.1"\nuser = "u"\npassword = "p"\nidle_seconds = 1800\n', "RFC 2177"),
    ('host = "127.0.0.1"\nuser = "u"\npassword = "p"\nfolders = "x"\n', "unknown keys"),
    ('host = "127.0.0.1"\npassword = "p"\n', "'user' is required"),
])
def test_mailbox_file_mistakes_are_explained(tmp_path: Path, body: str, problem: str) -> None:
    path = _write(tmp_path, "[[mailboxes]]\n" + body)
    with pytest.raises(ConfigurationError, match=problem):
        read_mailbox_file(path, {})


def test_a_malformed_mailbox_file_is_explained_without_echoing_its_password(
        tmp_path: Path) -> None:
    # PyYAML's message quotes the offending line: the password would go to the terminal and
    # into the service log.
    path = tmp_path / "mailboxes.yaml"
    path.write_text('mailboxes:\n  - host: 127.0.0.1\n    user: u\n    password: "s3cret-pw\n')
    with pytest.raises(ConfigurationError, match="line 4") as refused:
        read_mailbox_file(path, {})
    assert "s3cret" not in str(refused.value)


def test_the_reason_an_oversized_message_was_kept_as_its_header_alone():
    assert oversize_reason(31_457_280, 26_214_400, "Failed") == (
        "over the size limit: 31457280 bytes > 26214400; only its header was archived, the "
        "whole message was moved to the mailbox folder 'Failed'")
