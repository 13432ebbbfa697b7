"""Reference data a run of processing reads over and over: suppliers, their addresses and ids,
and the tolerance profile in force. Loaded once per unit of work, never per line."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.tolerances import ToleranceProfile
from gateway.mailauth.verdict import supplier_domains
from gateway.persistence.models import Supplier, SupplierIdentity
from gateway.services.partners import profile_in_force
from gateway.services.reading_profiles import reading_from_mapping
from mappings.email import ColumnProfile


@dataclass(frozen=True, slots=True)
class SupplierInfo:
    code: str
    name: str
    buyer_contact: str | None
    profile: ToleranceProfile
    # How its sheets and emails are read (partner file `reading`); None: the defaults.
    reading: ColumnProfile | None = None
    # Sender authentication (partner file `mail_auth`; None: the configured default), and
    # whom its authenticated mail may come from: any address at its domains, or its addresses.
    mail_auth: str | None = None
    domains: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    # EDIFACT acknowledgements it asked for (partner file `contrl`, `aperak`; None: never),
    # sent to `reply_to`, the first of its addresses in the partner file.
    contrl: str | None = None
    aperak: str | None = None
    # The language of replies and reminders (partner file `language`; None: English), and
    # the address they go to when no authenticated From says otherwise: the first address
    # the partner entry lists.
    language: str | None = None
    reply_to: str | None = None
    # The X12 997 or 999 it asked for (partner file `functional_ack`; None: none).
    functional_ack: str | None = None


@dataclass(slots=True)
class Lookups:
    """Valid for one transaction: what it read cannot change under it."""

    session: Session
    _suppliers: dict[str, Supplier] | None = None
    _identities: dict[tuple[str, str], str] = field(default_factory=dict)
    _profiles: dict[str | None, ToleranceProfile] = field(default_factory=dict)
    _readings: dict[str, ColumnProfile | None] = field(default_factory=dict)
    _mail: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    def _load(self) -> dict[str, Supplier]:
        if self._suppliers is None:
            self._suppliers = {s.code: s for s in self.session.scalars(select(Supplier))}
            by_id = {s.id: s.code for s in self._suppliers.values()}
            # An EDI id is matched without its qualifier (UNB 0007 is often missing or wrong);
            # if two suppliers share an id, the one registered first wins, the same on every
            # database.
            for identity in self.session.scalars(select(SupplierIdentity)
                                                 .order_by(SupplierIdentity.id)):
                self._identities.setdefault((identity.kind, identity.value),
                                            by_id[identity.supplier_id])
                emails, domains = self._mail.setdefault(by_id[identity.supplier_id], ([], []))
                if identity.kind == "email":
                    emails.append(identity.value)
                elif identity.kind == "domain":
                    domains.append(identity.value)
        return self._suppliers

    def supplier(self, code: str) -> SupplierInfo | None:
        found = self._load().get(code)
        if found is None:
            return None
        emails, domains = self._mail.get(code, ([], []))
        return SupplierInfo(found.code, found.name, found.buyer_contact,
                            self.profile(found.profile_name), self.reading(found),
                            found.mail_auth, supplier_domains(domains), frozenset(emails),
                            found.contrl, found.aperak, found.language,
                            emails[0] if emails else None, found.functional_ack)

    def supplier_by(self, kind: str, value: str) -> SupplierInfo | None:
        self._load()
        code = self._identities.get((kind, value))
        return self.supplier(code) if code else None

    def supplier_named(self, reference: str) -> str | None:
        """The code of the supplier a reference names: its code, one of its EDI ids (matched
        without the qualifier, as for messages), one of its email addresses, or the domain of
        one. None: no partner has it."""
        suppliers = self._load()
        reference = reference.strip()
        if reference in suppliers:
            return reference
        address = reference.lower()
        candidates = [("edi", reference), ("email", address)]
        if "@" in address:
            candidates.append(("domain", address.rpartition("@")[2]))
        return next((self._identities[c] for c in candidates if c in self._identities), None)

    def reading(self, supplier: Supplier) -> ColumnProfile | None:
        if supplier.code not in self._readings:
            self._readings[supplier.code] = (
                reading_from_mapping(supplier.code, supplier.reading) if supplier.reading
                else None)
        return self._readings[supplier.code]

    def profile(self, name: str | None) -> ToleranceProfile:
        if name not in self._profiles:
            self._profiles[name] = profile_in_force(self.session, name)
        return self._profiles[name]
