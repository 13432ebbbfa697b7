"""`gateway bench web`: the exception queue page and `/api/v1/exceptions` served by `gateway
web` (uvicorn, a subprocess) on a scratch PostgreSQL database of 100,000 exceptions and
1,000,000 order lines, side by side with the same page's SQL run bare through psycopg.

- Seeding is SQL (`generate_series`), after the schema is made by the migrations.
- Latency: sequential requests over keep-alive connections (one client), median and p99 per
  page: the HTML queue (signed-in cookie), the API's first page, a deep page (a cursor taken
  100 pages in) and a filtered page.
- Throughput: the API's first page at a fixed concurrency (threads, one keep-alive connection
  each) for a fixed time, against the SQL statement that page ran (captured from SQLAlchemy)
  executed with its parameters over one psycopg connection per thread, same concurrency;
  rounds alternate the sides; medians, the ratio, and the server's CPU per request (its
  process group, every uvicorn worker).
- Floors (`gateway.bench.web_floor`): a bare uvicorn app answering the same page pre-rendered,
  without the database, with the page's SQL in a worker thread, and with it awaited through
  psycopg's asyncio connections, in the same rounds: what Python can do here at best.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

from gateway.bench.build import current_build
from gateway.bench.common import (
    BenchmarkError,
    database_url,
    percentile,
    process_cpu_seconds,
    scratch_server,
)

TARGET_MEDIAN_MS = 200.0
TARGET_P99_MS = 500.0
TARGET_RATIO = 0.5
BUYERS = 20
SECRET_KEY = "bench-web-secret-key-not-for-production-0123456789"
BUYER_EMAIL = "bench.buyer@example.com"

# One statement per step: (progress label, SQL). Parameters: :suppliers, :orders, :lines,
# :exceptions, :buyers. random() after setseed() in the same transaction: two runs measure the
# same data. Suppliers are skewed (a few have most orders and exceptions, as in life); of the
# exceptions 3 in 4 are open or acknowledged, 3 in 10 have an owner.
SEED_STEPS: tuple[tuple[str, str], ...] = (
    ("suppliers", """
        INSERT INTO suppliers (code, name, reminders)
        SELECT 'SUP' || lpad(n::text, 4, '0'), 'Supplier ' || n, false
        FROM generate_series(1, :suppliers) AS n"""),
    ("purchase orders", """
        INSERT INTO purchase_orders (number, supplier_code, owner_email, order_date, currency,
                                     source, updated_at)
        SELECT 'PO' || lpad(n::text, 7, '0'),
               'SUP' || lpad((1 + floor(:suppliers * random() ^ 2))::int::text, 4, '0'),
               'buyer' || (1 + n % :buyers) || '@example.com',
               date '2026-01-01' + (n % 300), 'EUR', 'bench', now()
        FROM generate_series(1, :orders) AS n"""),
    ("order lines", """
        INSERT INTO order_lines (order_id, line_no, buyer_part, supplier_part, description,
                                 quantity, unit, price, currency, requested_date, state,
                                 despatched_quantity)
        SELECT 1 + (n - 1) / (:lines / :orders), ((n - 1) % (:lines / :orders) + 1)::text,
               'BP-' || (n % 50000), 'SP-' || (n % 50000), 'Part ' || (n % 50000),
               1 + n % 500, 'PCE', (1 + n % 9000) / 100.0, 'EUR',
               date '2026-02-01' + (n % 330), 'confirmed', 0
        FROM generate_series(1, :lines) AS n"""),
    ("exceptions", """
        INSERT INTO exceptions (key, code, severity, risk, state, supplier_code, order_number,
                                line_no, order_line_id, expected, actual, difference, rule,
                                tolerance, owner, occurrences, created_at, updated_at)
        SELECT 'bench:' || g.n,
               (ARRAY['QTY_SHORT','QTY_OVER','DATE_LATE','DATE_EARLY','PRICE_CHANGED',
                      'LINE_REJECTED','LINE_NOT_CONFIRMED','UNKNOWN_LINE'])[1 + floor(8 * g.a)],
               CASE WHEN g.b > 0.8 THEN 'high' WHEN g.b > 0.4 THEN 'medium' ELSE 'low' END,
               round((100 * g.b * g.c)::numeric, 3)::float,
               CASE WHEN g.d < 0.55 THEN 'open' WHEN g.d < 0.75 THEN 'acknowledged'
                    WHEN g.d < 0.9 THEN 'resolved' WHEN g.d < 0.95 THEN 'accepted_change'
                    ELSE 'rejected_change' END,
               po.supplier_code, po.number, ol.line_no, ol.id,
               'qty ' || ol.quantity, 'qty ' || (ol.quantity - 1 - g.n % 5),
               '-' || (1 + g.n % 5), 'quantity within 0%', '0%',
               CASE WHEN g.e < 0.3 THEN 'buyer' || (1 + floor(:buyers * g.e / 0.3))::int
                                        || '@example.com' END,
               1 + g.n % 3,
               timestamptz '2026-12-01 00:00+00' - make_interval(mins => (200000 * g.c)::int),
               timestamptz '2026-12-01 00:00+00' - make_interval(mins => (100000 * g.c)::int)
        FROM (SELECT n, 1 + floor(:lines * random())::int AS line_id, random() AS a,
                     random() AS b, random() AS c, random() AS d, random() AS e
              FROM generate_series(1, :exceptions) AS n) AS g
        JOIN order_lines AS ol ON ol.id = g.line_id
        JOIN purchase_orders AS po ON po.id = ol.order_id"""),
    ("statistics", "ANALYZE"),
)


@dataclass(frozen=True, slots=True)
class Scale:
    exceptions: int = 100_000
    lines: int = 1_000_000
    orders: int = 50_000
    suppliers: int = 100


@dataclass(frozen=True, slots=True)
class Credentials:
    cookie: str
    token: str


def seed(engine: Engine, scale: Scale, step: Callable[[str, int, int], None]) -> Credentials:
    """The schema by the migrations, the data by SQL, a buyer signed in and an API token."""
    from gateway.domain.access import Role, Scope
    from gateway.persistence.schema import upgrade
    from gateway.services.accounts import create_api_token, create_user, open_session
    from gateway.web.security import CookieSigner

    if scale.lines % scale.orders:
        raise BenchmarkError("order lines must be a multiple of orders")
    total = len(SEED_STEPS) + 2
    step("schema (migrations)", 0, total)
    upgrade(engine)
    params = {"suppliers": scale.suppliers, "orders": scale.orders, "lines": scale.lines,
              "exceptions": scale.exceptions, "buyers": BUYERS}
    for done, (label, sql) in enumerate(SEED_STEPS, start=1):
        step(label, done, total)
        if sql == "ANALYZE":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            continue
        with engine.begin() as connection:
            connection.execute(text("SELECT setseed(0.42)"))
            connection.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
    step("users and token", total - 1, total)
    from sqlalchemy.orm import Session

    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        user = create_user(session, BUYER_EMAIL, "Bench Buyer", Role.BUYER, None,
                           "bench-password-0123", "bench", now)
        opened = open_session(session, user, now)
        token = create_api_token(session, "bench", [Scope.EXCEPTIONS_READ], "bench", now)
    step("seeded", total, total)
    return Credentials(CookieSigner(SECRET_KEY).sign_session(opened.token), token.token)


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in ("order_lines", "exceptions", "purchase_orders", "suppliers")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def web_server(url: str, log: Path, workers: int = 1) -> Iterator[tuple[int, int]]:
    """`gateway web --workers N` in a subprocess of its own process group; yields its port and
    process id (the group's) once /healthz answers."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_WEB_SECRET_KEY": SECRET_KEY}
    with served([sys.executable, "-P", "-m", "gateway", "web", "--workers", str(workers)], env,
                log) as found:
        yield found


@contextmanager
def floor_server(body: Path, statement: Statement | None, dsn: str, log: Path,
                 workers: int, mode: str = "") -> Iterator[tuple[int, int]]:
    """uvicorn serving `web_floor.floor_app`: the pre-rendered page in `body`, after running
    `statement` per request when given (in a worker thread, or awaited when `mode` is
    "async")."""
    from gateway.bench.web_floor import ENV_BODY, ENV_DSN, ENV_MODE, ENV_SQL

    env = {**os.environ, ENV_BODY: str(body), ENV_MODE: mode}
    if statement is not None:
        sql = body.with_suffix(".sql.json")
        sql.write_text(json.dumps({"sql": statement.sql, "parameters": statement.parameters}))
        env.update({ENV_DSN: dsn, ENV_SQL: str(sql)})
    with served([sys.executable, "-P", "-m", "uvicorn", "--factory",
                 "gateway.bench.web_floor:floor_app", "--workers", str(workers),
                 "--no-server-header"], env, log) as found:
        yield found


@contextmanager
def served(command: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """`command` plus `--port` in a process group of its own until /healthz answers 200."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not _answers(port, "/healthz"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchmarkError(f"{command[2]} did not start; see {log}")
                time.sleep(0.1)
            yield port, process.pid
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = headers

    def get(self, path: str) -> bytes:
        self._connection.request("GET", path, headers=self._headers)
        response = self._connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise BenchmarkError(f"GET {path} answered {response.status}: {body[:200]!r}")
        return body

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    label: str
    path: str
    headers: dict[str, str]
    check: str  # a text every answer holds


def targets(credentials: Credentials, deep_cursor: str) -> list[Target]:
    cookie = {"Cookie": f"gateway_session={credentials.cookie}"}
    bearer = {"Authorization": f"Bearer {credentials.token}"}
    return [
        Target("page", "queue page (HTML), first page", "/exceptions", cookie, "</table>"),
        Target("api", "API list, first page", "/api/v1/exceptions", bearer, '"items"'),
        Target("api_deep", "API list, 100 pages in (cursor)",
               f"/api/v1/exceptions?cursor={deep_cursor}", bearer, '"items"'),
        Target("api_filtered", "API list, supplier and severity filter",
               "/api/v1/exceptions?supplier=SUP0042&severity=high", bearer, '"items"'),
        Target("page_filtered", "queue page, supplier filter, 100 pages in",
               f"/exceptions?cursor={deep_cursor}&supplier=SUP0042", cookie, "</html>"),
    ]


def deep_cursor(port: int, token: str, pages: int) -> str:
    """The cursor `pages` pages into the queue, by walking it."""
    client = Client(port, {"Authorization": f"Bearer {token}"})
    cursor = ""
    for _ in range(pages):
        query = f"?cursor={cursor}" if cursor else ""
        found = json.loads(client.get(f"/api/v1/exceptions{query}"))["next_cursor"]
        if not found:
            break
        cursor = found
    client.close()
    return urllib.parse.quote(cursor)


def latencies(port: int, target: Target, requests: int) -> list[float]:
    client = Client(port, target.headers)
    client.get(target.path)  # warm: the connection and the app's caches
    seconds = []
    for _ in range(requests):
        begin = time.perf_counter()
        body = client.get(target.path)
        seconds.append(time.perf_counter() - begin)
        if target.check.encode() not in body:
            raise BenchmarkError(f"{target.name} answered without {target.check!r}")
    client.close()
    return seconds


@dataclass(frozen=True, slots=True)
class Worker:
    """One client of a throughput round: `call` once per request, `close` at the end."""

    call: Callable[[], None]
    close: Callable[[], None]


@dataclass(frozen=True, slots=True)
class Round:
    """One side's round: its calls per second, and the CPU seconds this process (the clients,
    nothing else runs in it meanwhile) spent per call."""

    per_s: float
    client_cpu_ms_per_call: float | None


def throughput(work: Callable[[], Worker], concurrency: int, seconds: float) -> Round:
    """Calls per second of `concurrency` threads, each running its own `work()` loop, over
    `seconds` (the calls counted are those finished in time), and the clients' CPU per call."""
    counts = [0] * concurrency
    errors: list[Exception] = []
    start = threading.Barrier(concurrency + 1)
    stop = threading.Event()

    def loop(index: int) -> None:
        worker: Worker | None = None
        try:
            worker = work()
            start.wait()
            while not stop.is_set():
                worker.call()
                counts[index] += 1
        except Exception as exc:  # noqa: BLE001 - the caller raises it
            errors.append(exc)
            start.abort()
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    begin = time.perf_counter()
    cpu_before = time.process_time()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - begin
    for thread in threads:
        thread.join(timeout=60)
    # the calls finished after `stop` are in the CPU: counted too, for this figure only
    cpu = time.process_time() - cpu_before
    if errors:
        raise BenchmarkError(f"a client failed: {errors[0]!r}")
    done = sum(counts)
    return Round(done / elapsed, cpu * 1000 / done if done else None)


class RawClient:
    """One keep-alive HTTP/1.1 connection for the throughput rounds, as lean as a Python client
    gets: the request's bytes built once, the answer read off the socket by its Content-Length
    (no header objects, no `email.parser` as `http.client` builds). The clients share the 2
    cores with the server and PostgreSQL: every CPU cycle they spend is taken from the server,
    so they cost as little per request as the bare side's psycopg clients (both are measured,
    `client_cpu_ms_per_request`). Each answer must be a 200 with the whole body and `check`
    in it."""

    def __init__(self, port: int, path: str, headers: dict[str, str], check: bytes) -> None:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._check = check
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def get(self) -> None:
        self._socket.sendall(self._request)
        head = self._read_until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise BenchmarkError(f"answered {head[:40]!r}")
        body = self._read_exactly(content_length(head))
        if self._check not in body:
            raise BenchmarkError(f"answered without {self._check!r}")

    def _read_until(self, end: bytes) -> bytes:
        while (found := self._buffer.find(end)) < 0:
            self._receive()
        head, self._buffer = self._buffer[:found], self._buffer[found + len(end):]
        return head

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._receive()
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return body

    def _receive(self) -> None:
        chunk = self._socket.recv(262144)
        if not chunk:
            raise BenchmarkError("the server closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._socket.close()


def content_length(head: bytes) -> int:
    """The Content-Length of a response head (RFC 9112 section 6.3: without one, or chunked,
    the body's end is not known from the head; the servers measured always send it)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    raise BenchmarkError(f"an answer without Content-Length: {head[:200]!r}")


def api_work(port: int, token: str) -> Callable[[], Worker]:
    def make() -> Worker:
        client = RawClient(port, "/api/v1/exceptions", {"Authorization": f"Bearer {token}"},
                           b'"items"')
        return Worker(client.get, client.close)
    return make


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    parameters: dict[str, Any]


def captured_queue_sql(url: str, cursor: str | None = None) -> list[Statement]:
    """The statement the API's page (the first, or the one after `cursor`) runs for the queue
    (`queue_query` with the API's columns), as SQLAlchemy sends it to psycopg: the bare side
    runs exactly this."""
    from gateway.web.queue_items import API_COLUMNS
    from gateway.web.queue_view import DEFAULT_PAGE_SIZE, QueueFilters, queue_query

    engine = create_engine(url)
    seen: list[Statement] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _many: bool) -> None:
        seen.append(Statement(statement, dict(parameters or {})))

    with engine.connect() as connection:
        connection.execute(queue_query(API_COLUMNS, QueueFilters(), cursor, DEFAULT_PAGE_SIZE,
                                       datetime.now(UTC))).all()
    engine.dispose()
    return [s for s in seen if s.sql.lstrip().upper().startswith("SELECT")]


def bare_work(dsn: str, statements: list[Statement]) -> Callable[[], Worker]:
    import psycopg

    def make() -> Worker:
        connection = psycopg.connect(dsn, autocommit=True)

        def call() -> None:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement.sql, statement.parameters)
                    cursor.fetchall()
        return Worker(call, connection.close)
    return make


def group_cpu_seconds(group: int) -> float | None:
    """User plus system CPU seconds of every live process in process group `group` (the web
    server and its uvicorn workers; Linux /proc; None elsewhere). A worker that exited is
    not counted: none does during a round."""
    if process_cpu_seconds(group) is None:
        return None
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[2]: the process group (proc(5), field 5)
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def explain(url: str, statement: Statement) -> str:
    import psycopg

    with psycopg.connect(_dsn(url)) as connection, connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql,
                       statement.parameters)
        return "\n".join(str(row[0]) for row in cursor.fetchall())


def _dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


# The floors (gateway.bench.web_floor): name, label, whether each request runs the page's
# statement, and how (a worker thread, or "async" on the event loop).
FLOORS = (("floor_http", "bare uvicorn, pre-rendered page", False, ""),
          ("floor_query", "bare uvicorn, the page's SQL in a thread, pre-rendered page", True,
           ""),
          ("floor_async_query", "bare uvicorn, the page's SQL awaited (psycopg asyncio), "
           "pre-rendered page", True, "async"))


@dataclass(frozen=True, slots=True)
class Side:
    """One side of the throughput rounds: its clients, and the server process group whose
    CPU per request is measured (None for the bare SQL, which has no server of ours)."""

    name: str
    label: str
    work: Callable[[], Worker]
    group: int | None


def throughput_rounds(sides: list[Side], concurrency: int, seconds: float, rounds: int,
                      step: Callable[[str, int, int], None]) -> dict[str, Any]:
    """`rounds` rounds, each running every side in turn for `seconds`: per side the rates,
    their median, the server's CPU per request and the clients' (medians); the load after
    each round."""
    rates: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu: dict[str, list[float]] = {side.name: [] for side in sides}
    clients: dict[str, list[float]] = {side.name: [] for side in sides}
    loads: list[list[float]] = []
    for number in range(1, rounds + 1):
        for side in sides:
            step(f"throughput round {number}/{rounds}: {side.label}", 0, 0)
            before = group_cpu_seconds(side.group) if side.group is not None else None
            measured = throughput(side.work, concurrency, seconds)
            after = group_cpu_seconds(side.group) if side.group is not None else None
            rates[side.name].append(measured.per_s)
            if measured.client_cpu_ms_per_call is not None:
                clients[side.name].append(measured.client_cpu_ms_per_call)
            if before is not None and after is not None and measured.per_s:
                cpu[side.name].append((after - before) * 1000 / (measured.per_s * seconds))
        loads.append(load_average())
    return {"load": loads, **{side.name: {
        "label": side.label, "per_s": [round(r, 1) for r in rates[side.name]],
        "median_per_s": round(statistics.median(rates[side.name]), 1),
        # the server's CPU per request during the rounds (about: the requests are counted
        # over the round, the CPU until the clients stopped)
        "server_cpu_ms_per_request": _median_or_none(cpu[side.name]),
        # the load generator's own CPU per request (this process, its client threads)
        "client_cpu_ms_per_request": _median_or_none(clients[side.name])}
        for side in sides}}


def _median_or_none(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def page_latencies(port: int, credentials: Credentials, cursor: str, requests: int,
                   step: Callable[[str, int, int], None]) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    for target in targets(credentials, cursor):
        step(f"latency: {target.label}", 0, 0)
        values = latencies(port, target, requests)
        measured[target.name] = {
            "label": target.label, "requests": len(values),
            "median_ms": round((percentile(values, 0.5) or 0) * 1000, 1),
            "p99_ms": round((percentile(values, 0.99) or 0) * 1000, 1),
            "load": load_average()}
    return measured


def run_web_benchmark(postgres_url: str, scale: Scale, requests: int, concurrency: int,
                      seconds: float, rounds: int, log: Path,
                      step: Callable[[str, int, int], None], workers: int = 1,
                      floors: bool = True) -> dict[str, Any]:
    log.write_bytes(b"")
    with scratch_server(postgres_url) as create:
        scratch = create("")
        url = database_url(postgres_url, scratch)
        engine = create_engine(url)
        began = time.perf_counter()
        credentials = seed(engine, scale, step)
        seed_seconds = time.perf_counter() - began
        rows = count_rows(engine)
        engine.dispose()
        statements = captured_queue_sql(url)
        queue_plan = explain(url, statements[0]) if statements else ""
        with web_server(url, log, workers) as (port, pid), ExitStack() as stack:
            step("walking 100 pages for a deep cursor", 0, 0)
            cursor = deep_cursor(port, credentials.token, 100)
            deep = captured_queue_sql(url, urllib.parse.unquote(cursor))
            deep_plan = explain(url, deep[0]) if deep else ""
            measured = page_latencies(port, credentials, cursor, requests, step)
            sides = [Side("api", "API", api_work(port, credentials.token), pid),
                     Side("bare", "bare psycopg", bare_work(_dsn(url), statements), None)]
            if floors:
                body = log.with_name(log.stem + "-page.json")
                client = Client(port, {"Authorization": f"Bearer {credentials.token}"})
                body.write_bytes(client.get("/api/v1/exceptions"))
                client.close()
                for name, label, statement, mode in FLOORS:
                    floor_port, floor_pid = stack.enter_context(floor_server(
                        body, statements[0] if statement else None, _dsn(url), log, workers,
                        mode))
                    sides.append(Side(name, label, api_work(floor_port, credentials.token),
                                      floor_pid))
            put = throughput_rounds(sides, concurrency, seconds, rounds, step)
    api = put["api"]["median_per_s"]
    bare = put["bare"]["median_per_s"]
    latency_ok = all(m["median_ms"] < TARGET_MEDIAN_MS and m["p99_ms"] < TARGET_P99_MS
                     for m in measured.values())
    return {
        "build": current_build().as_json(), "rows": rows, "web_workers": workers,
        "database": scratch,  # dropped by the time this is returned
        "seed_seconds": round(seed_seconds, 1), "latency": measured,
        "throughput": {
            "concurrency": concurrency, "seconds_per_round": seconds, "rounds": rounds,
            "api_per_s": put["api"]["per_s"], "bare_per_s": put["bare"]["per_s"],
            "api_median_per_s": api, "bare_median_per_s": bare,
            "ratio": round(api / bare, 3) if bare else None, "load": put["load"],
            "server_cpu_ms_per_request": put["api"]["server_cpu_ms_per_request"],
            "client_cpu_ms_per_request": {side: put[side]["client_cpu_ms_per_request"]
                                          for side in ("api", "bare")},
            "floors": {name: {**put[name], "ratio": round(put[name]["median_per_s"] / bare, 3)
                              if bare else None}
                       for name, *_ in FLOORS if name in put}},
        "queue_sql": [s.sql for s in statements], "queue_plan": queue_plan,
        "queue_plan_100_pages_in": deep_plan,
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p99_ms": TARGET_P99_MS,
                    "ratio": TARGET_RATIO},
        "latency_meets_target": latency_ok,
        "ratio_meets_target": bool(bare) and api / bare >= TARGET_RATIO,
    }


def web_table(result: dict[str, Any]) -> Table:
    rows = result["rows"]
    table = Table(title=(f"gateway bench web, {result['build']['label']}: "
                         f"{rows['exceptions']:,} exceptions, {rows['order_lines']:,} order "
                         f"lines (seeded in {result['seed_seconds']} s)"))
    for column in ("request", "median ms", "p99 ms", "load (1, 5, 15 min)"):
        table.add_column(column)
    for measured in result["latency"].values():
        table.add_row(measured["label"], f"{measured['median_ms']:.1f}",
                      f"{measured['p99_ms']:.1f}", " ".join(map(str, measured["load"])))
    put = result["throughput"]
    table.add_row("", "", "", "")
    table.add_row(f"API list, {put['concurrency']} clients", f"{put['api_median_per_s']} /s",
                  "rounds " + ", ".join(map(str, put["api_per_s"])),
                  " ".join(map(str, put["load"][-1])))
    table.add_row(f"same SQL via psycopg, {put['concurrency']} connections",
                  f"{put['bare_median_per_s']} /s",
                  "rounds " + ", ".join(map(str, put["bare_per_s"])), "")
    table.add_row("ratio API / bare SQL", f"{put['ratio']}", f"target ≥ {TARGET_RATIO}", "")
    table.add_row("web process CPU per API request", f"{put['server_cpu_ms_per_request']} ms",
                  f"{result['web_workers']} worker(s)", "")
    clients = put["client_cpu_ms_per_request"]
    table.add_row("clients' CPU per request", f"{clients['api']} ms (HTTP)",
                  f"{clients['bare']} ms (psycopg)", "")
    for floor in put["floors"].values():
        table.add_row(f"floor: {floor['label']}", f"{floor['median_per_s']} /s",
                      "rounds " + ", ".join(map(str, floor["per_s"])),
                      f"ratio {floor['ratio']}, CPU {floor['server_cpu_ms_per_request']} ms")
    return table
