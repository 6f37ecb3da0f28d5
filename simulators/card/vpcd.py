"""The bridge that puts a simulated card behind a real PC/SC stack: it connects to the vpcd reader driver
of pcscd (vsmartcard; reader "Virtual PCD 00 00" on TCP 35963) and answers its messages, so pcscd shows
a card in that reader. Wire protocol (docs/reference/platform.md "The vpcd wire protocol"): every
message is a 2-byte big-endian length and a payload; a 1-byte payload is a control (0 power off, 1 power
on, 2 reset, 4 send the ATR), a longer one a command APDU answered by the response APDU. vpcd counts
the card present while its client is connected and answers the ATR request it polls with, so removing
the card means closing the socket.

Latency: TCP_NODELAY once, TCP_QUICKACK before every recv, and each answer sent in one write (length and
payload together), or Nagle's algorithm meets delayed ACKs and every APDU costs about 40 ms.

A reader that fails a transfer: ``receive_limit`` is the largest response APDU the simulated reader
receives (a real reader's buffer, or a PC/SC layer that takes no more than 8 KB); a larger response,
or one the card's ``lose_response`` fault drops, reaches pcscd as a one-byte answer, which vpcd passes
on as a transfer that returned no response APDU (as drivers report a failed transfer). vpcd offers no
way to make pcscd return an error code (a zero-length answer stalls it), so that is the closest model.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from simulators.card.faults import CardGoneError, ResponseLostError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963
VPCD_CTRL_OFF = 0
VPCD_CTRL_ON = 1
VPCD_CTRL_RESET = 2
VPCD_CTRL_ATR = 4
LENGTH_SIZE = 2
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"
FAILED_TRANSFER = b"\x6f"  # one byte: no response APDU, what a failed transfer gives the host
IDLE_POLL_SECONDS = 0.2

log = logging.getLogger(__name__)


class VirtualCard(Protocol):
    """What the bridge needs of a card: an ATR at power-on (which resets it) and answers to APDUs."""

    def power_on(self) -> bytes: ...

    def process(self, apdu: bytes) -> bytes: ...


SocketFactory = Callable[[tuple[str, int], float], socket.socket]


def frame(payload: bytes) -> bytes:
    """One vpcd message: the 2-byte big-endian length, then the payload."""
    if len(payload) > 0xFFFF:
        raise ValueError("a vpcd message carries at most 65535 bytes")
    return len(payload).to_bytes(LENGTH_SIZE, "big") + payload


def _quickack(sock: socket.socket) -> None:
    option = getattr(socket, "TCP_QUICKACK", None)  # Linux only; elsewhere delayed ACKs stay
    if option is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)
        except OSError:
            pass


def _call_if_present(card: object, method: str) -> None:
    # a SimulatedCard also tracks presence itself (insert / remove); a minimal card need not
    action = getattr(card, method, None)
    if callable(action):
        action()


class _IdleError(Exception):
    """No message started within the poll interval (lets the loop look at its flags)."""


class VpcdBridge:
    """Serves ``card`` to vpcd from a background thread, with insert / remove on command.

    ``remove_after``: after answering that many APDUs of one insertion the card leaves the field
    (the socket is closed); it stays out until :meth:`insert`. The bridge reconnects when vpcd is
    not reachable yet or drops the link while the card is inserted."""

    def __init__(
        self,
        card: VirtualCard,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        remove_after: int | None = None,
        receive_limit: int | None = None,
        reconnect_interval: float = 0.2,
        inserted: bool = True,
        on_status: Callable[[str], None] | None = None,
        connect: SocketFactory = socket.create_connection,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.remove_after = remove_after
        self.receive_limit = receive_limit
        self.transfer_failures = 0
        self.reconnect_interval = reconnect_interval
        self._on_status = on_status
        self._connect = connect
        self._lock = threading.Lock()
        self._inserted = inserted
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._atr: bytes | None = None
        self._unreachable_reported = False
        self.apdu_count = 0  # APDUs answered during the current (or last) insertion
        self.total_apdus = 0

    # --- control, from any thread ---------------------------------------------------------------------

    def start(self) -> VpcdBridge:
        if self._thread is not None:
            raise RuntimeError("bridge already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"vpcd-bridge-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Take the card out, close the link and end the thread."""
        self._stopping.set()
        self._drop_link()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def insert(self, *, card: VirtualCard | None = None, remove_after: int | None = None) -> None:
        """Put the card (or a new one) into the field; ``remove_after`` replaces the previous limit."""
        with self._lock:
            if card is not None:
                self.card = card
            if remove_after is not None:
                self.remove_after = remove_after
            self._inserted = True
            _call_if_present(self.card, "insert")
        self._wake.set()
        self._status("inserted")

    def remove(self) -> None:
        """Take the card out of the field: vpcd sees its client go and reports the card removed."""
        with self._lock:
            self._inserted = False
            _call_if_present(self.card, "remove")
        self._drop_link()
        self._wake.set()
        self._status("removed")

    def toggle(self) -> None:
        if self.inserted:
            self.remove()
        else:
            self.insert()

    @property
    def inserted(self) -> bool:
        with self._lock:
            return self._inserted

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def __enter__(self) -> VpcdBridge:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the bridge thread --------------------------------------------------------------------------------

    def _status(self, text: str) -> None:
        log.info("vpcd bridge %s:%d: %s", self.host, self.port, text)
        if self._on_status is not None:
            self._on_status(text)

    def _drop_link(self) -> None:
        with self._lock:
            sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self.inserted:
                self._wake.wait(IDLE_POLL_SECONDS)
                self._wake.clear()
                continue
            sock = self._open()
            if sock is None:
                self._wake.wait(self.reconnect_interval)
                self._wake.clear()
                continue
            try:
                self._serve(sock)
            finally:
                with self._lock:
                    self._socket = None
                self._connected.clear()
                sock.close()
                self._status("disconnected from vpcd")

    def _open(self) -> socket.socket | None:
        try:
            sock = self._connect((self.host, self.port), 2.0)
        except OSError as exc:
            if not self._unreachable_reported:
                self._status(f"vpcd not reachable ({exc.__class__.__name__}); retrying")
                self._unreachable_reported = True
            return None
        self._unreachable_reported = False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_POLL_SECONDS)
        with self._lock:
            if not self._inserted or self._stopping.is_set():
                sock.close()
                return None
            self._socket = sock
            self.apdu_count = 0
            self._atr = None
        self._connected.set()
        self._status("connected to vpcd: card in the field")
        return sock

    def _serve(self, sock: socket.socket) -> None:
        while not self._stopping.is_set() and self.inserted:
            try:
                message = self._receive(sock)
            except _IdleError:
                continue
            except OSError:
                return
            if message is None:
                return
            try:
                reply = self._handle(message)
                gone = not getattr(self.card, "present", True)
            except CardGoneError:
                reply, gone = None, True
            if gone:
                # the card's own fault plan took it out of the field: pcscd must see it go
                with self._lock:
                    self._inserted = False
                self._status(f"left the field after {self.apdu_count} APDUs (card fault)")
                return
            if reply is not None:
                try:
                    sock.sendall(frame(reply))  # one write: length and payload in the same segment
                except OSError:
                    return
            limit = self.remove_after
            if len(message) > 1 and limit is not None and self.apdu_count >= limit:
                with self._lock:
                    self._inserted = False
                    _call_if_present(self.card, "remove")
                self._status(f"removed after {self.apdu_count} APDUs")
                return

    def _receive(self, sock: socket.socket) -> bytes | None:
        header = self._receive_exact(sock, LENGTH_SIZE, idle_allowed=True)
        if header is None:
            return None
        length = int.from_bytes(header, "big")
        if length == 0:
            return b""
        return self._receive_exact(sock, length, idle_allowed=False)

    def _receive_exact(self, sock: socket.socket, size: int, *, idle_allowed: bool) -> bytes | None:
        buffer = b""
        while len(buffer) < size:
            _quickack(sock)
            try:
                chunk = sock.recv(size - len(buffer))
            except TimeoutError:
                if idle_allowed and not buffer:
                    raise _IdleError from None
                if self._stopping.is_set() or not self.inserted:
                    return None
                continue
            if not chunk:
                return None
            buffer += chunk
        return buffer

    def _handle(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            return self._control(message[0])
        if not message:
            return None
        try:
            response = self.card.process(message)
        except CardGoneError:
            raise
        except ResponseLostError:
            response = FAILED_TRANSFER
            self.transfer_failures += 1
        except Exception:  # a bug in the card must look like a card error, not kill the link
            log.exception("simulated card failed on an APDU")
            response = SW_NO_PRECISE_DIAGNOSIS
        if self.receive_limit is not None and len(response) > self.receive_limit:
            response = FAILED_TRANSFER  # the reader could not take it
            self.transfer_failures += 1
        self.apdu_count += 1
        self.total_apdus += 1
        return response

    def _control(self, code: int) -> bytes | None:
        if code in (VPCD_CTRL_ON, VPCD_CTRL_RESET):
            self._atr = self.card.power_on()
            return None
        if code == VPCD_CTRL_OFF:
            _call_if_present(self.card, "power_off")
            return None
        if code == VPCD_CTRL_ATR:
            # vpcd polls the ATR to see the card is still there: answer it without resetting the card
            if self._atr is None:
                self._atr = self.card.power_on()
            return self._atr
        log.warning("unknown vpcd control byte %02X ignored", code)
        return None
