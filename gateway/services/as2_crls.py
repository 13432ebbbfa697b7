"""`gateway as2 crls fetch`: the CRL files AS2 partner entries list (`crls`), fetched again
from the distribution points their certificates name (RFC 5280 section 4.2.1.13), to be run
from cron or a systemd timer. A CRL fetched is taken only as the file it replaces was: one
CRL, of the same issuer, signed by one of the entry's `ca_certificates`, not older than the
one kept, and revoking as much (`_scope_problem`). Then it is written by rename, and a
running endpoint reads it with the partner file (`gateway.as2.reload`). A CRL is signed, so
plain HTTP (how CAs publish them) is enough.
"""

from __future__ import annotations

import http.client
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from cryptography import x509

from gateway.as2.files import replace_by_rename
from gateway.as2.partners import load_certificate, load_certificates
from gateway.as2.revocation import crl_problem, describe_crl, load_crls
from gateway.errors import ConfigurationError

MAX_CRL_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
USER_AGENT = "supplier-gateway-crl/1"
MAX_REDIRECTS = 3
TOTAL_SECONDS = 300.0
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Fetch = Callable[[str], bytes]


@dataclass(frozen=True, slots=True)
class CrlRefresh:
    path: Path
    outcome: str   # "updated", "current" or "failed"
    detail: str


