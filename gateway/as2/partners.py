"""AS2 partners and our AS2 identities, from the partner file (`gateway partners load`'s file).

Shape (TOML; paths are relative to the file)::

    [as2]
    max_message_bytes = 52428800        # optional: the HTTP body's cap (default 50 MiB)
    max_content_bytes = 209715200       # optional: decompressed content's cap (200 MiB)
    request_timeout_seconds = 120       # optional: the whole body must arrive within it
    mdn_url = "https://as2.buyer.example/as2"   # our endpoint, where partners asked for an
                                        # asynchronous MDN send it (needed by mdn = "async")
    certificate_warn_days = 30          # optional: IT hears of a certificate this many days
                                        # before it ends (the daily job, `gateway as2 check`)

    [[as2.stations]]                    # our AS2 identity; list one per key during rollover
    as2_id = "BUYER-AS2"
    key = "keys/as2.p12"                # PKCS#12, or a PEM private key with `certificate`
    certificate = "keys/as2.pem"        # only with a PEM key
    password_env = "GATEWAY_AS2_KEY_PASSWORD"   # optional: the key's password, from the
                                        # environment; an unencrypted key file must not be
                                        # readable by group or others

    [[suppliers]]
    code = "ACME"
    as2_id = "ACME-AS2"
    [suppliers.as2]
    certificates = ["certs/acme-2025.pem", "certs/acme-2026.pem"]  # PEM or DER; several at
                                        # once: each is used while its dates say it is valid
    ca_certificates = ["certs/acme-ca.pem"]   # optional: each certificate above must chain
                                        # to one of these (PEM, several per file, or DER)
    crls = ["certs/acme-ca.crl"]        # optional: revocation lists signed by those CAs; a
                                        # certificate they revoke is not used
    require_signed = true               # optional (default true)
    require_encrypted = false           # optional (default false)
    # Sending to the partner (the outbox's `as2` transport):
    url = "https://as2.acme.example/receive"
    sign = "sha256"                     # sha1, sha224 ... sha512, or "none" (default sha256)
    encrypt = "aes256_cbc"              # aes128_cbc, aes192_cbc, aes256_cbc, tripledes_3key,
                                        # aes128_gcm, aes192_gcm, aes256_gcm (RFC 5084)
                                        # or "none" (default aes256_cbc)
    oaep = false                        # RSA-OAEP key transport (default RSA PKCS#1 v1.5)
    pss = false                         # RSA-PSS signatures (default RSA PKCS#1 v1.5)
    compress = false
    mdn = "sync"                        # sync (default), async (to [as2] mdn_url) or none
    mdn_timeout_minutes = 60            # async: no MDN by then fails the row (default 60)
    mdn_signed = true                   # ask for a signed MDN (default true)
    station = "BUYER-AS2"               # our AS2 id towards it (default: our only one)

A partner certificate outside its validity dates is not used: a message signed with it fails
`authentication-failed`. Our keys decrypt whatever their dates (a message encrypted just
before a renewal still opens); the newest of our valid certificates signs the MDNs.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import __version__ as cryptography_version
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from gateway.as2.cms import HASHES, KeyPair
from gateway.as2.errors import UnknownPartner
from gateway.as2.mdn import MdnRequest
from gateway.as2.outgoing import ContentCipher, SendPlan
from gateway.as2.revocation import crl_problem, load_crls, revoked_among
from gateway.as2.smime import Security
from gateway.errors import ConfigurationError

DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_CONTENT_BYTES = 200 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT_SECONDS = 120.0
DEFAULT_MDN_TIMEOUT_MINUTES = 60.0
DEFAULT_WARN_DAYS = 30


@dataclass(frozen=True, slots=True)
class As2Partner:
    as2_id: str
    supplier_code: str
    certificates: tuple[x509.Certificate, ...]
    require_signed: bool = True
    require_encrypted: bool = False
    check_validity: bool = True
    url: str | None = None
    plan: SendPlan = field(default_factory=SendPlan)
    station: str | None = None  # our AS2 id towards it (default: our only one)
    # The CRLs its entry lists (gateway.as2.revocation), and the certificates they revoke:
    # listed still, never used.
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    revoked: tuple[x509.Certificate, ...] = ()

    def encryption_certificate(self, now: datetime) -> x509.Certificate | None:
        """The newest valid certificate: a renewed partner gets the new one at once."""
        return max(self.valid_certificates(now), key=lambda c: c.not_valid_before_utc,
                   default=None)

    def valid_certificates(self, now: datetime) -> list[x509.Certificate]:
        """In their dates (unless dates are not checked) and not revoked."""
        usable = [c for c in self.certificates if c not in self.revoked] if self.revoked \
            else list(self.certificates)
        if not self.check_validity:
            return usable
        return [c for c in usable if valid_at(c, now)]


@dataclass(frozen=True, slots=True)
class As2Directory:
    """Who we are (station id to key pairs) and whom we talk to (AS2 id to partner)."""

    stations: Mapping[str, tuple[KeyPair, ...]]
    partners: Mapping[str, As2Partner]
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    mdn_url: str | None = None   # our endpoint, for asynchronous MDNs to our messages
    warn_days: int = DEFAULT_WARN_DAYS   # certificates ending within it are told to IT

    def partner(self, as2_from: str, as2_to: str) -> As2Partner:
        if as2_to not in self.stations:
            raise UnknownPartner(f"AS2-To {as2_to!r} is not one of our AS2 ids")
        partner = self.partners.get(as2_from)
        if partner is None:
            raise UnknownPartner(f"AS2-From {as2_from!r} is no partner of ours")
        return partner

    def security(self, partner: As2Partner, station: str, now: datetime) -> Security:
        return Security(self.stations[station], partner.valid_certificates(now),
                        self.max_content_bytes, partner.require_signed,
                        partner.require_encrypted)

    def signer(self, station: str, now: datetime) -> KeyPair | None:
        valid = [pair for pair in self.stations.get(station, ())
                 if valid_at(pair.certificate, now)]
        return max(valid, key=lambda p: p.certificate.not_valid_before_utc, default=None)


def valid_at(certificate: x509.Certificate, now: datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


@dataclass(frozen=True, slots=True)
class ExpiryNotice:
    """A certificate of ours or of a partner that ends within the warning window."""

    whose: str              # "ours BUYER-AS2", "partner ACME-AS2"
    supplier_code: str | None
    fingerprint: str        # SHA-256 of the certificate, hex
    subject: str
    not_after: datetime
    days_left: int


def expiring(directory: As2Directory, now: datetime, within_days: int) -> list[ExpiryNotice]:
    """Every certificate that ends within `within_days` (or has ended), ours and the
    partners', a renewed one beside it or not: IT removes the old one once it is done."""
    found: list[tuple[str, str | None, x509.Certificate]] = [
        (f"ours {station}", None, pair.certificate)
             for station, pairs in directory.stations.items() for pair in pairs]
    found += [(f"partner {as2_id}", partner.supplier_code, certificate)
              for as2_id, partner in directory.partners.items() if partner.check_validity
              for certificate in partner.certificates]
    notices = []
    for whose, supplier, certificate in found:
        days_left = (certificate.not_valid_after_utc - now).days
        if days_left <= within_days:
            notices.append(ExpiryNotice(
                whose, supplier, certificate.fingerprint(hashes.SHA256()).hex(),
                certificate.subject.rfc4514_string(), certificate.not_valid_after_utc,
                days_left))
    return notices


