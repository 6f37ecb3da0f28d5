"""The mock insurance (BHYT) portal and licensing service as one real HTTP server on 127.0.0.1.

:class:`MockBackends` runs a standard-library ``ThreadingHTTPServer`` in a thread (``start()`` /
``stop()``, restartable on the same port so that "the backend died and came back" keeps its URL
and its received events). Every service request needs ``Authorization: Bearer <token>``. Routes:

- ``POST /insurance/v1/cards/search`` ``{"id_number": ...}`` (or ``GET /insurance/v1/cards/{id}``):
  the BHYT card of a 12-digit ID (status valid / expired / suspended / not_found, card number,
  validity, benefit level, first-contact facility); ``{"card_number": ...}`` finds it by the BHYT card
  number (15 characters) or the 10-digit social insurance number, as a BHYT card's QR code gives them.
  The agent uses the POST form so that no ID number ever appears in a URL, an access log or an exception
  message;
- ``POST /insurance/v1/checkins`` and ``POST /insurance/v1/events/batch``: check-in events;
- ``GET  /licensing/v1/sessions[/{sid}[/roster | /candidates/{id}]]`` and
  ``POST /licensing/v1/sessions/{sid}/candidates/search``: exam sessions, rosters, one candidate;
- ``POST /licensing/v1/sessions/{sid}/checkins``, ``/licensing/v1/notary-records`` and
  ``/licensing/v1/events/batch``: candidate check-ins and notary identity-verification records;
- ``POST /his/v1/events/batch``: the mock hospital information system's check-in webhook;
- ``POST /api/token/take`` and ``POST /api/egw/KQNhanLichSuKCB2024``: the BHXH gateway's own dialect
  (:mod:`.gateway`): no bearer token, the gateway's login and its credentials in the query string;
- ``GET /_admin/events``, ``GET|PUT|DELETE /_admin/faults``, ``POST /_admin/reset``,
  ``GET /_admin/samples``: for tests and demos (never subject to faults).

POSTs are idempotent by the ``event_id`` the client supplies (see :mod:`.services`).
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import socket
import struct
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulators.backends.data import World, build_world
from simulators.backends.faults import Faults, FaultSettingError, updated
from simulators.backends.gateway import CARD_CHECK_PATH, LOGIN_PATH, TOKEN_LIFE_S, Gateway
from simulators.backends.services import Answer, Services

HOST = "127.0.0.1"  # test-only listener: loopback, always
MAX_BODY = 4 * 1024 * 1024
IDLE_TIMEOUT_S = 15.0
log = logging.getLogger(__name__)


class MockBackends:
    """Both mock services on one loopback port. Usable as a context manager."""

    def __init__(self, *, seed: int = 2024, token: str = "test-token", port: int = 0,  # noqa: S107
                 today: date | None = None, world: World | None = None, token_life_s: float = TOKEN_LIFE_S,
                 gateway_accounts: dict[str, str] | None = None, staff: dict[str, str] | None = None) -> None:
        self.token = token
        self.services = Services(world or build_world(seed, today=today))
        self.gateway = Gateway(self.services.world, seed=seed, accounts=gateway_accounts, staff=staff,
                               token_life_s=token_life_s)
        self._requested_port = port
        self._port = 0
        self._faults = Faults()
        self._fault_rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> MockBackends:
        if self._server is not None:
            return self
        self._stopping.clear()
        port = self._port or self._requested_port  # a restart keeps the port it had
        server = _Server((HOST, port), _Handler)
        server.backends = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"mock-backends:{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (a dead backend, not a polite one)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            _reset(connection)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MockBackends:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def insurance_url(self) -> str:
        return f"{self.url}/insurance"

    @property
    def licensing_url(self) -> str:
        return f"{self.url}/licensing"

    @property
    def gateway_url(self) -> str:
        """Where the BHXH gateway's dialect is served (``bhxh_url``)."""
        return self.url

    @property
    def his_url(self) -> str:
        """The mock HIS's check-in webhook (``[his] webhook_url``)."""
        return f"{self.url}/his/v1/events/batch"

    @property
    def world(self) -> World:
        return self.services.world

    # --- faults and events ----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, **changes: Any) -> Faults:
        """Change some fault controls (``down=True``, ``error_rate=0.3`` ...); FaultSettingError if wrong."""
        with self._lock:
            self._faults = updated(self._faults, changes)
            return self._faults

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = Faults()

    def events(self, service: str | None = None) -> list[dict[str, Any]]:
        return self.services.events(service)

    def reset(self) -> None:
        self.clear_faults()
        self.services.clear_events()

    # --- used by the request handler ------------------------------------------------------------

    def _roll(self) -> float:
        with self._lock:
            return self._fault_rng.random()

    def _latency_s(self) -> float:
        """This answer's delay: ``latency_ms``, or a random one up to ``latency_max_ms``."""
        faults = self._faults
        spread = max(0.0, faults.latency_max_ms - faults.latency_ms)
        return (faults.latency_ms + spread * self._roll()) / 1000 if faults.latency_ms or spread else 0.0

    def _injected_error(self) -> Answer:
        faults = self._faults
        headers = {"Retry-After": f"{faults.retry_after_s:.0f}"} if (
            faults.retry_after_s and faults.error_status in (429, 503)) else {}
        return Answer(faults.error_status, {"error": "injected fault"}, headers)

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    backends: MockBackends

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished mid-answer (killed, timed out) is routine here, not worth a traceback.
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


