"""Certificate revocation lists (CRLs, RFC 5280 section 5) a partner's entry lists
(`crls`, files beside the partner file): each must be signed by one of the entry's
`ca_certificates`, and a partner certificate a CRL of its issuer names is not used, as an
expired one is not (`As2Partner.valid_certificates`). A CRL past its nextUpdate still
counts (what it revokes stays revoked) and is reported by `gateway as2 check`. The files are
read again when they change, with the partner file (`reload.PartnerFileWatch`); `gateway as2
crls fetch` (`gateway.services.as2_crls`) fetches them again from the CAs' distribution points.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from gateway.errors import ConfigurationError

# The keys a CA signs with (cryptography's CertificateIssuerPublicKeyTypes).
_ISSUER_KEYS = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, dsa.DSAPublicKey,
                ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


def load_crls(path: Path, raw: bytes) -> list[x509.CertificateRevocationList]:
    """Every CRL of a PEM file (several may follow each other), or the one of a DER file."""
    try:
        if b"-----BEGIN" in raw:
            found = [x509.load_pem_x509_crl(block) for block in _PEM_CRL.findall(raw)]
            if not found:
                raise ValueError("no X509 CRL block")
            return found
        return [x509.load_der_x509_crl(raw)]
    except ValueError as exc:
        raise ConfigurationError(f"{path}: not a PEM or DER certificate revocation list "
                                 f"({exc})") from exc


def crl_problem(crl: x509.CertificateRevocationList,
                authorities: Sequence[x509.Certificate]) -> str | None:
    """Why `crl` is not to be trusted (not signed by one of `authorities`), or None."""
    for authority in authorities:
        public_key = authority.public_key()
        if authority.subject != crl.issuer or not isinstance(public_key, _ISSUER_KEYS):
            continue
        try:
            if crl.is_signature_valid(public_key):
                return None
        except UnsupportedAlgorithm as exc:
            return f"its signature cannot be checked ({exc})"
    weak = _weak_hash(crl)
    if weak is not None:   # cryptography no longer checks these: never a valid signature
        return (f"signed with {weak}, whose signatures are no longer checked: ask the CA "
                "for a CRL signed with SHA-256 or better")
    return (f"not signed by a CA in ca_certificates (issuer "
            f"{crl.issuer.rfc4514_string()})")


def _weak_hash(crl: x509.CertificateRevocationList) -> str | None:
    try:
        algorithm = crl.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name.upper() if isinstance(algorithm, hashes.SHA1 | hashes.MD5) \
        else None


def revoked_among(certificates: Iterable[x509.Certificate],
                  crls: Sequence[x509.CertificateRevocationList],
                  authorities: Sequence[x509.Certificate] = ()
                  ) -> tuple[x509.Certificate, ...]:
    """The certificates a CRL of their own issuer revokes (a serial number is unique per
    issuer only, RFC 5280 section 4.1.2.2), and those issued by one of `authorities` that is
    revoked itself, or is below one that is (RFC 5280 section 6.1.3: each certificate of the
    path is checked)."""
    fallen = _revoked_authorities(authorities, crls)
    return tuple(certificate for certificate in certificates
                 if _listed(certificate, crls)
                 or any(_issued_by(certificate, ca) for ca in fallen))


def _revoked_authorities(authorities: Sequence[x509.Certificate],
                         crls: Sequence[x509.CertificateRevocationList]
                         ) -> list[x509.Certificate]:
    fallen = [ca for ca in authorities if _listed(ca, crls)]
    below = fallen
    while below:   # an intermediate CA issued by a revoked one falls with it
        below = [ca for ca in authorities if ca not in fallen
                 and any(_issued_by(ca, above) for above in below)]
        fallen += below
    return fallen


def _listed(certificate: x509.Certificate,
            crls: Sequence[x509.CertificateRevocationList]) -> bool:
    return any(crl.issuer == certificate.issuer
               and crl.get_revoked_certificate_by_serial_number(
                   certificate.serial_number) is not None for crl in crls)


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    if certificate.issuer != ca.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def out_of_date(crl: x509.CertificateRevocationList, now: datetime) -> bool:
    """Past its nextUpdate: the CA has issued a newer one by now (RFC 5280 section 5.1.2.5)."""
    next_update = crl.next_update_utc
    return next_update is not None and next_update < now


def describe_crl(crl: x509.CertificateRevocationList, now: datetime) -> str:
    """One line: whose, when issued, until when, how many revoked, whether out of date."""
    next_update = crl.next_update_utc
    state = "OUT OF DATE" if out_of_date(crl, now) else "current"
    return (f"CRL of {crl.issuer.rfc4514_string()}, {crl.last_update_utc:%Y-%m-%d}"
            f" to {f'{next_update:%Y-%m-%d}' if next_update else 'no next update'},"
            f" {len(crl)} revoked, {state}")
