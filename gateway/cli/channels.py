"""Channel commands: the long-running processes that take supplier messages in."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import click

from gateway.bootstrap import configure_logging, make_session_factory
from gateway.cli.context import AppContext, pass_app
from gateway.config import SmtpSettings
from gateway.errors import ConfigurationError
from gateway.persistence.schema import current_revision


@click.command()
@click.option("--host", help="Address to listen on [default: GATEWAY_SMTP_HOST, else "
                             "127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port to listen on, 0 for any free one [default: GATEWAY_SMTP_PORT, else "
                   "2525].")
@pass_app
def smtp(app: AppContext, host: str | None, port: int | None) -> None:
    """Receive supplier mail as an MX: each message is stored before the 250, then processed
    in the background (by Celery workers when GATEWAY_BROKER_URL is set). Settings:
    GATEWAY_SMTP_* (see README). Stops on SIGINT or SIGTERM after the messages already
    received are stored."""
    from gateway.channels.smtp import build_server, serve_until_signalled
    from gateway.cli.worker import open_dispatcher

    settings = SmtpSettings.from_env(os.environ)
    settings = replace(settings, host=host or settings.host,
                       port=settings.port if port is None else port)
    _log_to_stderr()
    if current_revision(app.engine) is None:
        raise ConfigurationError(f"{app.settings.display_url} holds no gateway schema; run "
                                 "`gateway init` first")
    transaction = make_session_factory(app.engine, app.session_info()).begin
    with open_dispatcher(app, ["smtp"]) as dispatcher:
        server = build_server(settings, transaction, app.now,
                              settings.hostname or socket.getfqdn(), dispatcher.dispatch)
        serve_until_signalled(server)


def _log_to_stderr() -> None:
    # JSON lines; aiosmtpd's own logger, which writes every DATA line at DEBUG and addresses
    # at INFO, is held at WARNING there: message content never goes to the log
    # (docs/architecture.md, "Caps and limits").
    configure_logging()
