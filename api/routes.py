"""The banks' API and the reverse proxy's health check, on Streamlit's own Starlette server.

``serve.py`` passes :data:`ROUTES` to ``st.App``: the same process, port and database pool as the
pages — no second server. The handlers are thin: authentication, rate limit, audit and the data all
live in services.bank_api. Database work runs in Starlette's thread pool, never on the event loop
that also carries the pages' websockets.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from db.session import session_scope
from services import bank_api
from services.auth import resolve_client

MAX_BODY_BYTES = 20 * 1024 * 1024  # 50,000 outcome rows of the contract fit easily


def _json(status: int, body: dict | bytes) -> Response:
    headers = {"Cache-Control": "no-store"}
    if isinstance(body, bytes):  # already JSON (the whitelist, rendered by the database)
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    if status == 429 and "retry_after" in body:
        headers["Retry-After"] = str(body["retry_after"])
    return JSONResponse(body, status_code=status, headers=headers)


def _address(request: Request) -> str:
    peer = request.client.host if request.client else None
    return resolve_client(peer, request.headers.get("x-forwarded-for")) or "-"


def _whitelist(authorization: str | None, run: str | None, address: str) -> tuple[int, dict | bytes]:
    with session_scope() as session:
        caller = bank_api.authenticate(
            session, authorization=authorization, path="/api/v1/whitelist", address=address
        )
        if isinstance(caller, tuple):
            return caller
        return bank_api.get_whitelist(session, caller=caller, run=run, address=address)


def _outcomes(authorization: str | None, body: Any, dry_run: bool, address: str) -> tuple[int, dict]:
    with session_scope() as session:
        caller = bank_api.authenticate(
            session, authorization=authorization, path="/api/v1/outcomes", address=address
        )
        if isinstance(caller, tuple):
            return caller
        if body is _BAD_JSON:
            return bank_api.post_outcomes(session, caller=caller, body=None, dry_run=dry_run, address=address)
        return bank_api.post_outcomes(session, caller=caller, body=body, dry_run=dry_run, address=address)


_BAD_JSON = object()


def _no_constants(value: str) -> float:
    raise ValueError(value)  # NaN / Infinity are not JSON numbers: refused, never read as a value


async def whitelist(request: Request) -> Response:
    status, body = await run_in_threadpool(
        _whitelist, request.headers.get("authorization"), request.query_params.get("run"), _address(request)
    )
    return _json(status, body)


async def outcomes(request: Request) -> Response:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return _json(413, {"error": "请求体过大（上限 20 MB），请拆分后分批报送。"})
    raw = bytearray()  # appended in place: a 20 MB body is not copied once per chunk
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            return _json(413, {"error": "请求体过大（上限 20 MB），请拆分后分批报送。"})
    try:
        body: Any = json.loads(bytes(raw).decode("utf-8"), parse_constant=_no_constants)
        if isinstance(body, float) and not math.isfinite(body):
            body = _BAD_JSON
    except (UnicodeDecodeError, ValueError):
        body = _BAD_JSON
    dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
    status, answer = await run_in_threadpool(
        _outcomes, request.headers.get("authorization"), body, dry_run, _address(request)
    )
    return _json(status, answer)


def _database_answers() -> bool:
    try:
        with session_scope() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the details are in the server log
        return False


async def healthz(_request: Request) -> Response:
    """For the reverse proxy: 200 "ok" when this process answers and its database does; no login."""
    if await run_in_threadpool(_database_answers):
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})
    return PlainTextResponse("database unavailable", status_code=503, headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/api/v1/whitelist", whitelist, methods=["GET"]),
    Route("/api/v1/outcomes", outcomes, methods=["POST"]),
]
