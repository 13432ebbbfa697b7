"""The production DNS lookup for `SenderVerifier` (dnspython, the system's resolvers), and the
organizational domain from the Public Suffix List shipped in the `publicsuffixlist` package
(no list is fetched at run time; update the package to update the list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.exception
import dns.resolver

from gateway.mailauth import DnsTemporaryFailure
from gateway.mailauth.verify import DnsLookup


def system_lookup(timeout: float = 5.0) -> DnsLookup:
    resolver = dns.resolver.Resolver()

    def lookup(name: str, qtype: str) -> list[Any]:
        try:
            answer = resolver.resolve(name, qtype, lifetime=timeout, search=False,
                                      raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers,
                dns.resolver.NoResolverConfiguration) as exc:
            raise DnsTemporaryFailure(f"{qtype} {name}: {type(exc).__name__}") from exc
        except dns.exception.DNSException as exc:   # a name that is not a DNS name, say
            raise DnsTemporaryFailure(f"{qtype} {name}: {exc}") from exc
        return [_value(rdata, qtype) for rdata in answer]

    return lookup


def _value(rdata: Any, qtype: str) -> Any:
    if qtype in ("A", "AAAA"):
        return rdata.address
    if qtype == "MX":
        return (rdata.preference, rdata.exchange.to_text(True))
    if qtype == "PTR":
        return rdata.target.to_text(True)
    return tuple(rdata.strings)


def public_suffix_organizational() -> Callable[[str], str]:
    """RFC 7489 section 3.2: the organizational domain is the public suffix plus one label;
    a name that is itself a public suffix is its own."""
    from publicsuffixlist import PublicSuffixList

    suffixes = PublicSuffixList()

    def organizational(domain: str) -> str:
        name = domain.strip().rstrip(".").lower()
        return str(suffixes.privatesuffix(name) or name)

    return organizational
