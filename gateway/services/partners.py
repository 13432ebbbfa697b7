"""Suppliers and tolerance profiles from a TOML or YAML file (`gateway partners load`).

File shape (TOML; the YAML equivalent has the same keys)::

    [profiles.strict]            # a tolerance profile; omitted fields take the defaults
    qty_under_pct = 5
    qty_under_abs = 2
    date_late_warning_days = 0
    date_late_error_days = 2
    price_pct = 1

    [[suppliers]]
    code = "ACME"
    name = "Acme Fasteners GmbH"
    emails = ["orders@acme.example"]
    domains = ["acme.example"]
    edi_ids = [{ id = "5412345000013", qualifier = "14" }]
    as2_id = "ACME-AS2"             # optional, with an [suppliers.as2] table (docs/as2.md)
    buyer_contact = "anna.buyer@buyer.example"
    profile = "strict"
    mail_auth = "required"         # optional: required, preferred or none (default: the
                                   # GATEWAY_MAIL_AUTH setting; docs/mail-authentication.md)
    contrl = "on_error"            # optional: EDIFACT CONTRL per interchange received:
                                   # always, on_error or never (default: never)
    aperak = "on_error"            # optional: EDIFACT APERAK for business problems:
                                   # always, on_error or never (default: never)
                                   # (gateway.services.acknowledgements; sent by email to the
                                   # first of `emails`)
    functional_ack = "997"         # optional: an X12 997 (or 999) per functional group
                                   # received, by email to the first of `emails`
    language = "de"                # optional: en (default), de or zh: replies and reminders
    reminders = true               # optional: remind it of missing confirmations by email
    reminder_every_days = 2        # at most every 2 days (default 2) ...
    reminder_max = 3               # ... and at most 3 times per order line (default 3)

    [suppliers.reading]            # optional: how this supplier writes sheets and emails
    date_order = "day_first"       # see `gateway.services.reading_profiles`
    number_style = "decimal_comma"
    [suppliers.reading.columns]
    "Bestell-Nr Kunde" = "order_number"

    [notify]                       # optional: who hears of exceptions, and how (the shape
    default_group = "purchasing"   # is in gateway.services.alert_routing); may also be a file
                                   # of its own holding only this section

A profile whose values changed since the last load gets a new version; the old version stays, so
past decisions keep their explanation. A profile named `default` applies to suppliers that name
none.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.domain.tolerances import DEFAULT_PROFILE, ToleranceProfile
from gateway.errors import ConfigurationError
from gateway.persistence.models import Supplier, SupplierIdentity, ToleranceProfileRow
from gateway.services.reading_profiles import stored_reading

PROFILE_FIELDS = tuple(f.name for f in fields(ToleranceProfile) if f.name not in ("name",
                                                                                  "version"))
SUPPLIER_KEYS = ("code", "name", "emails", "domains", "edi_ids", "as2_id", "buyer_contact",
                 "profile", "reading", "mail_auth", "contrl", "aperak", "functional_ack",
                 "language", "reminders", "reminder_every_days", "reminder_max", "as2")
MAIL_AUTH_POLICIES = ("required", "preferred", "none")
ACK_POLICIES = ("always", "on_error", "never")
FUNCTIONAL_ACKS = ("997", "999", "never")
LANGUAGES = ("en", "de", "zh")


@dataclass(frozen=True, slots=True)
class PartnerLoad:
    suppliers: int
    identities: int
    profiles_new: list[str]
    # Suppliers that asked for EDIFACT acknowledgements: "CODE (contrl always, aperak on_error)".
    acknowledged: list[str] = field(default_factory=list)


def read_partner_file(path: Path) -> dict[str, Any]:
    if path.suffix.lower() not in (".toml", ".yaml", ".yml"):
        raise ConfigurationError(f"{path}: a partner file is TOML (.toml) or YAML (.yaml, .yml)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: not a UTF-8 text file (byte {exc.start})") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a table with 'suppliers' and 'profiles'")
    return data


def profile_from_mapping(name: str, values: Mapping[str, Any], version: int = 1
                         ) -> ToleranceProfile:
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ConfigurationError(f"profile {name!r}: unknown fields {sorted(unknown)}; "
                                 f"allowed: {', '.join(PROFILE_FIELDS)}")
    converted: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(DEFAULT_PROFILE, key)
        try:
            converted[key] = (Decimal(str(value)) if isinstance(default, Decimal)
                              else int(value))
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise ConfigurationError(f"profile {name!r}: {key} = {value!r} is not a number"
                                     ) from exc
        if converted[key] < 0:
            raise ConfigurationError(f"profile {name!r}: {key} must not be negative")
    return ToleranceProfile(name=name, version=version, **converted)


def load_partners(session: Session, data: Mapping[str, Any], now: datetime | None = None
                  ) -> PartnerLoad:
    """Create or update suppliers and profiles from parsed partner data."""
    now = now or datetime.now(UTC)
    profiles = data.get("profiles", {}) or {}
    if not isinstance(profiles, dict):
        raise ConfigurationError("'profiles' must be a table of named profiles")
    new_versions = [name for name, values in profiles.items()
                    if store_profile(session, profile_from_mapping(name, values or {}), now)]
    suppliers = data.get("suppliers", []) or []
    if not isinstance(suppliers, list):
        raise ConfigurationError("'suppliers' must be a list of tables")
    # Every listed supplier's addresses and ids are replaced, all of them first: an address
    # may move from one supplier to another, in whatever order the file lists them.
    codes = [str(entry["code"]) for entry in suppliers if isinstance(entry, dict)
             and entry.get("code")]
    listed = select(Supplier.id).where(Supplier.code.in_(codes))
    session.execute(delete(SupplierIdentity).where(SupplierIdentity.supplier_id.in_(listed)))
    identities = 0
    for index, entry in enumerate(suppliers, 1):
        identities += _store_supplier(session, entry, index, set(profiles))
    if data.get("notify") is not None:
        from gateway.services.alerts import store_notify

        store_notify(session, data["notify"], now)   # shape: gateway.services.alert_routing
    acknowledged = [f"{entry['code']} ({', '.join(f'{key} {entry[key]}' for key in keys)})"
                    for entry in suppliers if isinstance(entry, dict)
                    if (keys := [k for k in ("contrl", "aperak", "functional_ack")
                                 if entry.get(k) not in (None, "never")])]
    return PartnerLoad(len(suppliers), identities, new_versions, acknowledged)


def store_profile(session: Session, profile: ToleranceProfile, now: datetime) -> bool:
    """Add a version when the values differ from the latest one. Returns whether it did."""
    latest = latest_profile(session, profile.name)
    if latest is not None and _values(latest) == _values(profile):
        return False
    version = latest.version + 1 if latest else 1
    session.add(ToleranceProfileRow(name=profile.name, version=version, created_at=now,
                                    **_values(profile)))
    session.flush()
    return True


def latest_profile(session: Session, name: str) -> ToleranceProfile | None:
    row = session.scalars(select(ToleranceProfileRow).where(ToleranceProfileRow.name == name)
                          .order_by(ToleranceProfileRow.version.desc()).limit(1)).first()
    if row is None:
        return None
    return ToleranceProfile(name=row.name, version=row.version,
                            **{key: getattr(row, key) for key in PROFILE_FIELDS})


def profile_in_force(session: Session, name: str | None) -> ToleranceProfile:
    """The newest version of the supplier's profile, else of `default`, else built-in."""
    for candidate in (name, "default"):
        if candidate:
            found = latest_profile(session, candidate)
            if found is not None:
                return found
    return DEFAULT_PROFILE