def describe_certificate(certificate: x509.Certificate, now: datetime) -> str:
    """One line: whose, which serial, its dates, and whether it is valid now."""
    state = "valid" if valid_at(certificate, now) else "NOT VALID NOW"
    return (f"{certificate.subject.rfc4514_string()} serial {certificate.serial_number:x}, "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}, {state}")


def directory_from_file(path: Path, env: Mapping[str, str]) -> As2Directory:
    """Read the `[as2]` table and the suppliers' `as2` tables of a TOML partner file."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    return directory_from_mapping(data, path.parent, env)


def directory_from_mapping(data: Mapping[str, Any], base: Path, env: Mapping[str, str]
                           ) -> As2Directory:
    section = data.get("as2") or {}
    stations: dict[str, tuple[KeyPair, ...]] = {}
    for entry in section.get("stations", []):
        as2_id = _text(entry, "as2_id", "as2.stations")
        stations[as2_id] = (*stations.get(as2_id, ()), _station_key(entry, base, env))
    mdn_url = str(section["mdn_url"]) if section.get("mdn_url") else None
    if mdn_url is not None and not mdn_url.lower().startswith(("http://", "https://")):
        raise ConfigurationError(f"as2: mdn_url must be an http(s) URL, not {mdn_url!r}")
    partners = {}
    for entry in data.get("suppliers", []) or []:
        if isinstance(entry, dict) and entry.get("as2_id") and entry.get("as2"):
            partner = _partner(entry, base, mdn_url)
            if partner.station is not None and partner.station not in stations:
                raise ConfigurationError(
                    f"supplier {partner.supplier_code}: as2: station {partner.station!r} is "
                    f"not one of our AS2 ids ({', '.join(stations) or 'none'})")
            partners[partner.as2_id] = partner
    return As2Directory(stations, partners,
                        int(section.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)),
                        int(section.get("max_content_bytes", DEFAULT_MAX_CONTENT_BYTES)),
                        float(section.get("request_timeout_seconds",
                                          DEFAULT_REQUEST_TIMEOUT_SECONDS)),
                        mdn_url, _warn_days(section))


def _warn_days(section: Mapping[str, Any]) -> int:
    days = section.get("certificate_warn_days", DEFAULT_WARN_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise ConfigurationError("as2: certificate_warn_days must be a whole number of days "
                                 "from 0 to 3650")
    return days


def _partner(entry: Mapping[str, Any], base: Path, mdn_url: str | None) -> As2Partner:
    options = entry["as2"]
    where = f"supplier {entry.get('code')}: as2"
    paths = options.get("certificates") or []
    if not paths:
        raise ConfigurationError(f"{where}: `certificates` names none")
    unknown = set(options) - PARTNER_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}; allowed: "
                                 f"{', '.join(sorted(PARTNER_KEYS))}")
    certificates = tuple(load_certificate(base / p) for p in paths)
    authorities = [ca for name in options.get("ca_certificates") or []
                   for ca in load_certificates(base / str(name))]
    for name, certificate in zip(paths, certificates, strict=True):
        problem = chain_problem(certificate, authorities) if authorities else None
        if problem is not None:
            raise ConfigurationError(f"{where}: {base / name}: {problem}")
    crls = _crls(options, base, authorities, where)
    url = str(options["url"]) if options.get("url") else None
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ConfigurationError(f"{where}: url must be an http(s) URL, not {url!r}")
    return As2Partner(str(entry["as2_id"]), str(entry["code"]), certificates,
                      flag(options, "require_signed", True, where),
                      flag(options, "require_encrypted", False, where),
                      url=url,
                      plan=send_plan(options, where, mdn_url),
                      station=str(options["station"]) if options.get("station") else None,
                      crls=crls, revoked=revoked_among(certificates, crls, authorities))


def _crls(options: Mapping[str, Any], base: Path, authorities: list[x509.Certificate],
          where: str) -> tuple[x509.CertificateRevocationList, ...]:
    """The entry's CRLs, each signed by one of its `ca_certificates` (a CRL is trusted as
    its CA's signature, so an entry without CAs lists none)."""
    names = options.get("crls") or []
    if names and not authorities:
        raise ConfigurationError(f"{where}: crls needs ca_certificates: a CRL is checked "
                                 "against the CA that signed it")
    found = []
    for name in names:
        path = base / str(name)
        for crl in load_crls(path, _read(path)):
            problem = crl_problem(crl, authorities)
            if problem is not None:
                raise ConfigurationError(f"{where}: {path}: {problem}")
            found.append(crl)
    return tuple(found)


