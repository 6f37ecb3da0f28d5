"""The composition root: the one place that builds the real adapters from the settings (PC/SC reader
and card monitor, camera and QR decoder, backend clients, the encrypted store and its syncer, the
trust store, the chip reader, the audit log) and wires them into the desk service, the reader loop
and the local API. ``python -m agent serve`` and ``python -m agent demo`` use it; the demo hands in
its simulated reader and camera instead of the real ones.

Building an :class:`Agent` opens the store and the audit log but starts nothing; :meth:`Agent.start`
starts the card monitor, the reader loop and the syncer, :meth:`Agent.stop` stops them in reverse.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.audit import ACTION_STARTED, ACTION_STOPPED, AuditKeys, AuditLog
from agent.errors import AgentError, ConfigError, StoreError, StoreLockedError
from agent.service.desk import DeskService
from agent.service.hub import Hub
from agent.service.worker import ReaderWorker
from agent.settings import Settings

log = logging.getLogger(__name__)

VERSION = "0.1.0"
PURGE_EVERY_S = 3600.0


class Readers(Protocol):
    """A source of card events (objects with ``kind`` and ``reader``) and connections to the cards."""

    events: queue.Queue[Any]

    def connect(self, reader: str) -> Any: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def statuses(self) -> dict[str, Any]: ...


# --- the real devices ------------------------------------------------------------------------------


class _ReaderFilterQueue(queue.Queue[Any]):
    """The monitor's queue, keeping only events of readers whose name contains ``reader.name``."""

    def __init__(self, name_part: str) -> None:
        super().__init__()
        self.name_part = name_part.lower()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        reader = str(getattr(item, "reader", ""))
        if not self.name_part or not reader or self.name_part in reader.lower():
            super().put(item, block, timeout)


class PcscReaders:
    """PC/SC readers through agent.nfc: the card monitor's events, and a transport per tap."""

    def __init__(self, settings: Settings, *, scard: Any = None) -> None:
        from agent.nfc.monitor import CardMonitor
        from agent.nfc.pcsc import PcscSystem

        self.system = PcscSystem(scard)
        self.events: queue.Queue[Any] = _ReaderFilterQueue(settings.reader.name)
        self.monitor = CardMonitor(self.events, scard=scard)
        self.exclusive = settings.reader.exclusive
        self.name_part = settings.reader.name

    def connect(self, reader: str) -> Any:
        return self.system.connect(reader or None, exclusive=self.exclusive)

    def start(self) -> None:
        self.monitor.start()

    def stop(self) -> None:
        self.monitor.stop()

    def statuses(self) -> dict[str, Any]:
        try:
            readers = [r.as_json() for r in self.system.readers()
                       if not self.name_part or self.name_part.lower() in r.name.lower()]
        except AgentError as error:
            return {"state": "unavailable", "message_key": error.message_key, "readers": []}
        return {"state": "ok" if readers else "unavailable", "readers": readers,
                **({} if readers else {"message_key": "error.no_reader"})}


def frame_codes(open_frames: Callable[[], Any]) -> Callable[[threading.Event], Iterator[str]]:
    """The QR loop (agent.qr's decoder and scanner) over the frames of ``open_frames()``: an object
    with ``read() -> grey frame | None`` and ``close()`` (a camera, or the demo's simulated one)."""

    def codes(stop: threading.Event) -> Iterator[str]:
        from agent.qr.decoder import create_decoder
        from agent.qr.scanner import ActivityGate, QrScanner

        frames = open_frames()
        try:
            scanner = QrScanner(frames, create_decoder(), timeout_s=None, gate=ActivityGate(), cancel=stop)
            for event in scanner.events():
                yield event.symbol.text
        finally:
            frames.close()

    return codes


def camera_codes(settings: Settings) -> Callable[[threading.Event], Iterator[str]] | None:
    """The QR loop on the configured camera (None when ``qr.camera`` is empty: no camera at this desk)."""
    source = settings.qr.camera.strip()
    if not source:
        return None

    def open_frames() -> Any:
        from agent.qr.camera import open_camera

        return open_camera(source, width=settings.qr.width, height=settings.qr.height, fps=settings.qr.fps)

    return frame_codes(open_frames)


