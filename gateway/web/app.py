"""The web application, built by `create_app(settings)`: nothing happens at import.

- `/healthz`: liveness. The process answers; nothing else is asked, so a database outage never
  gets a healthy web process restarted.
- `/readyz`: readiness. 200 when the database answers, its schema is at the newest migration and
  the broker (when `GATEWAY_BROKER_URL` is set) answers; 503 naming the check that failed and
  why. Each check as JSON either way.
- `/metrics`: Prometheus text format, read from the database at scrape time
  (`gateway.web.metrics`).
- the buyers' pages (`gateway.web.pages`: `/login`, `/exceptions`, `/exceptions/{id}`) and the
  REST API under `/api/v1` (`gateway.web.api`, its OpenAPI document at `/api/v1/openapi.json`).

Every answer carries the security headers of `gateway.web.security`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from gateway.bootstrap import (
    READ_ONLY,
    WEB_WORKERS_ENV,
    configure_logging,
    make_alone_engine,
    make_engine,
    make_session_factory,
    serving_pool,
)
from gateway.config import PipelineSettings, Settings
from gateway.web.api import register_api
from gateway.web.api_queue import QueueFrontDoor
from gateway.web.broker import make_broker_probe
from gateway.web.bulk_pages import register_bulk_pages
from gateway.web.context import WebContext
from gateway.web.dashboard import register_dashboard
from gateway.web.health import CheckStatus, readiness
from gateway.web.list_pages import register_list_pages
from gateway.web.message_pages import register_message_pages
from gateway.web.metrics import GatewayCollector
from gateway.web.order_pages import register_order_pages
from gateway.web.outbox_pages import register_outbox_pages
from gateway.web.pages import refuse_nul, register_pages
from gateway.web.security import SecurityHeaders, WebSettings
from gateway.web.supplier_admin_pages import register_supplier_admin_pages
from gateway.web.supplier_pages import register_supplier_pages
from gateway.web.users_pages import register_users_pages

# A readiness probe must answer within the prober's timeout, also when the database host does
# not answer at all.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_QUEUES = (PipelineSettings().queue,)


STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings,
               broker_queues: Sequence[str] = DEFAULT_QUEUES,
               web_settings: WebSettings | None = None,
               clock: Callable[[], datetime] | None = None,
               dispatch: Callable[[Sequence[int]], None] | None = None,
               workers: int = 1) -> FastAPI:
    """`broker_queues`: the Celery queues whose waiting tasks `/metrics` counts
    (`GATEWAY_PIPELINE_QUEUE`). `web_settings`: the cookie secret and TLS setting, by default
    from `GATEWAY_WEB_*`. `clock`: the time sessions and actions are stamped with.
    `dispatch`: hands a message uploaded to `/api/v1/messages` to the worker after its commit
    (`gateway run` wakes its own worker); without one, the sweep finds it `received`.
    `workers`: the processes serving together (`gateway web --workers`), each with its share
    of the database pool."""
    engine = make_engine(settings, connect_timeout=DATABASE_CONNECT_TIMEOUT_SECONDS,
                         serving=True, workers=workers)
    alone = make_alone_engine(settings, DATABASE_CONNECT_TIMEOUT_SECONDS, workers)
    # Health checks and scrapes only read: on SQLite they never queue behind a writer.
    reader = engine.execution_options(**{READ_ONLY: True})
    broker = (make_broker_probe(settings.broker_url, broker_queues) if settings.broker_url
              else None)
    registry = CollectorRegistry()
    registry.register(GatewayCollector(reader, broker, lambda: datetime.now(UTC)))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        web.threads.shutdown()
        if broker is not None:
            broker.close()
        alone.dispose()
        engine.dispose()

    app = FastAPI(title="Supplier gateway API", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url="/api/v1/openapi.json",
                  dependencies=[Depends(refuse_nul)])
    app.state.settings = settings
    app.state.sessions = make_session_factory(engine)
    app.state.dispatch = dispatch
    web = WebContext.build(app.state.sessions,
                           web_settings or WebSettings.from_env(os.environ), clock,
                           alone, threads=serving_pool(workers).size)

    # The queue's front door inside the security headers: its answers carry them too.
    app.add_middleware(QueueFrontDoor, ctx=web)
    app.add_middleware(SecurityHeaders, hsts=web.settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    register_pages(app, web)
    register_supplier_pages(app, web)
    register_supplier_admin_pages(app, web)
    register_users_pages(app, web)
    register_dashboard(app, web)
    register_bulk_pages(app, web)
    register_list_pages(app, web)
    register_order_pages(app, web)
    register_message_pages(app, web)
    register_outbox_pages(app, web)
    register_api(app, web)
    if os.environ.get("GATEWAY_AS2_PARTNERS"):
        from gateway.web.as2_route import register_as2

        register_as2(app, app.state.sessions.begin, Path(os.environ["GATEWAY_AS2_PARTNERS"]),
                     dispatch)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        checks = readiness(reader, broker)
        failed = [check.name for check in checks if check.status is CheckStatus.FAILED]
        body = {"status": "not ready" if failed else "ready", "failed": failed,
                "checks": {check.name: check.as_json() for check in checks}}
        return JSONResponse(body, status_code=503 if failed else 200)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of `gateway web --workers N` (uvicorn starts each worker
    afresh and calls this): settings, queue, cookie key and the number of workers
    (`GATEWAY_WEB_WORKERS`, which `gateway web` sets) from the environment, the JSON log
    handler installed in this process."""
    configure_logging()
    return create_app(Settings.from_env(os.environ),
                      [PipelineSettings.from_env(os.environ).queue],
                      workers=int(os.environ.get(WEB_WORKERS_ENV) or 1))
