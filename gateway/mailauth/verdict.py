"""What sender authentication found for one message, and what that lets it do (pure).

DMARC's rule (RFC 7489 section 3.1, 4.2): the `From:` domain is authenticated when a DKIM
signature that verifies has a `d=` domain aligned with it, or SPF passes for a `MAIL FROM`
domain aligned with it. Aligned is: the same domain (strict), or the same organizational
domain (relaxed, the default; section 3.2 finds it with the Public Suffix List). The rule is
applied whether or not the domain publishes a DMARC record: a published `adkim=s`/`aspf=s`
only makes it strict. The domain owner's requested disposition (`p=`) is recorded, not obeyed:
what happens to the message is the partner's policy here (`MailAuthPolicy`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode, risk_score
from gateway.domain.reconciliation import Outcome
from gateway.domain.tolerances import Severity

# The channels whose messages claim a sender that must be checked; the others (`gateway
# ingest` by an operator) are handed in by someone already trusted.
MAIL_CHANNELS = frozenset({"smtp", "imap"})
# The policy when neither the partner nor the configuration names one.
DEFAULT_POLICY = "preferred"


class Method(StrEnum):
    """Where the verdict comes from."""

    LOCAL = "local"          # DKIM, SPF and DMARC checked here, with DNS
    UPSTREAM = "upstream"    # the Authentication-Results field of a trusted MX (RFC 8601)
    OPERATOR = "operator"    # handed in by an operator (`gateway ingest`): trusted
    LEGACY = "legacy"        # archived before sender authentication existed: as then
    NONE = "none"            # nothing checked (a mail channel without a verdict)


class MailAuthPolicy(StrEnum):
    """Per partner (partner file `mail_auth`), else the configured default."""

    REQUIRED = "required"    # unauthenticated: quarantined for IT, with the reason
    PREFERRED = "preferred"  # unauthenticated: stored and shown, changes nothing by itself
    NONE = "none"            # not checked: every message is taken as the supplier's


class Trust(StrEnum):
    """What one message may do for the supplier it claims to come from."""

    VERIFIED = "verified"        # authenticated as the supplier's domain
    TRUSTED = "trusted"          # not checked: the operator's own, or the partner's policy none
    UNVERIFIED = "unverified"    # processed, but changes nothing without a buyer
    QUARANTINED = "quarantined"  # not processed


PASS = "pass"
# The alignment modes of a DMARC record (RFC 7489 section 6.3, `adkim` and `aspf`).
RELAXED, STRICT = "r", "s"


@dataclass(frozen=True, slots=True)
class DkimResult:
    domain: str       # the signature's d=
    selector: str     # its s=
    result: str       # pass, fail, neutral, policy, temperror, permerror (RFC 8601 2.7.1)


@dataclass(frozen=True, slots=True)
class SignatureKey:
    """What identifies one DKIM signature's content (RFC 6376 section 8.6, replays): its d=
    and the SHA-256 of its b= value (hex). A signature that verifies cannot be made without
    the domain's key, so a second message carrying it carries the same signed content: a
    second delivery, whoever sent it. (A Message-ID would not do: anyone can write one.)"""

    domain: str
    b_sha256: str

    def describe(self) -> str:
        return f"d={self.domain}, b= sha256 {self.b_sha256[:16]}…"


@dataclass(frozen=True, slots=True)
class SpfResult:
    result: str            # pass, fail, softfail, neutral, none, temperror, permerror
    domain: str | None     # the MAIL FROM domain checked (the HELO name for a bounce)


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    """The tags of a `v=DMARC1` record this gateway uses (RFC 7489 section 6.3)."""

    policy: str = "none"
    adkim: str = RELAXED
    aspf: str = RELAXED


@dataclass(frozen=True, slots=True)
class Verdict:
    method: Method
    from_domain: str | None
    dkim: tuple[DkimResult, ...] = ()
    spf: SpfResult | None = None
    dmarc: str = "none"                  # pass: the From domain is authenticated
    aligned: str | None = None           # which identifier aligned: dkim or spf
    aligned_domain: str | None = None    # its domain
    published_policy: str | None = None  # the domain owner's DMARC p=, when published
    authserv_id: str | None = None       # for an upstream verdict: whose
    note: str | None = None              # why nothing or less was checked
    from_address: str | None = None      # the one author address, whose domain is from_domain
    # The DKIM signatures that verified and align with the From domain: what a replay of
    # the message would carry again (`SignatureKey`).
    signatures: tuple[SignatureKey, ...] = ()

    @property
    def authenticated_domain(self) -> str | None:
        return self.from_domain if self.dmarc == PASS else None

    def summary(self) -> str:
        """One line for IT and buyers: "local: dkim=pass (acme.example) spf=fail
        (acme.example) dmarc=pass for acme.example"."""
        dkim = " ".join(f"dkim={d.result} ({d.domain})" for d in self.dkim) or "dkim=none"
        spf = "spf=none" if self.spf is None else f"spf={self.spf.result}" + (
            f" ({self.spf.domain})" if self.spf.domain else "")
        via = f" via {self.authserv_id}" if self.authserv_id else ""
        return (f"{self.method.value}{via}: {dkim} {spf} dmarc={self.dmarc}"
                f" for {self.from_domain or 'no From domain'}"
                + (f" ({self.note})" if self.note else ""))

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method.value, "from_domain": self.from_domain,
                "dkim": [{"domain": d.domain, "selector": d.selector, "result": d.result}
                         for d in self.dkim],
                "spf": None if self.spf is None else {"result": self.spf.result,
                                                      "domain": self.spf.domain},
                "dmarc": self.dmarc, "aligned": self.aligned,
                "aligned_domain": self.aligned_domain,
                "published_policy": self.published_policy, "authserv_id": self.authserv_id,
                "note": self.note, "from_address": self.from_address,
                **({"signatures": [{"d": k.domain, "b_sha256": k.b_sha256}
                                   for k in self.signatures]} if self.signatures else {})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        spf = data.get("spf")
        return cls(Method(data["method"]), data.get("from_domain"),
                   tuple(DkimResult(d["domain"], d["selector"], d["result"])
                         for d in data.get("dkim") or ()),
                   SpfResult(spf["result"], spf.get("domain")) if spf else None,
                   data.get("dmarc", "none"), data.get("aligned"), data.get("aligned_domain"),
                   data.get("published_policy"), data.get("authserv_id"), data.get("note"),
                   data.get("from_address"),
                   tuple(SignatureKey(k["d"], k["b_sha256"])
                         for k in data.get("signatures") or ()))


