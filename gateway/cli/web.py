"""`gateway web`: serve the web application (pages, /api/v1, health, readiness, metrics) with
uvicorn."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import MutableMapping
from typing import Any

import click

from gateway.bootstrap import WEB_WORKERS_ENV, configure_logging
from gateway.cli.context import AppContext, pass_app
from gateway.config import PipelineSettings
from gateway.runtime import usable_cpus

log = logging.getLogger(__name__)


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), envvar=WEB_WORKERS_ENV,
              help="Processes serving requests (uvicorn workers), each with its share of the "
                   "database pool. Default: one per CPU this process may use (its affinity "
                   "and cgroup quota). Also GATEWAY_WEB_WORKERS.")
@pass_app
def web(app: AppContext, host: str, port: int, workers: int | None) -> None:
    """Serve the web application: /healthz (the process answers), /readyz (database, schema
    and broker), /metrics (Prometheus). Logs are JSON lines on stderr. Stops on SIGINT or
    SIGTERM."""
    import uvicorn

    configure_logging()
    # log_config=None: uvicorn's own loggers go through the JSON handler above.
    options: dict[str, Any] = {"host": host, "port": port, "log_config": None,
                               "server_header": False}
    count = workers or usable_cpus()
    if count == 1:
        from gateway.web.app import create_app

        queue = PipelineSettings.from_env(os.environ).queue
        uvicorn.run(create_app(app.settings, [queue]), **options)
        return
    app.settings  # a wrong setting is reported here, once, not by each worker  # noqa: B018
    share_secret_key(os.environ)
    os.environ[WEB_WORKERS_ENV] = str(count)  # each worker's share of the pool
    uvicorn.run(WORKER_APP, factory=True, workers=count, **options)


WORKER_APP = "gateway.web.app:app_from_environment"


def share_secret_key(env: MutableMapping[str, str]) -> None:
    """Workers started by uvicorn build their app from the environment: without
    GATEWAY_WEB_SECRET_KEY each would make its own cookie key and a session signed by one
    would be refused by the next. One random key for all of them, for this run."""
    if env.get("GATEWAY_WEB_SECRET_KEY", "").strip():
        return
    log.warning("GATEWAY_WEB_SECRET_KEY is not set: sessions end when gateway web stops")
    env["GATEWAY_WEB_SECRET_KEY"] = secrets.token_urlsafe(32)
