"""The reader loop: a card tapped, a QR code shown or scanned is verified with nobody clicking.

Background threads, started by ``serve`` and ``demo`` only (never on import): one takes the card
source's events (INSERTED -> connect -> :meth:`DeskService.verify_chip` -> close); one per QR input (the
webcam's scanning loop, a serial scanner) hands every new code to :meth:`DeskService.verify_qr_text`. The
devices come from the wiring through the ports (:class:`agent.ports.CardSource`,
:data:`agent.ports.QrCodeSource`), so this module knows neither pyscard, OpenCV nor pyserial. An input
that is unavailable (no camera, the scanner unplugged) is retried now and then (a scanner every second, so
that re-plugging it is seen at once) and reported as unavailable; each input's state is what
``/api/status`` shows.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from agent.errors import AgentError, CameraUnavailableError, OperationCancelledError
from agent.ports import CardConnection, CardEventKind, CardSource, QrCodeSource
from agent.service.desk import DeskService

log = logging.getLogger(__name__)

POLL_S = 0.2
CAMERA_RETRY_S = 10.0
SCANNER_RETRY_S = 1.0
VIA_CAMERA = "camera"
VIA_SERIAL = "serial"


class _CodeInput:
    """One QR input's loop state: which device (``via``), its source, how often to retry, its state."""

    def __init__(self, via: str, codes: QrCodeSource | None, retry_s: float) -> None:
        self.via = via
        self.codes = codes
        self.retry_s = retry_s
        self.state: dict[str, Any] = {"state": "disabled" if codes is None else "starting"}


class ReaderWorker:
    def __init__(
        self,
        service: DeskService,
        *,
        cards: CardSource | None = None,
        qr_codes: QrCodeSource | None = None,
        camera_retry_s: float = CAMERA_RETRY_S,
        scanner_codes: QrCodeSource | None = None,
        scanner_retry_s: float = SCANNER_RETRY_S,
    ) -> None:
        self.service = service
        self.cards = cards
        self._camera = _CodeInput(VIA_CAMERA, qr_codes, camera_retry_s)
        self._scanner = _CodeInput(VIA_SERIAL, scanner_codes, scanner_retry_s)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._read_cancel: threading.Event | None = None
        self._lock = threading.Lock()
        self.reads = 0
        self.scans = 0  # codes handed to the service, from any QR input (for tests)

    @property
    def camera_state(self) -> dict[str, Any]:
        return self._camera.state

    @property
    def scanner_state(self) -> dict[str, Any]:
        return self._scanner.state

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        if self.cards is not None:
            self._spawn(self._card_loop, "desk-cards")
        if self._camera.codes is not None:
            self._spawn(lambda: self._qr_loop(self._camera), "desk-qr")
        if self._scanner.codes is not None:
            self._spawn(lambda: self._qr_loop(self._scanner), "desk-scanner")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            if self._read_cancel is not None:
                self._read_cancel.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning("reader worker threads still running after %.1f s", timeout)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- cards ----------------------------------------------------------------------------------

    def _card_loop(self) -> None:
        assert self.cards is not None
        events = self.cards.events
        while not self._stop.is_set():
            try:
                event = events.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if event.kind is CardEventKind.INSERTED:
                self.handle_tap(event.reader)
            elif event.kind is CardEventKind.REMOVED:
                with self._lock:
                    if self._read_cancel is not None:
                        self._read_cancel.set()

    def handle_tap(self, reader: str) -> None:
        """One card put on ``reader``: open it, verify it, close the connection whatever happens."""
        assert self.cards is not None
        cancel = threading.Event()
        with self._lock:
            self._read_cancel = cancel
        connection: CardConnection | None = None
        try:
            connection = self.cards.connect(reader)
            self.service.verify_chip(connection, reader=reader, cancel=cancel)
        except AgentError as error:
            self.service.report_read_error(error, reader=reader)
        except Exception:  # a bug must not end the reader loop of a desk
            log.exception("unexpected failure while verifying a card")
            self.service.report_read_error(AgentError("internal error"), reader=reader)
        finally:
            with self._lock:
                self._read_cancel = None
            if connection is not None:
                try:
                    connection.close()
                except AgentError as error:
                    log.debug("closing the card connection failed: %s", type(error).__name__)
            self.reads += 1  # counted once the connection is closed: the card may leave now

    # --- QR codes -------------------------------------------------------------------------------

    def _qr_loop(self, source: _CodeInput) -> None:
        assert source.codes is not None
        while not self._stop.is_set():
            try:
                if source.state.get("state") != "unavailable":
                    source.state = {"state": "starting"}
                for text in source.codes(self._stop):
                    source.state = {"state": "ok"}
                    if text is not None:
                        self._qr_seen(text, source.via)
                    if self._stop.is_set():
                        return
                if not self._stop.is_set():  # a video file ended: nothing more will come
                    source.state = {"state": "ended"}
                    return
            except OperationCancelledError:
                return
            except CameraUnavailableError as error:  # ScannerUnavailableError too
                if source.state.get("state") != "unavailable":
                    log.info("%s unavailable: %s", source.via, error.message)
                source.state = {"state": "unavailable", "message_key": error.message_key}
                self._stop.wait(source.retry_s)
            except AgentError as error:
                log.warning("QR loop of the %s failed (%s); restarting", source.via, type(error).__name__)
                source.state = {"state": "error", "message_key": error.message_key}
                self._stop.wait(source.retry_s)

    def _qr_seen(self, text: str, via: str = VIA_CAMERA) -> None:
        try:
            self.service.verify_qr_text(text, via=via)
        except AgentError as error:
            self.service.report_read_error(error, reader=via)
        except Exception:
            log.exception("unexpected failure while verifying a QR code")
        finally:
            self.scans += 1
