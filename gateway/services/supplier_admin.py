"""An admin changes a supplier's partner entry or its tolerance profile from the web app or the
API (units of work; the partner file does the same with `gateway partners load`).

- A profile change is a new version of the supplier's profile (its named profile, else
  `default`), never an edit of an old one: exceptions keep naming the version they were judged
  by (`exceptions.tolerance`, "c-parts v1"), so an old decision stays explained. Fields left
  out keep the newest version's value. The same values as the newest version make no version.
- A partner entry change rewrites the entry's fields (name, buyer, profile, language, mail
  authentication, reminders, acknowledgements); the old and new values go into the audit
  trail.
- Both are checked against the version the editor saw (the newest profile version; a digest
  of the entry): a change made meanwhile is refused (`StaleVersion`, 412), nothing is stored.
- Each is audited (`audit_events`, subject `supplier CODE` or `profile NAME`).

Values are bounded before anything is stored: percentages 0-1000, quantities 0-1,000,000,000
with at most 6 decimals, days 0-3650, hours 0-8760.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.tolerances import DEFAULT_PROFILE, ToleranceProfile
from gateway.errors import ConfigurationError, StaleVersion
from gateway.persistence.models import Supplier, ToleranceProfileRow
from gateway.services.accounts import audit
from gateway.services.partners import (
    ACK_POLICIES,
    LANGUAGES,
    MAIL_AUTH_POLICIES,
    PROFILE_FIELDS,
    latest_profile,
    latest_profile_exists,
    store_profile,
)

DEFAULT_PROFILE_NAME = "default"
# The largest value each kind of limit may take (supplier-independent sanity, and what the
# NUMERIC(38, 12) column holds with room to spare).
PERCENT_FIELDS = ("qty_under_pct", "qty_over_pct", "price_pct")
QUANTITY_FIELDS = ("qty_under_abs", "qty_over_abs")
HOUR_FIELDS = ("confirmation_due_hours",)
MAX_PERCENT = Decimal(1000)
MAX_QUANTITY = Decimal(1_000_000_000)
MAX_DECIMALS = 6
MAX_DAYS = 3650
MAX_HOURS = 8760
MAX_TEXT = 200


class InvalidEdit(ConfigurationError):
    """An edit that cannot be stored: which field and why (`field` names it)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def profile_name_of(supplier: Supplier) -> str:
    return supplier.profile_name or DEFAULT_PROFILE_NAME


def profile_tag(name: str, version: int | None) -> str:
    """The version an editor saw, as sent back in a form or an `If-Match`: `c-parts.3`
    (`c-parts.0`: no version stored yet)."""
    return f"{name}.{version or 0}"


def limit_value(field: str, text: object) -> Decimal | int:
    """One limit read and bounded (pure)."""
    if field not in PROFILE_FIELDS:
        raise InvalidEdit(field, f"not a tolerance; allowed: {', '.join(PROFILE_FIELDS)}")
    raw = str(text).strip()[:40]
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidEdit(field, f"{raw!r} is not a number") from exc
    if not number.is_finite() or number < 0:
        raise InvalidEdit(field, f"{raw!r} must be a number of at least 0")
    if isinstance(getattr(DEFAULT_PROFILE, field), int):
        most = MAX_HOURS if field in HOUR_FIELDS else MAX_DAYS
        if number != number.to_integral_value() or number > most:
            raise InvalidEdit(field, f"{raw!r} must be a whole number from 0 to {most}")
        return int(number)
    most_decimal = MAX_PERCENT if field in PERCENT_FIELDS else MAX_QUANTITY
    exponent = number.as_tuple().exponent
    if number > most_decimal or (isinstance(exponent, int) and -exponent > MAX_DECIMALS):
        raise InvalidEdit(field, f"{raw!r} must be from 0 to {most_decimal} with at most "
                                 f"{MAX_DECIMALS} decimals")
    return number


def next_profile(current: ToleranceProfile, changes: Mapping[str, object]) -> ToleranceProfile:
    """The newest version with `changes` applied (pure); a blank value keeps the old one."""
    values = {field: getattr(current, field) for field in PROFILE_FIELDS}
    for field, text in changes.items():
        if text is None or str(text).strip() == "":
            continue
        values[field] = limit_value(field, text)
    return ToleranceProfile(name=current.name, version=current.version + 1, **values)


@dataclass(frozen=True, slots=True)
class ProfileChange:
    name: str
    version: int      # the newest version after the change
    created: bool     # False: the values were those of the newest version already


def current_profile(session: Session, name: str) -> ToleranceProfile:
    """The newest stored version of `name`, else the built-in values as version 0."""
    found = latest_profile(session, name)
    if found is not None:
        return found
    return ToleranceProfile(**{**{f: getattr(DEFAULT_PROFILE, f) for f in PROFILE_FIELDS},
                               "name": name, "version": 0})


def supplier_by_code(session: Session, code: str, lock: bool = False) -> Supplier:
    query = select(Supplier).where(Supplier.code == code)
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise LookupError(f"no supplier {code!r}")
    return found


