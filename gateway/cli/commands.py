"""Every `gateway` command: its name, where its code lives, and the line `--help` shows.

`gateway --help` lists this table without importing a single command, and a command's module is
imported only when that command runs: `gateway parse` never loads SQLAlchemy, Celery, FastAPI or
the mail channels, and `gateway --help` loads none of them.

Adding a command is one line here, in alphabetical order:

    "name": Entry("gateway.cli.module:attribute", "What it does, in one line."),

where `attribute` is the click command or group in that module (its `name` must be the table's
name). Keep the module's own top-level imports light; import heavy libraries inside the
command function. A test (tests/unit/test_cli_startup.py) loads every entry and checks it.
"""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    target: str  # "package.module:attribute" of a click.Command
    help: str  # one line, shown by `gateway --help`


COMMANDS: dict[str, Entry] = {
    "as2": Entry("gateway.cli.as2:as2", "Receive AS2 messages and answer their MDNs."),
    "beat": Entry("gateway.cli.worker:beat", "Send the sweeper's task on a schedule."),
    "bench": Entry("gateway.cli.bench:bench",
                   "Benchmarks against their baselines, side by side."),
    "check-overdue": Entry("gateway.cli.queue:check_overdue_command",
                           "Flag lines unconfirmed, unshipped or undelivered in time."),
    "demo": Entry("gateway.cli.demo:demo", "Run the samples through a demo database."),
    "exceptions": Entry("gateway.cli.queue:exceptions", "The buyers' exception queue."),
    "imap": Entry("gateway.cli.imap:imap", "Take supplier mail in from IMAP mailboxes."),
    "ingest": Entry("gateway.cli.store:ingest", "Archive and process supplier files now."),
    "init": Entry("gateway.cli.store:init", "Create or upgrade the database (safe to rerun)."),
    "messages": Entry("gateway.cli.messages:messages",
                      "Inbound messages: what arrived, in which state, why."),
    "orders": Entry("gateway.cli.store:orders", "Open orders: import from the ERP, timelines."),
    "outbox": Entry("gateway.cli.outbox:outbox",
                    "What the gateway sends: list, show, retry, cancel, send now."),
    "parse": Entry("gateway.cli.parse:parse",
                   "Parse supplier files into canonical documents (no database)."),
    "partners": Entry("gateway.cli.store:partners",
                      "Suppliers, their addresses, EDI ids and tolerances."),
    "replay": Entry("gateway.cli.store:replay_command",
                    "Undo an archived message and process it again."),
    "run": Entry("gateway.cli.run:run", "Run SMTP, IMAP, web and a worker in one process."),
    "smtp": Entry("gateway.cli.channels:smtp", "Receive supplier mail as an MX."),
    "users": Entry("gateway.cli.users:users",
                   "People who sign in to the web app, and API tokens."),
    "web": Entry("gateway.cli.web:web", "Serve the web app: pages, /api/v1, health, metrics."),
    "worker": Entry("gateway.cli.worker:worker", "Process archived messages from the broker."),
}
