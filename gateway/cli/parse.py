"""`gateway parse`: supplier files to canonical documents, without a database.

Every output is written as the documents arrive, so memory stays flat whatever the size of the
file (a 100 MB interchange included): a table of rows (the default; past `--rows` documents a
file's rows give way to a summary), one JSON object written piece by piece (`--json`), or one
compact JSON object per line (`--jsonl`). An EDIFACT file is read without loading the email and
spreadsheet readers, so `gateway parse file.edi` starts about as fast as Python with click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import click
import orjson

from gateway.domain.documents import Document, document_to_json
from mappings.edifact.reading import is_edifact, read_edifact
from parsers.errors import ParseError, Problem

Result = Document | Problem
_SKIPPED_SUFFIXES = frozenset({".json", ".md"})
# What the registry sniffs too: enough to look past blank lines before the UNA.
_SNIFF_BYTES = 4096


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
    """An error or warning as the JSON contract (docs/formats.md) describes it."""
    return {"file": file, **problem.as_dict()}


def read_file(path: Path) -> Iterator[Result]:
    """Documents and problems of one file, as `mappings.registry.read_documents` yields them;
    EDIFACT, the registry's first reader, without importing the other readers."""
    stream = _edifact_stream(path)
    if stream is not None:
        with stream:
            try:
                yield from read_edifact(stream, str(path))
            except ParseError as exc:
                yield exc.as_problem()
        return
    from mappings.registry import read_documents

    yield from read_documents(path)


def _edifact_stream(path: Path) -> BinaryIO | None:
    """The file opened, when it is EDIFACT; None for anything else, an unreadable file
    included (the registry says what it is)."""
    try:
        stream = path.open("rb")
    except OSError:
        return None
    if is_edifact(stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]):
        return stream
    stream.close()
    return None


class Output(Protocol):
    def file_started(self, path: Path) -> None: ...
    def document(self, document: Document) -> None: ...
    def problem(self, problem: Problem, file: str) -> None: ...
    def file_ended(self) -> None: ...
    def close(self) -> None: ...


class JsonOutput:
    """`{"documents": [...], "errors": [...], "warnings": [...]}`: the documents are written one
    at a time; the problems, few and small, are kept until the end."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.separator = b"\n"
        self.problems: dict[str, list[bytes]] = {"errors": [], "warnings": []}
        out.write(b'{"documents": [')

    def file_started(self, path: Path) -> None:
        pass

    def document(self, document: Document) -> None:
        self.out.write(self.separator)
        self.out.write(orjson.dumps(document_to_json(document)))
        self.separator = b",\n"

    def problem(self, problem: Problem, file: str) -> None:
        kept = self.problems["errors" if problem.is_error else "warnings"]
        kept.append(orjson.dumps(problem_to_json(problem, file)))

    def file_ended(self) -> None:
        pass

    def close(self) -> None:
        out = self.out
        out.write(b"\n],\n")
        for name, kept in self.problems.items():
            out.write(b'"%s": [' % name.encode())
            out.write(b"\n" + b",\n".join(kept) + b"\n]" if kept else b"]")
            out.write(b",\n" if name == "errors" else b"\n}\n")


class JsonLinesOutput:
    """One compact JSON object per line, in the order read: a document (it has `kind`), or an
    error or warning (it has `severity`), each as in the JSON contract."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def file_started(self, path: Path) -> None:
        pass

    def document(self, document: Document) -> None:
        self.out.write(orjson.dumps(document_to_json(document), option=orjson.OPT_APPEND_NEWLINE))

    def problem(self, problem: Problem, file: str) -> None:
        self.out.write(orjson.dumps(problem_to_json(problem, file),
                                    option=orjson.OPT_APPEND_NEWLINE))

    def file_ended(self) -> None:
        pass

    def close(self) -> None:
        pass


def write_results(paths: Iterable[Path], output: Output) -> bool:
    """Every file's documents and problems to `output`. Returns whether any error occurred."""
    failed = False
    for path in expand_paths(paths):
        output.file_started(path)
        name = str(path)
        for result in read_file(path):
            if isinstance(result, Document):
                output.document(result)
            else:
                output.problem(result, name)
                failed = failed or result.is_error
        output.file_ended()
    output.close()
    return failed


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print canonical JSON: one object (the contract in docs/formats.md).")
@click.option("--jsonl", "as_jsonl", is_flag=True,
              help="Print one compact JSON object per line: each document, error, warning.")
@click.option("--rows", default=100, show_default=True, type=click.IntRange(min=0),
              help="Table: document rows per file before a summary takes over (0: all).")
def parse(paths: tuple[Path, ...], as_json: bool, as_jsonl: bool, rows: int) -> None:
    """Parse supplier messages into canonical documents, without a database.

    Output is written as documents are read, so files of any size take little memory.
    Exit status 1 when any file had an error; the good documents are still printed.
    """
    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl are two ways of printing: choose one")
    if not any(True for _ in expand_paths(paths)):
        raise click.ClickException(f"no files to parse under {', '.join(map(str, paths))}")
    stdout = sys.stdout.buffer
    output: Output
    if as_json:
        output = JsonOutput(stdout)
    elif as_jsonl:
        output = JsonLinesOutput(stdout)
    else:
        from gateway.cli.parse_table import TableOutput

        output = TableOutput(rows)
    try:
        failed = write_results(paths, output)
        stdout.flush()
    except BrokenPipeError:
        # The reader left (`| head`): the rest would go nowhere. Python's advice (signal
        # module docs): point stdout at /dev/null so the exit does not fail writing it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(1 if failed else 0)
