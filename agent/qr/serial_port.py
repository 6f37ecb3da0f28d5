"""Serial (COM) QR scanners: the only home of pyserial (docs/reference/qr.md "Serial scanners").

A scanner in serial mode (a USB CDC "virtual COM port": ``COM3`` on Windows, ``/dev/ttyACM0`` on Linux)
sends each decoded code as bytes, 8N1 at the rate it is set to (9600 by default; 14400 and 115200 exist),
most models followed by CR, LF or CR LF. :class:`Framer` cuts the byte stream into codes at CR or LF, or
after ``idle_s`` of silence for a scanner set to send no terminator; a frame longer than a QR symbol can
hold is dropped. The bytes are UTF-8 (the codes' own encoding); a frame that is not valid UTF-8 is
decoded with U+FFFD in place of what could not be read, which the desk treats as a name it cannot trust.

:class:`SerialScanner` is an :data:`agent.ports.QrCodeSource`: it opens the port, yields ``None`` once it
listens (the desk shows the scanner as live) and every code it frames, and raises
ScannerUnavailableError when the port cannot be opened or stops working (the scanner unplugged); the
reader loop then tries again every second or so, so re-plugging the scanner is picked up by itself. The
pyserial ``Serial`` class is handed in (``open_port``), so tests can give a fake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import serial

from agent.errors import ScannerUnavailableError

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05  # one read waits at most this long: the idle framing and the stop flag are checked as often
MAX_FRAME_BYTES = 4096  # a QR symbol holds at most 2953 bytes
TERMINATORS = b"\r\n"

OpenPort = Callable[..., Any]


class Framer:
    """Cuts a scanner's byte stream into codes (see the module docstring). Pure: time is a parameter."""

    def __init__(self, *, idle_s: float) -> None:
        self.idle_s = idle_s
        self._pending = bytearray()
        self._last_at = 0.0
        self.dropped = 0  # frames longer than MAX_FRAME_BYTES

    def feed(self, data: bytes, now: float) -> list[bytes]:
        frames: list[bytes] = []
        if data:
            if self._pending and now - self._last_at >= self.idle_s:
                frames += self._take()  # a scan without terminator, then the next one
            self._last_at = now
        for byte in data:
            if byte in TERMINATORS:
                frames += self._take()
            else:
                self._pending.append(byte)
                if len(self._pending) > MAX_FRAME_BYTES:
                    self._pending.clear()
                    self.dropped += 1
                    log.warning("serial scanner: a frame longer than %d bytes was dropped", MAX_FRAME_BYTES)
        return frames

    def idle(self, now: float) -> list[bytes]:
        """The pending frame once the line has been silent for ``idle_s``."""
        if self._pending and now - self._last_at >= self.idle_s:
            return self._take()
        return []

    def _take(self) -> list[bytes]:
        frame = bytes(self._pending)
        self._pending.clear()
        return [frame] if frame.strip() else []


def frame_text(frame: bytes) -> str:
    """A frame's text: UTF-8, with U+FFFD where the bytes are not (see the module docstring)."""
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError:
        log.info("serial scanner: a frame that is not UTF-8 (%d bytes)", len(frame))
        return frame.decode("utf-8", errors="replace")


class SerialScanner:
    """The scanner on ``port`` as a QR code source (``codes(stop)``)."""

    def __init__(self, port: str, *, baud: int = 9600, idle_s: float = 0.1,
                 open_port: OpenPort | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.port = port
        self.baud = baud
        self.idle_s = idle_s
        self._open_port: OpenPort = open_port or serial.Serial
        self._clock = clock

    def __repr__(self) -> str:
        return f"SerialScanner({self.port!r}, baud={self.baud})"

    def codes(self, stop: threading.Event) -> Iterator[str | None]:
        handle = _open(self._open_port, self.port, self.baud)
        framer = Framer(idle_s=self.idle_s)
        log.info("serial QR scanner on %s at %d baud", self.port, self.baud)
        try:
            yield None  # listening: the desk shows the scanner as live
            while not stop.is_set():
                try:
                    data = handle.read(max(1, int(handle.in_waiting or 0)))
                except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                    # pyserial reports a device gone as an error on read (or, on some systems, as a closed
                    # handle whose attributes are gone); the port is closed and opened again later.
                    raise ScannerUnavailableError(f"serial port {self.port} stopped working (unplugged?): "
                                                  f"{type(exc).__name__}") from exc
                now = self._clock()
                for frame in framer.feed(bytes(data or b""), now) + framer.idle(now):
                    yield frame_text(frame)
        finally:
            try:
                handle.close()
            except (serial.SerialException, OSError):
                pass


def _open(open_port: OpenPort, port: str, baud: int) -> Any:
    try:
        return open_port(port, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                         stopbits=serial.STOPBITS_ONE, timeout=READ_TIMEOUT_S)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise ScannerUnavailableError(f"serial port {port} cannot be opened: {type(exc).__name__}") from exc


def probe_port(port: str, *, baud: int = 9600, open_port: OpenPort | None = None) -> None:
    """Open and close ``port`` (the technician's doctor); ScannerUnavailableError when it cannot be opened."""
    _open(open_port or serial.Serial, port, baud).close()
