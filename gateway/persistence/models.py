"""SQLAlchemy 2 models: the database is the source of truth for every message's progress.

Lineage (CONVENTIONS.md): inbound message -> documents -> line versions and exceptions, each
row pointing at its parent. Status columns hold `StrEnum` values by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; on SQLite, which has no decimal type, the exact decimal text."""

    impl = Numeric(38, 12)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(38, 12))

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        # On SQLite one plain function per value, not TypeDecorator's two calls: these columns
        # are read and written for every order line a message touches. SQLite's String has no
        # processor of its own to chain.
        if dialect.name == "sqlite":
            return _decimal_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect,
                         coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _text_decimal
        if dialect.name == "postgresql" and self.impl_instance.dialect_impl(
                dialect).result_processor(dialect, coltype) is None:
            # psycopg returns a Decimal already: one function per value instead of
            # TypeDecorator's two (order lines are read by the thousand per batch).
            return _unpadded
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return _decimal_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        result = Decimal(value) if not isinstance(value, Decimal) else value
        if dialect.name == "sqlite":
            return result
        # NUMERIC(38, 12) pads to twelve places: drop the padding, never into an exponent.
        return Decimal(format(result.normalize(), "f"))


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _unpadded(value: Decimal | None) -> Decimal | None:
    """NUMERIC(38, 12) pads to twelve places: drop the padding, never into an exponent."""
    if value is None:
        return None
    result = value if isinstance(value, Decimal) else Decimal(value)
    return Decimal(format(result.normalize(), "f"))


def _text_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    buyer_contact: Mapped[str | None] = mapped_column(String(200))
    profile_name: Mapped[str | None] = mapped_column(String(64))
    # How its sheets and emails are read (partner file `reading`, see
    # `gateway.services.reading_profiles`); None: the built-in column names and evidence.
    reading: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Sender authentication of its mail (partner file `mail_auth`: required, preferred, none);
    # None: the configured default (gateway.mailauth.verdict.MailAuthPolicy).
    mail_auth: Mapped[str | None] = mapped_column(String(16))
    # The language of replies and reminders to it (partner file `language`: en, de, zh;
    # None: English), and whether and how often it is reminded of missing confirmations
    # (`reminders`, `reminder_every_days`, `reminder_max`; gateway.services.reminders).
    language: Mapped[str | None] = mapped_column(String(8))
    reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reminder_every_days: Mapped[int | None] = mapped_column(Integer)
    reminder_max: Mapped[int | None] = mapped_column(Integer)
    # EDIFACT acknowledgements it wants (partner file `contrl`, `aperak`: always, on_error,
    # never); None: never (gateway.services.acknowledgements.AckPolicy).
    contrl: Mapped[str | None] = mapped_column(String(16))
    aperak: Mapped[str | None] = mapped_column(String(16))
    # The X12 functional acknowledgement it wants for each group received (partner file
    # `functional_ack`: 997 or 999); None: none (gateway.services.x12_acks).
    functional_ack: Mapped[str | None] = mapped_column(String(8))


class InterchangeCounterRow(Base):
    """The last interchange control reference (UNB 0020) used towards each partner: the next
    acknowledgement takes the next number, and no number is used twice."""

    __tablename__ = "interchange_counters"

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_reference: Mapped[int] = mapped_column(Integer)


class SupplierIdentity(Base):
    """How a supplier shows up: email address, mail domain, EDI party id, AS2 id."""

    __tablename__ = "supplier_identities"
    __table_args__ = (UniqueConstraint("kind", "value", "qualifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    qualifier: Mapped[str] = mapped_column(String(16), default="")


class ToleranceProfileRow(Base):
    """One version of a tolerance profile; a change adds a version, never rewrites one."""

    __tablename__ = "tolerance_profiles"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    qty_under_pct: Mapped[Decimal] = mapped_column(ExactDecimal())
    qty_under_abs: Mapped[Decimal] = mapped_column(ExactDecimal())
    qty_over_pct: Mapped[Decimal] = mapped_column(ExactDecimal())
    qty_over_abs: Mapped[Decimal] = mapped_column(ExactDecimal())
    date_early_warning_days: Mapped[int] = mapped_column(Integer)
    date_early_error_days: Mapped[int] = mapped_column(Integer)
    date_late_warning_days: Mapped[int] = mapped_column(Integer)
    date_late_error_days: Mapped[int] = mapped_column(Integer)
    price_pct: Mapped[Decimal] = mapped_column(ExactDecimal())
    confirmation_due_hours: Mapped[int] = mapped_column(Integer)
    despatch_lead_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    supplier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_email: Mapped[str | None] = mapped_column(String(200))
    order_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str | None] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"),
                                          index=True)
    line_no: Mapped[str] = mapped_column(String(32))
    buyer_part: Mapped[str | None] = mapped_column(String(64))
    supplier_part: Mapped[str | None] = mapped_column(String(64))
    gtin: Mapped[str | None] = mapped_column(String(14))
    description: Mapped[str | None] = mapped_column(String(400))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    unit: Mapped[str | None] = mapped_column(String(8))
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    requested_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(24))
    confirmed_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    confirmed_date: Mapped[date | None] = mapped_column(Date)
    confirmed_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    despatched_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    expected_delivery: Mapped[date | None] = mapped_column(Date)


