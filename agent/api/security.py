"""The local API's guards: loopback-only Host names (against DNS rebinding), allowed Origins (a web
page from anywhere else is refused with 403, before any work is done), CORS answers for the origins
the site allowed, and the access token every ``/api/`` call must carry
(``Authorization: Bearer <token>`` or ``X-Agent-Token: <token>``).

The token is compared in constant time and never logged. The desk page itself carries no token: it
reads it from the URL fragment (which browsers never send to a server) or asks the operator.
"""

from __future__ import annotations

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

    def __init__(self, app: Any, *, allowed_origins: Iterable[str], extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}
        self.extra_hosts = set(extra_hosts)

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

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = _security_headers() + (_cors(origin) if cross_origin and origin else [])
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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


async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode()), *_security_headers()]})
    await send({"type": "http.response.body", "body": payload})
