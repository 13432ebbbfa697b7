"""The command line loads per command: `gateway --help` and `gateway parse file.edi` import
neither the database layer, the task queue, the web framework nor the mail channels.

Each check runs a fresh interpreter (what a user's shell does) and reads its `sys.modules`
at exit.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gateway.cli import cli, load_command
from gateway.cli.commands import COMMANDS

# The libraries a command may need and `--help` never does.
HEAVY = ("sqlalchemy", "celery", "fastapi", "uvicorn", "aiosmtpd", "imapclient", "alembic",
         "psycopg", "kombu", "redis", "openpyxl", "lxml", "dkim", "pydifact")
# Run the real entry point, then print the top-level packages loaded.
_PROBE = """\
import json, sys
from gateway.__main__ import main
sys.argv = ["gateway", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""
GOOD = ("UNB+UNOC:3+5412345000013:14+5400000000001:14+261120:1015+IC1'"
        "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+29'RFF+ON:4500012345'"
        "LIN+1+5+4000862141404:EN'QTY+113:80:PCE'DTM+69:20261205:102'PRI+AAA:12.50'"
        "UNT+8+1'UNZ+1+IC1'")


def modules_after(*args: str) -> tuple[set[str], str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True,
                          text=True, timeout=120, check=False)
    _, _, listed = done.stderr.rpartition("\nMODULES ")
    assert listed, done.stderr
    return set(json.loads(listed)), done.stdout


def loaded_heavy(modules: set[str]) -> list[str]:
    return sorted({name.partition(".")[0] for name in modules} & set(HEAVY))


def test_help_lists_every_command_and_loads_none() -> None:
    modules, out = modules_after("--help")
    for name in COMMANDS:
        assert f"  {name} " in out
    assert loaded_heavy(modules) == []
    assert not any(name.startswith(("rich", "mappings", "parsers", "gateway.services",
                                    "gateway.persistence")) for name in modules)
    assert not [name for name in modules if name.startswith("gateway.cli.")
                and name not in ("gateway.cli.commands", "gateway.cli.context",
                                 "gateway.cli.terminal")]


def test_parsing_an_edifact_file_loads_the_edifact_reader_alone(tmp_path: Path) -> None:
    path = tmp_path / "one.edi"
    path.write_text(GOOD)
    modules, out = modules_after("parse", "--json", str(path))
    assert json.loads(out)["documents"][0]["document_number"] == "RSP-1"
    assert loaded_heavy(modules) == []
    assert "mappings.edifact.messages" in modules
    assert not any(name.startswith(("mappings.email", "parsers.mime", "parsers.sheets",
                                    "mappings.registry", "rich")) for name in modules)


def test_a_database_command_loads_what_it_needs() -> None:
    """The probe sees what loading does: `init --help` loads the store commands (and with
    them SQLAlchemy) and nothing of the web app or the channels."""
    modules, out = modules_after("init", "--help")
    assert "Create or upgrade the database" in out
    assert "gateway.cli.store" in modules
    assert "sqlalchemy" in modules
    assert not {"fastapi", "aiosmtpd", "celery"} & {m.partition(".")[0] for m in modules}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_table_entry_loads_the_command_it_names(name: str) -> None:
    command = load_command(name, COMMANDS[name])
    assert isinstance(command, click.Command)
    assert command.name == name
    assert COMMANDS[name].help
    assert "\n" not in COMMANDS[name].help


def test_an_entry_naming_another_command_is_refused() -> None:
    with pytest.raises(TypeError, match="is not the click command 'ingest'"):
        load_command("ingest", COMMANDS["init"])


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["pars", "x.edi"])
    assert result.exit_code == 2
    assert "No such command 'pars'" in result.output


_SLOW_COMMAND = """\
import sys, time
import click
print("loading", flush=True)
time.sleep(60)  # stands for a slow import; the test interrupts it


@click.command("slow")
def slow() -> None:
    pass
"""
_GROUP = """\
import sys
sys.path.insert(0, sys.argv[1])
import click
from gateway.cli import GatewayGroup
from gateway.cli.commands import Entry

@click.group(cls=GatewayGroup, table={"slow": Entry("slow_command:slow", "Loads slowly.")})
def group() -> None:
    pass

group(["slow"])
"""


def test_ctrl_c_while_a_command_loads_ends_with_status_130_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "slow_command.py").write_text(_SLOW_COMMAND)
    process = subprocess.Popen([sys.executable, "-c", _GROUP, str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "loading\n"  # the import is under way
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "gateway: interrupted\n"


def test_the_loading_guard_gives_ctrl_c_back_once_the_command_is_loaded() -> None:
    before = signal.getsignal(signal.SIGINT)
    load_command("parse", COMMANDS["parse"])
    assert signal.getsignal(signal.SIGINT) is before
