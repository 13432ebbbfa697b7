"""The `gateway` command line: a thin shell over the service functions."""

from __future__ import annotations

import os

import click
from sqlalchemy.exc import DatabaseError

from gateway.bootstrap import tune_garbage_collector
from gateway.cli import channels, imap, messages, queue, store, users, web, worker
from gateway.cli.context import INTERRUPTED, AppContext
from gateway.cli.demo import demo
from gateway.cli.parse import bench, parse, problem_to_json
from gateway.cli.run import run
from gateway.cli.terminal import visible
from gateway.config import Settings
from gateway.errors import GatewayError

__all__ = ["cli", "main", "problem_to_json"]


class GatewayGroup(click.Group):
    """Errors a user can act on become one clear line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (GatewayError, LookupError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise click.ClickException(visible(message)) from exc
        except DatabaseError as exc:
            raise click.ClickException(_database_problem(ctx, exc)) from exc
        except KeyboardInterrupt:
            # click's own answer is "Aborted!" and status 1; a shell expects 128 + SIGINT.
            click.echo("gateway: interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None


def _database_problem(ctx: click.Context, exc: DatabaseError) -> str:
    where = ctx.obj.settings.display_url if isinstance(ctx.obj, AppContext) else "the database"
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "no such table" in detail or ("relation" in detail and "does not exist" in detail):
        return f"{where} holds no gateway schema; run `gateway init` first"
    return f"the database {where} is unavailable: {detail}"


@click.group(cls=GatewayGroup)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reconcile as if today were this date (risk scores use it).")
@click.pass_context
def cli(ctx: click.Context, today: object) -> None:
    """Supplier collaboration gateway: supplier messages in, reconciled order events out."""
    moment = today if today is None else today.date()  # type: ignore[attr-defined]
    ctx.obj = AppContext(Settings.from_env(os.environ), moment)
    ctx.call_on_close(ctx.obj.close)


for command in (parse, bench, demo, *store.iter_commands(), *queue.iter_commands(),
                *channels.iter_commands(), *imap.iter_commands(),
                *messages.iter_commands(), *users.iter_commands(), *web.iter_commands(),
                *worker.iter_commands(), run):
    cli.add_command(command)


def main() -> None:
    tune_garbage_collector()
    cli()
