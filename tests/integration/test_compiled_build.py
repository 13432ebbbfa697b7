"""The compiled build (setup.py with GATEWAY_MYPYC=1) behaves exactly like the plain one.

mypyc turns type annotations into runtime checks and compiles classes into native ones, so a
typing lie or a dynamic trick that plain Python forgives fails only in the compiled build: the
one the benchmarks measure and a deployment should run. This test builds it from this checkout in
a scratch virtual environment and compares, byte for byte, what both builds print for every
sample, every EDIFACT, X12, UBL and cXML corpus file and generated interchanges and documents,
and the demo's exception queue.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.bench.dialects import build_x12, build_xml_files
from gateway.bench.parse import build_interchange

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
PLAIN_GATEWAY = Path(sys.executable).with_name("gateway")
# What the build needs installed first: pyproject.toml's `compile` extra, and the runtime
# dependencies (mypyc type-checks every module the compiled ones import).
_PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
BUILD_REQUIREMENTS = (*_PROJECT["dependencies"], *_PROJECT["optional-dependencies"]["compile"])

pytestmark = pytest.mark.slow


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `gateway` script of a compiled build of this checkout."""
    _require(shutil.which("cc") is not None or shutil.which("gcc") is not None,
             "no C compiler to build the mypyc extension modules")
    root = tmp_path_factory.mktemp("compiled")
    # Built from a copy, so the build's scratch files never land in the checkout.
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv*", ".git", "build", "var", "*.egg-info", "__pycache__", ".*_cache", "tests",
        "samples", ".hypothesis"))
    venv = root / "venv"
    python = venv / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", *BUILD_REQUIREMENTS],
        [str(python), "-m", "pip", "install", "--quiet", "--no-build-isolation", str(source)],
    ]
    # The C compiler at -O0: the same modules from the same mypyc output as the shipped -O3
    # build (setup.py), so the same behaviour, in about two thirds of the build's CPU time.
    for step in steps:
        done = _run(step, env={**os.environ, "GATEWAY_MYPYC": "1", "GATEWAY_MYPYC_OPT": "0"})
        _require(done.returncode == 0,
                 f"{' '.join(step[-2:])} failed: {(done.stderr or done.stdout)[-2000:]}")
    return venv / "bin" / "gateway"


@pytest.mark.parametrize(("imports", "expected"), [
    ("mappings.registry, gateway.domain.reconciliation",
     {"parsers.edifact.tokenizer", "mappings.edifact.messages", "gateway.domain.reconciliation"}),
    ("mappings.x12.reading",
     {"parsers.x12.tokenizer", "parsers.x12.envelope", "parsers.x12.segments",
      "mappings.x12.orders", "mappings.x12.shipments", "mappings.x12.reading"}),
    ("mappings.ubl.reading, mappings.cxml.reading",
     {"parsers.xml.document", "mappings.xmlvalues", "mappings.ubl.reading",
      "mappings.cxml.reading"}),
], ids=["edifact-and-reconciliation", "x12", "xml"])
def test_the_hot_path_is_compiled(compiled: Path, imports: str, expected: set[str]) -> None:
    probe = (f"import json, {imports}\n"
             "from gateway.bench.build import current_build\n"
             "print(json.dumps(current_build().as_json()))")
    done = _run([str(compiled.with_name("python")), "-c", probe], cwd="/")
    assert done.returncode == 0, done.stderr
    assert expected <= set(json.loads(done.stdout)["compiled_modules"])


def _edifact_inputs(tmp_path: Path) -> list[Path]:
    files = sorted((REPO / "samples").rglob("*.edi"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.glob("edifact_*/*") if p.is_file())
    # Release characters, both message types, line breaks: the benchmark's own shapes.
    for message_type in ("ORDRSP", "DESADV"):
        generated = tmp_path / f"generated_{message_type}.edi"
        generated.write_bytes(build_interchange(message_type, 40))
        files.append(generated)
    return files


def _x12_inputs(tmp_path: Path) -> list[Path]:
    files = sorted((REPO / "samples").rglob("*.x12"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.glob("x12_*/*") if p.is_file())
    for kind in ("855", "856"):
        generated = tmp_path / f"generated_{kind}.x12"
        generated.write_bytes(build_x12(kind, 40))
        files.append(generated)
    return files


def _xml_inputs(tmp_path: Path) -> list[Path]:
    files = sorted(p for p in (REPO / "samples").rglob("*.xml") if p.parent.name in ("ubl", "cxml"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.glob("ubl_*/*") if p.is_file())
        files += sorted(p for p in CORPUS.glob("cxml_*/*") if p.is_file())
    # The benchmark's own documents: namespaces bound to prefixes, a DOCTYPE, many lines.
    for kind, stem in (("UBL OrderResponse", "ubl"), ("cXML ConfirmationRequest", "cxml")):
        for index, data in enumerate(build_xml_files(kind, 3)):
            generated = tmp_path / f"generated_{stem}_{index}.xml"
            generated.write_bytes(data)
            files.append(generated)
    return files


@pytest.mark.parametrize(("inputs", "at_least"), [
    (_edifact_inputs, 21), (_x12_inputs, 4), (_xml_inputs, 9),
], ids=["edifact", "x12", "xml"])
def test_parse_prints_the_same_json(compiled: Path, tmp_path: Path,
                                    inputs: Callable[[Path], list[Path]], at_least: int) -> None:
    files = [str(p) for p in inputs(tmp_path)]
    plain = _run([str(PLAIN_GATEWAY), "parse", "--json", *files], cwd=REPO)
    fast = _run([str(compiled), "parse", "--json", *files], cwd=REPO)
    assert len(files) >= at_least
    assert json.loads(plain.stdout)["documents"], plain.stderr
    assert (fast.returncode, fast.stdout) == (plain.returncode, plain.stdout)


def _queue_after_demo(gateway: Path, database: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite:///{database}"}
    demo = _run([str(gateway), "--today", "2026-11-26", "demo", "--database", str(database)],
                cwd=REPO, env=env)
    assert demo.returncode == 0, demo.stderr
    listed = _run([str(gateway), "exceptions", "list", "--json"], cwd=REPO, env=env)
    assert listed.returncode == 0, listed.stderr
    return [{k: v for k, v in item.items() if k not in ("created_at", "updated_at")}
            for item in json.loads(listed.stdout)]


def test_reconciliation_raises_the_same_exceptions(compiled: Path, tmp_path: Path) -> None:
    plain = _queue_after_demo(PLAIN_GATEWAY, tmp_path / "plain.db")
    fast = _queue_after_demo(compiled, tmp_path / "compiled.db")
    assert len({item["code"] for item in plain}) >= 10
    assert fast == plain


def test_worker_processes_hand_back_the_compiled_reports(compiled: Path, tmp_path: Path) -> None:
    """`gateway ingest`'s worker processes on PostgreSQL send their reports (frozen
    dataclasses, native classes in this build) back through a pipe: the compiled build's
    benchmark reconciles every message that way (300 messages, two batches, two processes)."""
    done = _run([str(compiled), "bench", "reconcile", "--lines", "3000", "--messages", "300",
                 "--processes", "2", "--sqlite-path", str(tmp_path / "bench.db"), "--json"],
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["postgresql_error"] is None
    assert result["sides"]["postgresql"]["label"].endswith("2 process(es)")
