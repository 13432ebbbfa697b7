"""`gateway bench as2`: receiving signed and encrypted AS2 messages end to end against opening
the same messages with the bare S/MIME layer, and with `openssl cms`, in one run.

The target (issue 14): signed+encrypted messages of 100 KB received end to end (HTTP on
loopback, decrypt, verify, archive, commit, signed MDN) at no less than 70% of the rate of
`openssl cms -decrypt` + `-verify` on the same messages in a loop (or of the bare S/MIME layer
used). The sides:

- `endpoint`: the AS2 endpoint (`gateway.web.as2_route.as2_app`, uvicorn) in a process of its
  own on a fresh SQLite database (commits flushed to disk, the embedded default), in as many
  worker processes as `gateway as2` runs by default (one per usable CPU; `--workers`). `--clients`
  threads of this process POST their share of the messages one after the other, each over a
  keep-alive connection of its own, as partners that send several messages at once do (4 by
  default, as `gateway bench smtp`; 1 is one message at a time). The clock starts once every
  client is connected and stops at the last MDN. After the run every MDN is verified (our
  certificate, the expected MIC) and the database must hold each message exactly once;
- `openssl`: `openssl cms -decrypt` then `openssl cms -verify` per message, a process each, one
  message after the other (the loop the issue names first);
- `layer`: `gateway.as2.smime.open_message` on each message in one loop in this process
  (decrypt, verify, MIC), the alternative baseline the issue names;
- `layer_threads`: the same layer from `--clients` threads of this process at once, for the
  same concurrency as the endpoint's clients (information: the issue's loop is one);
- `layer_mdn`: the layer and then the signed MDN the endpoint answers (`build_receipt`, our
  key), one loop (information: the least any endpoint does per message before it stores
  anything, so `layer_mdn / layer` is the most one loop can reach against the layer).

The sides alternate for `--runs` runs; medians, ratios, the CPU per message of the endpoint's
processes and of the layer's loop, the number of worker processes and the load average are
reported.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from gateway.as2.cms import KeyPair
from gateway.as2.mdn import (
    Disposition,
    MdnRequest,
    Receipt,
    ReceiptFacts,
    build_receipt,
    read_receipt,
)
from gateway.as2.mime import entity_from_headers, signed_parts, split_entity
from gateway.as2.outgoing import Packed, SendPlan, pack
from gateway.as2.smime import Security, open_message, received_mic
from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, TimedSide, timed

TARGET_RATIO = 0.7
PAYLOAD_BYTES = 100 * 1024
PARTNER_FILE = """
[as2]
[[as2.stations]]
as2_id = "BUYER-AS2"
key = "ours.key"
certificate = "ours.pem"

[[suppliers]]
code = "BENCH"
as2_id = "BENCH-AS2"
[suppliers.as2]
certificates = ["partner.pem"]
"""


@dataclass(frozen=True)
class Material:
    folder: Path
    ours: KeyPair
    partner: KeyPair
    messages: list[Packed]


def _pair(name: str) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return KeyPair(key, certificate)


def _write(folder: Path, name: str, pair: KeyPair) -> None:
    key = folder / f"{name}.key"
    key.write_bytes(pair.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key.chmod(0o600)
    (folder / f"{name}.pem").write_bytes(pair.certificate.public_bytes(Encoding.PEM))


def payload(n: int, size: int = PAYLOAD_BYTES) -> bytes:
    """An EDIFACT-shaped DESADV of about `size` bytes, different for each n."""
    head = f"UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000001:14+261206:0900+B{n}'"
    lines: list[str] = []
    total = len(head)
    while total < size:
        i = len(lines)
        lines.append(f"LIN+{i + 1}++4000862141{i % 1000:03d}:SRV'QTY+12:{i % 97 + 1}:PCE'"
                     f"RFF+ON:45{n:08d}:{(i + 1) * 10}'")
        total += len(lines[-1])
    return (head + "".join(lines) + f"UNZ+1+B{n}'").encode("ascii")


def make_material(folder: Path, count: int) -> Material:
    ours, partner = _pair("bench-ours"), _pair("bench-partner")
    _write(folder, "ours", ours)
    _write(folder, "partner", partner)
    (folder / "partners.toml").write_text(PARTNER_FILE)
    plan = SendPlan(mdn=MdnRequest(True, True, "sha256", None))
    return Material(folder, ours, partner,
                    [pack(payload(n), "application/edifact", f"desadv-{n}.edi", plan,
                          partner, ours.certificate) for n in range(count)])


# -- the sides --------------------------------------------------------------------------------


def _security(material: Material) -> Security:
    """What the layer opens the benchmark's messages with: our key, the partner's certificate,
    a cap of ten messages' size."""
    return Security([material.ours], [material.partner.certificate], 10 * PAYLOAD_BYTES)


