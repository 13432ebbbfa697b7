"""Where the AS2 channel may POST an asynchronous MDN: AS2-From is only a header."""

from __future__ import annotations

import pytest

from gateway.as2.partners import As2Partner
from gateway.as2.smime import Opened
from gateway.channels.as2 import async_allowed

SIGNED = Opened(b"x", "application/edifact", None, b"x", ["signed:sha256"], "sha256")
UNSIGNED = Opened(b"x", "application/edifact", None, b"x", [])


@pytest.mark.parametrize(("url", "opened", "partner_url", "allowed"), [
    ("https://anywhere.example/mdn", SIGNED, None, True),
    ("https://as2.acme.example/mdn", UNSIGNED, "https://as2.acme.example/in", True),
    ("http://169.254.169.254/latest", UNSIGNED, "https://as2.acme.example/in", False),
    ("http://10.0.0.1/mdn", None, "https://as2.acme.example/in", False),
    ("https://as2.acme.example/mdn", None, None, False),
])
def test_an_mdn_goes_where_asked_only_for_a_signed_message_or_to_the_partners_host(
        url: str, opened: Opened | None, partner_url: str | None, allowed: bool) -> None:
    partner = As2Partner("ACME-AS2", "ACME", (), url=partner_url)
    assert async_allowed(url, partner, opened) is allowed