def load_chip_reader(settings: Settings) -> Any:
    """agent.chip.read_chip bound to the settings and the trust store loaded from ``trust.csca_dir``."""
    from agent.chip import read_chip
    from agent.trust_files import load_trust_directory

    trust_store, report = load_trust_directory(settings.trust_dir())
    for problem in report.problems:
        log.warning("trust file not used: %s (%s)", problem.path, problem.problem)
    if not trust_store.certificates:
        log.warning("no CSCA certificate in %s: chip data will show 'trust anchor unknown'", settings.trust_dir())
    return bind_chip_reader(read_chip, settings, trust_store)


def bind_chip_reader(read_chip: Callable[..., Any], settings: Settings, trust_store: Any) -> Callable[..., Any]:
    """The chip read with the settings and trust store bound. What a reader has shown it can take
    (extended length, the largest chunk) is kept per reader name, so a step-down is learned once; a
    transport that models a real reader's link (the simulator's) also reports how long the same read
    would take on one."""
    from agent.icao.files import ReadLimits
    from agent.nfc.pcsc import ReaderMemory

    memory: ReaderMemory[ReadLimits] = ReaderMemory()

    def new_limits(transport: Any) -> ReadLimits:
        limits = ReadLimits.from_setting(settings.reader.extended_length)
        if getattr(transport, "extended_length_possible", True) is False:
            limits.extended_ok = False  # T=0: no extended-length APDUs through this reader
        return limits

    def read(transport: Any, **kwargs: Any) -> Any:
        link = None
        if getattr(transport, "link_estimate_ms", None) is not None:
            def link() -> float:
                return float(transport.link_estimate_ms)
        reader = str(getattr(transport, "reader", "") or type(transport).__name__)
        kwargs.setdefault("limits", memory.get_or_create(reader, lambda: new_limits(transport)))
        return read_chip(transport, settings=settings, trust_store=trust_store, link_estimate=link, **kwargs)

    return read


# --- the syncer's loop -------------------------------------------------------------------------------


class SyncLoop:
    """Drains the outbox every ``interval_s``, at once when woken (a new record), with backoff while
    the backend fails; purges personal data past the retention period once an hour."""

    def __init__(self, syncer: Any, store: Any, *, interval_s: float, retention_days: int) -> None:
        self.syncer = syncer
        self.store = store
        self.interval_s = interval_s
        self.retention_days = retention_days
        self.last_report: dict[str, Any] | None = None
        self.last_error = ""
        self.last_contact_at = 0.0  # monotonic time of the last pass that reached the backend (or failed to)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="desk-sync", daemon=True)
            self._thread.start()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        failures = 0
        purged_at = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            error = ""
            try:
                now = datetime.now(UTC).timestamp()
                if now - purged_at >= PURGE_EVERY_S:
                    self.store.purge(retention_days=self.retention_days)
                    purged_at = now
                report = self.syncer.drain()
                self.last_report = report.to_json()
                error = report.error
                if report.error or report.delivered or report.duplicates or report.rejected:
                    self.last_contact_at = time.monotonic()
            except StoreLockedError as locked:
                error = f"store: {locked.message}"
            except StoreError as broken:
                # A damaged store needs a person; keep the desk running and say so in the status.
                error = f"store: {broken.message}"
                log.error("sync stopped: %s", broken.message)
            self.last_error = error
            failures = failures + 1 if error else 0
            delay = self.syncer.backoff_delay(failures) if failures else self.interval_s
            self._wake.wait(delay if not self._stop.is_set() else 0)


