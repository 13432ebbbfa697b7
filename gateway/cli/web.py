"""`gateway web`: serve the web application (pages, /api/v1, health, readiness, metrics) with
uvicorn."""

from __future__ import annotations

import os

import click

from gateway.bootstrap import configure_logging
from gateway.cli.context import AppContext, pass_app
from gateway.config import PipelineSettings


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@pass_app
def web(app: AppContext, host: str, port: int) -> None:
    """Serve the web application: /healthz (the process answers), /readyz (database, schema
    and broker), /metrics (Prometheus). Logs are JSON lines on stderr. Stops on SIGINT or
    SIGTERM."""
    import uvicorn

    from gateway.web.app import create_app

    queue = PipelineSettings.from_env(os.environ).queue
    configure_logging()
    # log_config=None: uvicorn's own loggers go through the JSON handler above.
    uvicorn.run(create_app(app.settings, [queue]), host=host, port=port, log_config=None,
                server_header=False)
