"""/api/v1/messages: the HTTP intake archives the bytes as they came, commits, hands the id on
and answers 202 with a Location; the size cap answers 413 before the body is read; the token
is the sender and its supplier binding decides whose message it is; the status shows the
processing's result."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.models import InboundMessage
from gateway.services.accounts import create_api_token
from gateway.services.ingest import process
from gateway.web.app import create_app
from gateway.web.security import WebSettings
from tests.integration.web_client import SECRET
from tests.integration.web_scenario import DEMO, NOW, TODAY, Scenario, build

EDIFACT = sorted((DEMO / "messages").glob("*.edi"))[0]


class Recorder:
    """The dispatcher the app hands stored ids to; records what it saw of the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ids: list[int] = []
        self.committed: list[bool] = []
        self.called = threading.Event()

    def dispatch(self, message_ids: Sequence[int]) -> None:
        with make_session_factory(self.engine).begin() as session:
            self.committed += [session.get(InboundMessage, i) is not None for i in message_ids]
        self.ids += message_ids
        self.called.set()


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def recorder(engine: Engine) -> Recorder:
    return Recorder(engine)


@pytest.fixture
def client(scenario: Scenario, settings: Settings, recorder: Recorder,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GATEWAY_API_MAX_UPLOAD_BYTES", "4096")
    app = create_app(settings, web_settings=WebSettings(SECRET), clock=lambda: NOW,
                     dispatch=recorder.dispatch)
    with TestClient(app, follow_redirects=False) as found:
        yield found


def _auth(engine: Engine, *scopes: Scope, suppliers: tuple[str, ...] = (),
          name: str = "edi-provider") -> dict[str, str]:
    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, name, list(scopes), "test", NOW,
                                 list(suppliers)).token
    return {"Authorization": f"Bearer {token}"}


def _stored(engine: Engine, message_id: int) -> InboundMessage:
    with make_session_factory(engine).begin() as session:
        row = session.get(InboundMessage, message_id)
        assert row is not None
        session.expunge(row)
        return row


def test_an_upload_is_archived_committed_dispatched_then_answered(
        client: TestClient, engine: Engine, recorder: Recorder) -> None:
    auth = _auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT",))
    raw = b"UNA:+.? 'UNB+UNOC:3+X+Y+261201:1000+1'UNZ+0+1'\r\n"
    answer = client.post("/api/v1/messages", content=raw, headers={
        **auth, "Content-Type": "application/edifact",
        "Content-Disposition": 'attachment; filename="../../etc/ORDRSP 1.edi"'})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/api/v1/messages/{body['id']}"
    assert body["state"] == "received"
    assert recorder.ids == [body["id"]]
    assert recorder.committed == [True], "dispatched only after the commit"
    row = _stored(engine, body["id"])
    assert bytes(row.raw) == raw
    assert (row.channel, row.sender, row.supplier_code, row.filename) == (
        "http", "token:edi-provider", "ALBRECHT", "ORDRSP 1.edi")
    again = client.post("/api/v1/messages", content=raw, headers=auth)
    assert again.status_code == 202
    assert again.json()["duplicate_of"] == body["id"]
    assert recorder.ids == [body["id"]], "a duplicate is not processed again"


def test_multipart_uploads_carry_the_file_and_its_name(client: TestClient,
                                                      engine: Engine) -> None:
    auth = _auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT",))
    raw = b"order 4500012345 line 10 confirmed\r\n"
    answer = client.post("/api/v1/messages", headers=auth,
                         files={"file": ("reply.txt", raw, "text/plain")})
    assert answer.status_code == 202, answer.text
    row = _stored(engine, answer.json()["id"])
    assert (bytes(row.raw), row.filename) == (raw, "reply.txt")
    wrong = client.post("/api/v1/messages", headers=auth,
                        files={"document": ("reply.txt", raw, "text/plain")})
    assert wrong.status_code == 422


def test_the_size_cap_answers_413_before_and_while_reading(client: TestClient,
                                                          engine: Engine,
                                                          recorder: Recorder) -> None:
    auth = _auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT",))
    declared = client.post("/api/v1/messages", content=b"x" * 5000, headers=auth)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    streamed = client.post("/api/v1/messages", content=chunks(), headers=auth)
    assert streamed.status_code == 413
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert recorder.ids == []