class InboundMessage(Base):
    """The raw bytes exactly as received, stored before anything else happens."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_sha256_sender", "sha256", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(400))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_reason: Mapped[str | None] = mapped_column(Text)
    supplier_code: Mapped[str | None] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The Celery pipeline's bookkeeping (gateway.services.pipeline): when the sweeper last
    # published a task for the message (null: only the one sent after the commit that archived
    # it), and how often processing was started on it.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Sender authentication (gateway.mailauth): what the SMTP channel saw of the connection
    # (client_ip, helo, recipients); the verdict (gateway.mailauth.verdict.Verdict.as_json),
    # null until checked; and the trust processing gave the message (verdict.Trust).
    envelope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    authentication: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sender_trust: Mapped[str | None] = mapped_column(String(16))
    # The Celery worker (its node name) that last started processing it; while the message is
    # `received`, a worker whose heartbeat stopped lost it (gateway.services.worker_liveness).
    claimed_by: Mapped[str | None] = mapped_column(String(200))


class DkimSignatureRow(Base):
    """Each DKIM signature that authenticated a message that was processed, by its d= and the
    SHA-256 of its b= (gateway.mailauth.verdict.SignatureKey), and the first message that
    carried it: a later message carrying it again is a replay of that one (RFC 6376 section
    8.6). The primary key is the check: one index probe, and two transactions that claim
    the same signature at once cannot both succeed."""

    __tablename__ = "dkim_signatures"

    b_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"))


class EmailReplyRow(Base):
    """Each email reply decided for a supplier's message: `queued` (handed to the outbox,
    `wire_id` its Message-ID) or `suppressed` with `why` (gateway.services.replies). The
    per-supplier hourly cap counts the queued ones."""

    __tablename__ = "email_replies"
    __table_args__ = (Index("ix_email_replies_supplier_created", "supplier_code",
                            "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    why: Mapped[str | None] = mapped_column(Text)
    wire_id: Mapped[str | None] = mapped_column(String(200))


class SupplierReminderRow(Base):
    """How many reminders went to the supplier about one open CONFIRMATION_OVERDUE exception,
    and when the last one went (gateway.services.reminders)."""

    __tablename__ = "supplier_reminders"

    exception_id: Mapped[int] = mapped_column(ForeignKey("exceptions.id"), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(64))
    sent: Mapped[int] = mapped_column(Integer)
    last_sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkerHeartbeatRow(Base):
    """A Celery worker that says it is alive: its node name, when it started and when it last
    said so. A worker whose heartbeat is older than the pipeline's `worker_lost_seconds` is
    lost, and the `received` messages it claimed are published again."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_supplier_kind_number", "supplier_code", "kind", "document_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    message_index: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    message_type: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(70))
    supplier_code: Mapped[str | None] = mapped_column(String(64))
    canonical: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LineVersionRow(Base):
    """A version of a line's promise and the message (document, line position) that set it."""

    __tablename__ = "line_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    delivery_date: Mapped[date | None] = mapped_column(Date)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"),
                                                   index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    position: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The line's promise after the document that wrote this version: what a replay restores
    # when it removes the versions written after it.
    line_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ExceptionRow(Base):
    """A problem a buyer works on. One row per `key` while it is open."""

    __tablename__ = "exceptions"
    __table_args__ = (Index("ix_exceptions_key_state", "key", "state"),
                      # The web queue's keyset, worst first (gateway.web.exceptions_view).
                      Index("ix_exceptions_risk_id", "risk", "id"),
                      # What a batch's orders already have (`ExceptionLedger`), found
                      # without reading the supplier's whole history; a supplier's alone.
                      Index("ix_exceptions_supplier_order", "supplier_code", "order_number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    risk: Mapped[float] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), index=True)
    supplier_code: Mapped[str | None] = mapped_column(String(64))
    order_number: Mapped[str | None] = mapped_column(String(64))
    line_no: Mapped[str | None] = mapped_column(String(32))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    expected: Mapped[str | None] = mapped_column(String(200))
    actual: Mapped[str | None] = mapped_column(String(200))
    difference: Mapped[str | None] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(200))
    tolerance: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    position: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(200))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExceptionEventRow(Base):
    """The audit trail of an exception: raised, seen again, state changes, comments."""

    __tablename__ = "exception_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("exceptions.id", ondelete="CASCADE"),
                                              index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))


