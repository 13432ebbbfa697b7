"""`/metrics`: the gateway's state in Prometheus text format, read from the database at scrape
time.

The message rows are the source of truth (docs/architecture.md, "Data flow"), and workers, channels
and web processes run apart, on several machines: a value counted in one process's memory would be
seen by that process's scrapes only. So a custom collector asks the database on every scrape, and
any number of web processes report the same values.

Processing latency (archive to reconciled) is a gauge histogram over the messages reconciled in
the last `LATENCY_WINDOW`: `updated_at - received_at` of the rows in state `reconciled` or
`acknowledged` (the batch that moved a message to `reconciled` sets `updated_at` to the time it
finished, just before its commit: `gateway.services.pipeline.stamp_finished`; the outbox sender
moving it on to `acknowledged` leaves `updated_at` as it was). Observations in process memory
would have to be made by the workers, which serve no HTTP; this way the figure survives
restarts and needs no shared multiprocess directory. A message replayed later counts from its first
arrival, which is what the supplier waited.

Labels are states, channels, exception codes and severities, and queue names: small, fixed
sets. Never a sender, an order number, a payload or a price.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, Float, case, func, literal, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from gateway.domain.discrepancies import OPEN_STATES
from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionRow, InboundMessage
from gateway.web.health import BrokerProbe, BrokerUnavailable

log = logging.getLogger(__name__)

LATENCY_WINDOW = timedelta(minutes=15)
# Upper bounds in seconds, from a batch on an idle worker to a backlog worked off after an outage.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                   1800.0, 3600.0)


@dataclass(slots=True)
class Snapshot:
    """What one scrape read from the database."""

    messages: dict[tuple[str, str], int] = field(default_factory=dict)
    latency_buckets: list[int] = field(default_factory=list)
    latency_count: int = 0
    latency_sum: float = 0.0
    exceptions: dict[tuple[str, str, str], int] = field(default_factory=dict)


def read_snapshot(connection: Connection, now: datetime) -> Snapshot:
    snapshot = Snapshot()
    for state, channel, count in connection.execute(
            select(InboundMessage.state, InboundMessage.channel, func.count())
            .group_by(InboundMessage.state, InboundMessage.channel)):
        snapshot.messages[(state, channel)] = count
    _read_latency(connection, now, snapshot)
    for code, severity, state, count in connection.execute(
            select(ExceptionRow.code, ExceptionRow.severity, ExceptionRow.state, func.count())
            .group_by(ExceptionRow.code, ExceptionRow.severity, ExceptionRow.state)):
        snapshot.exceptions[(code, severity, state)] = count
    return snapshot


def _read_latency(connection: Connection, now: datetime, snapshot: Snapshot) -> None:
    """One query: a count per bucket, the count and the sum, computed by the database."""
    seconds = _seconds_to_reconcile(connection.dialect.name)
    row = connection.execute(
        select(*(func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0)
                 for bound in LATENCY_BUCKETS),
               func.count(), func.coalesce(func.sum(seconds), literal(0.0)))
        .where(InboundMessage.state.in_((MessageState.RECONCILED.value,
                                         MessageState.ACKNOWLEDGED.value)),
               InboundMessage.updated_at >= now - LATENCY_WINDOW)).one()
    snapshot.latency_buckets = [int(value) for value in row[:len(LATENCY_BUCKETS)]]
    snapshot.latency_count = int(row[len(LATENCY_BUCKETS)])
    snapshot.latency_sum = float(row[len(LATENCY_BUCKETS) + 1])


def _seconds_to_reconcile(dialect: str) -> ColumnElement[float]:
    start, end = InboundMessage.received_at, InboundMessage.updated_at
    if dialect == "sqlite":
        # SQLite keeps the timestamps as text; julianday() reads them as fractional days,
        # whose binary fractions are rounded back to the millisecond the text holds.
        return type_coerce(
            func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3), Float)
    return type_coerce(func.extract("epoch", end - start), Float)


class GatewayCollector(Collector):
    def __init__(self, engine: Engine, broker: BrokerProbe | None,
                 now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._broker = broker
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily |
                                  GaugeHistogramMetricFamily]:
        up = GaugeMetricFamily("gateway_database_up",
                               "1 when this scrape could read the database, else 0.")
        try:
            with self._engine.connect() as connection:
                snapshot = read_snapshot(connection, self._now())
        except SQLAlchemyError as exc:
            log.warning("metrics: the database could not be read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield from _database_metrics(snapshot)
        if self._broker is not None:
            yield from _broker_metrics(self._broker)


def _database_metrics(snapshot: Snapshot) -> Iterator[
        GaugeMetricFamily | CounterMetricFamily | GaugeHistogramMetricFamily]:
    messages = GaugeMetricFamily("gateway_inbound_messages",
                                 "Inbound messages by state and channel.",
                                 labels=["state", "channel"])
    for (state, channel), count in sorted(snapshot.messages.items()):
        messages.add_metric([state, channel], count)
    yield messages
    backlog = GaugeMetricFamily(
        "gateway_received_messages",
        "Messages archived and waiting to be processed (state received): the queue depth "
        "the database holds.",
        value=sum(count for (state, _), count in snapshot.messages.items()
                  if state == MessageState.RECEIVED.value))
    yield backlog
    cumulative = [(_bound(b), float(n)) for b, n in zip(LATENCY_BUCKETS,
                                                       snapshot.latency_buckets, strict=True)]
    yield GaugeHistogramMetricFamily(
        "gateway_processing_latency_seconds",
        f"Seconds from archive to reconciled, for the messages reconciled in the last "
        f"{int(LATENCY_WINDOW.total_seconds() // 60)} minutes.",
        buckets=[*cumulative, ("+Inf", float(snapshot.latency_count))],
        gsum_value=snapshot.latency_sum)
    yield from _exception_metrics(snapshot)


def _exception_metrics(snapshot: Snapshot) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    open_now = GaugeMetricFamily("gateway_exceptions_open",
                                 "Exceptions open now (open or acknowledged), by code and "
                                 "severity.", labels=["code", "severity"])
    raised = CounterMetricFamily("gateway_exceptions_raised",
                                 "Exceptions ever raised, whatever their state now, by code and "
                                 "severity.", labels=["code", "severity"])
    open_counts: dict[tuple[str, str], int] = {}
    raised_counts: dict[tuple[str, str], int] = {}
    open_states = set(OPEN_STATES)
    for (code, severity, state), count in snapshot.exceptions.items():
        raised_counts[(code, severity)] = raised_counts.get((code, severity), 0) + count
        if state in open_states:
            open_counts[(code, severity)] = open_counts.get((code, severity), 0) + count
    for labels, count in sorted(open_counts.items()):
        open_now.add_metric(list(labels), count)
    for labels, count in sorted(raised_counts.items()):
        raised.add_metric(list(labels), count)
    yield open_now
    yield raised


def _broker_metrics(broker: BrokerProbe) -> Iterator[GaugeMetricFamily]:
    up = GaugeMetricFamily("gateway_broker_up", "1 when this scrape could ask the broker.")
    lengths = GaugeMetricFamily("gateway_broker_queue_length",
                                "Tasks waiting in the broker, by Celery queue.",
                                labels=["queue"])
    try:
        found = broker.queue_lengths()
    except BrokerUnavailable as exc:
        log.warning("metrics: the broker could not be asked (%s)", exc)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    for queue, length in sorted(found.items()):
        lengths.add_metric([queue], length)
    yield up
    yield lengths


def _bound(value: float) -> str:
    return repr(float(value))