OPERATOR_VERDICT = Verdict(Method.OPERATOR, None, note="handed in by an operator")


def parse_dmarc_record(text: str) -> DmarcRecord | None:
    """A `v=DMARC1; p=...` record; None when it is not one (section 6.4: `v` first, `p`
    required; an unknown mode is taken as relaxed, an unknown policy as none)."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    if not text.strip().lower().startswith("v") or tags.get("v") != "DMARC1" or "p" not in tags:
        return None
    policy = tags["p"].lower()
    return DmarcRecord(policy if policy in ("none", "quarantine", "reject") else "none",
                       STRICT if tags.get("adkim", "").lower() == STRICT else RELAXED,
                       STRICT if tags.get("aspf", "").lower() == STRICT else RELAXED)


def aligned(identifier: str, from_domain: str, mode: str,
            organizational: Callable[[str], str]) -> bool:
    """RFC 7489 section 3.1.1/3.1.2: strict is the same name, relaxed the same
    organizational domain (a subdomain of the From's organization aligns, a sibling
    organization under the same public suffix does not)."""
    identifier, from_domain = _name(identifier), _name(from_domain)
    if not identifier or not from_domain:
        return False
    if identifier == from_domain:
        return True
    return mode == RELAXED and organizational(identifier) == organizational(from_domain)


def dmarc_alignment(from_domain: str | None, dkim: Iterable[DkimResult], spf: SpfResult | None,
                    record: DmarcRecord | None,
                    organizational: Callable[[str], str]) -> tuple[str, str | None, str | None]:
    """(dmarc result, which identifier aligned, its domain): pass when a passing DKIM
    signature or a passing SPF check is aligned with the From domain; DKIM is looked at
    first, as it survives forwarding and SPF does not."""
    if not from_domain:
        return "fail", None, None
    modes = record or DmarcRecord()
    for result in aligned_dkim(from_domain, dkim, record, organizational):
        return PASS, "dkim", _name(result.domain)
    if spf is not None and spf.result == PASS and spf.domain and aligned(
            spf.domain, from_domain, modes.aspf, organizational):
        return PASS, "spf", _name(spf.domain)
    if any(r.result == "temperror" for r in dkim) or (spf and spf.result == "temperror"):
        return "temperror", None, None
    return "fail", None, None


def aligned_dkim(from_domain: str | None, dkim: Iterable[DkimResult],
                 record: DmarcRecord | None,
                 organizational: Callable[[str], str]) -> list[DkimResult]:
    """The DKIM results that pass and whose d= aligns with the From domain, in the order
    of the message's signatures: each alone authenticates the From domain."""
    if not from_domain:
        return []
    mode = (record or DmarcRecord()).adkim
    return [result for result in dkim if result.result == PASS
            and aligned(result.domain, from_domain, mode, organizational)]


