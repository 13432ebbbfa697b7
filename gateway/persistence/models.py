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
    message_type: Mapped[str] = mapped_column(String(16))
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
    __table_args__ = (Index("ix_exceptions_key_state", "key", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    risk: Mapped[float] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), index=True)
    supplier_code: Mapped[str | None] = mapped_column(String(64), index=True)
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
