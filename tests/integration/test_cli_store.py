"""The database commands as a user runs them, on the embedded SQLite default."""

from __future__ import annotations

import json
import re
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


MESSAGES = DEMO / "messages"


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


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


# -- what users do wrong: one clear message saying where and what, with no Python traceback,
# -- no data lost and a sensible exit status ---------------------------------------------------

def run_cli(tmp_path: Path, *args: str, columns: int = 200, url: str | None = None) -> Result:
    env = {"GATEWAY_DATABASE_URL": url or f"sqlite:///{tmp_path / 'gw.db'}",
           "COLUMNS": str(columns)}
    return CliRunner().invoke(cli, list(args), env=env)


def clean(result: Result) -> bool:
    """Ended through click (a message and an exit status), not through an uncaught error."""
    return result.exception is None or isinstance(result.exception, SystemExit)


def ready(tmp_path: Path, *messages: str) -> None:
    """init, the demo partners and orders, and some demo messages ingested."""
    for args in (("init",), ("partners", "load", str(DEMO / "partners.toml")),
                 ("orders", "import", str(DEMO / "orders.csv"))):
        result = run_cli(tmp_path, *args)
        assert result.exit_code == 0, result.output
    if messages:
        result = run_cli(tmp_path, "--today", "2026-11-26", "ingest",
                     *[str(MESSAGES / name) for name in messages])
        assert clean(result), result.output


def test_ingest_of_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    """`gateway ingest good.edi typo.edi`: the missing file is named in one clear error with a
    non-zero exit status, not a FileNotFoundError traceback."""
    ready(tmp_path)
    result = run_cli(tmp_path, "ingest", str(MESSAGES / "01_albrecht_ordrsp_4500012345.edi"),
                 str(tmp_path / "typo.edi"))
    assert clean(result), repr(result.exception)
    assert result.exit_code != 0
    assert "typo.edi" in result.output


def test_order_csv_that_is_really_a_pdf_is_one_clear_error(tmp_path: Path) -> None:
    """`orders import export.csv` where the file is a PDF (or one column, or binary): one error
    naming the file, exit status 1, not csv.Sniffer's `Could not determine delimiter`
    traceback."""
    ready(tmp_path)
    bad = tmp_path / "export.csv"
    bad.write_bytes(PDF)
    result = run_cli(tmp_path, "orders", "import", str(bad))
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert "export.csv" in result.output


def test_order_json_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    """`orders import export.json` with non-UTF-8 bytes: one error, exit status 1, not a
    UnicodeDecodeError traceback."""
    ready(tmp_path)
    bad = tmp_path / "export.json"
    bad.write_bytes(PDF)
    result = run_cli(tmp_path, "orders", "import", str(bad))
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1


def test_a_bad_json_order_file_names_itself_and_the_other_files_are_still_imported(
        tmp_path: Path) -> None:
    """`orders import orders.json good.csv` with a dict without "lines": the error names
    orders.json, and good.csv after it is still imported."""
    ready(tmp_path)
    bad = tmp_path / "orders.json"
    bad.write_text('{"order_number": "4500099001", "line_no": "10", "quantity": "5"}')
    good = tmp_path / "good.csv"
    good.write_text("order_number,line_no,quantity\n4500099002,10,5\n")
    result = run_cli(tmp_path, "orders", "import", str(bad), str(good))
    assert result.exit_code == 1
    assert "orders.json" in result.output
    assert run_cli(tmp_path, "orders", "show", "4500099002").exit_code == 0


