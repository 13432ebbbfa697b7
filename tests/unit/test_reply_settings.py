"""The reply settings from the environment (gateway/config.py, `ReplySettings`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ReplySettings
from gateway.errors import ConfigurationError


def test_defaults_send_replies_as_files() -> None:
    settings = ReplySettings.from_env({})
    assert settings == ReplySettings()
    assert (settings.enabled, settings.relay, settings.max_per_hour) == (True, False, 5)
    assert settings.message_id_domain == "gateway.invalid"


def test_every_variable_is_read(tmp_path: Path) -> None:
    settings = ReplySettings.from_env({
        "GATEWAY_REPLIES": "false", "GATEWAY_REPLY_FROM": "einkauf@Brenner-Antrieb.example",
        "GATEWAY_REPLY_FROM_NAME": "Einkauf Brenner", "GATEWAY_REPLY_MAX_PER_HOUR": "2",
        "GATEWAY_TEMPLATE_DIR": str(tmp_path),
        "GATEWAY_OUTBOUND_SMTP_URL": "smtp+starttls://gw@relay.example:587"})
    assert settings == ReplySettings(False, "einkauf@Brenner-Antrieb.example",
                                     "Einkauf Brenner", "brenner-antrieb.example", 2, tmp_path,
                                     True)
    assert ReplySettings.from_env({"GATEWAY_REPLY_MESSAGE_ID_DOMAIN": "gw.example"}
                                  ).message_id_domain == "gw.example"
    assert settings.acknowledgements_from == "einkauf@Brenner-Antrieb.example"


def test_acknowledgements_come_from_their_own_address_when_one_is_set() -> None:
    settings = ReplySettings.from_env({"GATEWAY_REPLY_FROM": "einkauf@brenner.example",
                                       "GATEWAY_ACK_FROM": "edi@brenner.example"})
    assert (settings.from_address, settings.acknowledgements_from) == (
        "einkauf@brenner.example", "edi@brenner.example")
    assert settings.message_id_domain == "brenner.example"


@pytest.mark.parametrize(("name", "value"), [
    ("GATEWAY_REPLY_FROM", "purchasing"),
    ("GATEWAY_REPLY_FROM", "Purchasing <p@buyer.example>"),
    ("GATEWAY_ACK_FROM", "edi"),
    ("GATEWAY_REPLY_MESSAGE_ID_DOMAIN", "a@b"),
    ("GATEWAY_REPLY_MAX_PER_HOUR", "0"),
    ("GATEWAY_REPLIES", "perhaps"),
    ("GATEWAY_TEMPLATE_DIR", "/no/such/folder"),
])
def test_a_wrong_value_is_a_configuration_error(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        ReplySettings.from_env({name: value})
