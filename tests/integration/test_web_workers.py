"""`gateway web --workers N`: uvicorn's worker processes each build the app from the
environment, share one cookie key, and answer the API."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from gateway.bench.web import free_port
from gateway.bootstrap import make_session_factory
from gateway.cli.web import share_secret_key
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.services.accounts import create_api_token
from tests.integration.web_scenario import NOW, build


def test_an_unset_cookie_key_is_made_once_for_every_worker() -> None:
    env: dict[str, str] = {}
    share_secret_key(env)
    made = env["GATEWAY_WEB_SECRET_KEY"]
    assert len(made) >= 32
    share_secret_key(env)
    assert env["GATEWAY_WEB_SECRET_KEY"] == made
    kept = {"GATEWAY_WEB_SECRET_KEY": "the operator's own key, long enough 0123456789"}
    share_secret_key(kept)
    assert kept["GATEWAY_WEB_SECRET_KEY"] == "the operator's own key, long enough 0123456789"


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_two_workers_serve_the_api(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    build(engine, tmp_path)
    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, "erp", [Scope.EXCEPTIONS_READ], "test", NOW).token
    port = free_port()
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url}
    env.pop("GATEWAY_WEB_SECRET_KEY", None)
    with (tmp_path / "web.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "web", "--port", str(port), "--workers", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz", {})[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "web.log").read_text()
            assert time.monotonic() < deadline, "gateway web --workers 2 did not start"
            time.sleep(0.2)
        answers = [_get(port, "/api/v1/exceptions?limit=2",
                        {"Authorization": f"Bearer {token}"}) for _ in range(20)]
        assert {status for status, _ in answers} == {200}
        assert all(b'"items"' in body for _, body in answers)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    logged = (tmp_path / "web.log").read_text()
    assert logged.count("Started server process") == 2
