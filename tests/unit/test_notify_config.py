"""The `[notify]` section: people and groups with their channels, checked with the key at
fault named; an unlisted owner's fallbacks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.domain.tolerances import Severity
from gateway.errors import ConfigurationError
from gateway.services.alert_routing import Recipient, Webhook, notify_from_mapping

NOTIFY: dict[str, Any] = {
    "default_group": "purchasing", "immediate_risk": 25, "alert_on_resolved": True,
    "sla_days": {"high": 0.5},
    "recipients": {
        "Anna@Buyer.example": {"language": "de", "group": "purchasing",
                               "webhook": {"url": "https://hooks.example/a",
                                           "secret_env": "HOOK_ANNA"}},
        "purchasing": {"emails": ["purchasing@buyer.example"], "digest": False,
                       "webhook": {"url": "https://hooks.slack.example/x", "style": "slack"}},
        "ops@buyer.example": {"email": False,
                              "webhook": {"url": "https://teams.example/y", "style": "teams"}},
    },
}


def test_people_and_groups_with_their_channels() -> None:
    config = notify_from_mapping(NOTIFY)
    anna = config.recipient("anna@buyer.example")
    assert anna == Recipient("Anna@Buyer.example", ("Anna@Buyer.example",), "de", "purchasing",
                             True, Webhook("https://hooks.example/a", "json", "HOOK_ANNA"))
    assert config.group_of(anna) == config.recipients["purchasing"]
    assert config.recipient("ops@buyer.example") is not None
    assert config.recipients["ops@buyer.example"].emails == ()
    assert config.rules.immediate_risk == 25
    assert config.rules.alert_on_resolved
    assert config.rules.sla_for(Severity.HIGH) == timedelta(hours=12)
    assert config.rules.sla_for(Severity.LOW) == timedelta(days=7)


def test_an_unlisted_address_gets_english_mail_and_anything_else_the_default_group() -> None:
    config = notify_from_mapping(NOTIFY)
    assert config.recipient("ben@buyer.example") == Recipient(
        "ben@buyer.example", ("ben@buyer.example",), group="purchasing")
    assert config.recipient("Some Team") == config.recipients["purchasing"]
    assert config.recipient(None) == config.recipients["purchasing"]
    assert notify_from_mapping({}).recipient("Some Team") is None


@pytest.mark.parametrize(("change", "named"), [
    ({"colour": "red"}, "unknown keys"),
    ({"recipients": {"x@y.example": {"language": "fr"}}}, "language"),
    ({"recipients": {"g": {"emails": ["not an address"]}}}, "emails"),
    ({"recipients": {"g": {"webhook": {"url": "ftp://x"}}}}, "webhook needs a url"),
    ({"recipients": {"g": {"webhook": {"url": "https://x"}}}}, "secret_env"),
    ({"recipients": {"g": {"webhook": {"url": "https://x", "style": "irc"}}}}, "style"),
    ({"sla_days": {"urgent": 1}}, "sla_days"),
    ({"immediate_risk": -1}, "immediate_risk"),
    ({"alert_on_resolved": "yes"}, "alert_on_resolved"),
])
def test_a_mistake_names_its_key(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        notify_from_mapping(change)