PARTNER_KEYS = frozenset({"certificates", "require_signed", "require_encrypted", "url", "sign",
                          "encrypt", "oaep", "pss", "compress", "mdn", "mdn_signed", "station",
                          "mdn_timeout_minutes", "ca_certificates", "crls"})


def flag(options: Mapping[str, Any], name: str, default: bool, where: str) -> bool:
    """A yes-or-no key: TOML's true or false, nothing else (the text "false" would be
    true to Python)."""
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: {name} must be true or false, not {value!r}")
    return value


def send_plan(options: Mapping[str, Any], where: str, mdn_url: str | None = None
              ) -> SendPlan:
    """What a message to the partner is made of, from its `as2` table (`mdn_url`: the
    `[as2]` table's, where an asynchronous MDN is asked to go)."""
    sign = str(options.get("sign", "sha256")).lower().replace("-", "")
    if sign not in (*HASHES, "none"):
        raise ConfigurationError(f"{where}: sign must be one of {', '.join(HASHES)} or none")
    cipher = str(options.get("encrypt", ContentCipher.AES256_CBC.value)).lower()
    if cipher not in (*(c.value for c in ContentCipher), "none"):
        raise ConfigurationError(f"{where}: encrypt must be one of "
                                 f"{', '.join(c.value for c in ContentCipher)} or none")
    mdn = str(options.get("mdn", "sync"))
    if mdn not in ("sync", "async", "none"):
        raise ConfigurationError(f"{where}: mdn must be sync, async or none")
    if mdn == "async" and mdn_url is None:
        raise ConfigurationError(f"{where}: mdn = \"async\" needs `mdn_url` in the [as2] "
                                 "table: our endpoint's URL, where the partner sends it")
    timeout = options.get("mdn_timeout_minutes", DEFAULT_MDN_TIMEOUT_MINUTES)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
            or not 0 < timeout < math.inf:
        raise ConfigurationError(f"{where}: mdn_timeout_minutes must be a positive number")
    signed = None if sign == "none" else sign
    return SendPlan(signed, None if cipher == "none" else ContentCipher(cipher),
                    flag(options, "oaep", False, where), flag(options, "compress", False, where),
                    None if mdn == "none" else MdnRequest(
                        True, flag(options, "mdn_signed", True, where), signed or "sha256",
                        mdn_url if mdn == "async" else None),
                    float(timeout), flag(options, "pss", False, where))