# --- the agent -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Agent:
    settings: Settings
    token: str
    store: Any
    audit: AuditLog
    service: DeskService
    worker: ReaderWorker
    readers: Readers | None
    sync_loop: SyncLoop | None
    backends: Any
    page_config: dict[str, Any]
    api: Any = None
    _started: bool = False
    _prefetch: threading.Thread | None = None

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.audit.append(ACTION_STARTED, {"version": VERSION, "profile": self.service.profile})
        if self.readers is not None:
            try:
                self.readers.start()
            except AgentError as error:
                log.warning("card monitor not started: %s", error.message)
        self.worker.start()
        if self.sync_loop is not None:
            self.sync_loop.start()
        if self.service.profile == "exam":
            self._prefetch = threading.Thread(target=self.prefetch_roster, name="roster-prefetch", daemon=True)
            self._prefetch.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.worker.stop()
        if self.readers is not None:
            self.readers.stop()
        if self.sync_loop is not None:
            self.sync_loop.stop()
        self.service.hub.close()
        try:
            self.audit.append(ACTION_STOPPED, {"version": VERSION})
        except StoreError as error:
            log.warning("could not audit the stop: %s", error.message)

    def close(self) -> None:
        self.stop()
        self.store.close()

    def prefetch_roster(self) -> None:
        """Keep the current session's roster in the store, so check-in works offline from the start."""
        self.service.prefetch_roster()

    def status(self) -> dict[str, Any]:
        readers = self.readers.statuses() if self.readers is not None else {"state": "disabled", "readers": []}
        try:
            sync = self.store.outbox_status().to_json()
        except StoreError as error:
            sync = {"error": error.message}
        # Whichever spoke to the backend last, a lookup or a delivery, says whether it is reachable.
        state = self.service.backend_state
        loop = self.sync_loop
        if loop is not None and loop.last_contact_at > self.service.backend_state_at:
            state = "offline" if loop.last_error else "online"
        backend = {"state": state, "last_sync_error": loop.last_error if loop else ""}
        return {"readers": readers, "camera": dict(self.worker.camera_state), "backend": backend, "sync": sync,
                "site_profile": self.service.profile, "operator": self.audit.operator,
                "banners": self.page_config.get("banners", [])}

    def sync_status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.store.outbox_status().to_json()
        data["last_pass"] = self.sync_loop.last_report if self.sync_loop else None
        return data


def open_audit(settings: Settings) -> AuditLog:
    """The audit log, keyed by the store's secret (kept outside both files)."""
    from sync.keys import KeyFile

    try:
        secret = KeyFile(settings.store_key_path()).load(create=False)
        keys: AuditKeys | None = AuditKeys(secret)
    except StoreError as error:
        log.warning("audit log without MACs and subject hashes: %s", error.message)
        keys = None
    return AuditLog(settings.audit_path(), keys, operator=settings.site.operator, site_id=settings.site.site_id)


def build_agent(
    settings: Settings,
    *,
    token: str | None = None,
    readers: Readers | None = None,
    use_pcsc: bool = True,
    qr_codes: Callable[[threading.Event], Iterator[str]] | None = None,
    use_camera: bool = True,
    read_chip: Any = None,
    backends: Any = None,
    page_config: dict[str, Any] | None = None,
) -> Agent:
    """Everything the desk needs, from ``settings``; any adapter may be handed in instead."""
    from agent.api.app import create_api
    from agent.api.security import new_token
    from agent.entitlement import build_backends, build_entitlement, build_syncer, open_store

    if settings.site.profile not in ("clinic", "notary", "exam"):
        raise ConfigError("unknown site profile", key="site.profile")
    store = open_store(settings)
    try:
        audit = open_audit(settings)
        backends = backends or build_backends(settings)
        entitlement = build_entitlement(settings, store, backends)
        if readers is None and use_pcsc:
            readers = PcscReaders(settings)
        if qr_codes is None and use_camera:
            qr_codes = camera_codes(settings)
        if read_chip is None:
            try:
                read_chip = load_chip_reader(settings)
            except ImportError:
                log.warning("the chip reader (agent.chip) is not available: taps cannot be verified")
        sync_loop = SyncLoop(build_syncer(settings, store, backends), store, interval_s=settings.sync.interval_s,
                             retention_days=settings.store.retention_days)
        service = DeskService(store=store, entitlement=entitlement, audit=audit, profile=settings.site.profile,
                              read_chip=read_chip, hub=Hub(), exam_session_id=settings.exam.session_id,
                              on_recorded=sync_loop.wake)
        worker = ReaderWorker(service, card_events=readers.events if readers else None,
                              connect=readers.connect if readers else None, qr_codes=qr_codes)
        agent = Agent(settings=settings, token=token or settings.api.token or new_token(), store=store, audit=audit,
                      service=service, worker=worker, readers=readers, sync_loop=sync_loop, backends=backends,
                      page_config={"language": settings.site.language, **(page_config or {})})
        agent.api = create_api(service, token=agent.token, allowed_origins=settings.api.allowed_origins,
                               status=agent.status, sync_status=agent.sync_status, page_config=agent.page_config)
        return agent
    except BaseException:
        store.close()
        raise
