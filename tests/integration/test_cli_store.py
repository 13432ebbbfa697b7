"""The database commands as a user runs them, on the embedded SQLite default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"


@pytest.fixture
def run(tmp_path: Path) -> object:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "COLUMNS": "200"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--today", "2026-11-26", *args], env=env)

    return invoke


def test_init_is_idempotent(run: object) -> None:
    first = run("init")  # type: ignore[operator]
    second = run("init")  # type: ignore[operator]
    assert first.exit_code == second.exit_code == 0, first.output
    assert "database ready" in second.output
    assert first.output.split("schema")[1] == second.output.split("schema")[1]


def test_a_buyer_day_from_the_command_line(run: object, tmp_path: Path) -> None:
    assert run("init").exit_code == 0  # type: ignore[operator]
    loaded = run("partners", "load", str(DEMO / "partners.toml"))  # type: ignore[operator]
    assert loaded.exit_code == 0, loaded.output
    assert "4 supplier(s)" in loaded.output
    imported = run("orders", "import", str(DEMO / "orders.csv"))  # type: ignore[operator]
    assert imported.exit_code == 0, imported.output
    assert "29 new" in imported.output

    ingested = run("ingest", "--json", str(DEMO / "messages"))  # type: ignore[operator]
    assert ingested.exit_code == 0, ingested.output
    reports = [json.loads(line) for line in ingested.output.splitlines()]
    assert len(reports) == 12
    assert [r["state"] for r in reports].count("duplicate") == 1
    assert {r["state"] for r in reports} == {"reconciled", "duplicate"}

    listed = run("exceptions", "list", "--state", "open", "--json")  # type: ignore[operator]
    queue = json.loads(listed.output)
    ranks = [{"high": 3, "medium": 2, "low": 1}[e["severity"]] for e in queue]
    assert ranks == sorted(ranks, reverse=True)
    assert len({e["code"] for e in queue}) >= 12

    shown = run("exceptions", "show", str(queue[0]["id"]), "--json")  # type: ignore[operator]
    detail = json.loads(shown.output)
    assert detail["trail"][0]["action"] == "raised"
    assert detail["message"]["sha256"]

    timeline = run("orders", "show", "4500012345", "--json")  # type: ignore[operator]
    lines = json.loads(timeline.output)["lines"]
    kinds = [v["kind"] for v in lines[0]["versions"]]
    assert kinds == ["requested", "confirmation", "despatch", "despatch"]
    assert lines[0]["versions"][0]["quantity"] == "100"

    table = run("exceptions", "list")  # type: ignore[operator]
    assert "QTY_SHORT" in table.output

    replayed = run("replay", str(reports[0]["message_id"]))  # type: ignore[operator]
    assert replayed.exit_code == 0, replayed.output
    assert "reconciled" in replayed.output


def test_bad_order_rows_are_listed_and_exit_non_zero(run: object, tmp_path: Path) -> None:
    run("init")  # type: ignore[operator]
    export = tmp_path / "orders.csv"
    export.write_text("order_number;line_no;quantity;requested_date\n"
                      "PO1;10;5;2026-12-01\nPO1;20;five;2026-12-01\nPO1;30;3;31.12.2026\n")
    result = run("orders", "import", str(export))  # type: ignore[operator]
    assert result.exit_code == 1
    assert "row 3: quantity 'five' is not a number" in result.output
    assert "row 4: requested_date '31.12.2026' is not a date (YYYY-MM-DD)" in result.output
    assert "1 new" in result.output


def test_unknown_sender_is_quarantined_and_says_so(run: object, tmp_path: Path) -> None:
    run("init")  # type: ignore[operator]
    stranger = tmp_path / "stranger.edi"
    stranger.write_bytes(b"UNB+UNOC:3+9999999999994:14+1:14+261126:0900+X'UNH+1+ORDRSP:D:96A:UN'"
                         b"BGM+231+R+29'RFF+ON:PO1'UNT+4+1'UNZ+1+X'")
    result = run("ingest", str(stranger))  # type: ignore[operator]
    assert result.exit_code == 1
    assert "quarantined" in result.output
    assert "unknown sender" in result.output


def test_missing_things_are_clear_errors(run: object) -> None:
    run("init")  # type: ignore[operator]
    missing = run("exceptions", "show", "999")  # type: ignore[operator]
    assert missing.exit_code == 1
    assert "no exception #999" in missing.output
    partner = run("partners", "load", "/nonexistent.toml")  # type: ignore[operator]
    assert partner.exit_code == 2


def test_configuration_and_database_errors_are_one_clear_line(run: object,
                                                              tmp_path: Path) -> None:
    run("init")  # type: ignore[operator]
    bad = tmp_path / "partners.toml"
    bad.write_text("[profiles.x]\nqty_under = 5\n")
    result = run("partners", "load", str(bad))  # type: ignore[operator]
    assert result.exit_code == 1
    assert result.output.startswith("Error: profile 'x': unknown fields")
    assert "Traceback" not in result.output
    missing = run("orders", "show", "NOPE")  # type: ignore[operator]
    assert (missing.exit_code, missing.output.strip()) == (1, "Error: no order NOPE")
    down = CliRunner().invoke(cli, ["exceptions", "list"], env={
        "GATEWAY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert down.exit_code == 1
    assert "is unavailable: connection failed" in down.output
    assert "127.0.0.1:1/none" in down.output


def test_a_buyer_works_an_exception_and_the_trail_shows_it(run: object) -> None:
    run("init")  # type: ignore[operator]
    run("partners", "load", str(DEMO / "partners.toml"))  # type: ignore[operator]
    run("orders", "import", str(DEMO / "orders.csv"))  # type: ignore[operator]
    run("ingest", str(DEMO / "messages" / "01_albrecht_ordrsp_4500012345.edi"))  # type: ignore[operator]
    queue = json.loads(run("exceptions", "list", "--json").output)  # type: ignore[operator]
    first = str(queue[0]["id"])
    steps = [("ack", "acknowledged"), ("comment", "acknowledged"), ("accept", "accepted_change")]
    for action, state in steps:
        done = run("exceptions", "act", action, first, "-m", f"{action} by test",  # type: ignore[operator]
                   "--by", "anna")
        assert done.exit_code == 0, done.output
        assert done.output.strip().endswith(f"is {state}")
    refused = run("exceptions", "act", "ack", first)  # type: ignore[operator]
    assert refused.exit_code == 1
    assert "cannot go from accepted_change to acknowledged" in refused.output
    trail = json.loads(run("exceptions", "show", first, "--json").output)["trail"]  # type: ignore[operator]
    assert [e["action"] for e in trail] == ["raised", "acknowledged", "comment", "accepted_change"]
    assert trail[2]["detail"] == "comment by test"


def test_empty_folders_and_refused_moves_say_what(run: object, tmp_path: Path) -> None:
    run("init")  # type: ignore[operator]
    empty = tmp_path / "inbox"
    empty.mkdir()
    for command in ("ingest", "parse"):
        result = run(command, str(empty))  # type: ignore[operator]
        assert result.exit_code == 1
        assert f"no files to {command} under {empty}" in result.output