def _reset(connection: socket.socket) -> None:
    """Close with a TCP reset, as a crashed server or a dropped link looks to the client."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


def _id_in(body: Any) -> str:
    value = body.get("id_number") if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the agent's requests session expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    timeout = IDLE_TIMEOUT_S
    server: _Server
    server_version = "MockBackends/1"

    def setup(self) -> None:
        super().setup()
        self.server.backends._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.backends._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing -------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        backends = self.server.backends
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        body, body_problem = self._read_body(method)
        if method == "POST" and tuple(segments) in (LOGIN_PATH, CARD_CHECK_PATH):
            self._gateway(tuple(segments), parse_qs(parts.query), body, body_problem)
            return
        if not self._authorised():
            self._send(Answer(401, {"error": "missing or wrong bearer token"}))
            return
        if segments[:1] == ["_admin"]:
            answer = self._admin(method, segments[1:], parse_qs(parts.query), body)
            self._send(answer if body_problem is None else Answer(400, {"error": body_problem}))
            return
        # Service request: faults apply.
        faults = backends.faults
        roll = self._common_faults(body)
        if roll is None:
            return
        if roll < faults.malformed_rate:
            self._send_raw(200, b'{"status": "valid", "card_number": ')
            return
        if body_problem is not None:
            self._send(Answer(400, {"error": body_problem}))
            return
        answer = self._service(method, segments, body)
        if backends._roll() < faults.ack_loss_rate:
            self._drop()
            return
        self._send(answer)

    def _common_faults(self, body: Any) -> float | None:
        """The faults every service answers with (down, latency, a hang, an injected error, hostile bytes):
        None when one of them took the request, else what is left of the roll for the caller's own."""
        backends = self.server.backends
        faults = backends.faults
        if faults.down or backends._stopping.is_set():
            self._drop()
            return None
        latency = backends._latency_s()
        if latency and backends._stopping.wait(latency):
            self._drop()
            return None
        roll = backends._roll()
        if roll < faults.timeout_rate:
            backends._stopping.wait(faults.hang_s)
            self._drop()
            return None
        roll -= faults.timeout_rate
        if roll < faults.error_rate:
            self._send(backends._injected_error())
            return None
        if faults.hostile:
            self._hostile(faults.hostile, body)
            return None
        return roll - faults.error_rate

    def _gateway(self, path: tuple[str, ...], query: dict[str, list[str]], body: Any, problem: str | None) -> None:
        """The BHXH gateway's endpoints: its own authentication, the same fault controls."""
        backends = self.server.backends
        faults = backends.faults
        if self._common_faults(body) is None:
            return
        if problem is not None or not isinstance(body, dict):
            self._send(Answer(200, {"maKetQua": "205", "ghiChu": "Lỗi sai định dạng tham số."}))
            return
        gateway = backends.gateway
        if path == LOGIN_PATH:
            self._send(gateway.login(body))
            return
        if backends._roll() < faults.gateway_transient_rate:
            self._send(Answer(500, {"maKetQua": "500", "ghiChu": "Lỗi hệ thống."}) if backends._roll() < 0.5
                       else Answer(200, {"maKetQua": "101", "ghiChu": "Lỗi server."}))
            return
        self._send(gateway.card_check({k: v[0] for k, v in query.items() if v}, body))

    def _read_body(self, method: str) -> tuple[Any, str | None]:
        if method in ("GET", "DELETE"):
            return None, None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.close_connection = True
            return None, "bad Content-Length"
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return None, "body too large"
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}, None
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            try:
                return {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), strict_parsing=True).items()}, None
            except (UnicodeDecodeError, ValueError):
                return None, "body is not a valid form"
        try:
            return json.loads(raw), None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None, "body is not valid JSON"

    def _authorised(self) -> bool:
        token = self.server.backends.token
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())

    def _send(self, answer: Answer) -> None:
        self._send_raw(answer.status, json.dumps(answer.body, ensure_ascii=False).encode("utf-8"), answer.headers)

    def _send_raw(self, status: int, payload: bytes, headers: Any = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _hostile(self, mode: str, body: Any) -> None:
        """One answer of a hostile or broken server (faults.HOSTILE_MODES)."""
        stopping = self.server.backends._stopping
        if mode == "deep_json":
            self._send_raw(200, b"[" * 200_000 + b"]" * 200_000)
        elif mode == "huge_number":
            self._send_raw(200, b'{"id_number": "001089012345", "status": ' + b"9" * 5000 + b"}")
        elif mode == "wrong_types":
            self._send(Answer(200, {"id_number": ["001089012345"], "status": ["valid"], "maKetQua": ["000"],
                                    "results": [{"event_id": ["x"], "status": {"accepted": True}}]}))
        elif mode == "echo_4xx":
            # As a careless server does: the error names the first ID number of the request.
            numbers = re.findall(r"\d{12}", json.dumps(body))
            self._send(Answer(422, {"error": f"no citizen {numbers[0]}" if numbers else "refused"}))
        elif mode in ("flood", "flood_chunked"):
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "flood":
                self.send_header("Content-Length", str(512 * 1024 * 1024))
            self.end_headers()
            chunk = b'{"x": "' + b"a" * 65536
            try:
                while not stopping.is_set():  # until the client gives up and closes
                    self.wfile.write(chunk)
            except OSError:
                pass
        else:  # dribble: a valid length, one byte every 20 ms (an hour for the whole body)
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "200000")
            self.end_headers()
            try:
                for _ in range(200_000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    if stopping.wait(0.02):
                        break
            except OSError:
                pass

    def _drop(self) -> None:
        self.close_connection = True
        _reset(self.connection)

    # --- routes ---------------------------------------------------------------------------------

    def _service(self, method: str, segments: list[str], body: Any) -> Answer:
        services = self.server.backends.services
        match method, segments:
            case "GET", ["insurance", "v1", "cards", id_number]:
                return services.insurance_card(id_number)
            case "POST", ["insurance", "v1", "cards", "search"]:
                if isinstance(body, dict) and "card_number" in body:
                    number = body.get("card_number")
                    return services.insurance_card_by_number(number if isinstance(number, str) else "")
                return services.insurance_card(_id_in(body))
            case "POST", ["insurance", "v1", "checkins"]:
                return services.post_one("insurance", body, implied_type="insurance_checkin")
            case "POST", ["insurance", "v1", "events", "batch"]:
                return services.post_batch("insurance", body)
            case "GET", ["licensing", "v1", "sessions"]:
                return services.sessions()
            case "GET", ["licensing", "v1", "sessions", session_id]:
                return services.session(session_id)
            case "GET", ["licensing", "v1", "sessions", session_id, "roster"]:
                return services.roster(session_id)
            case "GET", ["licensing", "v1", "sessions", session_id, "candidates", id_number]:
                return services.candidate(session_id, id_number)
            case "POST", ["licensing", "v1", "sessions", session_id, "candidates", "search"]:
                return services.candidate(session_id, _id_in(body))
            case "POST", ["licensing", "v1", "sessions", session_id, "checkins"]:
                return services.post_one("licensing", body, implied_type="candidate_checkin",
                                         extra={"session_id": session_id})
            case "POST", ["licensing", "v1", "notary-records"]:
                return services.post_one("licensing", body, implied_type="notary_record")
            case "POST", ["licensing", "v1", "events", "batch"]:
                return services.post_batch("licensing", body)
            case "POST", ["his", "v1", "events", "batch"]:
                return services.post_batch("his", body)
        return Answer(404, {"error": "no such endpoint"})

    def _admin(self, method: str, segments: list[str], query: dict[str, list[str]], body: Any) -> Answer:
        backends = self.server.backends
        match method, segments:
            case "GET", ["events"]:
                service = query.get("service", [None])[0]
                events = backends.events(service)
                return Answer(200, {"events": events, "count": len(events),
                                    "deliveries": backends.services.deliveries})
            case "GET", ["faults"]:
                return Answer(200, backends.faults.to_json())
            case ("PUT" | "POST"), ["faults"]:
                if not isinstance(body, dict):
                    return Answer(400, {"error": "expected a JSON object of fault controls"})
                try:
                    return Answer(200, backends.set_faults(**body).to_json())
                except FaultSettingError as exc:
                    return Answer(400, {"error": str(exc)})
            case "DELETE", ["faults"]:
                backends.clear_faults()
                return Answer(200, backends.faults.to_json())
            case "POST", ["reset"]:
                backends.reset()
                return Answer(200, {"ok": True})
            case "POST", ["gateway", "expire-tokens"]:
                backends.gateway.expire_tokens()
                return Answer(200, {"ok": True})
            case "GET", ["samples"]:
                return Answer(200, backends.services.samples())
        return Answer(404, {"error": "no such admin endpoint"})
