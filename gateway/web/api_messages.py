"""`/api/v1/messages`: a file handed in over HTTP, and a message's status (scopes
`messages:write`, `messages:read`).

The HTTP intake is a channel like SMTP and IMAP (docs/architecture.md, "Archive before
acknowledge"): it archives the bytes exactly as received as a `received` message of channel
`http`, commits, hands the id to the worker (the app's `Dispatcher`), and only then answers
`202 Accepted` with the message's id and its `Location`. Nothing is parsed on the way in.

- The body is the file itself (any content type; the name from `Content-Disposition:
  attachment; filename="..."`, RFC 6266), or `multipart/form-data` with the file in a part
  named `file` (RFC 7578).
- The size cap (`GATEWAY_API_MAX_UPLOAD_BYTES`, 25 MiB by default) is checked against
  `Content-Length` before a byte is read, and again while reading: 413 either way.
- The sender is the token (`token:NAME`); the supplier follows the trust rule of
  `gateway.domain.access.upload_supplier`.
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gateway.domain.access import Actor, Scope, may_read_message, upload_supplier
from gateway.web.api import NO_NUL, PREFIX, PROBLEM_RESPONSES, ApiProblem, RowId, scoped
from gateway.web.context import WebContext
from gateway.web.cxml_response import cxml_answer, wants_cxml_answer
from gateway.web.queue_view import utc

CHANNEL = "http"
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
FILENAME_WIDTH = 400
MessagesReader = Annotated[Actor, Depends(scoped(Scope.MESSAGES_READ))]
MessagesWriter = Annotated[Actor, Depends(scoped(Scope.MESSAGES_WRITE))]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


class Accepted(BaseModel):
    id: int
    state: str = Field(description="`received`, or `duplicate` when the same bytes came "
                                   "from this token before")
    duplicate_of: int | None


class MessageOut(BaseModel):
    id: int
    received_at: str
    channel: str
    sender: str
    filename: str | None
    size: int
    state: str
    reason: str | None
    supplier: str | None
    duplicate_of: int | None
    documents: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    exceptions: list[int] = Field(description="the ids of the exceptions it raised")


def max_upload_bytes(env: dict[str, str] | os._Environ[str]) -> int:
    text = env.get("GATEWAY_API_MAX_UPLOAD_BYTES", "").strip()
    return int(text) if text.isdigit() else DEFAULT_MAX_UPLOAD_BYTES


def safe_filename(name: str | None) -> str | None:
    """The last path part, without control characters, cut to the column: a name is data."""
    if not name:
        return None
    base = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return base[:FILENAME_WIDTH] or None


def disposition_filename(header: str | None) -> str | None:
    if not header:
        return None
    parsed = email.parser.HeaderParser(policy=email.policy.default).parsestr(
        f"Content-Disposition: {header}\n\n")
    return parsed.get_filename()


def multipart_file(content_type: str, body: bytes) -> tuple[bytes, str | None]:
    """The `file` part of a multipart/form-data body and its filename (RFC 7578)."""
    parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if isinstance(parsed, EmailMessage) and parsed.is_multipart():
        for part in parsed.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload, part.get_filename()
    raise ApiProblem(422, "No file", "a multipart/form-data upload carries the file in a part "
                                     "named `file`")


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(cap: int) -> ApiProblem:
    return ApiProblem(413, "Content too large", f"a message may have at most {cap} bytes")


def messages_router(ctx: WebContext, dispatch: Callable[[Sequence[int]], None] | None,
                    cap: int) -> APIRouter:
    from gateway.services.inbound import message_detail
    from gateway.services.ingest import Intake, archive

    router = APIRouter(prefix=PREFIX, tags=["messages"], responses=PROBLEM_RESPONSES,
                       dependencies=NO_NUL)

    def store(intake: Intake) -> dict[str, Any]:
        with ctx.transaction() as session:
            archived = archive(session, intake, ctx.now())
        # After the commit: the worker must find the row it is told about.
        if dispatch is not None and archived.duplicate_of is None:
            dispatch([archived.message_id])
        return {"id": archived.message_id,
                "state": "received" if archived.duplicate_of is None else "duplicate",
                "duplicate_of": archived.duplicate_of}

    @router.post("/messages", status_code=202, response_model=Accepted,
                 responses={413: PROBLEM_RESPONSES[400], 200: {
                     "description": "a cXML document posted as text/xml or application/xml: "
                                    "cXML's own Response, Status 201 (stored) or 200 (stored "
                                    "before)", "content": {"text/xml": {}}}},
                 openapi_extra=UPLOAD_BODY,
                 summary="Hand in a supplier's file; answers once it is stored")
    async def upload(request: Request, who: MessagesWriter,
                     supplier: Annotated[str | None, Query(
                         max_length=64, description="the supplier code, one the token is "
                                                    "bound to")] = None) -> Response:
        try:
            code = upload_supplier(who, supplier)
        except PermissionError as exc:
            raise ApiProblem(403, "Forbidden", str(exc)) from exc
        except ValueError as exc:
            raise ApiProblem(422, "Unprocessable content", str(exc)) from exc
        raw = await _read_capped(request, cap)
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            raw, name = multipart_file(content_type, raw)
        else:
            name = disposition_filename(request.headers.get("content-disposition"))
        if not raw:
            raise ApiProblem(422, "Empty file", "the upload holds no bytes")
        intake = Intake(raw, CHANNEL, who.audit_name, safe_filename(name), code)
        body = await run_in_threadpool(store, intake)
        location = {"Location": f"{PREFIX}/messages/{body['id']}"}
        if wants_cxml_answer(content_type, raw):
            # cXML's poster waits for a cXML Response, not for JSON (gateway.web.cxml_response).
            answer = cxml_answer(body["id"], body["duplicate_of"], request.url.hostname or
                                 "gateway.invalid", ctx.now())
            return Response(answer, status_code=200, media_type="text/xml", headers=location)
        return JSONResponse(body, status_code=202, headers=location)

    @router.get("/messages/{message_id}", response_model=MessageOut,
                summary="A message's state, documents and problems")
    def get_message(message_id: RowId, who: MessagesReader) -> dict[str, Any]:
        with ctx.transaction() as session:
            try:
                detail = message_detail(session, message_id)
            except LookupError as exc:
                raise ApiProblem(404, "Not found", f"no message #{message_id}") from exc
        summary = detail.summary
        if not may_read_message(who, summary.sender, summary.supplier_code):
            # Not 403: a token bound to a supplier does not learn that the id exists.
            raise ApiProblem(404, "Not found", f"no message #{message_id}")
        body = summary.as_json()
        body["received_at"] = utc(summary.received_at).isoformat()  # SQLite drops the zone
        body["documents"] = detail.documents
        body["problems"] = detail.problems
        body["exceptions"] = [e["id"] for e in detail.exceptions]
        return body

    return router
