"""`gateway users`: the people who sign in to the web app, and the API tokens of integrations.

Passwords are asked at the terminal (twice, not echoed), or read from standard input with
`--password-stdin` for scripts; never taken as an argument, which `ps` and shell history keep.
"""

from __future__ import annotations

import sys

import click

from gateway.cli.context import AppContext, pass_app
from gateway.cli.terminal import visible
from gateway.domain.access import Role, Scope

OPERATOR = "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def users() -> None:
    """Web users (buyer, admin, it) and API tokens."""


@users.command("create")
@click.argument("email")
@click.option("--name", default="", help="Shown in the web app; default the email.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.BUYER.value,
              show_default=True)
@click.option("--group", help="Buyers of one group act on each other's exceptions.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def users_create(app: AppContext, email: str, name: str, role: str, group: str | None,
                 password_stdin: bool) -> None:
    """Create a user. The first admin is made this way."""
    from gateway.services.accounts import create_user

    password = _password(password_stdin)
    with app.transaction() as session:
        row = create_user(session, email, name, Role(role), group, password, OPERATOR,
                          app.now())
        click.echo(f"created {visible(row.email)} ({row.role}"
                   + (f", group {visible(row.group_name)}" if row.group_name else "") + ")")


@users.command("list")
@pass_app
def users_list(app: AppContext) -> None:
    """Every user with role, group and whether disabled."""
    from gateway.services.accounts import list_users

    with app.transaction() as session:
        for row in list_users(session):
            state = "disabled" if row.disabled else "active"
            click.echo(f"{visible(row.email)}\t{row.role}\t{visible(row.group_name or '-')}"
                       f"\t{state}\t{visible(row.name)}")


@users.command("disable")
@click.argument("email")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@pass_app
def users_disable(app: AppContext, email: str, enable: bool) -> None:
    """Disable a user (signs them out everywhere), or enable them again."""
    from gateway.services.accounts import disable_user

    with app.transaction() as session:
        row = disable_user(session, email, OPERATOR, app.now(), disabled=not enable)
        click.echo(f"{visible(row.email)} {'disabled' if row.disabled else 'enabled'}")


@users.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def users_reset_password(app: AppContext, email: str, password_stdin: bool) -> None:
    """Set a new password (signs the user out everywhere)."""
    from gateway.services.accounts import reset_password

    password = _password(password_stdin)
    with app.transaction() as session:
        row = reset_password(session, email, password, OPERATOR, app.now())
        click.echo(f"password of {visible(row.email)} reset")


@users.group("token")
def token() -> None:
    """API tokens of integrations (the ERP, say)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice([s.value for s in Scope]))
@click.option("--supplier", "suppliers", multiple=True, metavar="CODE",
              help="Bind the token to a supplier (repeatable): it uploads messages only as "
                   "that supplier and reads only its messages.")
@pass_app
def token_create(app: AppContext, name: str, scopes: tuple[str, ...],
                 suppliers: tuple[str, ...]) -> None:
    """Make a token; it is printed once and only its hash is kept."""
    from gateway.services.accounts import create_api_token

    with app.transaction() as session:
        made = create_api_token(session, name, [Scope(s) for s in scopes], OPERATOR, app.now(),
                                list(suppliers))
        click.echo(f"token #{made.row.id} for {visible(name)} ({' '.join(made.row.scopes)}); "
                   "shown this once, keep it now:", err=True)
        click.echo(made.token)


@token.command("list")
@pass_app
def token_list(app: AppContext) -> None:
    """Tokens with their scopes and last use (never the token)."""
    from gateway.services.accounts import list_api_tokens

    with app.transaction() as session:
        for row in list_api_tokens(session):
            used = row.last_used_at.isoformat() if row.last_used_at else "never used"
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"#{row.id}\t{visible(row.name)}\t{row.prefix}…\t{' '.join(row.scopes)}"
                       f"\t{state}\t{used}")


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_app
def token_revoke(app: AppContext, token_id: int) -> None:
    from gateway.services.accounts import revoke_api_token

    with app.transaction() as session:
        row = revoke_api_token(session, token_id, OPERATOR, app.now())
        click.echo(f"token #{row.id} ({visible(row.name)}) revoked")