def _station_key(entry: Mapping[str, Any], base: Path, env: Mapping[str, str]) -> KeyPair:
    key_path = base / _text(entry, "key", "as2.stations")
    password_env = entry.get("password_env")
    password = env.get(str(password_env), "").encode() if password_env else None
    if not password:
        _check_private(key_path)
    raw = _read(key_path)
    if "certificate" not in entry:
        return pkcs12_pair(raw, password, key_path)
    try:
        key = load_pem_private_key(raw, password)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{key_path}: not a PEM private key for that password: "
                                 f"{exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{key_path}: AS2 keys are RSA keys")
    certificate_path = base / str(entry["certificate"])
    certificate = load_certificate(certificate_path)
    if certificate.public_key() != key.public_key():
        # A renewal that replaced one of the two files and not yet the other: signing with
        # it would give MDNs and messages no partner can verify.
        raise ConfigurationError(f"{certificate_path}: not the certificate of the key "
                                 f"{key_path}")
    return KeyPair(key, certificate)


def pkcs12_pair(raw: bytes, password: bytes | None, where: Path) -> KeyPair:
    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(raw, password)
    except ValueError as exc:
        raise ConfigurationError(f"{where}: not a PKCS#12 file for that password") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
        raise ConfigurationError(f"{where}: a PKCS#12 file with an RSA key and its "
                                 "certificate is needed")
    return KeyPair(key, certificate)


def read_certificate_file(path: Path, password: bytes | None
                          ) -> tuple[x509.Certificate, rsa.RSAPrivateKey | None]:
    """A certificate from PEM, DER or PKCS#12 (with its key, when the file holds one)."""
    raw = _read(path)
    if b"-----BEGIN" in raw or (raw[:1] == b"0" and _is_der_certificate(raw)):
        return load_certificate(path), None
    pair = pkcs12_pair(raw, password, path)
    return pair.certificate, pair.key


def _is_der_certificate(raw: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(raw)
    except ValueError:
        return False
    return True


def load_certificate(path: Path) -> x509.Certificate:
    raw = _read(path)
    try:
        if b"-----BEGIN" in raw:
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: not a PEM or DER certificate") from exc


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM file (a CA bundle), or the one of a DER file."""
    raw = _read(path)
    try:
        if b"-----BEGIN" in raw:
            return x509.load_pem_x509_certificates(raw)
        return [x509.load_der_x509_certificate(raw)]
    except ValueError as exc:
        raise ConfigurationError(f"{path}: not PEM or DER certificates") from exc


def chain_problem(certificate: x509.Certificate, authorities: list[x509.Certificate]
                  ) -> str | None:
    """Why `certificate` does not chain to one of `authorities` (RFC 5280 path validation by
    cryptography's `x509.verification`), or None. The CAs' extensions are held to the Web
    PKI's rules; the partner's own certificate to none (AS2 signing certificates carry no
    TLS names or usages). Checked at a moment within the certificate's own dates: whether it
    is in its dates is decided when it is used (`valid_certificates`)."""
    try:   # ExtensionPolicy came with cryptography 45; the project allows 44
        from cryptography.x509.verification import (
            ExtensionPolicy,
            PolicyBuilder,
            Store,
            VerificationError,
        )
    except ImportError:
        raise ConfigurationError("ca_certificates needs cryptography 45 or later (installed: "
                                 f"{cryptography_version})") from None
    moment = min(max(datetime.now(UTC), certificate.not_valid_before_utc),
                 certificate.not_valid_after_utc)
    verifier = (PolicyBuilder().store(Store(authorities)).time(moment)
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verifier.verify(certificate, [])
    except VerificationError as exc:
        return f"not issued by a CA in ca_certificates ({exc})"
    return None


def _check_private(path: Path) -> None:
    """A key kept unencrypted must be readable by its owner only."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path}: a private key without a password must not be "
                                 f"readable by group or others (chmod 600; mode is "
                                 f"{oct(mode & 0o777)})")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}: `{key}` is required")
    return value