def open_with_layer(material: Material, messages: Sequence[Packed] | None = None) -> int:
    security = _security(material)
    opened = 0
    for message in material.messages if messages is None else messages:
        result = open_message(entity_from_headers(message.headers, message.body), security)
        opened += received_mic(result, "sha256") == message.mic
    return opened


def open_and_answer(material: Material, now: Callable[[], datetime] = lambda: datetime.now(UTC)
                    ) -> list[Receipt]:
    """`open_with_layer`, then the signed MDN for each message as the endpoint builds it
    (`As2Channel._receipt`: our station's key, the MIC, a `processed` disposition): one MDN
    for each message whose MIC came out as expected."""
    security = _security(material)
    asked = MdnRequest(True, True, "sha256", None)
    receipts: list[Receipt] = []
    for n, message in enumerate(material.messages):
        mic = received_mic(open_message(entity_from_headers(message.headers, message.body),
                                        security), "sha256")
        if mic != message.mic:
            continue
        facts = ReceiptFacts(f"<layer-{n}@bench>", "BUYER-AS2", "BENCH-AS2", Disposition(), mic,
                             "The AS2 message was received and stored.")
        receipts.append(build_receipt(facts, asked, material.ours, now()))
    return receipts


def open_with_layer_threads(material: Material, threads: int) -> int:
    """The layer's loop in `threads` threads at once, each over its share of the messages."""
    counts: list[int] = []
    workers = [threading.Thread(target=lambda share=material.messages[i::threads]:
                                counts.append(open_with_layer(material, share)))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts)


def open_with_openssl(material: Material) -> int:
    """Per message: `openssl cms -decrypt`, the multipart/signed cut in two here (OpenSSL's
    S/MIME reader mangles a signed part with lines longer than its buffer, as a one-line
    EDIFACT interchange is), then `openssl cms -verify` of the detached signature over the
    part. `-noverify`: the partner's certificate is trusted as listed, no chain is built (as
    the gateway's layer does)."""
    folder = material.folder
    opened = 0
    for message in material.messages:
        (folder / "m.der").write_bytes(message.body)
        inner = subprocess.run(
            ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in",
             str(folder / "m.der"), "-recip", str(folder / "ours.pem"), "-inkey",
             str(folder / "ours.key")], capture_output=True, check=True).stdout
        signed, signature = signed_parts(split_entity(inner))
        (folder / "signed").write_bytes(signed)
        (folder / "signature.der").write_bytes(signature.decoded_body())
        done = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
             str(folder / "signature.der"), "-content", str(folder / "signed"), "-noverify",
             "-certfile", str(folder / "partner.pem"), "-out", os.devnull],
            capture_output=True, check=False)
        opened += done.returncode == 0
    return opened


Answers = list[tuple[list[tuple[str, str]], bytes]]


def post_all(port: int, material: Material, message_ids: list[str], clients: int = 1
             ) -> tuple[float, Answers]:
    """Seconds from the moment every client is connected to the last MDN, and each message's
    answer (its headers and body) in the order of the messages."""
    answers: list[tuple[list[tuple[str, str]], bytes] | None] = [None] * len(message_ids)
    failures: list[Exception] = []
    ready = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.connect()
            ready.wait()
            for n in range(index, len(message_ids), clients):
                answers[n] = _post(connection, material.messages[n], message_ids[n])
        except (OSError, http.client.HTTPException, BenchmarkError,
                threading.BrokenBarrierError) as exc:  # raised in the benchmark's thread
            failures.append(exc)
            ready.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: raised below
        ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise BenchmarkError(f"a client failed: {failures[0]}") from failures[0]
    return seconds, [answer for answer in answers if answer is not None]


def _post(connection: http.client.HTTPConnection, message: Packed, message_id: str
          ) -> tuple[list[tuple[str, str]], bytes]:
    headers = {"AS2-Version": "1.2", "AS2-From": "BENCH-AS2", "AS2-To": "BUYER-AS2",
               "Message-ID": message_id, "Disposition-Notification-To": "bench",
               "Disposition-Notification-Options":
                   "signed-receipt-protocol=required, pkcs7-signature; "
                   "signed-receipt-micalg=required, sha-256",
               **dict(message.headers)}
    connection.request("POST", "/as2", body=message.body, headers=headers)
    response = connection.getresponse()
    answer = (response.getheaders(), response.read())
    if response.status != 200:
        raise BenchmarkError(f"the endpoint answered {response.status}")
    return answer


