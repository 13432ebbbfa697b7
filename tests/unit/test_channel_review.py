"""Review of the email channels without a server: the sender an IMAP message is filed under,
the mailbox file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.channels.imap_decisions import sender_address
from gateway.channels.mailboxes import read_mailbox_file
from gateway.errors import ConfigurationError


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


def test_a_malformed_mailbox_file_is_explained_without_echoing_its_password(
        tmp_path: Path) -> None:
    # PyYAML's message quotes the offending line: the password would go to the terminal and
    # into the service log.
    path = tmp_path / "mailboxes.yaml"
    path.write_text('mailboxes:\n  - host: 127.0.0.1\n    user: u\n    password: "s3cret-pw\n')
    with pytest.raises(ConfigurationError, match="line 4") as refused:
        read_mailbox_file(path, {})
    assert "s3cret" not in str(refused.value)
