"""Serving the local API with uvicorn on a loopback address only (docs/architecture.md "Privacy").

The listening socket is made here, not by uvicorn: the host must be a loopback name or address, every
address it resolves to must be loopback, and the bound socket is checked again before uvicorn gets
it. Anything else is a ConfigError, whatever the caller asked for. Port 0 picks a free port (tests).

The socket is a TCP socket by protocol number (``IPPROTO_TCP``), not protocol 0: asyncio sets
``TCP_NODELAY`` on accepted connections only for such sockets, and without it Nagle's algorithm meets the
client's delayed ACK and every kept-alive request waits ~40 ms (issue 13). uvicorn speaks HTTP/1.1
through :class:`GuardedH11Protocol`, h11 with a deadline for each request's head (a client that connects
and never finishes its headers is dropped after :data:`REQUEST_HEAD_TIMEOUT_S`) and the project's JSON
error body on a request it cannot parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from agent.api.security import error_body
from agent.errors import ConfigError

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_S = 3
REQUEST_HEAD_TIMEOUT_S = 10.0


def loopback_addresses(host: str) -> list[tuple[int, str]]:
    """(family, address) of ``host``; ConfigError unless every one is a loopback address."""
    if not host or host.strip() in ("0.0.0.0", "::", "*"):  # noqa: S104 - named here to be refused
        raise ConfigError("the local API listens on loopback only, never on all interfaces", key="api.host")
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve {host!r}", key="api.host") from exc
    addresses: list[tuple[int, str]] = sorted({(int(info[0]), str(info[4][0])) for info in infos})
    if not addresses:
        raise ConfigError(f"{host!r} resolves to nothing", key="api.host")
    for _family, address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise ConfigError(f"{host!r} is not a loopback address; the local API listens on 127.0.0.1 or ::1 only",
                              key="api.host")
    return addresses


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening TCP socket on a loopback address of ``host`` (IPv4 first)."""
    family, address = sorted(loopback_addresses(host), key=lambda a: a[0] != socket.AF_INET)[0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it on Linux
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other program may share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        bound = sock.getsockname()[0]
        if not ipaddress.ip_address(str(bound).split("%")[0]).is_loopback:
            raise ConfigError("the socket was bound outside loopback", key="api.host")
        sock.listen(128)
        sock.set_inheritable(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {address}:{port}: {exc.strerror}", key="api.port") from exc
    except BaseException:
        sock.close()
        raise
    return sock


class LoopbackServer:
    """uvicorn around one ASGI app on a loopback socket; ``run()`` blocks (Ctrl-C / SIGTERM end it),
    ``start_in_thread()`` serves from a thread (tests, benchmarks) and ``stop()`` ends either."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.socket = bind_loopback(host, port)
        self.host, self.port = self.socket.getsockname()[:2]
        self._on_stop = on_stop
        # log_config=None: uvicorn's records go through the agent's own handlers, and their redaction.
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", log_config=None,
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, server_header=False,
                                http=GuardedH11Protocol)
        self._server = _Server(config, self._stopping)
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}"

    def _stopping(self) -> None:
        if self._on_stop is not None and not self._stopped:
            self._stopped = True
            self._on_stop()  # ends the event streams, so that uvicorn need not wait for them

    def run(self) -> None:
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopping()
            with contextlib.suppress(OSError):
                self.socket.close()

    def start_in_thread(self, timeout: float = 10.0) -> LoopbackServer:
        self._thread = threading.Thread(target=self.run, name=f"api-{self.port}", daemon=True)
        self._thread.start()
        if not self._server.started_event.wait(timeout):
            raise RuntimeError("the local API did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with contextlib.suppress(OSError):
            self.socket.close()  # never served, or served and done: the port is free again


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that stop the desk agent cleanly on this system."""
    extra = getattr(signal, "SIGBREAK", None)  # Windows only: Ctrl-Break
    return (signal.SIGINT, signal.SIGTERM) + ((extra,) if extra is not None else ())


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self.started_event = threading.Event()
        self.exit_signals: list[int] = []

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C, SIGTERM and (Windows) Ctrl-Break stop the server; unlike uvicorn's own, the signal is not
        raised again afterwards, so that the caller can still stop what it started (card monitor, children).
        A Windows service wrapper (WinSW) stops its process with Ctrl-C or Ctrl-Break, whose default would
        end it at once, without the audit's "stopped" entry."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in stop_signals()}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.started_event.set()

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.exit_signals.append(sig)
        self._on_exit()
        super().handle_exit(sig, frame)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's head, from the first byte of a connection or
    of the next request on a kept-alive one (uvicorn times out idle kept-alive connections, not a client
    that trickles its headers or sends none), and the project's error body for an unparseable request."""

    head_timeout_s = REQUEST_HEAD_TIMEOUT_S

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        payload = json.dumps(error_body("bad_request", "error.bad_request", msg), ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json; charset=utf-8"),
                   (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=payload),
                      h11.EndOfMessage()):
            try:
                self.transport.write(self.conn.send(event))
            except h11.LocalProtocolError:
                break  # h11 is in an error state: the connection is closed below all the same
        self.transport.close()
