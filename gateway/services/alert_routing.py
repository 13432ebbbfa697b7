"""Who hears of an exception, and how: the `[notify]` section of the partner file (or a file
of its own with only that section, loaded the same way: `gateway partners load notify.toml`).

Shape (TOML; YAML has the same keys)::

    [notify]
    default_group = "purchasing"   # gets exceptions with no owner, and escalations of a
                                   # person with no group of their own
    sender = "Supplier gateway <gateway@buyer.example>"   # From of alert mail
    immediate_risk = 40            # risk at or above which an alert goes at once (high
                                   # severity always does); default 40
    alert_on_resolved = false      # also tell when the gateway resolves an exception
    sla_days = { high = 1, medium = 3, low = 7 }   # open longer: escalated to the group

    [notify.recipients."anna.buyer@buyer.example"]   # a person: the owner of an order or a
    language = "de"                # supplier's buyer_contact; en, de or zh (default en)
    group = "purchasing"           # escalations of her exceptions go there
    digest = true                  # the daily digest by email (default true)
    webhook = { url = "https://hooks.example/alerts", style = "json",
                secret_env = "GATEWAY_WEBHOOK_SECRET_ANNA" }

    [notify.recipients.purchasing]                   # a group
    emails = ["purchasing@buyer.example", "lead@buyer.example"]
    webhook = { url = "https://hooks.slack.com/services/T/B/X", style = "slack" }

A person or group's `emails` default to its name when the name is an address; `email = false`
turns mail off (a webhook only). A webhook `style` is `json` (the gateway's own body, signed:
`outbound.webhook.signing`), `slack` or `teams` (their incoming-webhook bodies). The secret of
a signed webhook is never in the file: `secret_env` names the environment variable holding it,
read by the process that sends. An owner not listed here who is an address gets mail in
English; an owner that is neither is routed to the default group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from gateway.domain.alerts import AlertRules
from gateway.domain.tolerances import Severity
from gateway.errors import ConfigurationError

LANGUAGES = ("en", "de", "zh")
WEBHOOK_STYLES = ("json", "slack", "teams")
DEFAULT_SENDER = "Supplier gateway <gateway@localhost>"
_NOTIFY_KEYS = ("default_group", "sender", "immediate_risk", "alert_on_resolved", "sla_days",
                "recipients")
_RECIPIENT_KEYS = ("emails", "email", "language", "group", "digest", "webhook")


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    style: str = "json"
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person or a group, and the channels they are reached by."""

    name: str
    emails: tuple[str, ...] = ()
    language: str = "en"
    group: str | None = None
    digest: bool = True
    webhook: Webhook | None = None


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    default_group: str | None = None
    sender: str = DEFAULT_SENDER
    rules: AlertRules = field(default_factory=AlertRules)
    recipients: Mapping[str, Recipient] = field(default_factory=dict)

    def recipient(self, name: str | None) -> Recipient | None:
        """The person or group named, with their channels; an unlisted address gets mail in
        English; anything else unlisted falls to the default group (None if there is none)."""
        if name:
            listed = self.recipients.get(name) or self.recipients.get(name.lower())
            if listed is not None:
                return listed
            if _is_address(name):
                return Recipient(name, (name,), group=self.default_group)
        if self.default_group and name != self.default_group:
            return self.recipient(self.default_group)
        return None

    def group_of(self, person: Recipient) -> Recipient | None:
        """Where an escalation of this person's exceptions goes."""
        group = person.group or self.default_group
        return self.recipient(group) if group and group != person.name else None


def notify_from_mapping(data: Mapping[str, Any] | None) -> NotifyConfig:
    """The `[notify]` section, checked; raises ConfigurationError naming the faulty key."""
    if not data:
        return NotifyConfig()
    if not isinstance(data, Mapping):
        raise ConfigurationError("'notify' must be a table")
    _only(data, _NOTIFY_KEYS, "notify")
    recipients = data.get("recipients") or {}
    if not isinstance(recipients, Mapping):
        raise ConfigurationError("notify.recipients must be a table of people and groups")
    default_group = _text(data.get("default_group"), "notify.default_group")
    return NotifyConfig(
        default_group=default_group,
        sender=_text(data.get("sender"), "notify.sender") or DEFAULT_SENDER,
        rules=AlertRules(immediate_risk=_number(data.get("immediate_risk", 40), "immediate_risk"),
                         alert_on_resolved=_boolean(data.get("alert_on_resolved", False),
                                                    "notify.alert_on_resolved"),
                         sla=_sla(data.get("sla_days") or {})),
        recipients={str(name).lower() if _is_address(str(name)) else str(name):
                    _recipient(str(name), value or {}) for name, value in recipients.items()})


def _recipient(name: str, data: Any) -> Recipient:
    where = f"notify.recipients.{name}"
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{where} must be a table")
    _only(data, _RECIPIENT_KEYS, where)
    emails = data.get("emails")
    if emails is None:
        emails = [name] if _is_address(name) else []
    if not isinstance(emails, list) or not all(_is_address(str(e)) for e in emails):
        raise ConfigurationError(f"{where}.emails must be a list of mail addresses")
    if not _boolean(data.get("email", True), f"{where}.email"):
        emails = []
    language = str(data.get("language", "en")).lower()
    if language not in LANGUAGES:
        raise ConfigurationError(f"{where}.language = {language!r}; allowed: "
                                 f"{', '.join(LANGUAGES)}")
    return Recipient(name, tuple(str(e) for e in emails), language,
                     _text(data.get("group"), f"{where}.group"),
                     _boolean(data.get("digest", True), f"{where}.digest"),
                     _webhook(data.get("webhook"), where))


def _webhook(data: Any, where: str) -> Webhook | None:
    if data is None:
        return None
    if not isinstance(data, Mapping) or not str(data.get("url", "")).startswith(
            ("https://", "http://")):
        raise ConfigurationError(f"{where}.webhook needs a url (https://...)")
    _only(data, ("url", "style", "secret_env"), f"{where}.webhook")
    style = str(data.get("style", "json"))
    if style not in WEBHOOK_STYLES:
        raise ConfigurationError(f"{where}.webhook.style = {style!r}; allowed: "
                                 f"{', '.join(WEBHOOK_STYLES)}")
    secret_env = _text(data.get("secret_env"), f"{where}.webhook.secret_env")
    if style == "json" and secret_env is None:
        raise ConfigurationError(f"{where}.webhook: a json webhook is signed; name the "
                                 "variable holding its secret in secret_env")
    return Webhook(str(data["url"]), style, secret_env)


def _sla(data: Any) -> tuple[tuple[Severity, timedelta], ...]:
    if not isinstance(data, Mapping):
        raise ConfigurationError("notify.sla_days must be a table: { high = 1, ... }")
    _only(data, tuple(s.value for s in Severity), "notify.sla_days")
    defaults = dict(AlertRules().sla)
    return tuple((severity, timedelta(days=_number(data[severity.value], "sla_days"))
                  if severity.value in data else defaults[severity]) for severity in Severity)


def _only(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {unknown}; allowed: "
                                 f"{', '.join(allowed)}")


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where} must be a non-empty text")
    return value.strip()


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"notify.{where} must be a number of at least 0, not {value!r}")
    return float(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where} must be true or false, not {value!r}")
    return value


def _is_address(text: str) -> bool:
    address = parseaddr(text)[1]
    return bool(address) and address == text.strip() and "@" in address