def test_the_token_decides_whose_message_it_is(client: TestClient, engine: Engine) -> None:
    raw = EDIFACT.read_bytes()
    bound = _auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT", "HUAXIN"), name="portal")
    assert client.post("/api/v1/messages", content=raw, headers=bound).status_code == 422
    refused = client.post("/api/v1/messages?supplier=KOVOLIS", content=raw, headers=bound)
    assert refused.status_code == 403
    chosen = client.post("/api/v1/messages?supplier=HUAXIN", content=raw, headers=bound)
    assert _stored(engine, chosen.json()["id"]).supplier_code == "HUAXIN"
    erp = _auth(engine, Scope.MESSAGES_WRITE, name="erp")
    assert client.post("/api/v1/messages?supplier=ALBRECHT", content=raw,
                       headers=erp).status_code == 403
    unbound = client.post("/api/v1/messages", content=raw, headers=erp)
    assert unbound.status_code == 202
    assert _stored(engine, unbound.json()["id"]).supplier_code is None
    reader = _auth(engine, Scope.MESSAGES_READ)
    assert client.post("/api/v1/messages", content=raw, headers=reader).status_code == 403


def test_the_status_shows_the_result_to_whom_may_read_it(client: TestClient,
                                                        engine: Engine) -> None:
    writer = _auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT",), name="albrecht")
    uploaded = client.post("/api/v1/messages", content=EDIFACT.read_bytes(), headers=writer)
    message_id = uploaded.json()["id"]
    received = client.get(f"/api/v1/messages/{message_id}", headers=writer).json()
    assert (received["state"], received["channel"]) == ("received", "http")
    assert received["received_at"].endswith("+00:00")
    with make_session_factory(engine).begin() as session:
        process(session, message_id, TODAY, NOW)
    done = client.get(f"/api/v1/messages/{message_id}", headers=writer).json()
    assert done["state"] != "received"
    assert done["documents"] or done["problems"]
    other = _auth(engine, Scope.MESSAGES_READ, suppliers=("KOVOLIS",), name="kovolis")
    assert client.get(f"/api/v1/messages/{message_id}", headers=other).status_code == 404
    erp = _auth(engine, Scope.MESSAGES_READ, name="erp")
    assert client.get(f"/api/v1/messages/{message_id}", headers=erp).status_code == 200
    assert client.get("/api/v1/messages/999999", headers=erp).status_code == 404


CXML = (b'<?xml version="1.0"?>\n<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/'
        b'1.2.014/Fulfill.dtd">\n<cXML payloadID="c-1@supplier.example"><Request>'
        b'<ConfirmationRequest><ConfirmationHeader type="accept" confirmID="C1"/>'
        b'<OrderReference orderID="4500000001"/></ConfirmationRequest></Request></cXML>\n')


def test_a_cxml_post_gets_cxmls_own_response(client: TestClient, engine: Engine,
                                             recorder: Recorder) -> None:
    """A cXML document posted as XML is answered the cXML way (its poster waits for a
    Response with a Status), stored and dispatched like any upload; sent again, it is OK."""
    auth = {**_auth(engine, Scope.MESSAGES_WRITE, suppliers=("ALBRECHT",)),
            "Content-Type": "text/xml; charset=utf-8"}
    answer = client.post("/api/v1/messages", content=CXML, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    status = etree.fromstring(answer.content, etree.XMLParser(no_network=True)).find(
        "Response/Status")
    assert status is not None
    assert (status.get("code"), status.get("text")) == ("201", "Accepted")
    message_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert recorder.ids == [message_id]
    assert bytes(_stored(engine, message_id).raw) == CXML
    again = client.post("/api/v1/messages", content=CXML, headers=auth)
    again_status = etree.fromstring(again.content).find("Response/Status")
    assert again_status is not None
    assert again_status.get("code") == "200"
    json_answer = client.post("/api/v1/messages", content=CXML.replace(b"C1", b"C2"),
                              headers={**auth, "Content-Type": "application/octet-stream"})
    assert json_answer.status_code == 202
