"""EDI to AS2 partners through the outbox: the draft built (compressed, signed, encrypted
as the partner's entry says) in the transaction of the decision, and the check of the MDN
the partner answers, which the outbox's `as2` transport (`outbound/transports/as2.py`) calls.

The MDN decides the row: `processed` (or `processed/warning`) with our MIC is `sent`; an
error disposition, an MDN not signed when one was asked, a signature that does not verify
with the partner's certificates, another Original-Message-ID or another MIC is a permanent
failure, which makes the row `failed` and opens `OUTBOUND_FAILED` for IT.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from gateway.as2.errors import As2Error
from gateway.as2.mdn import read_receipt
from gateway.as2.outgoing import pack
from gateway.as2.partners import As2Directory
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.errors import ConfigurationError
from outbound.errors import PermanentDelivery
from outbound.transports.base import Outgoing

MIC_INSTRUCTION = "X-Gateway-AS2-MIC"


def as2_draft(directory: As2Directory, partner_id: str, station: str, payload: bytes,
              kind: OutboundKind, reason: str, now: datetime, filename: str = "message.edi",
              content_type: str = "application/edifact", message_id: int | None = None,
              ) -> OutboundDraft:
    """The outbox row for `payload` to the AS2 partner `partner_id`, from our id `station`."""
    partner = directory.partner(partner_id, station)
    if partner.url is None:
        raise ConfigurationError(f"AS2 partner {partner_id} has no url to send to")
    packed = pack(payload, content_type, filename, partner.plan,
                  directory.signer(station, now), partner.encryption_certificate(now))
    wire_id = f"{secrets.token_hex(16)}@{_safe(station)}"
    headers = [("AS2-Version", "1.2"), ("AS2-From", station), ("AS2-To", partner_id),
               ("Message-ID", f"<{wire_id}>"), ("MIME-Version", "1.0"), *packed.headers]
    if partner.plan.mdn is not None:
        micalg = partner.plan.mdn.micalg
        headers.append(("Disposition-Notification-To", station))
        if partner.plan.mdn.signed:
            headers.append(("Disposition-Notification-Options",
                            "signed-receipt-protocol=optional, pkcs7-signature; "
                            f"signed-receipt-micalg=optional, {micalg}"))
        headers.append((MIC_INSTRUCTION, packed.mic))
    content_type_field = next(v for k, v in packed.headers if k.lower() == "content-type")
    return OutboundDraft(kind, Transport.AS2, partner.url, packed.body, wire_id, reason,
                         sender=station, content_type=content_type_field.split(";")[0],
                         headers=tuple(headers), supplier_code=partner.supplier_code,
                         message_id=message_id)


def mdn_check(directory: As2Directory, clock: Callable[[], datetime]
              ) -> Callable[[Outgoing, dict[str, str], list[tuple[str, str]], bytes], str]:
    """The transport's check of a partner's synchronous MDN."""

    def check(message: Outgoing, instructions: dict[str, str],
              headers: list[tuple[str, str]], body: bytes) -> str:
        sent = {k.lower(): v for k, v in message.headers}
        if "disposition-notification-to" not in sent:
            return "no MDN asked"
        try:
            partner = directory.partner(sent["as2-to"], sent["as2-from"])
            receipt = read_receipt(headers, body, partner.valid_certificates(clock()),
                                   require_signed=partner.plan.mdn is not None
                                   and partner.plan.mdn.signed)
        except As2Error as exc:
            raise PermanentDelivery(f"the MDN is refused: {exc}") from None
        if receipt.original_message_id.strip() != sent["message-id"]:
            raise PermanentDelivery(f"the MDN answers {receipt.original_message_id[:100]!r}, "
                                    f"not {sent['message-id']}")
        if receipt.is_error:
            raise PermanentDelivery(f"the partner answered {receipt.disposition[:200]}")
        if not receipt.mic_matches(instructions.get("mic", "")):
            raise PermanentDelivery(f"the MDN's MIC {str(receipt.mic)[:100]} is not ours "
                                    f"({instructions.get('mic')}): the partner did not get "
                                    "what was sent")
        return f"MDN {receipt.disposition[:200]}, MIC matches"

    return check


def _safe(as2_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in as2_id)[:60] or "as2"