def refresh_crls(partner_file: Path, fetch: Fetch, now: datetime) -> list[CrlRefresh]:
    """Each CRL file the partner file's AS2 entries list, fetched again (`fetch(url)` gives
    a URL's body)."""
    try:
        data = tomllib.loads(partner_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{partner_file}: {exc}") from exc
    base = partner_file.parent
    found = []
    for options in _as2_tables(data):
        certificates = [load_certificate(base / str(name))
                        for name in options.get("certificates") or []]
        authorities = [ca for name in options.get("ca_certificates") or []
                       for ca in load_certificates(base / str(name))]
        found += [refresh_crl(base / str(name), certificates, authorities, fetch, now)
                  for name in options["crls"]]
    return found


def refresh_crl(path: Path, certificates: Sequence[x509.Certificate],
                authorities: Sequence[x509.Certificate], fetch: Fetch, now: datetime
                ) -> CrlRefresh:
    try:
        raw = path.read_bytes()
        kept = load_crls(path, raw)
    except (OSError, ConfigurationError) as exc:
        return CrlRefresh(path, "failed", f"the file kept does not read: {exc}")
    if len(kept) != 1:
        return CrlRefresh(path, "failed", f"holds {len(kept)} CRLs: keep one per file to "
                                          "have them fetched")
    current = kept[0]
    urls = distribution_points(certificates, current.issuer)
    if not urls:
        return CrlRefresh(path, "failed", "no certificate of the entry issued by "
                          f"{current.issuer.rfc4514_string()} names an http(s) distribution "
                          "point")
    problems = []
    for url in urls:
        try:
            body = fetch(url)
            problem, fresh = _judged(path, body, current, authorities)
        except (OSError, http.client.HTTPException, ConfigurationError) as exc:
            problems.append(f"{url}: {exc}")
            continue
        if problem is not None or fresh is None:
            problems.append(f"{url}: {problem}")
            continue
        if body == raw:
            return CrlRefresh(path, "current", describe_crl(fresh, now))
        try:
            replace_by_rename(path.resolve(), body)   # a symbolic link stays one
        except OSError as exc:
            return CrlRefresh(path, "failed", f"from {url}, not written: {exc}")
        return CrlRefresh(path, "updated",
                          f"from {url}: {describe_crl(fresh, now)}")
    return CrlRefresh(path, "failed", "; ".join(problems))


def _judged(path: Path, body: bytes, current: x509.CertificateRevocationList,
            authorities: Sequence[x509.Certificate]
            ) -> tuple[str | None, x509.CertificateRevocationList | None]:
    """Why `body` may not replace `current` (or None), and the CRL it holds."""
    fetched = load_crls(path, body)
    if len(fetched) != 1 or fetched[0].issuer != current.issuer:
        return f"not one CRL of {current.issuer.rfc4514_string()}", None
    fresh = fetched[0]
    problem = crl_problem(fresh, authorities)
    if problem is not None:
        return problem, None
    if fresh.last_update_utc < current.last_update_utc:
        return (f"issued {fresh.last_update_utc:%Y-%m-%d %H:%M}, before the one kept "
                f"({current.last_update_utc:%Y-%m-%d %H:%M})"), None
    return _scope_problem(fresh, current), fresh


def _scope_problem(fresh: x509.CertificateRevocationList,
                   current: x509.CertificateRevocationList) -> str | None:
    """Why `fresh` would revoke less than `current` though newer: a delta CRL (only what
    changed since a base, RFC 5280 section 5.2.4) or one of another scope (its Issuing
    Distribution Point, section 5.2.5) in place of the one kept, or a lower CRL number."""
    if _extension(fresh, x509.DeltaCRLIndicator) is not None \
            and _extension(current, x509.DeltaCRLIndicator) is None:
        return "a delta CRL where a complete one is kept"
    if (_extension(fresh, x509.IssuingDistributionPoint)
            != _extension(current, x509.IssuingDistributionPoint)):
        return "its Issuing Distribution Point (the certificates it covers) is not the kept one's"
    numbers = (_extension(fresh, x509.CRLNumber), _extension(current, x509.CRLNumber))
    if isinstance(numbers[0], x509.CRLNumber) and isinstance(numbers[1], x509.CRLNumber) \
            and numbers[0].crl_number < numbers[1].crl_number:
        return (f"CRL number {numbers[0].crl_number}, below the kept one's "
                f"({numbers[1].crl_number})")
    return None


def _extension(crl: x509.CertificateRevocationList, kind: type[x509.ExtensionType]
               ) -> x509.ExtensionType | None:
    try:
        return crl.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def distribution_points(certificates: Sequence[x509.Certificate],
                        issuer: x509.Name) -> list[str]:
    """The http(s) URLs where `issuer`'s CRL is published, from the CRL Distribution Points
    of the certificates it issued (RFC 5280 section 4.2.1.13), each once, in order."""
    urls = []
    for certificate in certificates:
        if certificate.issuer != issuer:
            continue
        try:
            points = certificate.extensions.get_extension_for_class(
                x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            continue
        urls += [name.value for point in points for name in point.full_name or []
                 if isinstance(name, x509.UniformResourceIdentifier)
                 and name.value.lower().startswith(("http://", "https://"))]
    return list(dict.fromkeys(urls))


def http_get(url: str, timeout: float = TIMEOUT_SECONDS, cap: int = MAX_CRL_BYTES,
             redirects: int = MAX_REDIRECTS, within: float = TOTAL_SECONDS) -> bytes:
    """The body of a 200 answer to GET `url`, refused past `cap` bytes (checked against
    Content-Length before reading, and while reading). A redirect (301, 302, 303, 307, 308:
    CAs move their CRLs, often from http to https) is followed `redirects` times at most.
    `timeout` bounds each wait for the server, `within` the whole fetch (a server that
    sends a byte now and then would otherwise hold it for as long as it likes)."""
    deadline = time.monotonic() + within
    for _hop in range(redirects + 1):
        location, body = _get(url, timeout, cap, deadline)
        if location is None:
            return body
        url = urljoin(url, location)
    raise OSError(f"more than {redirects} redirects")


def _get(url: str, timeout: float, cap: int, deadline: float) -> tuple[str | None, bytes]:
    """One GET: where a redirect points (None: not one), or the body of a 200 answer."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:   # an unusable URL, from a certificate or a Location field
        raise OSError(f"not a usable URL: {url} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise OSError(f"not an http(s) URL: {url}")
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(host, port, timeout=timeout)
        if parts.scheme == "https"
        else http.client.HTTPConnection(host, port, timeout=timeout))
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"User-Agent": USER_AGENT})
        response = connection.getresponse()
        location = response.getheader("Location")
        if response.status in _REDIRECTS and location:
            return location, b""
        if response.status != 200:
            raise OSError(f"HTTP {response.status} {response.reason}")
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise OSError(f"{declared} bytes, more than the cap of {cap} bytes")
        chunks, size = [], 0
        while chunk := response.read1(min(_CHUNK, cap + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise OSError(f"more than the cap of {cap} bytes")
            if time.monotonic() > deadline:
                raise OSError(f"not received in time ({size} bytes so far)")
        return None, b"".join(chunks)
    finally:
        connection.close()


def _as2_tables(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tables: list[Mapping[str, Any]] = []
    for entry in data.get("suppliers") or []:
        options = entry.get("as2") if isinstance(entry, dict) else None
        if isinstance(options, dict) and options.get("crls"):
            tables.append(options)
    return tables
