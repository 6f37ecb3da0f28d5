"""Card monitoring: a thread that blocks in PC/SC's SCardGetStatusChange and turns card insertion
and removal (and readers coming and going, and the PC/SC service stopping) into
:class:`agent.ports.CardEvent` values (the one card-event type) on a :class:`queue.Queue`.

It is started explicitly, and ``stop()`` wakes the blocked call with SCardCancel (repeated, since
a cancel only reaches a call in progress) and joins the thread. pyscard's own CardMonitor reports
insertions and removals just as fast (both wait for pcscd's presence polling, about 0.4 s through
vpcd; benchmarks/card_monitor.py), but its thread is a process-wide singleton that cannot be stopped:
in pyscard 2.3.1 it keeps waiting in 60-second slices after the last observer is removed. Readers
appearing are noticed through the PnP pseudo-reader ``\\\\?PnP?\\Notification`` of WinSCard and pcsc-lite.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from agent.errors import TransportError
from agent.nfc.pcsc import (
    READER_GONE,
    SCARD_E_CANCELLED,
    SCARD_E_TIMEOUT,
    SCARD_S_SUCCESS,
    SCARD_STATE_CHANGED,
    SCARD_STATE_MUTE,
    SCARD_STATE_PRESENT,
    SCARD_STATE_UNAWARE,
    SERVICE_DOWN,
    PcscContext,
    hresult_name,
    load_scard,
    normalize_hresult,
)
from agent.ports import CardEvent, CardEventKind

log = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
RECONNECT_PAUSE = 0.05
CANCEL_REPEAT = 0.01


def _present(state: int) -> bool:
    # A mute card (in the field but not answering) cannot be read: it counts as absent.
    return bool(state & SCARD_STATE_PRESENT) and not state & SCARD_STATE_MUTE


def _event_count(state: int) -> int:
    # Both stacks count insertions/removals in the high word of dwEventState.
    return (state >> 16) & 0xFFFF


class CardMonitor:
    """Watches every reader (or only ``readers``) and puts CardEvents on ``events``.

    ``report_present`` makes a card already on a reader when monitoring starts count as inserted.
    ``wait_slice`` bounds each SCardGetStatusChange call, so that a stack whose SCardCancel is broken
    still stops within that time; ``retry_interval`` is how often a lost PC/SC service is retried.
    """

    def __init__(
        self,
        events: queue.Queue[CardEvent] | None = None,
        *,
        scard: Any | None = None,
        readers: list[str] | None = None,
        report_present: bool = True,
        wait_slice: float = 2.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.events: queue.Queue[CardEvent] = events if events is not None else queue.Queue()
        self._scard: Any = scard
        self._only = set(readers) if readers is not None else None
        self._report_present = report_present
        self._wait_ms = max(1, int(wait_slice * 1000))
        self._retry_interval = retry_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._context: PcscContext | None = None
        self._context_lock = threading.Lock()
        self._ready = threading.Event()
        self._failures = 0  # consecutive context failures: the first is retried at once

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, ready_timeout: float = 5.0) -> None:
        """Start the monitoring thread; returns once the first reader scan is done (or timed out)."""
        if self.running:
            return
        if self._scard is None:
            self._scard = load_scard()
        self._stopping.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()
        self._ready.wait(ready_timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Wake the thread, wait for it to finish, release its PC/SC context."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            # A cancel only wakes a call in progress: repeat it in case the thread was between two.
            with self._context_lock:
                if self._context is not None and self._context.handle is not None:
                    self._scard.SCardCancel(self._context.handle)
            thread.join(min(CANCEL_REPEAT, max(0.0, deadline - time.monotonic())))
        if thread.is_alive():
            log.warning("card monitor thread did not stop within %.1f s", timeout)
        else:
            self._thread = None

    def __enter__(self) -> CardMonitor:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _emit(self, kind: CardEventKind, reader: str = "", atr: bytes | None = None) -> None:
        log.debug("card event %s on %r", kind.value, reader)
        self.events.put(CardEvent(kind, reader, atr))

    def _run(self) -> None:
        service_lost = False
        self._failures = 0
        known: dict[str, int] = {}
        while not self._stopping.is_set():
            try:
                context = PcscContext(self._scard)
            except TransportError:
                if not service_lost:
                    service_lost = True
                    self._drop_all(known)
                    self._emit(CardEventKind.SERVICE_LOST)
                self._ready.set()
                self._stopping.wait(self._retry_interval)
                continue
            if service_lost:
                service_lost = False
                self._emit(CardEventKind.SERVICE_BACK)
            with self._context_lock:
                self._context = context
            try:
                if self._stopping.is_set():
                    return
                self._watch(context, known)
            except TransportError as error:
                # Re-establishing the context tells a restarted service from a stopped one; the
                # known states carry over, so a restart alone produces no card events. A failure
                # that persists is retried at the slower pace, not in a tight loop.
                self._failures += 1
                first = self._failures == 1
                log.log(logging.INFO if first else logging.DEBUG, "card monitor re-opens its context: %s", error)
                self._stopping.wait(RECONNECT_PAUSE if first else self._retry_interval)
            finally:
                with self._context_lock:
                    self._context = None
                context.close()
        self._ready.set()

    def _drop_all(self, known: dict[str, int]) -> None:
        for name, state in list(known.items()):
            if _present(state):
                self._emit(CardEventKind.REMOVED, name)
            self._emit(CardEventKind.READER_REMOVED, name)
        known.clear()

    def _watch(self, context: PcscContext, known: dict[str, int]) -> None:
        """Loop until stopped; raises TransportError when the service goes away."""
        first_scan = not self._ready.is_set()
        pnp_state = SCARD_STATE_UNAWARE
        pnp_supported = True
        while not self._stopping.is_set():
            names = [n for n in context.reader_names() if self._only is None or n in self._only]
            for gone in [n for n in known if n not in names]:
                if _present(known.pop(gone)):
                    self._emit(CardEventKind.REMOVED, gone)
                self._emit(CardEventKind.READER_REMOVED, gone)
            new = [n for n in names if n not in known]
            if new:
                hresult, states = self._scard.SCardGetStatusChange(
                    context.handle, 0, [(n, SCARD_STATE_UNAWARE) for n in new]
                )
                self._check(hresult)
                for name, state, atr in states:
                    known[name] = state & ~SCARD_STATE_CHANGED
                    if not first_scan:
                        self._emit(CardEventKind.READER_ADDED, name)
                    if _present(state) and (self._report_present or not first_scan):
                        self._emit(CardEventKind.INSERTED, name, bytes(atr or ()))
            if first_scan:
                first_scan = False
                self._ready.set()
            watched = [(n, known[n]) for n in names]
            if pnp_supported:
                watched.append((PNP_NOTIFICATION, pnp_state))
            if not watched:
                self._stopping.wait(self._wait_ms / 1000)  # nothing to wait on: poll the reader list
                continue
            hresult, states = self._scard.SCardGetStatusChange(context.handle, self._wait_ms, watched)
            code = normalize_hresult(hresult)
            if code in (SCARD_E_TIMEOUT, SCARD_E_CANCELLED):
                continue
            if code in READER_GONE:
                if pnp_supported and set(context.reader_names()) >= set(names):
                    # Every reader is still there, so the stack has no PnP pseudo-reader: poll the
                    # reader list once per wait slice instead.
                    pnp_supported = False
                continue
            self._check(code)
            self._failures = 0
            for name, state, atr in states:
                if name == PNP_NOTIFICATION:
                    pnp_state = state & ~SCARD_STATE_CHANGED
                    continue
                self._compare(name, known[name], state, atr)
                known[name] = state & ~SCARD_STATE_CHANGED

    def _compare(self, name: str, before: int, after: int, atr: Any) -> None:
        was, now = _present(before), _present(after)
        if was and not now:
            self._emit(CardEventKind.REMOVED, name)
        elif now and not was:
            self._emit(CardEventKind.INSERTED, name, bytes(atr or ()))
        elif was and now and _event_count(after) - _event_count(before) >= 2:
            # Taken away and put back between two wake-ups: report both, the card may differ.
            self._emit(CardEventKind.REMOVED, name)
            self._emit(CardEventKind.INSERTED, name, bytes(atr or ()))

    @staticmethod
    def _check(hresult: int) -> None:
        code = normalize_hresult(hresult)
        if code == SCARD_S_SUCCESS:
            return
        if code in SERVICE_DOWN:
            raise TransportError(f"PC/SC service lost ({hresult_name(code)})")
        raise TransportError(f"SCardGetStatusChange failed ({hresult_name(code)})")