class ConnectorStatusRow(Base):
    """Where a connector (one IMAP mailbox, say) stands, for IT: its position in the mailbox
    and whether it is healthy. IMAP UIDs and UIDVALIDITY are unsigned 32-bit (RFC 3501)."""

    __tablename__ = "connector_status"
    __table_args__ = (UniqueConstraint("connector", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    messages_taken_in: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    notice: Mapped[str | None] = mapped_column(Text)
    notice_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NotifySettingsRow(Base):
    """The `[notify]` section last loaded (`gateway partners load`), checked: who hears of
    exceptions and how (`gateway.services.alert_routing`). One row, id 1."""

    __tablename__ = "notify_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertMarkRow(Base):
    """What one recipient last heard of one exception: the change, at which severity, when
    the last alert went at once, whether it was escalated to them. The state-change filter
    reads it, so an exception is told once per change that matters."""

    __tablename__ = "alert_marks"

    exception_id: Mapped[int] = mapped_column(
        ForeignKey("exceptions.id", ondelete="CASCADE"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200), primary_key=True)
    change: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    heard_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at_once_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated: Mapped[bool] = mapped_column(default=False)


class ExceptionAlertRow(Base):
    """Each alert decided: the exception, its recipient, the change, whether it went at once
    (`outbox_ids`: the outbox rows written with it) or waits for the digest (`digest_id`, the
    digest's outbox row once sent, else null)."""

    __tablename__ = "exception_alerts"
    __table_args__ = (Index("ix_exception_alerts_pending", "delivery", "digested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int] = mapped_column(
        ForeignKey("exceptions.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    delivery: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outbox_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    digest_id: Mapped[int | None] = mapped_column(Integer)
    digested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScheduledRunRow(Base):
    """When a daily job (`check-overdue`, `digest`) last ran, so that a restart, a second
    scheduler or an operator's run on demand never runs it twice for one day."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboundMessageRow(Base):
    """A message the gateway sends (gateway.services.outbox): the exact bytes, where and how
    they go, the decision that caused it and where it stands. Written in the transaction of
    that decision; sent later by the outbox sender. `wire_id` is what the receiver sees (the
    Message-ID, the interchange control reference, the webhook delivery id), the same on every
    attempt."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    transport: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320), default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    # Extra transport headers ([name, value] pairs: a webhook's signature, say).
    headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    wire_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    # Why it was decided (the service's words), and why it stands where it is now (the
    # permanent failure, the suppression, the operator's cancel).
    reason: Mapped[str] = mapped_column(Text)
    state_reason: Mapped[str | None] = mapped_column(Text)
    supplier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"),
                                                   index=True)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"), index=True)
    extra: Mapped[dict[str, str] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The sender that claimed it (`sending`): a process name, for IT.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboundAttemptRow(Base):
    """One attempt to send an outbound message: when, how it ended, what the other side said."""

    __tablename__ = "outbound_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class As2Transmission(Base):
    """Each AS2 request received (gateway.channels.as2): the HTTP header fields and body
    exactly as received, the partner's AS2 ids and Message-ID, the disposition answered and
    the MDN itself. `message_id` is the inbound message it gave (its payload when opened,
    its bytes as `failed` when refused, the original for a duplicate); an asynchronous MDN
    to a message we sent gives none, and names the outbox row in `outbound_id`."""

    __tablename__ = "as2_transmissions"
    __table_args__ = (Index("ix_as2_transmissions_from_message", "as2_from", "as2_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    as2_from: Mapped[str] = mapped_column(String(128))
    as2_to: Mapped[str] = mapped_column(String(128))
    as2_message_id: Mapped[str] = mapped_column(String(998))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    layers: Mapped[list[str] | None] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    mic: Mapped[str | None] = mapped_column(String(200))
    mdn: Mapped[bytes | None] = mapped_column(LargeBinary)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    # An asynchronous MDN to a message we sent: the outbox row it named.
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
