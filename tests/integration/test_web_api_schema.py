"""The whole /api/v1 tested from its own OpenAPI document with schemathesis (property-based):
requests generated from the document, sent in process to the ASGI app with a token holding
every scope, on SQLite and PostgreSQL; no answer may be a server error, and every answer must
conform to the document (status codes, content types, bodies, headers). Bounded by
`MAX_EXAMPLES` per operation so the suite stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.services.accounts import create_api_token
from gateway.web.app import create_app
from gateway.web.security import WebSettings
from tests.integration.web_client import SECRET
from tests.integration.web_scenario import NOW, build

MAX_EXAMPLES = 15
# Left out: "a schema-valid request is accepted". A cursor is opaque (any string is valid
# by the document, only the gateway's own are accepted: 400), and an import's quantity or date
# is a string the document cannot check ("5,5" is refused with 422 naming the field). Both
# answers are documented problem documents; every other check runs.


@pytest.fixture
def token(engine: Engine, tmp_path: Path) -> str:
    build(engine, tmp_path)
    with make_session_factory(engine).begin() as session:
        return create_api_token(session, "schemathesis", list(Scope), "test", NOW).token


def test_every_operation_answers_as_its_document_says(settings: Settings, token: str) -> None:
    app = create_app(settings, web_settings=WebSettings(SECRET), clock=lambda: NOW)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "GET /api/v1/orders", "POST /api/v1/orders", "POST /api/v1/messages",
        "GET /api/v1/outbox", "GET /api/v1/suppliers/{code}", "GET /api/v1/exceptions",
        "GET /api/v1/suppliers/{code}/profiles", "POST /api/v1/suppliers/{code}/profiles",
        "GET /api/v1/suppliers/{code}/scorecard"}
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:
        # One property per operation (the plugin's lazy `from_fixture` does not run under
        # this pytest): cases drawn from the operation's schema, each answer validated.
        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        answers_as_documented()
