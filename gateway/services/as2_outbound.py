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
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gateway.as2.errors import As2Error
from gateway.as2.mdn import read_receipt
from gateway.as2.outgoing import pack
from gateway.as2.partners import As2Directory, As2Partner
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.errors import ConfigurationError
from outbound.errors import PermanentDelivery
from outbound.transports.base import Outgoing

MIC_INSTRUCTION = "X-Gateway-AS2-MIC"
# An asynchronous MDN was asked for: seconds to wait for it once the message is taken.
MDN_WITHIN_INSTRUCTION = "X-Gateway-AS2-MDN-Within"


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
        if partner.plan.mdn.async_url is not None:
            # RFC 4130 section 7.3: the MDN is POSTed to this URL later, the HTTP answer to
            # the message itself carries none.
            headers.append(("Receipt-Delivery-Option", partner.plan.mdn.async_url))
            headers.append((MDN_WITHIN_INSTRUCTION,
                            f"{partner.plan.mdn_timeout_minutes * 60:.0f}"))
    content_type_field = next(v for k, v in packed.headers if k.lower() == "content-type")
    return OutboundDraft(kind, Transport.AS2, partner.url, packed.body, wire_id, reason,
                         sender=station, content_type=content_type_field.split(";")[0],
                         headers=tuple(headers), supplier_code=partner.supplier_code,
                         message_id=message_id)


def mdn_check(directory: As2Directory | Callable[[], As2Directory],
              clock: Callable[[], datetime]
              ) -> Callable[[Outgoing, dict[str, str], list[tuple[str, str]], bytes], str]:
    """The transport's check of a partner's synchronous MDN (`directory`: the partner
    tables, or what gives the ones in service, a `PartnerFileWatch`)."""
    directories = _directories(directory)

    def check(message: Outgoing, instructions: dict[str, str],
              headers: list[tuple[str, str]], body: bytes) -> str:
        sent = {k.lower(): v for k, v in message.headers}
        if "disposition-notification-to" not in sent:
            return "no MDN asked"
        return judge_receipt(directories(), sent, instructions.get("mic", ""), headers, body,
                             clock())

    return check


def judge_receipt(directory: As2Directory, sent: Mapping[str, str], our_mic: str,
                  headers: list[tuple[str, str]], body: bytes, now: datetime) -> str:
    """What a partner's MDN (synchronous or asynchronous) says of the message we sent
    (`sent`: its header fields, names in lower case): a line for the attempt's record, or
    `PermanentDelivery` with the reason the row fails (not signed by a valid certificate of
    the partner when a signed MDN was asked, another Original-Message-ID, an error
    disposition, another MIC: RFC 4130 section 7.3.1)."""
    try:
        partner = directory.partner(sent["as2-to"], sent["as2-from"])
        receipt = read_receipt(headers, body, partner.valid_certificates(now),
                               require_signed=partner.plan.mdn is not None
                               and partner.plan.mdn.signed)
    except As2Error as exc:
        raise PermanentDelivery(f"the MDN is refused: {exc}") from None
    if receipt.original_message_id.strip() != sent["message-id"]:
        raise PermanentDelivery(f"the MDN answers {receipt.original_message_id[:100]!r}, "
                                f"not {sent['message-id']}")
    if receipt.is_error:
        raise PermanentDelivery(f"the partner answered {receipt.disposition[:200]}")
    if not receipt.mic_matches(our_mic):
        raise PermanentDelivery(f"the MDN's MIC {str(receipt.mic)[:100]} is not ours "
                                f"({our_mic}): the partner did not get what was sent")
    return f"MDN {receipt.disposition[:200]}, MIC matches"


class As2Routes:
    """The AS2 route of acknowledgements (`gateway.services.acknowledgements.As2Route`):
    a supplier whose partner entry has a `url` gets them by AS2, from our only AS2 id (or
    the partner's `station`)."""

    def __init__(self, directory: As2Directory | Callable[[], As2Directory]) -> None:
        """`directory`: the partner tables, or what gives the ones in service (a
        `PartnerFileWatch`: a partner added or renewed is used without a restart)."""
        self._directories = _directories(directory)
        self._indexed: tuple[As2Directory, dict[str, As2Partner]] | None = None

    @property
    def directory(self) -> As2Directory:
        return self._directories()

    def _by_supplier(self, directory: As2Directory) -> dict[str, As2Partner]:
        """Its partners with a `url` by supplier code, indexed once per directory."""
        if self._indexed is None or self._indexed[0] is not directory:
            self._indexed = (directory, {p.supplier_code: p for p in directory.partners.values()
                                         if p.url is not None})
        return self._indexed[1]

    def knows(self, supplier: str) -> bool:
        return supplier in self._by_supplier(self.directory)

    def __call__(self, supplier: str, interchange: bytes, kind: OutboundKind, reason: str,
                 message_id: int, filename: str, prepared: datetime,
                 content_type: str = "application/edifact") -> OutboundDraft | None:
        directory = self.directory
        partner = self._by_supplier(directory).get(supplier)
        if partner is None:
            return None
        station = partner.station or next(iter(directory.stations), None)
        if station is None:
            raise ConfigurationError("AS2 partners are configured, and no [[as2.stations]]")
        return as2_draft(directory, partner.as2_id, station, interchange, kind, reason,
                         prepared, filename=filename, content_type=content_type,
                         message_id=message_id)


def as2_route_info(env: Mapping[str, str]) -> dict[str, Any]:
    """What a session factory carries so that acknowledgements go by AS2 to AS2 partners
    (`session.info`), when GATEWAY_AS2_PARTNERS names the partner file."""
    path = env.get("GATEWAY_AS2_PARTNERS")
    if not path:
        return {}
    from pathlib import Path

    from gateway.as2.reload import PartnerFileWatch
    from gateway.services.acknowledgements import AS2_ROUTE

    return {AS2_ROUTE: As2Routes(PartnerFileWatch(Path(path), env))}


def _directories(directory: As2Directory | Callable[[], As2Directory]
                 ) -> Callable[[], As2Directory]:
    if isinstance(directory, As2Directory):
        return lambda: directory
    return directory


def _safe(as2_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in as2_id)[:60] or "as2"
