"""Checking who sent a message: the trusted upstream's Authentication-Results, else DKIM
(dkimpy), SPF (pyspf) and DMARC's alignment here, with DNS through an injected lookup.

`DnsLookup(name, qtype)` answers in the shapes pyspf reads (TXT: a tuple of byte strings per
record; A/AAAA: address text; MX: (preference, exchange); PTR: names); it returns [] for a
name or type that has no data and raises `DnsTemporaryFailure` when no answer came. Tests
answer from a dictionary; production uses `gateway.mailauth.dns.system_lookup`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import dkim
import spf
from dkim.canonicalization import CanonicalizationPolicy

from gateway.mailauth import DnsTemporaryFailure
from gateway.mailauth.authres import AuthResults, trusted_results
from gateway.mailauth.headers import from_address, header_fields
from gateway.mailauth.verdict import (
    DkimResult,
    DmarcRecord,
    Method,
    SpfResult,
    Verdict,
    dmarc_alignment,
    parse_dmarc_record,
    signature_keys,
)

log = logging.getLogger(__name__)

DnsLookup = Callable[[str, str], list[Any]]

# Signatures verified per message: each costs DNS queries and a hash of the body.
MAX_SIGNATURES = 5
# Fields a message has at most once (RFC 5322 section 3.6, RFC 2045 sections 4 to 6).
_SINGLE_FIELDS = frozenset({
    "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to",
    "references", "subject", "mime-version", "content-type", "content-transfer-encoding"})
# pyspf's overall time budget for one check, in seconds (RFC 7208 section 4.6.4 asks for one).
SPF_SECONDS = 20
# The budget of all the checks of one message (DKIM keys, SPF, DMARC records), in seconds.
MESSAGE_SECONDS = 30


@dataclass(frozen=True, slots=True)
class SmtpFacts:
    """What the SMTP channel saw of the connection, kept with the message: SPF needs them."""

    client_ip: str | None
    helo: str | None
    mail_from: str
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SenderVerifier:
    lookup: DnsLookup
    organizational: Callable[[str], str]
    trusted_authserv_ids: frozenset[str] = frozenset()
    # SMTP clients whose Authentication-Results are believed (the upstream MX); empty: none
    # (over SMTP; a message fetched over IMAP was received by the mailbox server).
    trusted_relays: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Seconds, for the SPF check's time budget.
    clock: Callable[[], float] = time.monotonic

    def verify(self, raw: bytes, facts: SmtpFacts | None) -> Verdict:
        """`facts` are the SMTP channel's; None for a message fetched over IMAP, where no
        connecting IP is known and SPF cannot be checked. Every check is bounded, and all of
        them together by MESSAGE_SECONDS: past it, each query left is a DNS failure (the
        check's temperror), so a sender whose DNS answers slowly holds the worker for that
        long at most (and one query's timeout)."""
        deadline = self.clock() + MESSAGE_SECONDS

        def bounded(name: str, qtype: str) -> list[Any]:
            if self.clock() > deadline:
                raise DnsTemporaryFailure(f"{qtype} {name}: not asked, the checks of this "
                                          f"message took longer than {MESSAGE_SECONDS} s")
            return self.lookup(name, qtype)

        return replace(self, lookup=bounded)._verify(raw, facts)

    def _verify(self, raw: bytes, facts: SmtpFacts | None) -> Verdict:
        fields = header_fields(raw)
        author, why_none = from_address(fields)
        domain = author.rpartition("@")[2] if author else None
        upstream = trusted_results(fields, self.trusted_authserv_ids) \
            if self._relay_trusted(facts) else None
        if upstream is not None:
            verdict = self._from_upstream(upstream, domain, why_none)
            # The upstream names the signatures it verified by d= and s= (RFC 8601 section
            # 2.7.1; header.b, RFC 6008, is only a prefix): every signature of the message
            # with those is taken, so that one added beside the real one hides nothing.
            named = [(d.domain, d.selector) for d in verdict.dkim]
            results: list[DkimResult] = []
            named_b: list[str | None] = []
            for name, value in fields:
                tags = _tags(value.encode("utf-8", "replace")) if name == "dkim-signature" \
                    else {}
                key = (tags.get("d", "").lower(), tags.get("s", ""))
                if key in named:
                    results.append(verdict.dkim[named.index(key)])
                    named_b.append(tags.get("b"))
            return replace(verdict, from_address=author, signatures=signature_keys(
                domain, results, named_b, None, self.organizational))
        if domain is None:
            # Nothing to authenticate (RFC 7489 section 6.6.1): no DNS is asked.
            return Verdict(Method.LOCAL, None, dmarc="fail", note=why_none)
        dkim_results, b_values = self._dkim(raw, fields)
        if facts is None:
            spf_result = None
            note = "SPF not checked: fetched over IMAP, the connecting IP is not known"
            if self.trusted_authserv_ids:
                note += "; no Authentication-Results field of a trusted authserv-id"
        else:
            spf_result, note = self.spf(facts), None
        record = self.dmarc_record(domain)
        result, which, aligned_domain = dmarc_alignment(domain, dkim_results, spf_result,
                                                        record, self.organizational)
        return Verdict(Method.LOCAL, domain, dkim_results, spf_result, result, which,
                       aligned_domain, record.policy if record else None, None, note, author,
                       signature_keys(domain, dkim_results, b_values, record,
                                      self.organizational))

    def _relay_trusted(self, facts: SmtpFacts | None) -> bool:
        """Whether the message came from where a trusted field can be believed. Over SMTP
        only from a listed relay: any client that reaches the port can write any field
        (RFC 8601 section 5), the upstream's id included."""
        if facts is None:
            return True
        try:
            address = ipaddress.ip_address(facts.client_ip or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted_relays)

    def _from_upstream(self, found: AuthResults, domain: str | None,
                       why_none: str | None) -> Verdict:
        dkim_results = tuple(
            DkimResult(r.properties.get("header.d") or _domain_of(r.properties.get("header.i")),
                       r.properties.get("header.s", ""), r.result)
            for r in found.results if r.method == "dkim")
        spf_result = next((SpfResult(r.result, _domain_of(r.properties.get("smtp.mailfrom"))
                                     or r.properties.get("smtp.helo"))
                           for r in found.results if r.method == "spf"), None)
        # The upstream's DMARC result is taken only for the From domain read here.
        dmarc = next((r for r in found.results if r.method == "dmarc"
                      and (r.properties.get("header.from") or "").lower() == domain), None)
        result, which, aligned_domain = dmarc_alignment(domain, dkim_results, spf_result,
                                                        None, self.organizational)
        if dmarc is not None and result != "pass":
            result = "pass" if dmarc.result == "pass" and domain else dmarc.result
        return Verdict(Method.UPSTREAM, domain, dkim_results, spf_result, result, which,
                       aligned_domain, None, found.authserv_id, why_none)

    def dkim(self, raw: bytes,
             fields: list[tuple[str, str]] | None = None) -> tuple[DkimResult, ...]:
        """Each DKIM-Signature (the first MAX_SIGNATURES), verified (RFC 6376 section 6);
        `fields` the header as the mail reader reads it (`header_fields`)."""
        return self._dkim(raw, fields)[0]

    def _dkim(self, raw: bytes, fields: list[tuple[str, str]] | None
              ) -> tuple[tuple[DkimResult, ...], tuple[str | None, ...]]:
        """`dkim`, and each signature's b= value (whitespace removed)."""
        fields = header_fields(raw) if fields is None else fields
        try:
            checker = dkim.DKIM(raw, timeout=5)
        except dkim.DKIMException as exc:
            log.info("DKIM: message not readable as a signed message (%s)", exc)
            return (), ()
        signatures = [value for name, value in checker.headers
                      if name.lower() == b"dkim-signature"][:MAX_SIGNATURES]
        results = []
        b_values: list[str | None] = []
        for index, signature in enumerate(signatures):
            tags = _tags(signature)
            signed = [name.lower() for name in tags.get("h", "").split(":")]
            # RFC 6376 section 6.1.1: a signature whose h= lacks From is ignored (PERMFAIL,
            # "From field not signed"), however valid; dkimpy's verify does not check it.
            result = self._verify_signature(checker, index) if "from" in signed \
                else "permerror"
            if result == "pass" and not (_covers_body(checker.body, tags)
                                         and _covers_fields(fields, signed)):
                result = "policy"
            results.append(DkimResult(tags.get("d", "").lower(), tags.get("s", ""), result))
            b_values.append(tags.get("b"))
        return tuple(results), tuple(b_values)

    def _verify_signature(self, checker: Any, index: int) -> str:
        try:
            return "pass" if checker.verify(idx=index, dnsfunc=self._dkim_txt) else "fail"
        except DnsTemporaryFailure:
            return "temperror"
        except dkim.DnsTimeoutError:
            return "temperror"
        except dkim.DKIMException:
            return "permerror"

    def _dkim_txt(self, name: bytes | str, timeout: int = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = self.lookup(text.rstrip("."), "TXT")
        return b"".join(records[0]) if records else None

    def spf(self, facts: SmtpFacts) -> SpfResult:
        """RFC 7208 check_host() for the MAIL FROM identity; for a bounce (`<>`) the HELO
        identity (section 2.4), as `postmaster@helo`."""
        sender = "" if facts.mail_from in ("", "<>") else facts.mail_from
        helo = facts.helo or ""
        domain = sender.rpartition("@")[2].lower() if sender else helo.lower()
        if not facts.client_ip or not domain:
            return SpfResult("none", domain or None)
        try:
            query = _SpfQuery(self.lookup, self.clock, i=facts.client_ip,
                              s=sender or f"postmaster@{helo}", h=helo, timeout=SPF_SECONDS,
                              querytime=SPF_SECONDS)
            result, _code, _explanation = query.check()
        except DnsTemporaryFailure:
            result = "temperror"
        except (spf.PermError, spf.AmbiguityWarning):   # an address pyspf cannot read, say
            result = "permerror"
        return SpfResult(str(result).lower(), domain)

    def dmarc_record(self, domain: str) -> DmarcRecord | None:
        """`_dmarc.<From domain>`, else `_dmarc.<organizational domain>` (RFC 7489 section
        6.6.3); several DMARC records at one name count as none."""
        for name in dict.fromkeys((domain, self.organizational(domain))):
            try:
                texts = [b"".join(r).decode("utf-8", "replace")
                         for r in self.lookup(f"_dmarc.{name}", "TXT")]
            except DnsTemporaryFailure:
                return None
            records = [r for r in (parse_dmarc_record(t) for t in texts) if r is not None]
            if len(records) == 1:
                return records[0]
            if records:
                return None
        return None


class _SpfQuery(spf.query):  # type: ignore[misc]  # pyspf has no type information
    """pyspf's check with its DNS taken from the injected lookup: pyspf itself calls a
    module-wide DNS function. Keeps pyspf's cache and its void-lookup limit (RFC 7208
    section 4.6.4: more than two lookups that find nothing is a permerror), and its time
    budget, which pyspf keeps in the DNS function replaced here: ten terms may still ask
    about a hundred names (an `mx` term asks for up to ten exchanges' addresses), each
    answered just inside the per-query timeout. Section 4.6.4: past at least 20 seconds,
    the result SHOULD be temperror."""

    def __init__(self, lookup: DnsLookup, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lookup = lookup
        self._clock = clock
        self._deadline = clock() + SPF_SECONDS

    def dns(self, name: str, qtype: str, cnames: Any = None,
            ignore_void: bool = False) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        if key not in self.cache:
            if self._clock() > self._deadline:
                raise spf.TempError(f"SPF check longer than {SPF_SECONDS} seconds")
            try:
                self.cache[key] = list(self._lookup(name, qtype))
            except DnsTemporaryFailure as exc:
                raise spf.TempError(f"DNS {exc}") from exc
        result: list[Any] = self.cache[key]
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def _covers_body(body: bytes, tags: dict[str, str]) -> bool:
    """Whether the signature vouches for the whole body. One with a body length `l=` shorter
    than the canonicalized body (RFC 6376 section 3.5) verifies, yet anyone may have appended
    the rest: section 8.2 lets the verifier refuse it; its result is `policy` (RFC 8601
    section 2.7.1: signed, but not acceptable to the receiver)."""
    length = tags.get("l")
    if length is None or not length.isdigit():   # no l=, or one dkimpy refused already
        return True
    canon = CanonicalizationPolicy.from_c_value(tags.get("c", "simple/simple").encode())
    return int(length) >= len(canon.canonicalize_body(body))


def _covers_fields(fields: list[tuple[str, str]], signed: list[str]) -> bool:
    """Whether every instance of a signed field that a message has once (RFC 5322 section
    3.6, RFC 2045), as the mail reader reads the header, is signed. The verifier signs h='s
    fields from the bottom up (RFC 6376 section 5.4.2) while a reader takes the topmost
    Subject or Content-Type: one written above the signed instance is the attacker's, and
    section 8.15 advises against trusting it."""
    counts: dict[str, int] = {}
    for name, _value in fields:
        if name in _SINGLE_FIELDS:
            counts[name] = counts.get(name, 0) + 1
    return all(counts.get(name, 0) <= signed.count(name) for name in set(signed)
               if name in _SINGLE_FIELDS)


def _tags(signature: bytes) -> dict[str, str]:
    """The tag=value list of a DKIM-Signature (RFC 6376 section 3.2), whitespace removed."""
    tags: dict[str, str] = {}
    for part in signature.decode("ascii", "replace").split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip(), "".join(value.split()))
    return tags


def _domain_of(address: str | None) -> str:
    return (address or "").rpartition("@")[2].strip().lower()
