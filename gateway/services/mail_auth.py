"""Sender authentication of archived mail, between the channel's commit and processing.

The checks ask DNS (DKIM keys, SPF and DMARC records): seconds, at worst, per message. They
run here, outside any transaction, so neither the SMTP 250 (which waits only for the archive's
commit) nor the processing transaction (which holds the SQLite write lock and, on PostgreSQL,
the order lines' row locks) waits for DNS: one read of the messages not yet checked, the
checks, one short write of the verdicts. Processing then reads the stored verdict
(`gateway.services.processing`). A verdict is kept once written: a replay or release judges
the message by what was true when it arrived, as an Authentication-Results field would.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, null, select, update
from sqlalchemy.orm import Session

from gateway.config import MailAuthSettings
from gateway.domain.messages import MessageState
from gateway.mailauth.verdict import DEFAULT_POLICY, MAIL_CHANNELS, Method, Verdict
from gateway.mailauth.verify import DnsLookup, SenderVerifier, SmtpFacts
from gateway.persistence.bulk import write_many
from gateway.persistence.models import InboundMessage
from gateway.persistence.queries import chunked
from gateway.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Authenticate = Callable[[UnitOfWork, list[int]], int]
# A message is checked on its way into processing: a new one, or one IT releases or retries.
_CHECKED_STATES = (MessageState.RECEIVED.value, MessageState.QUARANTINED.value,
                   MessageState.FAILED.value)


@dataclass(frozen=True, slots=True)
class SenderAuthentication:
    verifier: SenderVerifier
    # Stored with each verdict: the policy for partners that name none (GATEWAY_MAIL_AUTH).
    default_policy: str = DEFAULT_POLICY

    @classmethod
    def from_settings(cls, settings: MailAuthSettings,
                      lookup: DnsLookup | None = None) -> SenderAuthentication:
        """`lookup` None: the system's DNS resolvers."""
        from gateway.mailauth.dns import public_suffix_organizational, system_lookup

        relays = tuple(ipaddress.ip_network(r, strict=False) for r in settings.trusted_relays)
        return cls(SenderVerifier(lookup or system_lookup(settings.dns_timeout),
                                  public_suffix_organizational(),
                                  settings.trusted_authserv_ids, relays),
                   settings.default_policy)

    def __call__(self, transaction: UnitOfWork, message_ids: list[int]) -> int:
        """Check the mail among `message_ids` that is on its way into processing and has no
        verdict yet; returns how many were checked."""
        pending = self._pending(transaction, message_ids)
        verdicts = [(message_id, self._verify(message_id, raw, facts))
                    for message_id, raw, facts in pending]
        if not verdicts:
            return 0
        with transaction() as session:
            write_many(session.connection(),
                       update(InboundMessage)
                       .where(InboundMessage.id == bindparam("_id"),
                              InboundMessage.authentication.is_(None))
                       .values(authentication=bindparam("authentication")),
                       [{"_id": message_id, "authentication": {
                           **verdict.as_json(), "default_policy": self.default_policy}}
                        for message_id, verdict in verdicts])
        for message_id, verdict in verdicts:
            log.info("message #%d sender authentication: %s", message_id, verdict.summary(),
                     extra={"message_id": message_id, "dmarc": verdict.dmarc})
        return len(verdicts)

    def _verify(self, message_id: int, raw: bytes, facts: SmtpFacts | None) -> Verdict:
        """The bytes are the sender's: whatever dkimpy or pyspf raise on them is this
        message's `permerror`, recorded with the verdict, never a stopped worker."""
        try:
            return self.verifier.verify(raw, facts)
        except Exception as exc:  # noqa: BLE001 - recorded as the message's verdict below
            log.warning("message #%d: sender check failed (%s)", message_id,
                        type(exc).__name__, extra={"message_id": message_id})
            return Verdict(Method.LOCAL, None, dmarc="permerror",
                           note=f"the check failed: {type(exc).__name__}")

    @staticmethod
    def _pending(transaction: UnitOfWork,
                 message_ids: list[int]) -> list[tuple[int, bytes, SmtpFacts | None]]:
        found: list[tuple[int, bytes, SmtpFacts | None]] = []
        with transaction() as session:
            for batch in chunked(sorted(set(message_ids))):
                for message_id, channel, raw, sender, envelope in session.execute(
                        select(InboundMessage.id, InboundMessage.channel, InboundMessage.raw,
                               InboundMessage.sender, InboundMessage.envelope)
                        .where(InboundMessage.id.in_(batch),
                               InboundMessage.state.in_(_CHECKED_STATES),
                               InboundMessage.channel.in_(sorted(MAIL_CHANNELS)),
                               InboundMessage.authentication.is_(None))):
                    found.append((message_id, bytes(raw),
                                  _facts(sender, envelope) if channel == "smtp" else None))
        return found


def _facts(sender: str, envelope: dict[str, Any] | None) -> SmtpFacts:
    envelope = envelope or {}
    return SmtpFacts(envelope.get("client_ip"), envelope.get("helo"), sender,
                     tuple(envelope.get("recipients") or ()))


def forget_spoiled_verdict(session: Session, message_id: int) -> bool:
    """Drop a verdict that a DNS outage spoiled (a `temperror`, RFC 7489 section 6.6.2: the
    receiver may try again later) so that a release checks the message again. Any other
    verdict stands. Returns whether one was dropped."""
    stored = session.scalar(select(InboundMessage.authentication)
                            .where(InboundMessage.id == message_id))
    if not stored or Verdict.from_json(stored).dmarc != "temperror":
        return False
    session.execute(update(InboundMessage).where(InboundMessage.id == message_id)
                    .values(authentication=null()))   # SQL NULL, not JSON null
    return True
