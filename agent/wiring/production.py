"""A desk built from its settings: the one place that builds the real adapters (PC/SC readers and the
card monitor, camera and QR decoder, serial QR scanner, backend clients, the encrypted store and its
syncer, the trust store and the chip reader, the audit log, the receipt key) and composes them with the verification
service, the reader loop and the local API. ``serve``, ``verify``, ``sync``, ``read`` and the demo use
it; the demo hands in its simulated reader and camera (agent.wiring.simulated) instead of the real ones.

Building an :class:`Agent` opens the store and the audit log but starts nothing; :meth:`Agent.start`
starts the card monitor, the reader loop and the syncer, :meth:`Agent.stop` stops them in reverse.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from agent import __version__
from agent.api.views import operators_view
from agent.audit import ACTION_STARTED, ACTION_STOPPED, AuditKeys, AuditLog
from agent.checks.bhxh import BhxhGateway
from agent.checks.breaker import CircuitBreaker
from agent.checks.facilities import FacilityCatalogue
from agent.checks.http import BackendHttp, SessionLike, new_session
from agent.checks.insurance import InsuranceClient
from agent.checks.licensing import LicensingClient
from agent.checks.uploader import DESTINATION_HIS, DESTINATION_INSURANCE, BackendUploader, HisWebhook
from agent.chip import ConfiguredChipReader
from agent.errors import AgentError, ConfigError, StoreError
from agent.icao.trust import TrustStore
from agent.models import SiteKind, VerificationResult
from agent.nfc.monitor import CardMonitor
from agent.nfc.pcsc import PcscSystem, PcscTransport
from agent.operators import load_operators
from agent.ports import CardEvent, CardSource, ChipReader, InsuranceLookup, QrCodeSource, ReaderListing
from agent.receipt import RECEIPT_KEY_PREFIX, ReceiptKey
from agent.service.desk import DeskService
from agent.service.entitlement import Entitlement
from agent.service.hub import Hub
from agent.service.policy import CLASS_DESTINATION, policy_for
from agent.service.state import DeskEvent
from agent.service.worker import ReaderWorker
from agent.settings import PROFILES, Settings
from agent.trust_files import load_trust_directory
from sync.keys import KeyFile, KeyringBackend, KeyringKey, KeySource, os_keyring
from sync.store import Store
from sync.syncer import Syncer, SyncThread

log = logging.getLogger(__name__)


# --- the store, the audit log, the keys ------------------------------------------------------------------


PLATFORM = sys.platform  # the system the keys are chosen for; the tests set it to wire another one


def uses_keyring(settings: Settings, platform: str | None = None) -> bool:
    """Whether the store and receipt keys live in the OS credential store: ``[store] key_source``, where
    ``auto`` means the keyring on Windows (file permission bits protect nothing there) and the key file
    elsewhere (a Linux desk's service has no desktop keyring; its key file is 0600 for the service user)."""
    source = settings.store.key_source
    return source == "keyring" or (source == "auto" and (platform or PLATFORM) == "win32")


def store_key_source(settings: Settings, *, platform: str | None = None,
                     keyring_backend: KeyringBackend | None = None) -> KeySource:
    """Where the store's master key is kept (it also keys the audit log's MACs)."""
    key_file = KeyFile(settings.store_key_path())
    if not uses_keyring(settings, platform):
        return key_file
    # A key file from before (an upgraded desk) is adopted into the keyring, never orphaned.
    return KeyringKey(keyring_backend or os_keyring(platform or PLATFORM), username="store-key", what="store key",
                      adopt=key_file)


def open_store(settings: Settings) -> Store:
    return Store.open(settings.store_path(), store_key_source(settings),
                      busy_timeout_s=settings.store.busy_timeout_s)


def open_audit(settings: Settings, store: Store | None = None) -> AuditLog:
    """The audit log, keyed by the store's secret (kept outside both files); with the store open, each
    append records the log's running head in it, so that ``audit verify`` sees entries removed from the tail."""
    try:
        keys: AuditKeys | None = AuditKeys(store_key_source(settings).load(create=False))
    except StoreError as error:
        log.warning("audit log without MACs and subject hashes: %s", error.message)
        keys = None
    return AuditLog(settings.audit_path(), keys, operator=settings.site.operator, site_id=settings.site.site_id,
                    head=store.audit_head if store is not None else None)


def receipt_key_source(settings: Settings, *, platform: str | None = None,
                       keyring_backend: KeyringBackend | None = None) -> KeySource:
    """Where the receipt signing key is kept: like the store key (``[store] key_source``)."""
    key_file = KeyFile(settings.receipt_key_path(), prefix=RECEIPT_KEY_PREFIX, what="receipt key")
    if not uses_keyring(settings, platform):
        return key_file
    return KeyringKey(keyring_backend or os_keyring(platform or PLATFORM), username="receipt-key",
                      what="receipt key", adopt=key_file)


def open_receipt_key(settings: Settings, *, create: bool = True) -> ReceiptKey:
    """The site's receipt signing key, made on first use (StoreError when it cannot be kept or read)."""
    return ReceiptKey(receipt_key_source(settings).load(create=create))


# --- the chip ------------------------------------------------------------------------------------------


def load_trust(settings: Settings) -> TrustStore:
    """The trust store of ``trust.csca_dir``; files that cannot be used are logged and skipped."""
    trust_store, report = load_trust_directory(settings.trust_dir())
    for problem in report.problems:
        log.warning("trust file not used: %s (%s)", problem.path, problem.problem)
    if not trust_store.certificates:
        log.warning("no CSCA certificate in %s: chip data will show 'trust anchor unknown'", settings.trust_dir())
    return trust_store


def load_chip_reader(settings: Settings, trust_store: TrustStore | None = None) -> ConfiguredChipReader:
    return ConfiguredChipReader(settings, trust_store if trust_store is not None else load_trust(settings))


class PcscReaders:
    """PC/SC readers through agent.nfc (:class:`agent.ports.CardSource`): the card monitor's events for
    the readers whose name contains ``reader.name``, and a connection per tap."""

    def __init__(self, settings: Settings, *, scard: Any = None, name: str | None = None) -> None:
        self.system = PcscSystem(scard)
        self.name_part = (settings.reader.name if name is None else name).lower()
        self._events: queue.Queue[CardEvent] = _ReaderFilterQueue(self.name_part)
        self.monitor = CardMonitor(self._events, scard=scard)
        self.exclusive = settings.reader.exclusive

    @property
    def events(self) -> queue.Queue[CardEvent]:
        return self._events

    def connect(self, reader: str) -> PcscTransport:
        return self.system.connect(reader or None, exclusive=self.exclusive)

    def start(self) -> None:
        self.monitor.start()

    def stop(self) -> None:
        self.monitor.stop()

    def listing(self) -> ReaderListing:
        try:
            readers = tuple(r.as_json() for r in self.system.readers() if self.name_part in r.name.lower())
        except AgentError as error:
            return ReaderListing("unavailable", message_key=error.message_key)
        if not readers:
            return ReaderListing("unavailable", message_key="error.no_reader")
        return ReaderListing("ok", readers)


class _ReaderFilterQueue(queue.Queue[CardEvent]):
    """The monitor's queue, keeping only events of readers whose name contains ``name_part``."""

    def __init__(self, name_part: str) -> None:
        super().__init__()
        self.name_part = name_part

    def put(self, item: CardEvent, block: bool = True, timeout: float | None = None) -> None:
        if not self.name_part or not item.reader or self.name_part in item.reader.lower():
            super().put(item, block, timeout)


# --- QR codes ------------------------------------------------------------------------------------------


class FrameSource(Protocol):
    """A camera, or the demo's simulated one: grey frames until closed."""

    def read(self) -> Any: ...

    def close(self) -> None: ...


def frame_codes(open_frames: Callable[[], FrameSource]) -> QrCodeSource:
    """The QR loop (agent.qr's decoder and scanner) over the frames of ``open_frames()``."""

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


def camera_codes(settings: Settings) -> QrCodeSource | None:
    """The QR loop on the configured camera (None when ``qr.camera`` is empty: no camera at this desk)."""
    source = settings.qr.camera.strip()
    if not source:
        return None

    def open_frames() -> FrameSource:
        from agent.qr.camera import open_camera

        camera: FrameSource = open_camera(source, width=settings.qr.width, height=settings.qr.height,
                                          fps=settings.qr.fps)
        return camera

    return frame_codes(open_frames)


def serial_codes(settings: Settings) -> QrCodeSource | None:
    """The serial QR scanner of ``[qr] serial_port`` (None when it is empty: no serial scanner here)."""
    port = settings.qr.serial_port.strip()
    if not port:
        return None
    from agent.qr.serial_port import SerialScanner

    return SerialScanner(port, baud=settings.qr.serial_baud, idle_s=settings.qr.serial_idle_ms / 1000).codes


# --- the backends --------------------------------------------------------------------------------------


PROTOCOL_PROXY = "mock-v1"
PROTOCOL_BHXH = "bhxh-egw-2024"


@dataclasses.dataclass
class Backends:
    insurance: InsuranceLookup
    licensing: LicensingClient
    uploader: BackendUploader
    protocol: str = PROTOCOL_PROXY
    his_webhook: bool = False

    @property
    def checkin_destination(self) -> str | None:
        """Where a clinic's check-ins go: the proxy's insurance backend; on the BHXH gateway (which has no
        check-in endpoint) the site's HIS webhook, else nowhere (kept at the desk, readable through the API)."""
        if self.protocol == PROTOCOL_PROXY:
            return DESTINATION_INSURANCE
        return DESTINATION_HIS if self.his_webhook else None


def build_backends(settings: Settings, session: SessionLike | None = None) -> Backends:
    """The backend clients sharing one requests session, each with its own circuit breaker."""
    b = settings.backends
    http_session = session or new_session()

    def http(name: str, url: str) -> BackendHttp:
        if not url:
            raise ConfigError("is empty: no backend to ask", key=f"backends.{name}_url")
        return BackendHttp(
            http_session, url, name=name, token=b.token, connect_timeout_s=b.connect_timeout_s,
            read_timeout_s=b.read_timeout_s, retries=b.retries,
            breaker=CircuitBreaker(failures=b.breaker_failures, reset_s=b.breaker_reset_s),
        )

    licensing = LicensingClient(http("licensing", b.licensing_url))
    his = None
    if settings.his.webhook_url:
        his = HisWebhook(BackendHttp(
            http_session, settings.his.webhook_url, name="his", token=settings.his.webhook_token,
            connect_timeout_s=b.connect_timeout_s, read_timeout_s=b.read_timeout_s, retries=b.retries,
            breaker=CircuitBreaker(failures=b.breaker_failures, reset_s=b.breaker_reset_s)))
    if b.insurance_protocol == PROTOCOL_BHXH:
        if not b.bhxh_username or not b.bhxh_password:
            missing = "bhxh_username" if not b.bhxh_username else "bhxh_password"
            raise ConfigError("is needed to log in to the BHXH gateway (the facility account)",
                              key=f"backends.{missing}")
        catalogue = FacilityCatalogue.load(Path(b.facility_catalogue) if b.facility_catalogue else None)
        gateway = BhxhGateway(http_session, b.bhxh_url, username=b.bhxh_username, password=b.bhxh_password,
                              connect_timeout_s=b.bhxh_connect_timeout_s, read_timeout_s=b.bhxh_read_timeout_s,
                              breaker=CircuitBreaker(failures=b.breaker_failures, reset_s=b.breaker_reset_s),
                              facilities=catalogue)
        return Backends(gateway, licensing, BackendUploader(None, licensing, his), PROTOCOL_BHXH, his is not None)
    proxy = InsuranceClient(http("insurance", b.insurance_url))
    return Backends(proxy, licensing, BackendUploader(proxy, licensing, his), PROTOCOL_PROXY, his is not None)


def build_syncer(settings: Settings, store: Store, backends: Backends) -> Syncer:
    return Syncer(store, backends.uploader, batch_size=settings.sync.batch_size)


# --- the service ----------------------------------------------------------------------------------------


def build_service(settings: Settings, *, store: Store, audit: AuditLog, backends: Backends,
                  chip_reader: ChipReader | None = None, hub: Hub[DeskEvent] | None = None,
                  profile: SiteKind | str | None = None, exam_session_id: str | None = None,
                  receipt_key: ReceiptKey | None = None,
                  on_recorded: Callable[[VerificationResult], None] | None = None) -> DeskService:
    """The desk's verification service for ``profile`` (default: ``site.profile``)."""
    kind = SiteKind(profile or settings.site.profile) if (profile or settings.site.profile) in PROFILES else None
    destination = backends.checkin_destination if kind is SiteKind.CLINIC else CLASS_DESTINATION
    policy = policy_for(profile or settings.site.profile, destination=destination,
                        exam_session_id=settings.exam.session_id if exam_session_id is None else exam_session_id)
    operators = load_operators(Path(settings.site.operators_file)) if settings.site.operators_file else ()
    if policy.kind is SiteKind.CLINIC and backends.protocol == PROTOCOL_BHXH and not operators:
        raise ConfigError("is needed with the BHXH gateway: every lookup names the staff member (name and CCCD) "
                          "doing it", key="site.operators_file")
    entitlement = Entitlement(store, backends.insurance, backends.licensing, cache_ttl_s=settings.backends.cache_ttl_s)
    return DeskService(store=store, entitlement=entitlement, policy=policy, audit=audit, chip_reader=chip_reader,
                       hub=hub, receipt_key=receipt_key, on_recorded=on_recorded, operators=operators)


# --- the agent -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Agent:
    settings: Settings
    token: str
    store: Store
    audit: AuditLog
    service: DeskService
    worker: ReaderWorker
    cards: CardSource | None
    syncer: Syncer
    sync_thread: SyncThread
    backends: Backends
    page_config: dict[str, Any]
    api: Any = None
    _started: bool = False
    _prefetch: threading.Thread | None = None

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.audit.append(ACTION_STARTED, {"version": __version__, "profile": str(self.service.profile)})
        if self.cards is not None:
            try:
                self.cards.start()
            except AgentError as error:
                log.warning("card monitor not started: %s", error.message)
        self.worker.start()
        self.sync_thread.start()
        if self.service.policy.prefetches_roster:
            self._prefetch = threading.Thread(target=self.service.prefetch_roster, name="roster-prefetch",
                                              daemon=True)
            self._prefetch.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.worker.stop()
        if self.cards is not None:
            self.cards.stop()
        self.sync_thread.stop()
        self.service.hub.close()
        try:
            self.audit.append(ACTION_STOPPED, {"version": __version__})
        except StoreError as error:
            log.warning("could not audit the stop: %s", error.message)

    def close(self) -> None:
        self.stop()
        self.store.close()

    def status(self) -> dict[str, Any]:
        cards = self.cards.listing() if self.cards is not None else ReaderListing("disabled")
        try:
            sync: dict[str, Any] = self.store.outbox.status().to_json()
        except StoreError as error:
            sync = {"error": error.message}
        # Whichever spoke to the backend last, a lookup or a delivery, says whether it is reachable.
        state = self.service.state.backend
        if self.syncer.last_contact_at > self.service.state.backend_at:
            state = "offline" if self.syncer.last_error else "online"
        backend = {"state": state, "last_sync_error": self.syncer.last_error}
        scanner: dict[str, Any] = dict(self.worker.scanner_state)
        if self.settings.qr.serial_port.strip() and scanner.get("state") != "disabled":
            scanner["port"] = self.settings.qr.serial_port.strip()
            scanner["kind"] = "serial"
        return {"readers": cards.to_json(), "camera": dict(self.worker.camera_state), "scanner": scanner,
                "backend": backend, "sync": sync, "site_profile": str(self.service.profile),
                "operator": operators_view(self.service.sign_in),
                "banners": self.page_config.get("banners", [])}

    def sync_status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.store.outbox.status().to_json()
        report = self.syncer.last_report
        data["last_pass"] = report.to_json() if report is not None else None
        return data


def build_agent(
    settings: Settings,
    *,
    token: str | None = None,
    cards: CardSource | None = None,
    use_pcsc: bool = True,
    qr_codes: QrCodeSource | None = None,
    use_camera: bool = True,
    scanner_codes: QrCodeSource | None = None,
    use_serial: bool = True,
    chip_reader: ChipReader | None = None,
    backends: Backends | None = None,
    page_config: dict[str, Any] | None = None,
) -> Agent:
    """Everything the desk needs, from ``settings``; any adapter may be handed in instead."""
    from agent.api.app import create_api
    from agent.api.security import new_token

    policy_for(settings.site.profile)  # an unknown site kind stops the agent before anything opens
    store = open_store(settings)
    try:
        audit = open_audit(settings, store)
        backends = backends or build_backends(settings)
        if cards is None and use_pcsc:
            cards = PcscReaders(settings)
        if qr_codes is None and use_camera:
            qr_codes = camera_codes(settings)
        if scanner_codes is None and use_serial:
            scanner_codes = serial_codes(settings)
        syncer = build_syncer(settings, store, backends)
        sync_thread = SyncThread(syncer, interval_s=settings.sync.interval_s,
                                 retention_days=settings.store.retention_days)
        service = build_service(settings, store=store, audit=audit, backends=backends,
                                chip_reader=chip_reader or load_chip_reader(settings), hub=Hub(),
                                receipt_key=open_receipt_key(settings), on_recorded=sync_thread.wake)
        worker = ReaderWorker(service, cards=cards, qr_codes=qr_codes, scanner_codes=scanner_codes)
        needs_identity = service.policy.kind is SiteKind.CLINIC and backends.protocol == PROTOCOL_BHXH
        agent = Agent(settings=settings, token=token or settings.api.token or new_token(), store=store, audit=audit,
                      service=service, worker=worker, cards=cards, syncer=syncer, sync_thread=sync_thread,
                      backends=backends, page_config={"language": settings.site.language,
                                                      "lookup_needs_identity": needs_identity,
                                                      "wedge_idle_ms": settings.qr.wedge_idle_ms,
                                                      **(page_config or {})})
        agent.api = create_api(service, token=agent.token, allowed_origins=settings.api.allowed_origins,
                               status=agent.status, sync_status=agent.sync_status, page_config=agent.page_config)
        return agent
    except BaseException:
        store.close()
        raise