def signature_keys(from_domain: str | None, results: Iterable[DkimResult],
                   b_values: Iterable[str | None], record: DmarcRecord | None,
                   organizational: Callable[[str], str]) -> tuple[SignatureKey, ...]:
    """The keys of the signatures that authenticate the From domain: `b_values` are the
    signatures' b= (whitespace removed), one per result. All of them, not only the first
    that made the verdict: a replay may leave any of them out or put them in another order,
    and every one of them alone would authenticate it again."""
    pairs = list(zip(results, b_values, strict=True))
    passing = aligned_dkim(from_domain, [result for result, _b in pairs], record,
                           organizational)
    return tuple(dict.fromkeys(
        SignatureKey(_name(result.domain), hashlib.sha256(b.encode("ascii")).hexdigest())
        for result, b in pairs if b and result in passing))


def replay_reason(first: int, key: SignatureKey) -> str:
    """The state reason of a message whose signature an earlier message carried."""
    return (f"a replay of message #{first} (the same DKIM signature {key.describe()}): "
            "the same signed content delivered again, nothing applied twice")


def supplier_domains(domains: Iterable[str]) -> frozenset[str]:
    """The mail domains a partner speaks from (partner file `domains`), as compared."""
    return frozenset(_name(d) for d in domains) - {""}


def judge(verdict: Verdict | None, policy: MailAuthPolicy, domains: frozenset[str],
          emails: frozenset[str] = frozenset()) -> tuple[Trust, str | None]:
    """What a message claiming a partner may do, and why not when it may not. Authenticated
    means: the From domain is DMARC-authenticated, and the From is the partner's: at one of
    its `domains`, or one of its `emails`. DMARC vouches for a domain, not for a mailbox in
    it, so the domain of an address alone is not enough: other users of the supplier's mail
    provider authenticate as that domain too, and the supplier may have been found by an
    address that nothing authenticated (the envelope sender, a forwarded message's From)."""
    if verdict is not None and verdict.method in (Method.OPERATOR, Method.LEGACY):
        return Trust.TRUSTED, None
    if policy is MailAuthPolicy.NONE:
        return Trust.TRUSTED, None
    authenticated = verdict.authenticated_domain if verdict else None
    author = verdict.from_address if verdict else None
    if authenticated is not None and (_name(authenticated) in domains or (
            author is not None and author.rpartition("@")[2] == _name(authenticated)
            and author in emails)):
        return Trust.VERIFIED, None
    why = _why_not(verdict, authenticated)
    if policy is MailAuthPolicy.REQUIRED:
        return Trust.QUARANTINED, f"sender not authenticated ({why}); this supplier's mail " \
            "must be (mail_auth = required)"
    return Trust.UNVERIFIED, f"sender not authenticated ({why})"


def message_trust(channel: str, stored: Mapping[str, Any] | None, partner_policy: str | None,
                  domains: frozenset[str],
                  emails: frozenset[str] = frozenset()) -> tuple[Trust, str | None]:
    """`judge` for an archived message: its channel, its stored verdict (which carries the
    default policy configured when it was checked) and the partner's own policy."""
    if channel not in MAIL_CHANNELS:
        return Trust.TRUSTED, None
    verdict = Verdict.from_json(stored) if stored else None
    default = (stored or {}).get("default_policy") or DEFAULT_POLICY
    return judge(verdict, MailAuthPolicy(partner_policy or default), domains, emails)


def unverified_sender(order_number: str | None, reason: str, withheld: list[Outcome],
                      owner: str | None) -> Discrepancy:
    """The buyer's exception for a message that was not applied: what it would have done."""
    lines = sum(len(o.lines) for o in withheld)
    # Not counted: the exceptions it would have resolved (`cleared` holds every rule that no
    # longer fires, open or not).
    raised = sum(len(o.discrepancies) for o in withheld)
    actual = reason if len(reason) <= 200 else reason[:199] + "…"
    return Discrepancy(
        DiscrepancyCode.UNVERIFIED_SENDER, Severity.HIGH, order_number, None,
        "mail authenticated as the supplier's domain", actual,
        f"withheld: {lines} line change(s), {raised} finding(s)",
        "mail not authenticated as the supplier changes nothing until a buyer acts",
        None, risk_score(Severity.HIGH, 1, Decimal(0), None), None, owner)


def _why_not(verdict: Verdict | None, authenticated: str | None) -> str:
    if verdict is None:
        return "not checked"
    if authenticated is not None:
        return (f"{verdict.summary()}; {verdict.from_address or authenticated} is not an "
                "address or domain of this supplier")
    return verdict.summary()


def _name(domain: str) -> str:
    return domain.strip().rstrip(".").lower()
