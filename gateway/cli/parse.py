"""`gateway parse` and `gateway bench`: no database involved."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.cli.terminal import terminal_text, visible
from gateway.domain.documents import Document, document_to_json
from mappings.registry import read_documents
from parsers.errors import Problem, ProblemCode, Severity

_SKIPPED_SUFFIXES = frozenset({".json", ".md"})


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and the files below folders named (expected-output JSON and hidden files
    in folders are skipped), in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (child.is_file() and child.suffix.lower() not in _SKIPPED_SUFFIXES
                        and not any(part.startswith(".") for part in child.parts)):
                    yield child
        else:
            yield path


def problem_to_json(problem: Problem, file: str) -> dict[str, Any]:
    """An error or warning as the README's JSON contract describes it."""
    return {"file": file, **problem.as_dict()}


def _stream_json(paths: list[Path], out: IO[str]) -> bool:
    """Print `{"documents": [...], "errors": [...], "warnings": [...]}` one document at a time,
    so a 100 MB interchange never sits in memory as JSON. Returns whether any error occurred."""
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    out.write('{"documents": [')
    first = True
    for path in expand_paths(paths):
        for result in read_documents(path):
            if isinstance(result, Document):
                out.write("\n  " if first else ",\n  ")
                out.write(json.dumps(document_to_json(result), ensure_ascii=False))
                first = False
            else:
                target = errors if result.is_error else warnings
                target.append(problem_to_json(result, str(path)))
    out.write("\n],\n")
    out.write(f'"errors": {json.dumps(errors, ensure_ascii=False, indent=1)},\n')
    out.write(f'"warnings": {json.dumps(warnings, ensure_ascii=False, indent=1)}\n}}\n')
    return bool(errors)


def _summary_row(document: Document) -> tuple[Text, ...]:
    orders = ", ".join(document.order_numbers[:3]) + (" …" if len(document.order_numbers) > 3
                                                      else "")
    return (
        Text(str(document.message_index or "")),
        terminal_text(document.message_type),
        terminal_text(document.document_number or "—"),
        terminal_text(document.status or "—"),
        terminal_text(orders or "—"),
        Text(str(len(document.lines))),
        Text(str(len(document.warnings)) if document.warnings else ""),
    )


def print_tables(paths: list[Path], console: Console) -> bool:
    """A table of documents and a table of problems per file. Returns whether any error."""
    any_error = False
    for path in expand_paths(paths):
        table = Table(title=terminal_text(path), title_justify="left", expand=False)
        for column in ("msg", "type", "document", "status", "orders", "lines", "warnings"):
            table.add_column(column, justify="right" if column in ("msg", "lines") else "left")
        problems: list[Problem] = []
        for result in read_documents(path):
            if isinstance(result, Document):
                table.add_row(*_summary_row(result))
                problems.extend(_warnings_of(result))
            else:
                problems.append(result)
        if table.row_count:
            console.print(table)
        else:
            console.print(Text.assemble((visible(path), "bold"), ": no documents"))
        if problems:
            console.print(_problem_table(problems))
        any_error = any_error or any(p.is_error for p in problems)
    return any_error


def _warnings_of(document: Document) -> Iterator[Problem]:
    for notice in document.warnings:
        yield Problem(Severity.WARNING, ProblemCode(notice.code), notice.detail,
                      document.message_index, notice.segment, notice.tag)


def _problem_table(problems: list[Problem]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False, box=None, padding=(0, 1))
    for column in ("", "msg", "seg", "tag", "code", "what"):
        table.add_column(column, overflow="fold")
    for problem in problems:
        mark = "[red]error[/red]" if problem.is_error else "[yellow]warn[/yellow]"
        table.add_row(mark, str(problem.message_index or ""), str(problem.segment or ""),
                      terminal_text(problem.tag), problem.code.value,
                      terminal_text(problem.detail))
    return table


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print canonical JSON (the README's contract).")
def parse(paths: tuple[Path, ...], as_json: bool) -> None:
    """Parse supplier messages into canonical documents, without a database.

    Exit status 1 when any file had an error; the good documents are still printed.
    """
    if not any(True for _ in expand_paths(paths)):
        raise click.ClickException(f"no files to parse under {', '.join(map(str, paths))}")
    if as_json:
        failed = _stream_json(list(paths), sys.stdout)
    else:
        failed = print_tables(list(paths), Console())
    sys.exit(1 if failed else 0)


@click.group()
def bench() -> None:
    """Benchmarks that compare the gateway with its baselines, side by side."""


@bench.command("parse")
@click.option("--messages", default=10_000, show_default=True, help="Messages per interchange.")
@click.option("--runs", default=3, show_default=True, help="Timed runs per side (median).")
@click.option("--memory-mb", default=100, show_default=True,
              help="Size of the interchange for the peak-memory run (0 to skip).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_parse(messages: int, runs: int, memory_mb: int, as_json: bool) -> None:
    """Parse+map of ORDRSP and DESADV interchanges against pydifact's own parse, and what
    generating their CONTRL and APERAK adds (a second table; not in --json)."""
    from gateway.bench.parse import run_parse_benchmark

    run_parse_benchmark(messages=messages, runs=runs, memory_mb=memory_mb, as_json=as_json)
    if not as_json:
        from gateway.bench.acks import run_ack_benchmark

        run_ack_benchmark(messages=messages, runs=runs)


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
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_reconcile(lines: int, messages: int, runs: int, sqlite_path: str,
                    postgres_url: str, as_json: bool) -> None:
    """End-to-end ingest (archive, parse, map, reconcile, persist) against pydifact's bare
    parse of the same messages, on SQLite and PostgreSQL."""
    from gateway.bench.reconcile import reconcile_table, run_reconcile_benchmark

    console = Console(stderr=True)
    Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    with console.status("benchmark") as status:
        result = run_reconcile_benchmark(lines, messages, runs, sqlite_path,
                                         postgres_url or None,
                                         lambda text: status.update(text))
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
    from gateway.bench.smtp import print_result, run_smtp_benchmark

    with Console(stderr=True).status("benchmark") as status:
        result = run_smtp_benchmark(messages, size, clients, runs, with_worker,
                                    postgres_url or None, lambda text: status.update(text))
    print_result(result, as_json)
    if not all(side["lossless"] for side in result["sides"].values()):
        sys.exit(1)