def _values(profile: ToleranceProfile) -> dict[str, Any]:
    return {key: getattr(profile, key) for key in PROFILE_FIELDS}


def _store_supplier(session: Session, entry: Any, index: int, profiles: set[str]) -> int:
    if not isinstance(entry, dict) or not entry.get("code") or not entry.get("name"):
        raise ConfigurationError(f"supplier #{index}: needs at least 'code' and 'name'")
    code = str(entry["code"])
    unknown = sorted(str(key) for key in entry if key not in SUPPLIER_KEYS)
    if unknown:
        raise ConfigurationError(f"supplier {code}: unknown keys {unknown}; allowed: "
                                 f"{', '.join(SUPPLIER_KEYS)}")
    profile = entry.get("profile")
    if profile and profile not in profiles and not latest_profile_exists(session, profile):
        raise ConfigurationError(f"supplier {code}: profile {profile!r} is not defined")
    reading = stored_reading(code, entry.get("reading"))
    mail_auth = entry.get("mail_auth")
    if mail_auth is not None and mail_auth not in MAIL_AUTH_POLICIES:
        raise ConfigurationError(f"supplier {code}: mail_auth = {mail_auth!r}; allowed: "
                                 f"{', '.join(MAIL_AUTH_POLICIES)}")
    acks = {key: _ack_policy(code, key, entry.get(key)) for key in ("contrl", "aperak")}
    functional_ack = _functional_ack(code, entry.get("functional_ack"))
    language, reminders = _language(entry, code), _reminders(entry, code)
    supplier = session.scalars(select(Supplier).where(Supplier.code == code)).first()
    if supplier is None:
        supplier = Supplier(code=code, name=str(entry["name"]))
        session.add(supplier)
    supplier.name = str(entry["name"])
    supplier.buyer_contact = entry.get("buyer_contact")
    supplier.profile_name = profile
    supplier.reading = reading
    supplier.mail_auth = mail_auth
    supplier.contrl, supplier.aperak = acks["contrl"], acks["aperak"]
    supplier.functional_ack = functional_ack
    supplier.language = language
    supplier.reminders, supplier.reminder_every_days, supplier.reminder_max = reminders
    session.flush()
    identities = list(_identities(entry, code))
    for kind, value, qualifier in identities:
        clash = session.scalars(select(SupplierIdentity).where(
            SupplierIdentity.kind == kind, SupplierIdentity.value == value,
            SupplierIdentity.qualifier == qualifier)).first()
        if clash is not None:
            raise ConfigurationError(f"supplier {code}: {kind} {value!r} already belongs to "
                                     "another supplier")
        session.add(SupplierIdentity(supplier_id=supplier.id, kind=kind, value=value,
                                     qualifier=qualifier))
        session.flush()
    return len(identities)


