"""The local HTTP API and the desk page (FastAPI; served on loopback only by :mod:`agent.api.server`).

Every ``/api/`` call needs the access token; a foreign Origin is refused (:mod:`agent.api.security`).
The OpenAPI description is at ``/api/openapi.json`` (token required, like the rest). Endpoints:

- ``GET /api/status``: the live inputs (readers, camera, serial scanner), backend, sync;
  ``GET /api/sync/status``: the outbox;
- ``GET /api/results/latest``, ``GET /api/results?page=&size=`` (newest first, ``{results, page, size,
  total}``; results purged after the retention period are neither listed nor counted),
  ``GET /api/results/{id}``, ``GET /api/results/stream`` (server-sent events ``result``, ``reader`` and
  ``preview``: who the card being read shows, before its checks);
- ``POST /api/verify/qr`` ``{"text": ..., "keyboard": false}`` (``keyboard``: typed by a keyboard-wedge
  scanner into the desk page, repaired first); ``POST /api/verify/manual`` ``{"id_number": ..., ...}``;
- ``GET /api/receipts/{id}``: the verification receipt (``?download=1`` as a file);
- ``GET /api/operators``: who may sign in and who is signed in; ``POST /api/operator`` ``{"number", "pin"}``
  signs in, ``DELETE /api/operator`` signs out (a lookup with nobody signed in is a 403
  ``OperatorRequiredError`` where operators are listed);
- ``GET /api/checkins``: the check-ins recorded at this desk, for a site whose HIS reads them here;
- ``GET /api/messages``: the operator texts the page shows; ``GET /api/config``: the desk's profile.

Bad input is a 422 whose ``error.message`` says which field and what is expected; errors carry the
operator message in Vietnamese and English. ``GET /`` serves the page (no token: it holds none).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent import messages
from agent.api.security import GuardMiddleware, error_body, token_from_headers, token_matches
from agent.api.views import event_view, operators_view, reader_view, result_view, summary_view
from agent.errors import AgentError, InvalidInputError, OperatorRequiredError, OperatorSignInError, StoreError
from agent.service.desk import VIA_KEYBOARD, DeskService
from agent.service.history import MAX_HISTORY_PAGE
from agent.service.hub import CLOSED

STATIC_DIR = Path(__file__).resolve().parent / "static"
KEEPALIVE_S = 15.0
MAX_PAGE_SIZE = MAX_HISTORY_PAGE
PAGE_TEXT_PREFIXES = ("desk.", "verdict.", "reason.", "next.", "reader.", "check.", "error.", "bhyt.")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b4f8a"/>'
    '<text x="16" y="22" font-family="Arial,sans-serif" font-size="15" font-weight="700" fill="#fff" '
    'text-anchor="middle">ID</text></svg>'
)

bearer_scheme = HTTPBearer(auto_error=False, description="the agent's access token")
header_scheme = APIKeyHeader(name="X-Agent-Token", auto_error=False, description="the agent's access token")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message_key: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message_key, message, **extra)


class QrRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4096, description="the decoded text of the QR code")
    keyboard: bool = Field(default=False, description="typed by a keyboard-wedge scanner: repair what a "
                           "Vietnamese input method or keyboard layout did to it first")


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=1000, description="the operator's number, as GET /api/operators lists them")
    pin: str = Field(default="", max_length=12, description="the operator's PIN, if they have one")


class ManualRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=1, max_length=32,
                           description="12-digit ID number, 9-digit old CMND, or a BHYT card number (15 characters, "
                                       "or the 10-digit social insurance number)")
    full_name: str | None = Field(default=None, max_length=300)
    date_of_birth: str | None = Field(default=None, max_length=20, description="DD/MM/YYYY or YYYY-MM-DD")
    sex: str | None = Field(default=None, max_length=10)
    old_id_number: str | None = Field(default=None, max_length=12)
    address: str | None = Field(default=None, max_length=300)
    place_of_origin: str | None = Field(default=None, max_length=300)


def create_api(
    service: DeskService,
    *,
    token: str,
    allowed_origins: tuple[str, ...] = (),
    status: Callable[[], dict[str, Any]] | None = None,
    sync_status: Callable[[], dict[str, Any]] | None = None,
    page_config: dict[str, Any] | None = None,
    extra_hosts: tuple[str, ...] = (),
) -> FastAPI:
    """The ASGI app. ``status`` and ``sync_status`` come from the composition root (they look at the
    devices and the store); ``page_config`` tells the page the site profile and any banner to show."""
    if not token:
        raise ValueError("the local API needs an access token")

    def require_token(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
        header: str | None = Depends(header_scheme),
    ) -> None:
        supplied = token_from_headers(request.headers.get("authorization"), header)
        if not token_matches(token, supplied):
            raise ApiError(401, "unauthorized", "error.unauthorized",
                           "send the access token as 'Authorization: Bearer <token>' or 'X-Agent-Token: <token>'")

    app = FastAPI(
        title="CCCD edge reader agent",
        version="1",
        description=__doc__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(GuardMiddleware, allowed_origins=allowed_origins, extra_hosts=extra_hosts, token=token)
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body, status_code=error.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        # The framework's own refusals (no such route, wrong method, a body it cannot parse: bad UTF-8,
        # JSON nested too deep) get the project's error body like every other answer.
        code, key = _FRAMEWORK_ERRORS.get(error.status_code, ("bad_request", "error.bad_request"))
        return JSONResponse(error_body(code, key, str(error.detail)), status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal", "error.internal", "unexpected error in the agent"), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [_problem(item) for item in error.errors()]
        message = "; ".join(f"{p['field']}: {p['problem']}" if p["field"] else p["problem"] for p in problems)
        return JSONResponse(error_body("invalid_input", "error.invalid_input", message or "invalid request",
                                       fields=problems), status_code=422)

    @app.exception_handler(AgentError)
    async def agent_error(_request: Request, error: AgentError) -> JSONResponse:
        if isinstance(error, InvalidInputError):
            fields = [{"field": error.field, "problem": error.message}] if error.field else []
            return JSONResponse(error_body("invalid_input", error.message_key, error.message, fields=fields),
                                status_code=422)
        if isinstance(error, OperatorRequiredError | OperatorSignInError):
            extra = {"locked_for_s": error.locked_for_s} if isinstance(error, OperatorSignInError) else {}
            return JSONResponse(error_body(type(error).__name__, error.message_key, error.message, **extra),
                                status_code=403)
        status_code = 503 if (error.retryable or isinstance(error, StoreError)) else 500
        return JSONResponse(error_body(type(error).__name__, error.message_key, error.message), status_code=status_code)

    guarded = [Depends(require_token)]

    @app.get("/api/openapi.json", dependencies=guarded, include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/status", dependencies=guarded, summary="readers, camera, backend and sync")
    def get_status() -> dict[str, Any]:
        data = dict(status() if status else {})
        data.setdefault("reader_state", reader_view(service.reader_state))
        data.setdefault("site_profile", str(service.profile))
        return data

    @app.get("/api/sync/status", dependencies=guarded, summary="records waiting for the backend")
    def get_sync_status() -> dict[str, Any]:
        return sync_status() if sync_status else {}

    @app.get("/api/config", dependencies=guarded, summary="the desk's profile and banners")
    def get_config() -> dict[str, Any]:
        current = service.sign_in.current
        return {"site_profile": str(service.profile), "operator": current.name if current else None,
                **(page_config or {})}

    @app.get("/api/messages", dependencies=guarded, summary="operator texts in Vietnamese and English")
    def get_messages() -> dict[str, Any]:
        return {key: {"vi": vi, "en": en} for key, (vi, en) in messages.CATALOGUE.items()
                if key.startswith(PAGE_TEXT_PREFIXES)}

    @app.get("/api/results/latest", dependencies=guarded, summary="the last result, with the face")
    def latest() -> dict[str, Any]:
        desk = service.latest()
        return {"result": result_view(desk) if desk else None}

    @app.get("/api/results", dependencies=guarded, summary="history, newest first")
    def results(page: int = Query(1, ge=1, le=100_000),
                size: int = Query(20, ge=1, le=MAX_PAGE_SIZE)) -> dict[str, Any]:
        found, total = service.history(page=page, size=size)
        return {"results": [summary_view(r) for r in found], "page": page, "size": size, "total": total}

    @app.get("/api/results/stream", dependencies=guarded, summary="server-sent events: result, reader, preview")
    async def stream(request: Request) -> StreamingResponse:
        subscription = service.hub.subscribe(asyncio.get_running_loop())

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                yield _sse("reader", reader_view(service.reader_state))
                while True:
                    try:
                        message = await subscription.get(KEEPALIVE_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                        continue
                    if message is CLOSED:
                        return
                    kind, data = event_view(message.event)
                    yield _sse(kind, data, event_id=message.id)
            finally:
                subscription.close()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/api/results/{result_id}", dependencies=guarded, summary="one result")
    def one_result(result_id: str) -> dict[str, Any]:
        desk = service.get(_checked_id(result_id))
        if desk is None:
            raise ApiError(404, "not_found", "error.not_found", "no result with this id (or it was purged)")
        return {"result": result_view(desk)}

    @app.post("/api/verify/qr", dependencies=guarded, summary="verify the text of a QR code")
    def verify_qr(body: QrRequest) -> dict[str, Any]:
        via = VIA_KEYBOARD if body.keyboard else "api"
        return {"result": result_view(service.verify_qr_text(body.text, via=via))}

    @app.post("/api/verify/manual", dependencies=guarded,
              summary="verify a typed ID (12 digits), CMND (9) or BHYT card number")
    def verify_manual(body: ManualRequest) -> dict[str, Any]:
        entered = body.model_dump(exclude={"id_number"}, exclude_none=True)
        return {"result": result_view(service.verify_manual(body.id_number, entered))}

    @app.get("/api/operators", dependencies=guarded, summary="who may sign in, and who is signed in")
    def get_operators() -> dict[str, Any]:
        return operators_view(service.sign_in)

    @app.post("/api/operator", dependencies=guarded, summary="an operator signs in")
    def sign_in(body: SignInRequest) -> dict[str, Any]:
        service.sign_in_operator(body.number, body.pin)
        return operators_view(service.sign_in)

    @app.delete("/api/operator", dependencies=guarded, summary="the operator signs out")
    def sign_out() -> dict[str, Any]:
        service.sign_out_operator()
        return operators_view(service.sign_in)

    @app.get("/api/checkins", dependencies=guarded, summary="check-ins recorded at this desk, newest first")
    def checkins(page: int = Query(1, ge=1, le=100_000),
                 size: int = Query(50, ge=1, le=MAX_PAGE_SIZE)) -> dict[str, Any]:
        found, total = service.checkins(page=page, size=size)
        return {"checkins": found, "page": page, "size": size, "total": total}

    @app.get("/api/receipts/{result_id}", dependencies=guarded, summary="the verification receipt")
    def receipt(result_id: str, download: bool = False) -> JSONResponse:
        found = service.receipt(_checked_id(result_id))
        if found is None:
            raise ApiError(404, "not_found", "error.not_found", "no result with this id (or it was purged)")
        headers = {"Content-Disposition": f'attachment; filename="receipt-{result_id}.json"'} if download else None
        return JSONResponse(found, headers=headers)

    @app.get("/favicon.svg", include_in_schema=False)
    def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": PAGE_CSP})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


_FRAMEWORK_ERRORS = {
    404: ("not_found", "error.no_such_address"),
    405: ("method_not_allowed", "error.method_not_allowed"),
    413: ("request_too_large", "error.request_too_large"),
}


def _checked_id(result_id: str) -> str:
    if not (8 <= len(result_id) <= 64) or not all(c.isalnum() or c == "-" for c in result_id):
        raise InvalidInputError("a result id is 8-64 letters, digits or '-'", field="result_id")
    return result_id


def _sse(kind: str, data: dict[str, Any], *, event_id: int | None = None) -> bytes:
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    payload = json.dumps(data, ensure_ascii=False, default=_json_default)
    lines += [f"data: {line}" for line in payload.splitlines()]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_PROBLEMS = {
    "missing": "is required",
    "string_type": "must be text",
    "json_invalid": "the request body is not valid JSON",
    "model_attributes_type": "the request body must be a JSON object",
    "dict_type": "the request body must be a JSON object",
    "extra_forbidden": "is not a known field",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be true or false",
}


def _problem(item: dict[str, Any]) -> dict[str, str]:
    location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
    kind = str(item.get("type", ""))
    problem = _PROBLEMS.get(kind)
    if problem is None:
        problem = str(item.get("msg", "is not valid"))
        if problem.startswith("String should have at"):
            problem = problem.replace("String should", "must")
        elif problem.startswith("Input should be"):
            problem = problem.replace("Input should be", "must be")
    return {"field": ".".join(location), "problem": problem}
