"""Processing archived messages in batches: parse, map, reconcile, persist.

A batch is one transaction. Its messages are applied in order, as if one by one: the order
lines a message changes are kept in memory and seen by the next message of the batch, and the
writes (line states, versions, documents, exceptions, message states) go out at the end as one
statement per table whatever the number of rows (`persistence/bulk.py`: an `executemany`, or a
`COPY` on PostgreSQL). Queries are batched per batch, never per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Numeric,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.config import ReplySettings
from gateway.domain.discrepancies import Discrepancy, unreadable_reply
from gateway.domain.documents import Document, DocumentKind, document_to_json
from gateway.domain.messages import MessageState, move_message
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.reconciliation import Outcome, reconcile
from gateway.domain.storable import Refusal, RefusedValue, printable, refused_values
from gateway.mailauth.verdict import (
    SignatureKey,
    Trust,
    Verdict,
    message_trust,
    replay_reason,
    unverified_sender,
)
from gateway.persistence.bulk import insert_many, insert_rows, update_rows, write_many
from gateway.persistence.models import (
    DkimSignatureRow,
    DocumentRow,
    ExactDecimal,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
)
from gateway.persistence.queries import (
    chunked,
    found_by_key,
    found_by_keys,
    one_of,
    result_rows,
)
from gateway.services.acknowledgements import (
    AS2_ROUTE,
    AckPolicy,
    AckWhen,
    Addressing,
    Answered,
    As2Route,
    acknowledge,
    decide,
    received_interchanges,
)
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import Lookups, SupplierInfo
from gateway.services.replies import REPLIES, EmailFacts
from gateway.services.unread_parts import unread_part
from gateway.services.x12_acks import acknowledge_x12, x12_senders
from mappings.email import ColumnProfile
from mappings.email.message import EmailEnvelope, unread_problems
from mappings.readers import SNIFF_BYTES
from mappings.registry import (
    AttachedInterchanges,
    AttachedX12,
    MessageHeading,
    preview_message,
    read_message,
)
from mappings.x12.reading import is_x12
from parsers.errors import Problem, ProblemCode, Severity

MESSAGES = cast(Table, InboundMessage.__table__)
LINES = cast(Table, OrderLineRow.__table__)
ORDERS = cast(Table, PurchaseOrder.__table__)
VERSIONS = cast(Table, LineVersionRow.__table__)
DOCUMENTS = cast(Table, DocumentRow.__table__)
SIGNATURES = cast(Table, DkimSignatureRow.__table__)


@dataclass(slots=True)
class MessageReport:
    message_id: int
    state: MessageState
    documents: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    reason: str | None = None
    exception_ids: set[int] = field(default_factory=set)
    duplicate_of: int | None = None
    # Each document applied, with what reconciliation found in it (what an APERAK answers).
    answered: list[Answered] = field(default_factory=list)
    # Outbox rows of the acknowledgements decided for it.
    acknowledgements: list[int] = field(default_factory=list)
    # The message had left `received` before this run could write it (another worker
    # finished it): reported as it was found, nothing done.
    found_done: bool = False


@dataclass(slots=True)
class _Message:
    id: int
    state: MessageState
    raw: bytes
    filename: str | None
    sender: str
    supplier_code: str | None
    reason: str | None
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    supplier: SupplierInfo | None = None
    envelope: EmailEnvelope | None = None
    channel: str = ""
    authentication: dict[str, Any] | None = None
    # What the message may do for its supplier (sender authentication, set by `prepare`).
    trust: Trust | None = None
    # An EDIFACT file's message headings and file-level problems, in order, and the values
    # refused after reading (what a CONTRL answers).
    edifact: tuple[MessageHeading | Problem, ...] = ()
    # An email's EDIFACT attachments, each read the same way (acknowledged like a bare file).
    attached: tuple[AttachedInterchanges, ...] = ()
    # An email's X12 attachments (a 997/999 each, like a bare X12 file).
    attached_x12: tuple[AttachedX12, ...] = ()
    # By the file name of the document a value of which was refused.
    refusals: dict[str, list[Problem]] = field(default_factory=dict)
    # `document_to_json` of each document, computed by the read step.
    canonical: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class ReadBatch:
    """What `read_batch` found, nothing of it written yet: the messages as listed (an id may
    be listed twice), each read once, with its report so far."""

    message_ids: list[int]
    messages: list[_Message]
    reports: list[MessageReport]
    # PostgreSQL: the order lines the batch names, read here without a lock, each with its
    # row versions (`OrderLinesRead`); the write step locks them and reads them again only
    # if one changed since.
    orders: dict[str, OrderLinesRead] | None = None


@dataclass(frozen=True, slots=True)
class OrderLinesRead:
    """One supplier's order lines as the read step found them: each row (the order's number,
    owner and supplier, then `LINE_COLUMNS`) and its version, (order number, line id, the
    line's and the order's `xmin`). PostgreSQL gives a row a new `xmin` (the transaction that
    wrote it) at every update: a row whose version is the same is the same."""

    rows: list[Sequence[Any]]
    versions: list[tuple[str, int, str, str]]


def process_batch(session: Session, message_ids: list[int], today: date,
                  now: datetime) -> list[MessageReport]:
    """Process `received` messages in order; others are reported as they are. Idempotent.
    Reads and writes in the one transaction of `session`; the workers read in a transaction
    of its own first (`read_batch`, then `write_batch`), so that the write lock is held only
    while the results are written."""
    return write_batch(session, read_batch(session, message_ids, today, now), today, now)


def read_batch(session: Session, message_ids: list[int], today: date,
               now: datetime, *, as_received: bool = False) -> ReadBatch:
    """Load the messages, parse and map them and find their suppliers: the work whose cost
    the supplier's bytes decide (seconds for a big email). It only reads: run in a read-only
    transaction it never holds the write lock (on SQLite a deferred BEGIN, which in WAL mode
    lets every writer go on), so that intake never waits behind it. `as_received`: read each
    message as if it had just arrived, whatever its state (a replay reads the chain it sends
    back to `received` in its write transaction, `gateway.services.replay`)."""
    unique = list(dict.fromkeys(message_ids))
    messages = _load(session, unique)
    if as_received:
        for message in messages:
            message.state, message.reason = MessageState.RECEIVED, None
    run = _Run(session, today, now)
    reports = [run.prepare(message) for message in messages]
    for message in messages:
        if message.supplier is not None:
            # Pure work on what was read: done here, beside the write of the batch before,
            # not in the write transaction.
            message.canonical = [document_to_json(d) for d in message.documents]
    orders = run.read_orders(messages) if _postgresql(session) else None
    return ReadBatch(message_ids, messages, reports, orders)


def write_batch(session: Session, batch: ReadBatch, today: date,
                now: datetime) -> list[MessageReport]:
    """Reconcile and persist what `read_batch` read, in the write transaction. The states are
    read again first (and locked on PostgreSQL): a message another worker finished since it
    was read is reported as it is now, never applied twice. The order lines are read here,
    in the transaction that writes their new state (read before, two workers could both add
    to the same starting value)."""
    message_ids, messages, reports = batch.message_ids, batch.messages, batch.reports
    unique = [message.id for message in messages]
    _recheck(session, messages, reports)
    run = _Run(session, today, now)
    run.claim_signatures(messages, reports)
    run.load_orders(messages, batch.orders)
    run.insert_documents(messages)
    for message, report in zip(messages, reports, strict=True):
        if message.supplier is not None and report.state is MessageState.PARSED:
            run.apply(message, report)
    run.flush(messages, reports)
    run.acknowledge(messages, reports)
    replier = session.info.get(REPLIES)
    if replier is not None:
        # Email replies to the suppliers, in this transaction (gateway/services/replies.py).
        replier.answer(session, _answered(messages, reports), now)
    if len(unique) == len(message_ids):
        return reports
    # An id listed twice is processed once; its second mention reports the state it reached.
    first: dict[int, MessageReport] = {}
    result = []
    for message_id, report in zip(unique, reports, strict=True):
        first[message_id] = report
    for index, message_id in enumerate(message_ids):
        if message_ids.index(message_id) == index:
            result.append(first[message_id])
        else:
            result.append(MessageReport(message_id, first[message_id].state,
                                        reason="listed twice in one batch; processed once"))
    return result


def write_keys(batch: ReadBatch) -> frozenset[str]:
    """What the write step of `batch` may share with another batch's write, as keys that are
    equal where two writes would touch the same rows: the orders its documents name (by
    number alone: an order open to every supplier is one order whoever answers it) and an
    email's header names (its UNREADABLE_REPLY is filed under them); the document numbers it
    sends (by which a later copy is found); the supplier of an email (answered in prose,
    `replies`); the supplier of a document that does not name exactly one order in its
    heading (its UNKNOWN_ORDER or DUPLICATE_DOCUMENT exception has no order number: one row
    per supplier and code); and one key for every quarantine. A message already done has
    none: its write changes nothing (`gateway.services.spread`)."""
    keys: set[str] = set()
    for message, report in zip(batch.messages, batch.reports, strict=True):
        if report.state is MessageState.QUARANTINED:
            keys.add("quarantine")
        if report.state is not MessageState.PARSED or message.supplier is None:
            continue
        supplier = message.supplier.code
        if message.envelope is not None:
            keys.add(f"mail\x1f{supplier}")
            keys.update(f"order\x1f{number}" for number in message.envelope.order_numbers)
        for document in message.documents:
            keys.update(f"order\x1f{number}" for number in _numbers(document))
            if len(document.order_numbers) != 1:
                keys.add(f"supplier\x1f{supplier}")
            if document.document_number:
                keys.add(f"document\x1f{supplier}\x1f{document.kind.value}"
                         f"\x1f{document.document_number}")
    return frozenset(keys)


def _answered(messages: list[_Message], reports: list[MessageReport]) -> list[EmailFacts]:
    """The emails of known suppliers this batch reconciled: each is answered in prose, except
    what EDIFACT acknowledgements answer (`_in_prose`)."""
    found = []
    for m, r in zip(messages, reports, strict=True):
        if m.envelope is None or m.supplier is None or m.state is not MessageState.RECEIVED \
                or r.state is not MessageState.RECONCILED:
            continue
        prose = _in_prose(m, r, m.supplier)
        if prose is None:
            continue
        documents, discrepancies = prose
        found.append(EmailFacts(m.id, m.raw, m.channel, m.sender, m.authentication, m.trust,
                                m.supplier, m.envelope.message_id, m.envelope.subject,
                                m.envelope.order_numbers, documents, discrepancies,
                                [unread_part(p) for p in _unread(m)]))
    return found


def _in_prose(message: _Message, report: MessageReport, supplier: SupplierInfo
              ) -> tuple[list[Document], list[Discrepancy]] | None:
    """What an email's prose reply speaks of: its documents and their discrepancies, but not
    those of an EDIFACT attachment when the partner asked for CONTRL or APERAK, nor those of
    an X12 attachment when it asked for a 997/999: the EDI acknowledgement answers an
    interchange, in the form its system reads. An email that carried no document besides its
    interchanges (none read from its text or a sheet) gets no prose reply (None): what could
    not be read in an interchange, the CONTRL or 997 says."""
    files = {attached.file for attached in message.attached} \
        if ack_policy(supplier) != AckPolicy() else set()
    if supplier.functional_ack:
        files |= {attached.file for attached in message.attached_x12}
    if not files:
        return message.documents, report.discrepancies
    documents = [d for d in message.documents if d.file not in files]
    if not documents:
        return None
    in_edi = {id(d) for a in report.answered if a.document.file in files
              for d in a.discrepancies}
    return documents, [d for d in report.discrepancies if id(d) not in in_edi]


def _load(session: Session, message_ids: list[int]) -> list[_Message]:
    found: dict[int, _Message] = {}
    for batch in chunked(message_ids):
        query = select(MESSAGES.c.id, MESSAGES.c.state, MESSAGES.c.raw, MESSAGES.c.filename,
                       MESSAGES.c.sender, MESSAGES.c.supplier_code, MESSAGES.c.state_reason,
                       MESSAGES.c.channel, MESSAGES.c.authentication
                       ).where(one_of(MESSAGES.c.id, batch, session.get_bind().dialect))
        for (message_id, state, raw, filename, sender, supplier_code, reason, channel,
             authentication) in result_rows(session.execute(query)):
            found[message_id] = _Message(message_id, MessageState(state), raw, filename,
                                         sender, supplier_code, reason, channel=channel,
                                         authentication=authentication)
    missing = [i for i in message_ids if i not in found]
    if missing:
        raise LookupError(f"no message #{missing[0]}")
    return [found[i] for i in message_ids]


def _recheck(session: Session, messages: list[_Message],
             reports: list[MessageReport]) -> None:
    """The state of each message now, its row locked until the commit on PostgreSQL (SQLite's
    write transaction excludes other writers): one that left `received` since it was read
    (another worker processed it, IT failed it) is reported as it is and not touched."""
    current: dict[int, tuple[MessageState, str | None]] = {}
    for batch in chunked([message.id for message in messages]):
        query = select(MESSAGES.c.id, MESSAGES.c.state, MESSAGES.c.state_reason
                       ).where(one_of(MESSAGES.c.id, batch, session.get_bind().dialect))
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update()
        for message_id, state, reason in result_rows(session.execute(query)):
            current[message_id] = (MessageState(state), reason)
    for index, message in enumerate(messages):
        if message.id not in current:
            raise LookupError(f"no message #{message.id}")
        state, reason = current[message.id]
        if state is not message.state:
            messages[index] = _Message(message.id, state, message.raw, message.filename,
                                       message.sender, message.supplier_code, reason)
            reports[index] = MessageReport(message.id, state, reason=reason, found_done=True)


class _Run:
    """One batch. Holds the order lines it changed so the next message sees them."""

    def __init__(self, session: Session, today: date, now: datetime) -> None:
        self.session = session
        self.today = today
        self.now = now
        self.lookups = Lookups(session)
        # Keyed by order number alone (unique): an order open to every supplier is one object
        # for the whole batch, whoever answers it.
        self.orders: dict[str, Order] = {}
        self.line_ids: dict[str, dict[str, int]] = {}
        self.line_updates: dict[int, OrderLine] = {}
        self.versions: list[dict[str, Any]] = []
        self.document_ids: dict[tuple[int, int], int] = {}
        self.seen_numbers: set[tuple[str, str, str]] = set()
        self.first_sent: dict[tuple[str, str, str], int] = {}
        # Per document number sent before: the message that first sent it and what it said
        # (canonical JSON from the database, or the document of an earlier message of the batch).
        self.first_content: dict[tuple[str, str, str], tuple[int, dict[str, Any] | Document]] = {}
        self.ledger = ExceptionLedger(session)

    def prepare(self, message: _Message) -> MessageReport:
        """Parse and find the supplier; quarantine what cannot go on."""
        report = MessageReport(message.id, message.state, reason=message.reason)
        if message.state is not MessageState.RECEIVED:
            return report
        name = message.filename or f"message {message.id}"
        profile = self.reading_profile(message, name)
        report.errors = _read(message, name, profile)
        # An email that could not be read with confidence goes to the supplier's buyer as an
        # UNREADABLE_REPLY (see `unread`), not to IT's quarantine; only an unknown sender's is.
        if not message.documents and not (message.envelope and _unread(message)):
            first = report.errors[0].detail if report.errors else "no documents found"
            return _move(report, MessageState.QUARANTINED, f"unreadable: {first}")
        _move(report, MessageState.PARSED, None)
        message.supplier = self.find_supplier(message)
        if message.supplier is not None and message.envelope is not None \
                and message.supplier.reading != profile:
            # Known only once the whole email was read (the From of a message it forwards, an
            # attached interchange's EDI id): read it again, the supplier's way.
            report.errors = _read(message, name, message.supplier.reading)
        if message.supplier is None:
            ids = sorted({d.sender_id for d in message.documents if d.sender_id})
            return _move(report, MessageState.QUARANTINED,
                         f"unknown sender {message.sender!r}"
                         + (f" (EDI id {', '.join(ids)})" if ids else "")
                         + ": no supplier has this address or id")
        # Sender authentication (docs/mail-authentication.md): mail that is not authenticated
        # as the supplier is quarantined or applied only by a buyer, per the partner's policy.
        message.trust, why = message_trust(message.channel, message.authentication,
                                           message.supplier.mail_auth,
                                           message.supplier.domains,
                                           message.supplier.emails)
        if message.trust is Trust.QUARANTINED:
            # Nothing of it is filed under the supplier; the row names whom it claimed.
            message.supplier_code, message.supplier = message.supplier.code, None
            return _move(report, MessageState.QUARANTINED, why)
        return report

    def reading_profile(self, message: _Message, name: str) -> ColumnProfile | None:
        """How the supplier writes sheets and emails, found before they are read: by the
        channel's supplier, else the From of an email's header, else the channel's sender.
        EDIFACT reads the same for every supplier and is parsed once."""
        preview = preview_message(message.raw, name)
        if not preview.per_supplier:
            return None
        header = EmailEnvelope(None, preview.sender_addresses, None, ())
        supplier = self.find_supplier(replace(message, documents=[], envelope=header))
        return supplier.reading if supplier is not None else None

    def find_supplier(self, message: _Message) -> SupplierInfo | None:
        """By the channel's supplier, else the interchange sender's EDI id, else address."""
        if message.supplier_code:
            return self.lookups.supplier(message.supplier_code)
        candidates = [("edi", d.sender_id) for d in message.documents if d.sender_id]
        # An email's From address (then the From of a message it forwards), else the channel's
        # sender (SMTP's envelope MAIL FROM, IMAP's From).
        senders = [*(message.envelope.sender_addresses if message.envelope else ()),
                   message.sender.strip().lower()]
        for sender in dict.fromkeys(senders):
            candidates += [("email", sender)]
        for sender in dict.fromkeys(senders):
            candidates += [("domain", sender.rpartition("@")[2])]
        for kind, value in candidates:
            found = self.lookups.supplier_by(kind, value)
            if found is not None:
                return found
        return None

    def claim_signatures(self, messages: list[_Message],
                         reports: list[MessageReport]) -> None:
        """DKIM replays (RFC 6376 section 8.6): a signature that verifies can be sent again
        by anyone, on the same signed content with other envelope and unsigned fields. Each
        authenticated message about to be applied claims its signatures; one whose signature
        an earlier message claimed is a second delivery of that message's content, recorded
        as its duplicate and not applied. Claimed in the write transaction, under the primary
        key: of two transactions claiming one signature at once, the second waits for the
        first and finds its claim (PostgreSQL), or runs after it (SQLite's one writer)."""
        claiming: list[tuple[int, tuple[SignatureKey, ...]]] = []
        for index, (message, report) in enumerate(zip(messages, reports, strict=True)):
            if report.state is MessageState.PARSED and message.authentication and \
                    message.trust in (Trust.VERIFIED, Trust.TRUSTED):
                keys = Verdict.from_json(message.authentication).signatures
                if keys:
                    claiming.append((index, keys))
        if not claiming:
            return
        first: dict[SignatureKey, int] = {}
        for index, keys in claiming:
            for key in keys:
                first.setdefault(key, messages[index].id)
        # In one order in every batch, so that two batches claiming the same signatures
        # wait for each other instead of deadlocking.
        rows = [{"b_sha256": key.b_sha256, "domain": key.domain, "message_id": message_id}
                for key, message_id in sorted(first.items(),
                                              key=lambda item: (item[0].b_sha256,
                                                                item[0].domain))]
        write_many(self.session.connection(), _insert_new(self.session, SIGNATURES), rows)
        owners: dict[SignatureKey, int] = {}
        for batch in chunked(sorted({key.b_sha256 for key in first})):
            for b_sha256, domain, message_id in result_rows(self.session.execute(
                    select(SIGNATURES.c.b_sha256, SIGNATURES.c.domain, SIGNATURES.c.message_id)
                    .where(SIGNATURES.c.b_sha256.in_(batch)))):
                owners[SignatureKey(domain, b_sha256)] = message_id
        moved: list[dict[str, Any]] = []
        for index, keys in claiming:
            message = messages[index]
            earlier = sorted((owners[key], key.b_sha256, key) for key in keys
                             if key in owners and owners[key] != message.id)
            if earlier:
                owner, _b, key = earlier[0]
                reports[index].duplicate_of = owner
                _move(reports[index], MessageState.DUPLICATE, replay_reason(owner, key))
                # A signature only the replay carried is filed under the first delivery too:
                # a later replay is a duplicate of the message that was applied.
                moved += [{"_b": k.b_sha256, "_d": k.domain, "message_id": owner}
                          for k in keys if owners.get(k) == message.id]
        write_many(self.session.connection(),
                   update(SIGNATURES).where(SIGNATURES.c.b_sha256 == bindparam("_b"),
                                            SIGNATURES.c.domain == bindparam("_d"))
                   .values(message_id=bindparam("message_id")), moved)

    def load_orders(self, messages: list[_Message],
                    read: dict[str, OrderLinesRead] | None = None) -> None:
        """Every order the batch names, per supplier, one query per 500 numbers. `read`: the
        lines the read step found (PostgreSQL), used where no row changed since."""
        for supplier, numbers in sorted(_wanted_orders(messages).items()):
            self._load_supplier_orders(supplier, numbers,
                                       None if read is None else read.get(supplier))
            self._load_known_numbers(supplier, messages)

    def read_orders(self, messages: list[_Message]) -> dict[str, OrderLinesRead]:
        """The order lines `load_orders` will want, read without a lock, with their versions
        (PostgreSQL). Building the lines from the rows is most of their cost to this process:
        done here, while the batch before is written, the write step only checks the
        versions."""
        found: dict[str, OrderLinesRead] = {}
        for supplier, numbers in sorted(_wanted_orders(messages).items()):
            read = found[supplier] = OrderLinesRead([], [])
            for batch in chunked(sorted(numbers)):
                for row in result_rows(self.session.connection().execute(
                        self._lines_query(supplier, batch,
                                          (*_ORDER_COLUMNS_TRIMMED, *_VERSIONS)))):
                    read.rows.append(row[:-2])
                    read.versions.append((row[0], row[3], row[-2], row[-1]))
        return found

    def _lines_query(self, supplier: str, numbers: list[str],
                     columns: Sequence[ColumnElement[Any]]) -> Select[Any]:
        dialect = self.session.get_bind().dialect
        # The order's supplier, or none, as one expression no index answers: the orders are
        # found by their unique number. `supplier_code = ? OR supplier_code IS NULL` let
        # PostgreSQL's planner, short of statistics, read all the supplier's orders through
        # their supplier's index and filter them by number, every batch.
        return (select(*columns)
                .join(ORDERS, ORDERS.c.id == LINES.c.order_id)
                .where(one_of(ORDERS.c.number, numbers, dialect),
                       func.coalesce(ORDERS.c.supplier_code, supplier) == supplier)
                .order_by(ORDERS.c.number, LINES.c.id))

    def _load_supplier_orders(self, supplier: str, numbers: set[str],
                              read: OrderLinesRead | None = None) -> None:
        """The order lines, locked on PostgreSQL until the batch commits, so that two workers
        never both add to the same line from the same starting value. Locked in one order for
        every batch (supplier, order number, then line), query after query: two batches that
        share orders wait for each other instead of deadlocking (one that remains possible, on
        an order open to every supplier, is a transient error, retried).

        With what the read step found (`read`), the lock takes only the rows' versions: the
        lines are built from the rows read before when every version (the order's and each
        of its lines, and which lines it has) is the same now, under the lock, else read
        again."""
        wanted = sorted(numbers - set(self.orders))
        rows: list[Sequence[Any]] = []
        if read is not None:
            asked = set(wanted)
            before = [v for v in read.versions if v[0] in asked]
            now: list[tuple[str, int, str, str]] = []
            for batch in chunked(wanted):
                now += [(number, line_id, line_version, order_version)
                        for number, line_id, line_version, order_version in result_rows(
                            self.session.connection().execute(self._lines_query(
                                supplier, batch, (ORDERS.c.number, LINES.c.id, *_VERSIONS))
                                .with_for_update(of=LINES)))]
            if now == before:
                rows, wanted = [row for row in read.rows if row[0] in asked], []
            else:
                # Changed since it was read (another batch wrote these orders): read
                # again, the orders that changed or all, as before.
                changed = {v[0] for v in set(now) ^ set(before)}
                rows = [row for row in read.rows if row[0] in asked and row[0] not in changed]
                wanted = sorted(changed)
        for batch in chunked(wanted):
            query = self._lines_query(supplier, batch, _ORDER_COLUMNS_TRIMMED
                                      if _postgresql(self.session) else _ORDER_COLUMNS)
            if not _sqlite(self.session):
                query = query.with_for_update(of=LINES)
            rows += result_rows(self.session.connection().execute(query))
        self._take(rows)

    def _take(self, rows: Sequence[Sequence[Any]]) -> None:
        """Orders from rows of `_ORDER_COLUMNS` (an order's lines together, in line order)."""
        lines: dict[str, list[OrderLine]] = {}
        heads: dict[str, tuple[str | None, str | None]] = {}
        # Core rows, read by position: a Row's attribute lookup by name costs more than
        # the rest of reading the line (`gateway bench reconcile`).
        for number, owner, supplier_code, *values in rows:
            line = domain_line(number, values)
            lines.setdefault(number, []).append(line)
            heads[number] = (supplier_code, owner)
            self.line_ids.setdefault(number, {})[line.line_no] = cast(int, line.id)
        for number, found in lines.items():
            supplier_code, owner = heads[number]
            self.orders[number] = Order(number, supplier_code, owner, tuple(found))

    def _load_known_numbers(self, supplier: str, messages: list[_Message]) -> None:
        """Document numbers this supplier sent before, in messages outside the batch."""
        keys = {(d.kind.value, d.document_number) for m in messages
                if m.supplier is not None and m.supplier.code == supplier
                for d in m.documents if d.document_number}
        # Each (kind, number) found through the index (supplier, kind, number)
        # (`found_by_keys`); on SQLite an IN on the kinds and one on the numbers, the pair
        # compared here: a tuple IN scans the index there (docs/architecture.md, "Measured
        # facts").
        dialect = self.session.get_bind().dialect
        for batch in chunked(sorted(keys)):
            # Documents of a message that failed, or of a duplicate delivery, were never the
            # first sending of anything.
            sent = found_by_keys(
                select(DOCUMENTS.c.kind, DOCUMENTS.c.document_number, DOCUMENTS.c.message_id)
                .join(MESSAGES, MESSAGES.c.id == DOCUMENTS.c.message_id)
                .where(DOCUMENTS.c.supplier_code == supplier,
                       MESSAGES.c.state.not_in([MessageState.FAILED.value,
                                                MessageState.DUPLICATE.value])),
                (DOCUMENTS.c.kind, DOCUMENTS.c.document_number), batch, dialect)
            earliest = self.session.execute(
                select(sent.c.kind, sent.c.document_number, func.min(sent.c.message_id))
                .group_by(sent.c.kind, sent.c.document_number))
            firsts: dict[tuple[str, str], int] = {}
            for kind, number, first in result_rows(earliest):
                if (kind, number) in keys:
                    self.first_sent[(supplier, kind, number)] = first
                    firsts[(kind, number)] = first
            self._load_first_content(supplier, firsts)

    def _load_first_content(self, supplier: str, firsts: dict[tuple[str, str], int]) -> None:
        """What the first sending of each repeated number said, to tell a copy (the same
        document under another envelope or through another channel) from a changed one."""
        for batch in chunked(sorted(set(firsts.values()))):
            sent = found_by_key(
                select(DOCUMENTS.c.kind, DOCUMENTS.c.document_number, DOCUMENTS.c.message_id,
                       DOCUMENTS.c.canonical).where(DOCUMENTS.c.supplier_code == supplier),
                DOCUMENTS.c.message_id, batch, self.session.get_bind().dialect)
            for kind, number, message_id, canonical in result_rows(self.session.execute(
                    select(*sent.c))):
                if firsts.get((kind, number)) == message_id:
                    self.first_content.setdefault((supplier, kind, number),
                                                  (message_id, canonical))

    def insert_documents(self, messages: list[_Message]) -> None:
        rows = [(message.id, index, document) for message in messages
                if message.supplier is not None
                for index, document in enumerate(message.documents)]
        if not rows:
            return
        # A document of unverified mail is not filed under the supplier's document numbers:
        # it must not make the supplier's own later document a copy or a repeat.
        supplier_of = {m.id: None if m.trust is Trust.UNVERIFIED else m.supplier.code
                       for m in messages if m.supplier is not None}
        canonical = {m.id: m.canonical for m in messages if m.canonical is not None}
        ids = insert_many(self.session.connection(), DOCUMENTS, [
            {"message_id": message_id, "message_index": document.message_index,
             "kind": document.kind.value, "message_type": document.message_type,
             "document_number": document.document_number,
             "supplier_code": supplier_of[message_id],
             "canonical": canonical[message_id][index] if message_id in canonical
             else document_to_json(document), "created_at": self.now}
            for message_id, index, document in rows])
        for (message_id, index, _document), document_id in zip(rows, ids, strict=True):
            self.document_ids[(message_id, index)] = document_id

    def apply(self, message: _Message, report: MessageReport) -> None:
        supplier = message.supplier
        assert supplier is not None
        copies: list[int] = []
        withheld: list[Outcome] = []
        for index, document in enumerate(message.documents):
            document_id = self.document_ids[(message.id, index)]
            number_key = (supplier.code, document.kind.value, document.document_number or "")
            # An order response that replaces an earlier one (BGM 1225 = 5) may repeat its
            # number: its confirmations supersede the earlier ones.
            replaces = (document.function_code == _REPLACE
                        and document.kind is DocumentKind.ORDER_RESPONSE)
            # Repeated: an earlier message (by arrival) or an earlier one of this batch sent
            # the number already. Replaying a message never makes it a copy of a later one.
            first = self.first_sent.get(number_key)
            repeated = bool(document.document_number) and not replaces and (
                (first is not None and first < message.id) or number_key in self.seen_numbers)
            copy_of = self._copy_of(number_key, document) if repeated else None
            if copy_of is not None:
                copies.append(copy_of)
                continue
            # Unverified mail (docs/mail-authentication.md): a copy of what was applied is
            # harmless; anything else is shown to the buyer, never applied, and takes no
            # document number from the supplier.
            if message.trust is Trust.UNVERIFIED:
                withheld.append(self._withheld(document, supplier))
                continue
            self.seen_numbers.add(number_key)
            if document.document_number:
                self.first_content.setdefault(number_key, (message.id, document))
            orders = {number: self.orders[number] for number in _numbers(document)
                      if number in self.orders
                      and self.orders[number].supplier_id in (supplier.code, None)}
            outcome = reconcile(document, orders, supplier.profile, self.today,
                                repeated=repeated)
            line_ids = {(number, line_no): line_id for number in orders
                        for line_no, line_id in self.line_ids[number].items()}
            self._keep(supplier.code, outcome, line_ids, message.id, document_id)
            self.ledger.record(outcome, supplier, line_ids,
                               Source(message.id, document_id, self.now))
            report.discrepancies += outcome.discrepancies
            report.answered.append(Answered(document, tuple(outcome.discrepancies)))
        report.documents = len(message.documents)
        if copies and len(copies) == len(message.documents) and not report.errors:
            report.duplicate_of = min(copies)
            _move(report, MessageState.DUPLICATE,
                  f"the same document(s) as message #{report.duplicate_of}, delivered again "
                  "(another envelope or channel): nothing applied twice")
            return
        reasons = [f"{len(report.errors)} message(s) of the file refused"] if report.errors \
            else []
        if copies:
            reasons.append(f"{len(copies)} document(s) already delivered in message(s) "
                           f"#{', #'.join(str(c) for c in sorted(set(copies)))} skipped")
        _move(report, MessageState.RECONCILED, "; ".join(reasons) or None)
        if message.envelope is not None:
            self.unread(message, report)
        if message.trust is Trust.UNVERIFIED:
            self._unverified(message, report, withheld)

    def acknowledge(self, messages: list[_Message], reports: list[MessageReport]) -> None:
        """The EDIFACT acknowledgements each partner asked for (partner keys `contrl` and
        `aperak`), and for an X12 file the 997 or 999 (`functional_ack`,
        `gateway.services.x12_acks`), enqueued in this transaction. Only for
        an interchange processed now, sent bare or attached to an email (each file answered
        on its own), from a supplier known by the interchange if not by the channel, and
        never for mail not authenticated as the supplier. To an AS2 partner with a URL they
        go by AS2, else by email."""
        addressing = _addressing(self.session)
        as2 = self.session.info.get(AS2_ROUTE)
        for message, report in zip(messages, reports, strict=True):
            x12 = is_x12(message.raw[:SNIFF_BYTES])
            if not (message.edifact or message.attached or message.attached_x12 or x12) \
                    or report.state is message.state \
                    or report.state not in (MessageState.RECONCILED, MessageState.QUARANTINED) \
                    or message.trust in (Trust.UNVERIFIED, Trust.QUARANTINED):
                continue
            if x12:
                self._functional_ack(message, message.raw, report, addressing, as2)
                continue
            for attached_x12 in message.attached_x12:
                self._functional_ack(message, attached_x12.raw, report, addressing, as2)
            if not (message.edifact or message.attached):
                continue
            supplier = message.supplier or self._interchange_sender(message)
            if supplier is None or (supplier.reply_to is None
                                    and not (as2 is not None and as2.knows(supplier.code))):
                continue
            policy = ack_policy(supplier)
            if policy == AckPolicy():
                continue
            for items, answered, refusals in _interchange_files(message, report):
                specs = decide(policy, received_interchanges(items), answered, refusals)
                report.acknowledgements += acknowledge(self.session, specs, supplier.code,
                                                       supplier.reply_to, message.id,
                                                       addressing, self.now, as2)

    def _functional_ack(self, message: _Message, raw: bytes, report: MessageReport,
                        addressing: Addressing, as2: As2Route | None) -> None:
        """An X12 file (`raw`: the message, or an email's X12 attachment): a 997/999 per
        functional group, when its partner asks; the partner known by the channel, else by
        the ISA sender of every interchange."""
        supplier = message.supplier
        if supplier is None and message.supplier_code:
            supplier = self.lookups.supplier(message.supplier_code)
        if supplier is None:
            senders = x12_senders(raw)
            found = {s.code: s for sender in sorted(senders)
                     if (s := self.lookups.supplier_by("edi", sender)) is not None}
            supplier = next(iter(found.values())) if len(found) == 1 else None
        if supplier is None or not supplier.functional_ack:
            return
        report.acknowledgements += acknowledge_x12(
            self.session, raw, supplier.functional_ack, supplier.code,
            supplier.reply_to, message.id, addressing, self.now, as2)

    def _interchange_sender(self, message: _Message) -> SupplierInfo | None:
        """The supplier of an interchange nothing of which could be read (no document named
        it): its UNB sender, as processing finds a supplier by its EDI id."""
        if message.supplier_code:
            return self.lookups.supplier(message.supplier_code)
        items = [*message.edifact, *(i for a in message.attached for i in a.edifact)]
        senders = {item.interchange.sender for item in items
                   if isinstance(item, MessageHeading) and item.interchange is not None
                   and item.interchange.sender}
        found = {s.code: s for sender in sorted(senders)
                 if (s := self.lookups.supplier_by("edi", sender)) is not None}
        return next(iter(found.values())) if len(found) == 1 else None

    def _withheld(self, document: Document, supplier: SupplierInfo) -> Outcome:
        """What a document of unverified mail would do: computed to tell the buyer, never
        applied (no line, version or exception changes; docs/mail-authentication.md)."""
        orders = {number: self.orders[number] for number in _numbers(document)
                  if number in self.orders
                  and self.orders[number].supplier_id in (supplier.code, None)}
        return reconcile(document, orders, supplier.profile, self.today)

    def _unverified(self, message: _Message, report: MessageReport,
                    withheld: list[Outcome]) -> None:
        """One UNVERIFIED_SENDER exception for the buyer, linked to the message."""
        supplier = message.supplier
        assert supplier is not None
        _trust, why = message_trust(message.channel, message.authentication,
                                    supplier.mail_auth, supplier.domains, supplier.emails)
        named = {n for d in message.documents for n in _numbers(d)}
        order = named.pop() if len(named) == 1 else None
        discrepancy = unverified_sender(order, why or "sender not authenticated", withheld,
                                        self._owner(order, supplier.code))
        self.ledger.record(Outcome(discrepancies=[discrepancy]), supplier, {},
                           Source(message.id, None, self.now))
        report.discrepancies.append(discrepancy)
        report.reason = "; ".join(filter(None, (
            report.reason, f"{why}: nothing applied, UNVERIFIED_SENDER raised for the buyer")))

    def _copy_of(self, number_key: tuple[str, str, str], document: Document) -> int | None:
        """The message that first sent this document, when it said exactly the same: a
        delivery again (the same interchange by email and by upload, or re-sent with a new
        envelope), to be skipped. A document under a used number that says something else is
        not a copy: reconciliation reports it as DUPLICATE_DOCUMENT."""
        found = self.first_content.get(number_key)
        if found is None:
            return None
        message_id, content = found
        earlier = document_to_json(content) if isinstance(content, Document) else content
        return message_id if _delivery_content(earlier) == _delivery_content(
            document_to_json(document)) else None

    def unread(self, message: _Message, report: MessageReport) -> None:
        """What an email said that could not be read with confidence becomes one exception for
        the buyer (the order's owner, else the supplier's buyer contact), linked to the email;
        what could be read was applied above. Nothing read at all: still `reconciled`, as the
        buyer, not IT, has to act."""
        supplier, unread = message.supplier, _unread(message)
        if supplier is None or not unread:
            return
        envelope = message.envelope
        named = {n for d in message.documents for n in _numbers(d)} | set(
            envelope.order_numbers if envelope else ())
        order = named.pop() if len(named) == 1 else None
        discrepancy = unreadable_reply(order, [p.detail for p in unread],
                                       unread[0].segment, self._owner(order, supplier.code),
                                       message.id)
        self.ledger.record(Outcome(discrepancies=[discrepancy]), supplier, {},
                           Source(message.id, None, self.now))
        report.discrepancies.append(discrepancy)
        read = "nothing" if not message.documents else f"{len(message.documents)} document(s)"
        # The first refusal itself, so that IT reading the message list sees why.
        first = unread[0].detail if len(unread[0].detail) <= 300 else \
            unread[0].detail[:299] + "…"
        report.reason = (f"read {read}; {len(unread)} part(s) not read with confidence went to "
                         f"the buyer as UNREADABLE_REPLY, first: {first}")

    def _owner(self, order: str | None, supplier: str) -> str | None:
        """The buyer who owns the order (one query, for an email nothing was applied from)."""
        if order is None:
            return None
        if order in self.orders:
            return self.orders[order].owner
        return self.session.scalar(select(PurchaseOrder.owner_email).where(
            PurchaseOrder.number == order,
            (PurchaseOrder.supplier_code == supplier) | PurchaseOrder.supplier_code.is_(None)))

    def _keep(self, supplier: str, outcome: Outcome, line_ids: dict[tuple[str, str], int],
              message_id: int, document_id: int) -> None:
        changed: dict[str, dict[str, OrderLine]] = {}
        for (number, line_no), line in outcome.lines.items():
            self.line_updates[line_ids[(number, line_no)]] = line
            changed.setdefault(number, {})[line_no] = line
        for number, lines in changed.items():
            order = self.orders[number]
            self.orders[number] = replace(order, lines=tuple(
                lines.get(current.line_no, current) for current in order.lines))
        self.versions += [
            {"order_line_id": line_ids[(v.order_number, v.line_no)], "kind": v.kind.value,
             "quantity": v.quantity, "delivery_date": v.delivery_date, "price": v.price,
             "message_id": message_id, "document_id": document_id, "position": v.position,
             "source": f"message #{message_id}", "created_at": self.now,
             "line_after": line_snapshot(outcome.lines[(v.order_number, v.line_no)])}
            for v in outcome.versions]

    def flush(self, messages: list[_Message], reports: list[MessageReport]) -> None:
        """The batch's writes, one statement per table whatever the number of rows."""
        connection = self.session.connection()
        update_rows(connection, LINES, [
            {"id": line_id, "state": line.state.value,
             "confirmed_quantity": line.confirmed_quantity,
             "confirmed_date": line.confirmed_date, "confirmed_price": line.confirmed_price,
             "despatched_quantity": line.despatched_quantity,
             "expected_delivery": line.expected_delivery}
            for line_id, line in self.line_updates.items()])
        insert_rows(connection, VERSIONS, self.versions)
        self.ledger.flush()
        for report in reports:
            report.exception_ids = self.ledger.touched.get(report.message_id, set())
        update_rows(connection, MESSAGES, [
            {"id": m.id, "state": r.state.value, "state_reason": r.reason,
             "updated_at": self.now, "problems": [p.as_dict() for p in m.problems],
             "supplier_code": m.supplier.code if m.supplier else m.supplier_code,
             "duplicate_of_id": r.duplicate_of,
             "sender_trust": m.trust.value if m.trust else None}
            for m, r in zip(messages, reports, strict=True) if r.state is not m.state])


_REPLACE = "5"
_LINE_STATE = ("state", "confirmed_quantity", "confirmed_date", "confirmed_price",
               "despatched_quantity", "expected_delivery")
# The columns `domain_line` reads, in its order.
LINE_COLUMNS = (LINES.c.id, LINES.c.line_no, LINES.c.quantity, LINES.c.unit, LINES.c.price,
                LINES.c.currency, LINES.c.requested_date, LINES.c.gtin, LINES.c.buyer_part,
                LINES.c.supplier_part, LINES.c.description, LINES.c.state,
                LINES.c.confirmed_quantity, LINES.c.confirmed_date, LINES.c.confirmed_price,
                LINES.c.despatched_quantity, LINES.c.expected_delivery)


# What the write step builds orders from: the order's number, owner and supplier, its lines.
_ORDER_COLUMNS = (ORDERS.c.number, ORDERS.c.owner_email, ORDERS.c.supplier_code, *LINE_COLUMNS)
# A row's version on PostgreSQL (`OrderLinesRead`): the line's, then the order's.
_VERSIONS: tuple[ColumnElement[Any], ...] = (literal_column(f"{LINES.name}.xmin::text"),
                                              literal_column(f"{ORDERS.name}.xmin::text"))
# The same on PostgreSQL: NUMERIC(38, 12) pads to twelve places, `trim_scale` drops the
# padding on the server (what `models._unpadded` does here) and the driver's Decimal is final.
_ORDER_COLUMNS_TRIMMED: tuple[ColumnElement[Any], ...] = tuple(
    func.trim_scale(column, type_=Numeric(38, 12)).label(column.name)
    if isinstance(column.type, ExactDecimal) else column for column in _ORDER_COLUMNS)


def _wanted_orders(messages: list[_Message]) -> dict[str, set[str]]:
    """The order numbers the batch's documents name, per supplier."""
    wanted: dict[str, set[str]] = {}
    for message in messages:
        if message.supplier is None:
            continue
        numbers = wanted.setdefault(message.supplier.code, set())
        for document in message.documents:
            numbers.update(document.order_numbers)
            numbers.update(line.order_number for line in document.lines if line.order_number)
    return wanted


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def ack_policy(supplier: SupplierInfo) -> AckPolicy:
    """What the partner asked for (`contrl`, `aperak`; `never` when absent)."""
    return AckPolicy(AckWhen(supplier.contrl or AckWhen.NEVER),
                     AckWhen(supplier.aperak or AckWhen.NEVER))


def _addressing(session: Session) -> Addressing:
    """Whom acknowledgements come from: the configured sender (`GATEWAY_ACK_FROM`, else
    `GATEWAY_REPLY_FROM`) and Message-ID domain that the session's `Replier` carries; the
    defaults of `ReplySettings` without one."""
    replier = session.info.get(REPLIES)
    settings = replier.settings if replier is not None else ReplySettings()
    return Addressing(settings.acknowledgements_from, settings.message_id_domain)


def _interchange_files(message: _Message, report: MessageReport) -> Iterator[
        tuple[tuple[MessageHeading | Problem, ...], list[Answered], list[Problem]]]:
    """Each EDIFACT file of a message, answered on its own: a bare file, else each EDIFACT
    attachment of an email, with the documents applied from it and the values it refused."""
    if message.edifact:
        yield (message.edifact, report.answered,
               [p for found in message.refusals.values() for p in found])
    for attached in message.attached:
        yield (attached.edifact,
               [a for a in report.answered if a.document.file == attached.file],
               message.refusals.get(attached.file, []))


def line_snapshot(line: OrderLine) -> dict[str, str | None]:
    """The promise fields of a line as JSON text, to restore it exactly (see `rebuild_line`)."""
    return {name: None if (value := getattr(line, name)) is None else str(value)
            for name in _LINE_STATE}


def _read(message: _Message, name: str, profile: ColumnProfile | None) -> list[Problem]:
    """Read the message into its documents, problems and envelope; returns its errors."""
    reading = read_message(message.raw, name, profile)
    results, message.envelope = reading.results, reading.envelope
    message.edifact, message.attached, message.refusals = reading.edifact, reading.attached, {}
    message.attached_x12 = reading.attached_x12
    message.documents, message.problems = [], []
    for result in results:
        if isinstance(result, Problem):
            message.problems.append(replace(result, detail=printable(result.detail)))
        elif refused := refused_values(result):
            # Not applied: a value the database would refuse fails the whole batch.
            refusals = [_refusal(result, value) for value in refused]
            message.problems += refusals
            message.refusals.setdefault(result.file or "", []).extend(refusals)
        else:
            message.documents.append(result)
    return [p for p in message.problems if p.is_error]


_REFUSAL_CODES = {Refusal.CHARACTER: ProblemCode.INVALID_CHARACTER,
                  Refusal.LENGTH: ProblemCode.INVALID_IDENTIFIER,
                  Refusal.NUMBER: ProblemCode.INVALID_NUMBER}


def _refusal(document: Document, value: RefusedValue) -> Problem:
    where = [printable(document.file or "")]
    if document.message_index is not None:
        where.append(f"{document.message_type} message {document.message_index}")
    return Problem(Severity.ERROR, _REFUSAL_CODES[value.refusal],
                   f"{', '.join(w for w in where if w)}: {value.detail}; nothing of this "
                   "document is applied", document.message_index)


# What differs between two deliveries of the same document: the envelope and where it was read.
_ENVELOPE_FIELDS = frozenset({"file", "message_index", "warnings", "interchange_ref",
                              "message_ref", "syntax_version", "receiver_id"})


def _delivery_content(canonical: dict[str, Any]) -> dict[str, Any]:
    """A canonical document without its envelope: what the supplier said (JSON round trip, so
    a document and its stored JSON compare alike)."""
    plain = json.loads(json.dumps(canonical))
    return {key: value for key, value in plain.items() if key not in _ENVELOPE_FIELDS}


def _unread(message: _Message) -> list[Problem]:
    """The errors of an email that mean part of the supplier's answer was not read."""
    return unread_problems(message.problems)


def _numbers(document: Document) -> set[str]:
    return set(document.order_numbers) | {
        line.order_number for line in document.lines if line.order_number}


def domain_line(order_number: str, values: Sequence[Any]) -> OrderLine:
    """The line of `order_number` whose column values, in `LINE_COLUMNS` order, are given."""
    (line_id, line_no, quantity, unit, price, currency, requested_date, gtin, buyer_part,
     supplier_part, description, state, confirmed_quantity, confirmed_date, confirmed_price,
     despatched_quantity, expected_delivery) = values
    return OrderLine(
        order_number=order_number, line_no=line_no, quantity=quantity, unit=unit, price=price,
        currency=currency, requested_date=requested_date, gtin=gtin, buyer_part=buyer_part,
        supplier_part=supplier_part, description=description, state=LineState(state),
        confirmed_quantity=confirmed_quantity, confirmed_date=confirmed_date,
        confirmed_price=confirmed_price, despatched_quantity=despatched_quantity,
        expected_delivery=expected_delivery, id=line_id)


def _insert_new(session: Session, table: Table) -> Insert:
    """An INSERT that skips a row whose key is taken (ON CONFLICT DO NOTHING): on
    PostgreSQL it waits for a transaction that inserted the same key and has not ended."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _move(report: MessageReport, target: MessageState, reason: str | None) -> MessageReport:
    report.state = move_message(report.state, target)
    report.reason = reason
    return report