def serve_endpoint(database: str, partner_file: str, port: int, workers: int = 1) -> None:
    """The endpoint's process: `as2_app` on uvicorn, no worker (receiving is measured); with
    `workers` above 1, that many processes started by uvicorn, as `gateway as2 --workers`
    serves (`endpoint_from_environment` in each)."""
    import uvicorn

    os.environ[_DATABASE_ENV], os.environ[_PARTNERS_ENV] = database, partner_file
    if workers > 1:
        uvicorn.run("gateway.bench.as2:endpoint_from_environment", factory=True,
                    workers=workers, host="127.0.0.1", port=port, log_level="warning",
                    log_config=None)
        return
    app = endpoint_from_environment()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)


_DATABASE_ENV, _PARTNERS_ENV = "GATEWAY_BENCH_AS2_DATABASE", "GATEWAY_BENCH_AS2_PARTNERS"


def endpoint_from_environment() -> Any:
    """One process's endpoint on the run's SQLite file; its channel's queue committed when
    the process stops."""
    from contextlib import asynccontextmanager

    from gateway.as2.partners import directory_from_file
    from gateway.bootstrap import make_engine, make_session_factory
    from gateway.channels.as2 import As2Channel
    from gateway.config import Settings
    from gateway.web.as2_route import as2_app

    database = os.environ[_DATABASE_ENV]
    settings = Settings(f"sqlite:///{database}", Path(database).parent)
    sessions = make_session_factory(make_engine(settings))
    channel = As2Channel(sessions.begin,
                         directory_from_file(Path(os.environ[_PARTNERS_ENV]), os.environ),
                         lambda: datetime.now(UTC))
    app = as2_app(channel)

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        try:
            yield
        finally:
            channel.close()

    app.router.lifespan_context = lifespan
    return app


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fresh_database(folder: Path, run: int) -> Path:
    from gateway.bootstrap import make_engine
    from gateway.config import Settings
    from gateway.persistence.schema import upgrade

    path = folder / f"bench-{run}.db"
    engine = make_engine(Settings(f"sqlite:///{path}", folder))
    upgrade(engine)
    engine.dispose()
    return path


def _wait_workers(pid: int, workers: int) -> None:
    """With several workers the socket listens before every worker has started: wait until
    the CPU of the process tree stops growing (the workers' imports and setup are done), so
    that it is not counted as the messages'."""
    if workers == 1:
        return
    before = _cpu_seconds(pid)
    for _ in range(120):
        time.sleep(0.5)
        now = _cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError("the AS2 endpoint stopped while starting")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchmarkError("the AS2 endpoint did not start in 60 s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and of its live descendants (uvicorn's
    worker processes; Linux /proc: fields 14 and 15 of each, and each thread's children)."""
    total, pids = 0.0, [pid]
    while pids:
        found = pids.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{found}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{found}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
    return total


def receive_end_to_end(material: Material, run: int, clients: int, workers: int = 1
                       ) -> tuple[float, float]:
    """Wall seconds of the POSTs, and the endpoint's CPU seconds over them (all its
    processes)."""
    database = _fresh_database(material.folder, run)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-P", "-c", "from gateway.bench.as2 import serve_endpoint; "
         f"serve_endpoint({str(database)!r}, {str(material.folder / 'partners.toml')!r}, "
         f"{port}, {workers})"])
    try:
        _wait_listening(port, process)
        _wait_workers(process.pid, workers)
        ids = [f"<bench-{run}-{n}@bench.example>" for n in range(len(material.messages))]
        cpu_before = _cpu_seconds(process.pid)
        seconds, answers = post_all(port, material, ids, clients)
        cpu = _cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(30)
    _check_answers(material, ids, answers, database)
    return seconds, cpu


def _check_answers(material: Material, ids: list[str], answers: Answers, database: Path
                   ) -> None:
    import sqlite3

    if len(answers) != len(ids):
        raise BenchmarkError(f"{len(answers)} MDNs for {len(ids)} messages")
    for message, message_id, (headers, body) in zip(material.messages, ids, answers,
                                                    strict=True):
        receipt = read_receipt(headers, body, [material.ours.certificate])
        if receipt.original_message_id != message_id or receipt.disposition != "processed" \
                or not receipt.mic_matches(message.mic):
            raise BenchmarkError(f"{message_id}: MDN {receipt}")
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT count(*), count(DISTINCT sha256) FROM "
                                    "inbound_messages WHERE state = 'received'").fetchone()
    if tuple(stored) != (len(ids), len(ids)):
        raise BenchmarkError(f"the database holds {stored}, expected {len(ids)} messages once")


LABELS = {
    "endpoint": "end to end: HTTP, decrypt, verify, archive, commit, signed MDN (SQLite)",
    "openssl": "openssl cms -decrypt, -verify: a process each, one message after the other",
    "layer": "the bare S/MIME layer (decrypt, verify, MIC) in one loop",
    "layer_threads": "the bare S/MIME layer from as many threads as clients (info)",
    "layer_mdn": "the bare layer and the signed MDN, no storing, in one loop (info)",
}