def _functional_ack(code: str, value: Any) -> str | None:
    """The partner file's `functional_ack` (997, 999 or never); None for never or absent."""
    if value is None:
        return None
    text = str(value)
    if text not in FUNCTIONAL_ACKS:
        raise ConfigurationError(f"supplier {code}: functional_ack = {value!r}; allowed: "
                                 f"{', '.join(FUNCTIONAL_ACKS)}")
    return None if text == "never" else text


def _ack_policy(code: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if value not in ACK_POLICIES:
        raise ConfigurationError(f"supplier {code}: {key} = {value!r}; allowed: "
                                 f"{', '.join(ACK_POLICIES)}")
    return str(value)


def _language(entry: Mapping[str, Any], code: str) -> str | None:
    language = entry.get("language")
    if language is None:
        return None
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        raise ConfigurationError(f"supplier {code}: language = {language!r}; allowed: "
                                 f"{', '.join(LANGUAGES)}")
    return language.strip().lower()


def _reminders(entry: Mapping[str, Any], code: str) -> tuple[bool, int | None, int | None]:
    """`reminders` (true or false), `reminder_every_days` and `reminder_max` (whole numbers
    of at least 1; None: the defaults of gateway.services.reminders)."""
    enabled = entry.get("reminders", False)
    if not isinstance(enabled, bool):
        raise ConfigurationError(f"supplier {code}: reminders = {enabled!r}; use true or false")
    numbers: list[int | None] = []
    for key in ("reminder_every_days", "reminder_max"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ConfigurationError(f"supplier {code}: {key} = {value!r}; use a whole number "
                                     "of at least 1")
        numbers.append(value)
    return enabled, numbers[0], numbers[1]


def latest_profile_exists(session: Session, name: str) -> bool:
    return latest_profile(session, name) is not None


def _identities(entry: Mapping[str, Any], code: str) -> list[tuple[str, str, str]]:
    found = [("email", str(v).strip().lower(), "") for v in entry.get("emails", []) or []]
    found += [("domain", str(v).strip().lower().lstrip("@"), "")
              for v in entry.get("domains", []) or []]
    for edi in entry.get("edi_ids", []) or []:
        if isinstance(edi, dict) and edi.get("id"):
            found.append(("edi", str(edi["id"]), str(edi.get("qualifier", "") or "")))
        elif isinstance(edi, str | int):
            found.append(("edi", str(edi), ""))
        else:
            raise ConfigurationError(f"supplier {code}: edi_ids entries need an 'id'")
    if entry.get("as2_id"):
        found.append(("as2", str(entry["as2_id"]), ""))
    return found