def add_profile_version(session: Session, code: str, changes: Mapping[str, object],
                        expected: str, actor: str, now: datetime) -> ProfileChange:
    """A new version of the supplier's profile with `changes`, when `expected` (a
    `profile_tag`) is still the newest; audited with each limit that changed. No `expected`
    (empty) proves nothing of what the editor saw and is refused as a stale one."""
    supplier = supplier_by_code(session, code, lock=True)
    name = profile_name_of(supplier)
    current = current_profile(session, name)
    if expected != profile_tag(name, current.version):
        raise StaleVersion(f"profile {name} has a newer version than the one you saw; "
                           "reload and try again")
    wanted = next_profile(current, changes)
    if not store_profile(session, wanted, now):
        return ProfileChange(name, current.version, False)
    stored = latest_profile(session, name)
    version = stored.version if stored is not None else wanted.version
    changed = [f"{field} {getattr(current, field)} → {getattr(wanted, field)}"
               for field in PROFILE_FIELDS if getattr(current, field) != getattr(wanted, field)]
    audit(session, actor, "profile_version", f"profile {name}", now,
          f"v{version} for supplier {code}: " + ("; ".join(changed) or "first version"))
    return ProfileChange(name, version, True)


def profile_versions(session: Session, name: str) -> list[ToleranceProfileRow]:
    """Every stored version of a profile, oldest first: one query."""
    return list(session.scalars(select(ToleranceProfileRow)
                                .where(ToleranceProfileRow.name == name)
                                .order_by(ToleranceProfileRow.version)))


def profile_users(session: Session, name: str) -> int:
    """How many suppliers a profile's versions apply to."""
    query = select(func.count()).select_from(Supplier)
    if name == DEFAULT_PROFILE_NAME:
        query = query.where((Supplier.profile_name.is_(None))
                            | (Supplier.profile_name == DEFAULT_PROFILE_NAME))
    else:
        query = query.where(Supplier.profile_name == name)
    return session.scalar(query) or 0


# The partner entry's fields an admin edits here; identities and reading stay with the file.
ENTRY_FIELDS = ("name", "buyer_contact", "profile_name", "language", "mail_auth", "reminders",
                "contrl", "aperak")


def entry_values(supplier: Supplier) -> dict[str, str | bool | None]:
    return {field: getattr(supplier, field) for field in ENTRY_FIELDS}


def entry_tag(supplier: Supplier) -> str:
    """A digest of the entry's editable fields: what an edit form carries back."""
    text = "\x1f".join(f"{k}={v}" for k, v in sorted(entry_values(supplier).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if text not in allowed:
        raise InvalidEdit(field, f"{text[:40]!r}; allowed: {', '.join(allowed)}")
    return text


def _text(field: str, value: str | None, required: bool = False) -> str | None:
    text = (value or "").strip()
    if any(ord(ch) < 32 for ch in text):
        raise InvalidEdit(field, "control characters are not allowed")
    if len(text) > MAX_TEXT:
        raise InvalidEdit(field, f"at most {MAX_TEXT} characters")
    if required and not text:
        raise InvalidEdit(field, "must not be empty")
    return text or None


@dataclass(frozen=True, slots=True)
class EntryEdit:
    """The entry as the form or the request gives it (text as typed)."""

    name: str
    buyer_contact: str | None
    profile_name: str | None
    language: str | None
    mail_auth: str | None
    reminders: bool
    contrl: str | None
    aperak: str | None


def checked_entry(session: Session, edit: EntryEdit) -> dict[str, str | bool | None]:
    """The edit's values, checked (the profile must exist, as in the partner file)."""
    buyer = _text("buyer_contact", edit.buyer_contact)
    if buyer is not None and "@" not in buyer:
        raise InvalidEdit("buyer_contact", "an email address")
    profile = _text("profile_name", edit.profile_name)
    if profile is not None and profile != DEFAULT_PROFILE_NAME and not latest_profile_exists(
            session, profile):
        raise InvalidEdit("profile_name", f"no profile {profile[:64]!r} is stored")
    return {"name": _text("name", edit.name, required=True), "buyer_contact": buyer,
            "profile_name": profile if profile != DEFAULT_PROFILE_NAME else None,
            "language": _choice("language", edit.language, LANGUAGES),
            "mail_auth": _choice("mail_auth", edit.mail_auth, MAIL_AUTH_POLICIES),
            "reminders": bool(edit.reminders),
            "contrl": _choice("contrl", edit.contrl, ACK_POLICIES),
            "aperak": _choice("aperak", edit.aperak, ACK_POLICIES)}


def edit_entry(session: Session, code: str, edit: EntryEdit, expected: str,
               actor: str, now: datetime) -> list[str]:
    """Apply an edit to the entry the editor saw (`expected`, its `entry_tag`; empty is refused
    as a stale one); returns what changed (audited)."""
    supplier = supplier_by_code(session, code, lock=True)
    if expected != entry_tag(supplier):
        raise StaleVersion(f"supplier {code} was changed since you loaded it; reload and try "
                           "again")
    wanted = checked_entry(session, edit)
    before = entry_values(supplier)
    changed = [f"{field} {before[field] if before[field] is not None else '-'} → "
               f"{value if value is not None else '-'}"
               for field, value in wanted.items() if before[field] != value]
    for field, value in wanted.items():
        setattr(supplier, field, value)
    if changed:
        audit(session, actor, "supplier_edited", f"supplier {code}", now, "; ".join(changed))
    session.flush()
    return changed