def run_as2_benchmark(count: int, runs: int, progress: Callable[[str], None],
                      clients: int = 4, workers: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gateway-bench-as2-") as name:
        progress("making keys and messages")
        material = make_material(Path(name), count)
        sides = {side: TimedSide(side, label) for side, label in LABELS.items()}
        cpu: dict[str, list[float]] = {"endpoint": [], "layer": [], "layer_mdn": []}
        loads: list[float] = []
        actions: dict[str, Callable[[], object]] = {
            "openssl": partial(open_with_openssl, material),
            "layer": partial(open_with_layer, material),
            "layer_threads": partial(open_with_layer_threads, material, clients),
            "layer_mdn": lambda: len(open_and_answer(material))}
        for run in range(runs):
            loads.append(os.getloadavg()[0])
            progress(f"run {run + 1}/{runs}: endpoint, {workers} worker(s), "
                     f"{clients} client(s)")
            seconds, endpoint_cpu = receive_end_to_end(material, run, clients, workers)
            sides["endpoint"].seconds.append(seconds)
            cpu["endpoint"].append(endpoint_cpu)
            for side, action in actions.items():
                progress(f"run {run + 1}/{runs}: {side}")
                cpu_before = time.process_time()
                seconds, opened = timed(action)
                if side in cpu:
                    cpu[side].append(time.process_time() - cpu_before)
                if opened != count:
                    raise BenchmarkError(f"{side} opened {opened} of {count}")
                sides[side].seconds.append(seconds)
    rates = {name: count / side.median for name, side in sides.items()}
    # The modules the endpoint's process loads (processing and the domain, compiled in the
    # build `make bench` measures), so that the build is named for what ran.
    import gateway.services.ingest  # noqa: F401
    return {"messages": count, "payload_bytes": PAYLOAD_BYTES, "runs": runs, "clients": clients,
            "workers": workers,
            "build": current_build().label,
            "sides": {name: {"label": side.label, "seconds": side.seconds,
                             "median_seconds": side.median, "per_second": rates[name],
                             "spread_seconds": [min(side.seconds), max(side.seconds)]}
                      for name, side in sides.items()},
            "ratio_to_openssl": rates["endpoint"] / rates["openssl"],
            "ratio_to_layer": rates["endpoint"] / rates["layer"],
            "ratio_to_layer_threads": rates["endpoint"] / rates["layer_threads"],
            # What one loop that opens and answers, storing nothing, reaches against the
            # layer: the ceiling of any endpoint that runs on one core.
            "layer_mdn_to_layer": rates["layer_mdn"] / rates["layer"],
            # CPU milliseconds per message (the endpoint's process; this process for the
            # layer's loop): less sensitive to the load than wall time.
            "cpu_ms_per_message": {name: 1000 * statistics.median(values) / count
                                   for name, values in cpu.items()},
            "target_ratio": TARGET_RATIO,
            "load_average_at_each_run": loads,
            "load_average": os.getloadavg()}


def print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"AS2: {result['messages']} signed+encrypted messages of "
                        f"{result['payload_bytes'] // 1024} KB, {result['runs']} runs, "
                        f"{result['clients']} client(s), endpoint in {result['workers']} "
                        f"worker process(es), {result['build']}")
    for column in ("side", "median s", "min-max s", "messages/s"):
        table.add_column(column)
    for side in result["sides"].values():
        low, high = side["spread_seconds"]
        table.add_row(side["label"], f"{side['median_seconds']:.2f}",
                      f"{low:.2f}-{high:.2f}", f"{side['per_second']:.1f}")
    console = Console()
    console.print(table)
    cpu = result["cpu_ms_per_message"]
    console.print(f"CPU per message: endpoint ({result['workers']} worker process(es)) "
                  f"{cpu['endpoint']:.2f} ms, bare layer "
                  f"loop {cpu['layer']:.2f} ms")
    for key, name in (("ratio_to_openssl", "the openssl process loop"),
                      ("ratio_to_layer", "the bare layer's loop")):
        verdict = "met" if result[key] >= TARGET_RATIO else "NOT met"
        console.print(f"end to end / {name}: {result[key]:.2f} (target {TARGET_RATIO}: "
                      f"{verdict})")
    console.print(f"end to end / the layer from {result['clients']} threads: "
                  f"{result['ratio_to_layer_threads']:.2f} (info); the layer and the signed MDN, "
                  f"one loop, / the layer: {result['layer_mdn_to_layer']:.2f} (info: one "
                  f"core's ceiling); load average at each run "
                  f"{', '.join(f'{v:.1f}' for v in result['load_average_at_each_run'])}, at "
                  f"the end {', '.join(f'{v:.1f}' for v in result['load_average'])}")