def test_a_zero_byte_order_file_is_not_a_silent_success(tmp_path: Path) -> None:
    """An ERP export that came out empty is reported as empty with exit status 1, so the
    operator's job does not report success."""
    ready(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = run_cli(tmp_path, "orders", "import", str(empty))
    assert result.exit_code == 1, result.output
    assert "empty" in result.output.split(":", 1)[1]


def test_the_same_order_line_twice_in_one_file_is_reported(tmp_path: Path) -> None:
    """Two rows for 4500099003 line 10 (5 and 7) in one export: the second (row 3) is reported
    and the exit status is 1, rather than silently replacing the first."""
    ready(tmp_path)
    dups = tmp_path / "dups.csv"
    dups.write_text("order_number,line_no,quantity\n4500099003,10,5\n4500099003,10,7\n")
    result = run_cli(tmp_path, "orders", "import", str(dups))
    assert result.exit_code == 1, result.output
    assert "row 3" in result.output


def test_an_order_csv_without_a_required_column_says_so_once(tmp_path: Path) -> None:
    """A file whose header lacks `line_no`: one message naming the missing column, not one
    `row N: missing line_no` per row (10,000 lines for a big export)."""
    ready(tmp_path)
    export = tmp_path / "export.csv"
    export.write_text("order_number,quantity\n" + "".join(f"45000990{i:02d},5\n"
                                                         for i in range(20)))
    result = run_cli(tmp_path, "orders", "import", str(export))
    assert result.exit_code == 1
    assert "column" in result.output
    assert result.output.count("line_no") == 1, result.output


def test_a_partner_file_that_is_not_text_is_one_clear_error(tmp_path: Path) -> None:
    """`partners load suppliers.toml` with binary content (a PDF saved under the wrong name):
    one error naming the file, exit status 1, not a UnicodeDecodeError traceback."""
    run_cli(tmp_path, "init")
    bad = tmp_path / "suppliers.toml"
    bad.write_bytes(PDF)
    result = run_cli(tmp_path, "partners", "load", str(bad))
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert "suppliers.toml" in result.output


def test_a_partner_file_with_another_suffix_is_not_called_by_that_format(
        tmp_path: Path) -> None:
    """`partners load orders.csv` (the wrong file) is refused without calling it "not valid
    CSV": partner files are TOML or YAML, never CSV."""
    run_cli(tmp_path, "init")
    result = run_cli(tmp_path, "partners", "load", str(DEMO / "orders.csv"))
    assert result.exit_code == 1
    assert "not valid CSV" not in result.output, result.output


def test_a_command_before_init_says_to_run_init(tmp_path: Path) -> None:
    """Before `gateway init` the database is not unavailable, it has no schema yet: the error
    says to run `gateway init`."""
    result = run_cli(tmp_path, "exceptions", "list")
    assert result.exit_code == 1
    assert "gateway init" in result.output, result.output


def test_a_database_url_below_a_file_is_one_clear_error(tmp_path: Path) -> None:
    """GATEWAY_DATABASE_URL with a directory part that is a file (or on a read-only file system):
    one error naming the directory, exit status 1, not an OSError traceback."""
    (tmp_path / "var").write_text("not a directory")
    result = run_cli(tmp_path, "init", url=f"sqlite:///{tmp_path / 'var' / 'gw.db'}")
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert str(tmp_path / "var") in result.output


def test_a_database_url_to_a_file_that_is_not_a_database_is_one_clear_error(
        tmp_path: Path) -> None:
    """GATEWAY_DATABASE_URL naming some other file ("file is not a database"): one error, exit
    status 1, not a DatabaseError traceback; the file is kept unchanged."""
    other = tmp_path / "report.pdf"
    other.write_bytes(PDF)
    result = run_cli(tmp_path, "init", url=f"sqlite:///{other}")
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert other.read_bytes() == PDF


def test_a_malformed_database_url_is_one_clear_error(tmp_path: Path) -> None:
    """GATEWAY_DATABASE_URL=var/gateway.db (a path, not a URL): one error naming
    GATEWAY_DATABASE_URL, not an ArgumentError traceback."""
    result = run_cli(tmp_path, "init", url="var/gateway.db")
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert "GATEWAY_DATABASE_URL" in result.output


def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    """A database path that cannot be opened (a directory here; a read-only location gives the
    same): the error names the path."""
    target = tmp_path / "db-dir"
    target.mkdir()
    result = run_cli(tmp_path, "init", url=f"sqlite:///{target}")
    assert result.exit_code == 1
    assert str(target) in result.output, result.output


def test_replay_of_an_unknown_message_is_one_clear_error(tmp_path: Path) -> None:
    """`gateway replay 9999`: one error naming message 9999, exit status 1, not a
    NoResultFound traceback."""
    ready(tmp_path)
    result = run_cli(tmp_path, "replay", "9999")
    assert clean(result), repr(result.exception)
    assert result.exit_code == 1
    assert "9999" in result.output


def test_an_unknown_state_filter_is_refused(tmp_path: Path) -> None:
    """`exceptions list --state opne` (a typo) is a usage error (exit status 2), not an empty
    queue that makes the buyer believe nothing is open."""
    ready(tmp_path, "05_kovolis_ordrsp_4500012351.edi")
    result = run_cli(tmp_path, "exceptions", "list", "--state", "opne")
    assert result.exit_code == 2, result.output


def test_the_exception_queue_is_readable_at_80_columns(tmp_path: Path) -> None:
    """At COLUMNS=80 (and in `make demo` piped to a file) headers and values stay whole words,
    not cut letter by letter (`lin|e`, `sta|te`, `ope|n`)."""
    ready(tmp_path, "02_albrecht_ordrsp_4500012346.edi", "05_kovolis_ordrsp_4500012351.edi")
    result = run_cli(tmp_path, "exceptions", "list", columns=80)
    assert result.exit_code == 0
    for word in ("line", "expected", "state", "owner", "open", "ORDER_REJECTED"):
        assert re.search(rf"\b{word}\b", result.output), (word, result.output)


def test_the_order_timeline_keeps_codes_whole_at_80_columns(tmp_path: Path) -> None:
    """`orders show` at COLUMNS=80 keeps the exception code and the version kind whole, not cut
    with an ellipsis (`OVER_SHIPP…`, `confirmati…`)."""
    ready(tmp_path, "03_huaxin_ordrsp_4500012347_4500012348.edi",
          "07_huaxin_desadv_4500012347.edi")
    result = run_cli(tmp_path, "orders", "show", "4500012347", columns=80)
    assert result.exit_code == 0
    assert "OVER_SHIPPED" in result.output, result.output
    assert "confirmation" in result.output, result.output


def test_exception_detail_does_not_print_python_dicts(tmp_path: Path) -> None:
    """`exceptions show 1` prints its message and document as fields, not as Python reprs
    (`message: {'id': 1, 'file': '01_....edi', ...}`)."""
    ready(tmp_path, "01_albrecht_ordrsp_4500012345.edi")
    result = run_cli(tmp_path, "exceptions", "show", "1")
    assert result.exit_code == 0
    assert "{'" not in result.output, result.output
