"""Hostile local processes against the running API (issue 13 items 4, 5 and 9), over real sockets to a
LoopbackServer: a huge unauthenticated POST is refused before its body is read, a body over the limit is
a 413 whether declared or chunked, a body or a request head that never finishes is dropped, the
listening socket gives kept-alive requests TCP_NODELAY, and every error the framework or the HTTP
parser raises carries the project's error body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from agent.api import security
from agent.api import server as api_server
from agent.api.app import create_api
from agent.api.server import LoopbackServer
from tests.api.conftest import TOKEN
from tests.api.desk_fakes import make_desk, qr_text

HUGE = 256 * 1024 * 1024


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[LoopbackServer]:
    # Short deadlines so that the tests of requests that never finish end soon (the waits are not timed).
    monkeypatch.setattr(security, "BODY_TIMEOUT_S", 0.5)
    monkeypatch.setattr(api_server.GuardedH11Protocol, "head_timeout_s", 0.5)
    desk = make_desk(tmp_path)
    server = LoopbackServer(create_api(desk.service, token=TOKEN), port=0,
                            on_stop=desk.service.hub.close).start_in_thread()
    yield server
    server.stop()
    desk.close()


def connect(server: LoopbackServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (status, headers, body) read off the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False  # still open after the socket's 10 s: the server never dropped it


def error_of(body: bytes) -> dict[str, str]:
    error: dict[str, str] = json.loads(body)["error"]
    assert error["message_vi"] and error["message_en"]
    return error


def post_head(path: str, length: int | None, *, token: str | None = None, chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"X-Agent-Token: {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_huge_unauthenticated_post_is_refused_before_its_body_is_read(served):
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/manual", HUGE) + b"{" * 1024)
        # The 401 comes while 256 MB are still unsent: the server never waited for (nor buffered) them.
        status, headers, body = read_response(sock)
        assert status == 401
        assert headers["www-authenticate"] == "Bearer"
        assert error_of(body)["code"] == "unauthorized"
        assert closed_by_server(sock)


def test_a_declared_body_over_the_limit_is_a_413_even_with_the_token(served):
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/qr", HUGE, token=TOKEN) + b"x" * 100)
        status, _headers, body = read_response(sock)
        assert status == 413
        assert error_of(body)["code"] == "request_too_large"
        assert closed_by_server(sock)


def test_a_chunked_body_over_the_limit_is_a_413(served):
    chunk = b"a" * 16384
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/qr", None, token=TOKEN, chunked=True))
        for _ in range(security.MAX_BODY_BYTES // len(chunk) + 2):
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        status, _headers, body = read_response(sock)
        assert status == 413
        assert error_of(body)["code"] == "request_too_large"


def test_a_body_that_never_finishes_is_a_408(served):
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/qr", 100, token=TOKEN) + b'{"text": ')
        status, _headers, body = read_response(sock)
        assert status == 408
        assert error_of(body)["code"] == "request_timeout"
        assert closed_by_server(sock)


@pytest.mark.parametrize("sent", [b"", b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-To"])
def test_a_request_head_that_never_finishes_is_dropped(served, sent):
    with connect(served) as sock:
        sock.sendall(sent)
        assert closed_by_server(sock)


def test_a_kept_alive_connection_that_starts_a_request_and_stalls_is_dropped(served):
    request = f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Token: {TOKEN}\r\n\r\n".encode()
    with connect(served) as sock:
        sock.sendall(request)
        assert read_response(sock)[0] == 200
        sock.sendall(request[:20])
        assert closed_by_server(sock)


def test_a_good_body_still_goes_through(served):
    body = json.dumps({"text": qr_text()}).encode()
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/qr", len(body), token=TOKEN) + body)
        status, _headers, answer = read_response(sock)
        assert status == 200, answer
        assert json.loads(answer)["result"]


def test_the_listening_socket_is_tcp_with_nodelay(served):
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket's protocol is TCP
    assert served.socket.proto == socket.IPPROTO_TCP
    assert served.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /api/no-such-thing HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Token: %s\r\n\r\n", 404, "not_found"),
        (b"GET /no-such-page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404, "not_found"),
        (b"PUT /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Token: %s\r\nContent-Length: 0\r\n\r\n", 405,
         "method_not_allowed"),
        (b"POST /api/verify/qr HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Token: %s\r\nContent-Type: application/json\r\n"
         b"Content-Length: 12\r\n\r\n{\"text\": \"\xff\xfe\"}", 400, "bad_request"),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header Line\r\n\r\n", 400, "bad_request"),
    ],
)
def test_framework_and_parser_errors_have_the_project_error_body(served, request_bytes, status, code):
    with connect(served) as sock:
        sock.sendall(request_bytes.replace(b"%s", TOKEN.encode()))
        got, headers, body = read_response(sock)
    assert got == status
    assert headers["content-type"].startswith("application/json")
    assert error_of(body)["code"] == code


def test_json_nested_too_deep_has_the_project_error_body(served):
    body = b'{"text": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/qr", len(body), token=TOKEN) + body)
        status, headers, answer = read_response(sock)
    assert status in (400, 422)
    assert headers["content-type"].startswith("application/json")
    assert error_of(answer)["code"] in ("bad_request", "invalid_input")


@pytest.mark.parametrize("name", ["Nguyễn\x00Văn An", "Nguyễn Văn\u202eAn", "Trần\u200bThị", "Lê\x1b[2J Hoa"])
def test_control_characters_in_manual_entry_are_refused(served, name):
    body = json.dumps({"id_number": "001089012345", "full_name": name}).encode()
    with connect(served) as sock:
        sock.sendall(post_head("/api/verify/manual", len(body), token=TOKEN) + body)
        status, _headers, answer = read_response(sock)
    assert status == 422
    error = error_of(answer)
    assert error["code"] == "invalid_input" and error["fields"][0]["field"] == "full_name"
    assert name not in answer.decode("utf-8")  # the value is never repeated
