"""The local API's guards: loopback-only Host names (against DNS rebinding), allowed Origins (a web
page from anywhere else is refused with 403, before any work is done), CORS answers for the origins
the site allowed, and the access token every ``/api/`` call must carry
(``Authorization: Bearer <token>`` or ``X-Agent-Token: <token>``).

The middleware decides before a byte of the body is read (issue 13): a wrong or missing token is a 401
and a declared length over :data:`MAX_BODY_BYTES` a 413, both answered at once and the connection
closed; a body without a declared length is read up to that limit (413 past it); a body still arriving
after :data:`BODY_TIMEOUT_S` is a 408. What the route is handed is the body read here, so no framework
code ever buffers more than the limit. Every refusal has the project's error body.

The token is compared in constant time and never logged. The desk page itself carries no token: it
reads it from the URL fragment (which browsers never send to a server) or asks the operator.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable
from typing import Any

from agent import messages

Scope = dict[str, Any]
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
CORS_ALLOW_HEADERS = "Authorization, X-Agent-Token, Content-Type, Last-Event-ID"
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"
CORS_MAX_AGE = "600"
TOKEN_BYTES = 24
# The largest request any route takes is a QR text (4 KB) or a typed identity: 64 KB is generous.
MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_matches(expected: str, supplied: str | None) -> bool:
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), supplied.encode("utf-8"))


def token_from_headers(authorization: str | None, agent_token: str | None) -> str | None:
    if agent_token:
        return agent_token.strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def host_name(host_header: str) -> str:
    """The name part of a Host header ("127.0.0.1:8780" -> "127.0.0.1", "[::1]:80" -> "[::1]")."""
    if host_header.startswith("["):
        end = host_header.find("]")
        return host_header[: end + 1] if end > 0 else host_header
    return host_header.rsplit(":", 1)[0] if ":" in host_header else host_header


def is_loopback_name(name: str) -> bool:
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def error_body(code: str, message_key: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "message_vi": messages.text(message_key, "vi"),
                      "message_en": messages.text(message_key, "en"), **extra}}


class GuardMiddleware:
    """Pure ASGI middleware (it must not buffer the event stream)."""

    def __init__(self, app: Any, *, allowed_origins: Iterable[str], extra_hosts: Iterable[str] = (),
                 token: str = "", max_body_bytes: int | None = None, body_timeout_s: float | None = None) -> None:
        self.app = app
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}
        self.extra_hosts = set(extra_hosts)
        self.token = token
        self.max_body_bytes = MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes
        self.body_timeout_s = BODY_TIMEOUT_S if body_timeout_s is None else body_timeout_s

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if not (is_loopback_name(host_name(host)) or host in self.extra_hosts):
            await _json(send, 403, error_body("forbidden_host", "error.forbidden_origin",
                                              "the agent answers only to http://127.0.0.1 or http://localhost"))
            return
        origin = headers.get("origin")
        own_origin = f"{scope.get('scheme', 'http')}://{host}"
        if origin is not None and origin != own_origin and origin.rstrip("/") not in self.allowed_origins:
            await _json(send, 403, error_body("forbidden_origin", "error.forbidden_origin",
                                              "this origin is not in api.allowed_origins"))
            return
        cross_origin = origin is not None and origin != own_origin
        if scope["method"] == "OPTIONS" and cross_origin and origin is not None:
            await send({"type": "http.response.start", "status": 204, "headers": _cors(origin, preflight=True)})
            await send({"type": "http.response.body", "body": b""})
            return
        cors = _cors(origin) if cross_origin and origin else []
        if self.token and str(scope.get("path", "")).startswith("/api/") and not token_matches(
            self.token, token_from_headers(headers.get("authorization"), headers.get("x-agent-token"))
        ):
            await _json(send, 401, error_body("unauthorized", "error.unauthorized", UNAUTHORIZED_HINT),
                        extra=[(b"www-authenticate", b"Bearer"), *cors], close=_has_body(headers))
            return
        body = await self._read_body(scope, headers, receive, send, cors)
        if body is None:
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = _security_headers() + cors
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, _replay(body, receive), send_with_headers)

    async def _read_body(self, scope: Scope, headers: dict[str, str], receive: Any, send: Any,
                         cors: list[tuple[bytes, bytes]]) -> bytes | None:
        """The whole body (at most ``max_body_bytes``), or None once a 413 / 408 has been sent."""
        declared = headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.max_body_bytes):
            await _json(send, 413, error_body("request_too_large", "error.request_too_large",
                                              f"a request body is at most {self.max_body_bytes} bytes"),
                        extra=cors, close=True)
            return None
        if not _has_body(headers) and scope["method"] not in _BODY_METHODS:
            return b""
        parts: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                problem = f"the request body did not arrive within {self.body_timeout_s:.0f} s"
                await _json(send, 408, error_body("request_timeout", "error.request_timeout", problem),
                            extra=cors, close=True)
                return None
            if message["type"] == "http.disconnect":
                return None
            part = bytes(message.get("body", b""))
            size += len(part)
            if size > self.max_body_bytes:
                await _json(send, 413, error_body("request_too_large", "error.request_too_large",
                                                  f"a request body is at most {self.max_body_bytes} bytes"),
                            extra=cors, close=True)
                return None
            parts.append(part)
            if not message.get("more_body", False):
                return b"".join(parts)


UNAUTHORIZED_HINT = "send the access token as 'Authorization: Bearer <token>' or 'X-Agent-Token: <token>'"


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers


def _replay(body: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that hands out ``body`` once, then waits on the client as the original does
    (so that a streaming route still learns of a disconnect)."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replayed


def _cors(origin: str, *, preflight: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
    if preflight:
        headers += [
            (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
            (b"access-control-max-age", CORS_MAX_AGE.encode()),
        ]
    return headers


def _security_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", b"no-store"),
    ]


async def _json(send: Any, status: int, body: dict[str, Any], *, extra: list[tuple[bytes, bytes]] | None = None,
                close: bool = False) -> None:
    """A refusal with the project's error body; ``close`` when the client may still be sending a body
    nobody will read (the server then drops the connection instead of reading the rest)."""
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(payload)).encode()),
               *_security_headers(), *(extra or [])]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
