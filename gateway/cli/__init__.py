"""The `gateway` command line: a thin shell over the service functions.

Importing it costs about what importing click costs: the commands are listed in
`gateway.cli.commands` and each is imported when it runs (see that module to add one).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType

import click

from gateway.cli.commands import COMMANDS, Entry
from gateway.cli.context import INTERRUPTED, AppContext
from gateway.cli.terminal import visible
from gateway.errors import GatewayError
from gateway.runtime import tune_garbage_collector

__all__ = ["cli", "main"]

_INTERRUPTED_MESSAGE = b"gateway: interrupted\n"


class GatewayGroup(click.Group):
    """Commands loaded from a table on first use, listed by `--help` without loading them.

    Errors a user can act on become one clear line and exit status 1, never a traceback.
    """

    def __init__(self, *args: object, table: Mapping[str, Entry], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.table:
            self.add_command(load_command(cmd_name, self.table[cmd_name]), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The table's one-line help: listing the commands imports none of them."""
        rows = [(name, self.table[name].help if name in self.table
                 else self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (GatewayError, LookupError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise click.ClickException(visible(message)) from exc
        except KeyboardInterrupt:
            # click's own answer is "Aborted!" and status 1; a shell expects 128 + SIGINT.
            click.echo("gateway: interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except Exception as exc:
            problem = _database_problem(ctx, exc)
            if problem is None:
                raise
            raise click.ClickException(problem) from exc


def load_command(name: str, entry: Entry) -> click.Command:
    """Import the command of one table entry."""
    module_name, _, attribute = entry.target.partition(":")
    with _interrupt_ends_process():
        command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command) or command.name != name:
        raise TypeError(f"{entry.target} is not the click command {name!r}")
    return command


@contextmanager
def _interrupt_ends_process() -> Iterator[None]:
    """While a command's modules load, Ctrl-C ends the process with status 130 at once.

    A KeyboardInterrupt raised during an import can land in a weak-reference callback, where
    Python prints it as ignored and carries on: the Ctrl-C would be lost. Nothing has happened
    yet, so ending the process is safe. Signal handlers belong to the main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _end_process)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _end_process(_signum: int, _frame: FrameType | None) -> None:
    os.write(2, _INTERRUPTED_MESSAGE)
    os._exit(INTERRUPTED)


def _database_problem(ctx: click.Context, exc: Exception) -> str | None:
    """The line for a database error (SQLAlchemy's, only loaded by commands that use it)."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(exc, errors.DatabaseError):
        return None
    where = ctx.obj.display_url if isinstance(ctx.obj, AppContext) else "the database"
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "no such table" in detail or ("relation" in detail and "does not exist" in detail):
        return f"{where} holds no gateway schema; run `gateway init` first"
    return f"the database {where} is unavailable: {detail}"


@click.group(cls=GatewayGroup, table=COMMANDS)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reconcile as if today were this date (risk scores use it).")
@click.pass_context
def cli(ctx: click.Context, today: object) -> None:
    """Supplier collaboration gateway: supplier messages in, reconciled order events out."""
    moment = today if today is None else today.date()  # type: ignore[attr-defined]
    ctx.obj = AppContext(dict(os.environ), moment)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    tune_garbage_collector()
    cli()
