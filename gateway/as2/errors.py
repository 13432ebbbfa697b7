"""Errors of an AS2 message (RFC 4130): each knows the MDN disposition modifier it is answered
with (section 7.4.3), the way an SMTP error knows its reply code.

Exception tree::

    As2Error                        root; modifier unexpected-processing-error
    ├── UnknownPartner              unknown-trading-partner: AS2-From/AS2-To not configured
    ├── InsufficientSecurity        insufficient-message-security: unsigned or unencrypted
    │                               where the partner's entry requires it
    ├── DecryptionFailed            decryption-failed: no key of ours opens it, bad padding,
    │                               a GCM tag that does not check
    ├── AuthenticationFailed        authentication-failed: not signed by a valid certificate
    │                               of the partner, or the signature does not verify
    ├── IntegrityCheckFailed        integrity-check-failed: the content's digest differs from
    │                               the signed one (the content was changed on the way)
    └── MalformedMessage            unexpected-processing-error: bytes that are not the MIME or
        └── TooLarge                CMS they claim to be, layers nested too deep, over a cap

None is retryable: the same bytes fail the same way. Third-party errors (cryptography,
asn1crypto, zlib) are translated where they are raised.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.errors import GatewayError


class DispositionModifier(StrEnum):
    """RFC 4130 section 7.4.3 (with RFC 3798's `processed/error` syntax)."""

    AUTHENTICATION_FAILED = "authentication-failed"
    DECRYPTION_FAILED = "decryption-failed"
    INSUFFICIENT_MESSAGE_SECURITY = "insufficient-message-security"
    INTEGRITY_CHECK_FAILED = "integrity-check-failed"
    UNKNOWN_TRADING_PARTNER = "unknown-trading-partner"
    UNEXPECTED_PROCESSING_ERROR = "unexpected-processing-error"


class As2Error(GatewayError):
    modifier = DispositionModifier.UNEXPECTED_PROCESSING_ERROR


class UnknownPartner(As2Error):
    modifier = DispositionModifier.UNKNOWN_TRADING_PARTNER


class InsufficientSecurity(As2Error):
    modifier = DispositionModifier.INSUFFICIENT_MESSAGE_SECURITY


class DecryptionFailed(As2Error):
    modifier = DispositionModifier.DECRYPTION_FAILED


class AuthenticationFailed(As2Error):
    modifier = DispositionModifier.AUTHENTICATION_FAILED


class IntegrityCheckFailed(As2Error):
    modifier = DispositionModifier.INTEGRITY_CHECK_FAILED


class MalformedMessage(As2Error):
    pass


class TooLarge(MalformedMessage):
    pass
