"""``cccd-agent doctor``: what a technician runs first at a desk that does not work. Each check looks at
one part the way the agent itself would use it and says ok, warning or fail, with the facts (paths,
counts, names; never personal data) and, for anything but ok, the fix in Vietnamese and English
(``doctor.fix.*`` in :mod:`agent.messages`).

The parts, in the order a desk depends on them: versions and settings (the chain of files), where the
data and the log live, whether the desk agent is already running, the PC/SC service, its readers and a
card on them, the camera, the serial QR scanner (:func:`check_scanners`),
the trust store (CSCAs loaded, expiring, master lists verified, unusable files), the backends (reachable,
credentials accepted, clock skew against their ``Date``), the keys, the store (integrity, schema, the
outbox) and the audit log's chain.

The checks change nothing a desk relies on: the store is opened as the agent opens it (an older one is
migrated, as the agent's next start would), but no key, store or log is made where there is none. The
devices and the network are reached through :class:`Probes`, so that tests hand in fakes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import http.client
import importlib.metadata
import logging
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent import __version__, messages
from agent.errors import (
    AgentError,
    BackendRejectedError,
    BackendResponseError,
    BackendUnavailableError,
    CameraUnavailableError,
    ConfigError,
    InvalidInputError,
    ReaderUnavailableError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from agent.settings import Settings

log = logging.getLogger(__name__)

OK, WARNING, FAIL = "ok", "warning", "fail"
STATUSES = (OK, WARNING, FAIL)
CLOCK_WARNING_S = 60.0  # TLS, tokens and the checks of certificate dates all want a clock within minutes
CLOCK_FAIL_S = 300.0
OLD_PENDING = timedelta(hours=24)  # a record still undelivered after a day: the backend link is broken
PROBE_TIMEOUT_S = 3.0
CAMERA_FRAMES = 5

LIBRARIES = ("pyscard", "cryptography", "opencv-python-headless", "zxing-cpp", "pyzbar", "fastapi", "uvicorn",
             "requests", "sqlite-utils", "platformdirs", "filelock", "keyring")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of the report. ``item`` is stable (scripts may match it), ``summary`` gives the facts in
    English, ``fix`` is the catalogue key of what to do (empty when nothing is to be done)."""

    item: str
    status: str
    summary: str
    fix: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"a finding is ok, warning or fail, not {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "status": self.status,
            "title": {"vi": messages.text(f"doctor.item.{self.item}", "vi"),
                      "en": messages.text(f"doctor.item.{self.item}", "en")},
            "summary": self.summary,
            "fix": ({"key": self.fix, "vi": messages.text(self.fix, "vi"), "en": messages.text(self.fix, "en")}
                    if self.fix else None),
            "details": dict(self.details),
        }


@dataclasses.dataclass
class Probes:
    """How the checks reach devices and the network; the defaults are the real ones."""

    scard: Any = None  # pyscard's scard module (None: the real one, imported on first use)
    session: Any = None  # a requests-like session for the backends (None: a new one)
    open_camera: Callable[[Settings], Any] | None = None
    open_scanner: Callable[[Settings], None] | None = None  # opens and closes [qr] serial_port
    platform: str = sys.platform
    keyring_backend: Any = None
    now: Callable[[], datetime] = dataclasses.field(default=lambda: datetime.now(UTC))
    agent_running: Callable[[Settings], bool] | None = None


Check = Callable[[Settings, Probes], list[Finding]]


def run_checks(settings: Settings, probes: Probes | None = None, *,
               checks: Sequence[tuple[str, Check]] | None = None) -> list[Finding]:
    """Every check in order (``checks``: (item named if it breaks, check) pairs; default: all). A check
    that breaks is itself a failed line, never the end of the report."""
    probes = dataclasses.replace(probes or Probes())  # the checks note things on it: the caller's stays as given
    findings: list[Finding] = []
    for item, check in checks or default_checks():
        try:
            findings.extend(check(settings, probes))
        except AgentError as error:
            findings.append(Finding(item, FAIL, error.message, _fix_for_error(error)))
        except Exception as exc:  # a bug in one check must not hide the rest of the report
            log.exception("doctor check %s failed", item)
            findings.append(Finding(item, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}",
                                    "doctor.fix.report_bug"))
    return findings


def default_checks() -> list[tuple[str, Check]]:
    return [("versions", check_versions), ("settings", check_settings), ("locations", check_locations),
            ("log", check_log), ("agent", check_agent), ("pcsc.service", check_pcsc), ("camera", check_camera),
            ("scanners", check_scanners), ("trust.cscas", check_trust), ("backend.insurance", check_backends),
            ("keys.store", check_keys), ("store.integrity", check_store), ("audit", check_audit)]


def _fix_for_error(error: AgentError) -> str:
    if isinstance(error, ConfigError):
        return "doctor.fix.settings"
    if isinstance(error, StoreCorruptError):
        return "doctor.fix.store_corrupt"
    if isinstance(error, StoreLockedError):
        return "doctor.fix.store_locked"
    if isinstance(error, StoreError):
        return "doctor.fix.store"
    return "doctor.fix.report_bug"


# --- versions, settings, locations ---------------------------------------------------------------


def check_versions(settings: Settings, probes: Probes) -> list[Finding]:
    from sync.migrations import LATEST_VERSION

    libraries = {}
    for name in LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            libraries[name] = importlib.metadata.version(name)
    frozen = bool(getattr(sys, "frozen", False))
    details = {"agent": __version__, "python": platform.python_version(), "platform": platform.platform(),
               "frozen": frozen, "store_schema": LATEST_VERSION, "libraries": libraries}
    build = "frozen build" if frozen else "Python package"
    return [Finding("versions", OK, f"cccd-agent {__version__} ({build}), Python {platform.python_version()} "
                                    f"on {platform.system() or sys.platform}, store schema {LATEST_VERSION}",
                    details=details)]


def check_settings(settings: Settings, probes: Probes) -> list[Finding]:
    used = [link.source for link in settings.chain if link.used and link.layer not in ("defaults", "profile")]
    chain = [link.to_json() for link in settings.chain]
    summary = (f"profile {settings.site.profile}, site {settings.site.site_id}; files: "
               + (", ".join(used) if used else "built-in defaults only"))
    return [Finding("settings", OK, summary, details={"chain": chain})]


def check_locations(settings: Settings, probes: Probes) -> list[Finding]:
    places = {
        "store": str(settings.store_path()),
        "audit_log": str(settings.audit_path()),
        "trust_dir": str(settings.trust_dir()),
        "log_file": str(settings.log_path()),
        "store_key": _key_description(settings, probes, "store"),
        "receipt_key": _key_description(settings, probes, "receipt"),
    }
    folder = settings.store_path().parent
    if not _writable_folder(folder):
        return [Finding("locations", FAIL, f"the store's folder {folder} cannot be created or written",
                        "doctor.fix.data_unwritable", details=places)]
    return [Finding("locations", OK, f"data in {folder}", details=places)]


def _key_description(settings: Settings, probes: Probes, which: str) -> str:
    from agent.wiring.production import uses_keyring

    if uses_keyring(settings, probes.platform):
        return f"OS keyring entry cccd-agent/{which}-key"
    return str(settings.store_key_path() if which == "store" else settings.receipt_key_path())


def _writable_folder(folder: Path) -> bool:
    """Whether files can be made in ``folder``; a folder that is not there yet counts when its nearest
    existing parent is writable (the agent makes it on first start)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def check_log(settings: Settings, probes: Probes) -> list[Finding]:
    path = settings.log_path()
    if path.exists():
        writable = path.is_file() and os.access(path, os.W_OK)
    else:
        writable = _writable_folder(path.parent)
    details = {"path": str(path), "max_bytes": settings.log.max_bytes, "backups": settings.log.backups,
               "level": settings.log.level}
    if not writable:
        return [Finding("log", FAIL, f"the log file {path} cannot be written", "doctor.fix.log_unwritable",
                        details=details)]
    size = path.stat().st_size if path.exists() else 0
    return [Finding("log", OK, f"{path} ({size} bytes; rotates at {settings.log.max_bytes}, keeps "
                               f"{settings.log.backups})", details=details)]


def check_agent(settings: Settings, probes: Probes) -> list[Finding]:
    running = (probes.agent_running or agent_answers)(settings)
    probes.agent_running = lambda _settings: running  # the camera check asks again: one answer per run
    where = f"{settings.api.host}:{settings.api.port}"
    if running:
        return [Finding("agent", OK, f"the desk agent answers on {where}")]
    return [Finding("agent", WARNING, f"no desk agent answers on {where}", "doctor.fix.agent_not_running")]


def agent_answers(settings: Settings) -> bool:
    """Whether the desk agent's local API answers on ``api.host:api.port`` (401 without a token is it)."""
    connection = http.client.HTTPConnection(settings.api.host, settings.api.port, timeout=1.0)
    try:
        connection.request("GET", "/api/status")
        return connection.getresponse().status in (200, 401)
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


# --- devices ---------------------------------------------------------------------------------------


def check_pcsc(settings: Settings, probes: Probes) -> list[Finding]:
    from agent.nfc.pcsc import MSG_NO_READER, PcscSystem

    system = PcscSystem(probes.scard)
    try:
        readers = system.readers()
    except ReaderUnavailableError as error:
        if error.message_key == MSG_NO_READER:
            return [Finding("pcsc.service", OK, "the PC/SC service is running"),
                    Finding("pcsc.readers", FAIL, "no card reader is connected", "doctor.fix.no_reader")]
        return [Finding("pcsc.service", FAIL, error.message, "doctor.fix.pcsc_service",
                        details={"error": error.detail})]
    except ImportError as exc:  # pyscard's native part (libpcsclite / WinSCard) failed to load
        return [Finding("pcsc.service", FAIL, f"the PC/SC library cannot be loaded: {exc}",
                        "doctor.fix.pcsc_service")]
    listed = [reader.as_json() for reader in readers]
    findings = [Finding("pcsc.service", OK, "the PC/SC service is running")]
    wanted = settings.reader.name.lower()
    chosen = [reader for reader in readers if wanted in reader.name.lower()]
    if not chosen:
        findings.append(Finding("pcsc.readers", FAIL, f"no reader's name contains {settings.reader.name!r} "
                                f"([reader] name); connected: {', '.join(r.name for r in readers)}",
                                "doctor.fix.reader_name", details={"readers": listed}))
        return findings
    names = ", ".join(f"{r.name}{' (contactless)' if r.contactless else ''}" for r in chosen)
    findings.append(Finding("pcsc.readers", OK, f"{len(chosen)} reader(s): {names}", details={"readers": listed}))
    with_card = [reader for reader in chosen if reader.card_present]
    if any(reader.card_present and not reader.mute for reader in chosen):
        atr = next(r.atr for r in with_card if not r.mute)
        findings.append(Finding("pcsc.card", OK, f"a card is on {with_card[0].name} (ATR {atr.hex(' ').upper()})"
                                if atr else f"a card is on {with_card[0].name}"))
    elif with_card:
        findings.append(Finding("pcsc.card", WARNING, f"the card on {with_card[0].name} does not answer",
                                "doctor.fix.card_mute"))
    else:
        findings.append(Finding("pcsc.card", WARNING, "no card on the reader", "doctor.fix.no_card"))
    return findings


def check_camera(settings: Settings, probes: Probes) -> list[Finding]:
    source = settings.qr.camera.strip()
    if not source:
        return [Finding("camera", OK, "no camera at this desk ([qr] camera is empty)")]
    if probes.agent_running is not None and probes.agent_running(settings):
        # The running agent holds the camera; opening it again would fail (or steal it) for nothing.
        return [Finding("camera", OK, f"camera {source} not opened: the running desk agent uses it")]
    opener = probes.open_camera or _open_configured_camera
    try:
        camera = opener(settings)
    except CameraUnavailableError as error:
        return [Finding("camera", FAIL, error.message, "doctor.fix.camera")]
    try:
        frames = 0
        for _ in range(CAMERA_FRAMES):
            if camera.read() is not None:
                frames += 1
    except CameraUnavailableError as error:
        return [Finding("camera", FAIL, error.message, "doctor.fix.camera")]
    finally:
        camera.close()
    if not frames:
        return [Finding("camera", FAIL, f"camera {source} opened but gave no picture", "doctor.fix.camera")]
    return [Finding("camera", OK, f"camera {source}: {frames} of {CAMERA_FRAMES} frames read")]


def _open_configured_camera(settings: Settings) -> Any:
    from agent.qr.camera import open_camera

    return open_camera(settings.qr.camera.strip(), width=settings.qr.width, height=settings.qr.height,
                       fps=settings.qr.fps)


def check_scanners(settings: Settings, probes: Probes) -> list[Finding]:
    """The serial QR scanner of ``[qr] serial_port``: opened and closed again, like the camera (not while
    the desk agent runs: it holds the port). A keyboard-wedge scanner needs no setting: it is tested by
    scanning at the desk page."""
    port = settings.qr.serial_port.strip()
    if not port:
        return [Finding("scanners", OK, "no serial QR scanner at this desk ([qr] serial_port is empty); a "
                        "keyboard-wedge scanner is tested by scanning at the desk page")]
    if probes.agent_running is not None and probes.agent_running(settings):
        return [Finding("scanners", OK, f"serial QR scanner {port} not opened: the running desk agent uses it")]
    opener = probes.open_scanner or _open_configured_scanner
    try:
        opener(settings)
    except CameraUnavailableError as error:  # ScannerUnavailableError
        return [Finding("scanners", FAIL, error.message, "doctor.fix.scanner")]
    return [Finding("scanners", OK, f"serial QR scanner {port} opened at {settings.qr.serial_baud} baud")]


def _open_configured_scanner(settings: Settings) -> None:
    from agent.qr.serial_port import probe_port

    probe_port(settings.qr.serial_port.strip(), baud=settings.qr.serial_baud)


# --- trust store ---------------------------------------------------------------------------------


def check_trust(settings: Settings, probes: Probes) -> list[Finding]:
    from agent.trust_files import load_trust_directory

    directory = settings.trust_dir()
    store, report = load_trust_directory(directory)
    now = probes.now()
    findings: list[Finding] = []
    certificates = store.certificates
    if not report.exists or not certificates:
        why = "does not exist" if not report.exists else "holds no usable CSCA certificate"
        findings.append(Finding("trust.cscas", FAIL, f"the trust store {directory} {why}: every chip will show "
                                "'trust anchor unknown'", "doctor.fix.trust_missing",
                                details={"directory": str(directory)}))
    else:
        countries = sorted({entry.certificate.subject.country or "?" for entry in certificates})
        findings.append(Finding("trust.cscas", OK, f"{len(certificates)} CSCA certificate(s) ({', '.join(countries)}) "
                                f"in {directory}", details={"directory": str(directory), "count": len(certificates)}))
        expiring = store.expiring(now, timedelta(days=settings.trust.expiry_warning_days))
        if expiring:
            first = expiring[0].certificate
            state = "expired" if first.not_after < now else "expires"
            findings.append(Finding(
                "trust.expiry", WARNING,
                f"{len(expiring)} CSCA certificate(s) expired or expiring within {settings.trust.expiry_warning_days} "
                f"days; first: {first.subject.text} {state} {first.not_after:%Y-%m-%d}", "doctor.fix.trust_expiring",
                details={"expiring": [{"subject": e.certificate.subject.text,
                                       "not_after": e.certificate.not_after.isoformat()} for e in expiring]}))
        else:
            findings.append(Finding("trust.expiry", OK,
                                    f"none expires within {settings.trust.expiry_warning_days} days"))
    lists = store.master_lists
    bad = [loaded for loaded in lists if not loaded.master_list.usable]
    if bad:
        reasons = "; ".join(f"{m.source}: {m.master_list.signature.reason or m.master_list.signer_chain.reason}"
                            for m in bad)
        findings.append(Finding("trust.master_lists", FAIL, f"{len(bad)} of {len(lists)} master list(s) not "
                                f"verified: {reasons}", "doctor.fix.master_list"))
    else:
        findings.append(Finding("trust.master_lists", OK, f"{len(lists)} master list(s), each verified"
                                if lists else "no master list (certificates loaded one by one)"))
    outdated = [trusted.source for trusted in store.crls if trusted.crl.outdated_at(now)]
    problems = [f"{problem.path}: {problem.problem}" for problem in report.problems]
    said = []
    if problems:
        said.append(f"{len(problems)} file(s) not used (first: {problems[0]})")
    if outdated:
        said.append(f"{len(outdated)} CRL(s) past their next update")
    if said:
        findings.append(Finding("trust.files", WARNING, "; ".join(said), "doctor.fix.trust_files",
                                details={"problems": problems, "outdated_crls": outdated}))
    else:
        findings.append(Finding("trust.files", OK, f"every file is used ({len(store.crls)} CRL(s))"))
    return findings


# --- backends --------------------------------------------------------------------------------------


class ClockWatch:
    """A session wrapper that notes the server's ``Date`` of every answer against the local clock at the
    middle of the exchange: the backends' clock skew comes for free with the calls made anyway."""

    def __init__(self, session: Any, clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.clock = clock
        self.samples: list[tuple[str, float]] = []  # (url, server - local seconds)

    def request(self, method: str, url: str, **options: Any) -> Any:
        sent = self.clock()
        response = self.session.request(method, url, **options)
        middle = (sent + self.clock()) / 2
        headers = getattr(response, "headers", None) or {}
        stamp = headers.get("Date") if hasattr(headers, "get") else None
        if stamp:
            with contextlib.suppress(TypeError, ValueError):
                self.samples.append((url, email.utils.parsedate_to_datetime(stamp).timestamp() - middle))
        return response


def check_backends(settings: Settings, probes: Probes) -> list[Finding]:
    from agent.checks.http import new_session
    from agent.wiring.production import build_backends

    # One attempt each, no breaker: the doctor reports what it sees now, quickly.
    quick = dataclasses.replace(settings, backends=dataclasses.replace(
        settings.backends, retries=0, breaker_failures=0,
        connect_timeout_s=min(settings.backends.connect_timeout_s, PROBE_TIMEOUT_S),
        read_timeout_s=min(settings.backends.read_timeout_s, PROBE_TIMEOUT_S)))
    watch = ClockWatch(probes.session or new_session())
    findings: list[Finding] = []
    try:
        backends = build_backends(quick, session=watch)
    except ConfigError as error:
        return [Finding("backend.insurance", FAIL, error.message, "doctor.fix.backend_url")]
    findings.append(_ask("backend.insurance", settings.backends.insurance_url, lambda: _insurance_call(backends)))
    findings.append(_ask("backend.licensing", settings.backends.licensing_url,
                         lambda: f"{len(backends.licensing.sessions())} exam session(s) listed"))
    findings.append(_clock_finding(watch.samples))
    return findings


def _insurance_call(backends: Any) -> str:
    """Log in where the insurance client has a login (the BHXH gateway's ``check_login``). Otherwise an
    authorised request to the service's root, which proves it reachable and the token accepted (anything
    but 401/403): no lookup of a made-up citizen may be sent to a real insurance service."""
    client = backends.insurance
    check_login = getattr(client, "check_login", None)
    if callable(check_login):
        check_login()
        return "reachable, login accepted"
    try:
        client.http.get("/", what="reachability probe")
    except BackendRejectedError as error:
        if error.status in (401, 403):
            raise
        return f"reachable, token accepted (HTTP {error.status} for the probe)"
    except BackendResponseError:
        pass  # it answered, not with JSON: reachable all the same
    return "reachable, token accepted"


def _ask(item: str, url: str, call: Callable[[], str]) -> Finding:
    where = {"url": _without_credentials(url)}
    try:
        summary = call()
    except BackendUnavailableError as error:
        return Finding(item, FAIL, f"cannot be reached: {error.message}", "doctor.fix.backend_unreachable", where)
    except BackendRejectedError as error:
        if error.status in (401, 403):
            return Finding(item, FAIL, f"refuses the agent's credentials: {error.message}",
                           "doctor.fix.backend_login", where)
        return Finding(item, FAIL, f"refuses the request: {error.message}", "doctor.fix.backend_url", where)
    except BackendResponseError as error:
        return Finding(item, FAIL, f"answers, but not as this backend: {error.message}",
                       "doctor.fix.backend_url", where)
    except (ConfigError, InvalidInputError) as error:  # the BHXH gateway refusing the facility account
        return Finding(item, FAIL, f"refuses the agent's credentials: {error.message}", "doctor.fix.backend_login",
                       where)
    return Finding(item, OK, f"{where['url']}: {summary}", details=where)


def _without_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest.split('?', 1)[0]}"


def _clock_finding(samples: list[tuple[str, float]]) -> Finding:
    if not samples:
        return Finding("backend.clock", WARNING, "no backend answered with its time: the clock is not checked",
                       "doctor.fix.clock_unknown")
    skew = max((s for _url, s in samples), key=abs)
    details = {"skew_s": round(skew, 1)}
    text = f"this PC's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} the backends'"
    if abs(skew) >= CLOCK_FAIL_S:
        return Finding("backend.clock", FAIL, text, "doctor.fix.clock", details)
    if abs(skew) >= CLOCK_WARNING_S:
        return Finding("backend.clock", WARNING, text, "doctor.fix.clock", details)
    return Finding("backend.clock", OK, f"within {max(1.0, abs(skew)):.0f} s of the backends' clock", details=details)


# --- keys, store, audit ----------------------------------------------------------------------------


def _key_sources(settings: Settings, probes: Probes) -> list[tuple[str, Any, Any]]:
    """(item, where the agent keeps the key, the key file) for the store key and the receipt key."""
    from agent.wiring.production import receipt_key_source, store_key_source
    from sync.keys import KeyFile

    return [
        ("keys.store", store_key_source(settings, platform=probes.platform, keyring_backend=probes.keyring_backend),
         KeyFile(settings.store_key_path())),
        ("keys.receipt", receipt_key_source(settings, platform=probes.platform,
                                            keyring_backend=probes.keyring_backend),
         KeyFile(settings.receipt_key_path(), what="receipt key")),
    ]


def _store_key(settings: Settings, probes: Probes) -> Any:
    """The store key's source to read it with, without writing anything: a key file not yet adopted into
    the keyring is read where it is (the agent's next start adopts it)."""
    _item, source, key_file = _key_sources(settings, probes)[0]
    if source is not key_file and not source.exists() and key_file.exists():
        return key_file
    return source


def check_keys(settings: Settings, probes: Probes) -> list[Finding]:
    from agent.wiring.production import uses_keyring

    findings: list[Finding] = []
    keyring = uses_keyring(settings, probes.platform)
    store_exists = settings.store_path().is_file()
    for item, source, key_file in _key_sources(settings, probes):
        if keyring and not source.exists():
            if key_file.exists():
                findings.append(Finding(item, WARNING, f"not yet in the {source.describe()}: the agent's next start "
                                        f"copies it from {key_file.path}", "doctor.fix.key_file_left"))
                continue
            source_for_missing = source
        elif not keyring and not key_file.exists():
            source_for_missing = key_file
        else:
            try:
                source.load(create=False)
            except StoreError as error:
                findings.append(Finding(item, FAIL, error.message, "doctor.fix.key_unreadable"))
                continue
            if keyring and key_file.exists():
                findings.append(Finding(item, WARNING, f"{source.describe()}; the key file {key_file.path} it came "
                                        "from is still on disk", "doctor.fix.key_file_left"))
            elif not keyring and probes.platform == "win32":
                findings.append(Finding(item, WARNING, f"{source.describe()}: on Windows only the folder's access "
                                        "rights protect it", "doctor.fix.key_file_windows"))
            else:
                findings.append(Finding(item, OK, source.describe()))
            continue
        needed = item == "keys.store" and store_exists
        if needed:
            findings.append(Finding(item, FAIL, f"{source_for_missing.describe()} is missing: the store cannot "
                                    "be opened", "doctor.fix.key_missing"))
        else:
            findings.append(Finding(item, OK, f"{source_for_missing.describe()}: not made yet (made on first use)"))
    return findings


def check_store(settings: Settings, probes: Probes) -> list[Finding]:
    from sync.migrations import LATEST_VERSION
    from sync.store import Store

    path = settings.store_path()
    if not path.is_file():
        return [Finding("store.integrity", OK, f"no store yet at {path} (made on the agent's first start)"),
                Finding("store.outbox", OK, "nothing queued")]
    key = _store_key(settings, probes)
    if not key.exists():
        return [Finding("store.integrity", FAIL, f"{path} cannot be opened: {key.describe()} is missing",
                        "doctor.fix.key_missing")]
    try:
        store = Store.open(path, key, busy_timeout_s=settings.store.busy_timeout_s)
    except StoreLockedError as error:
        return [Finding("store.integrity", WARNING, error.message, "doctor.fix.store_locked")]
    except StoreCorruptError as error:
        return [Finding("store.integrity", FAIL, error.message, "doctor.fix.store_corrupt")]
    except StoreError as error:
        newer = "newer agent" in error.message
        return [Finding("store.integrity", FAIL, error.message,
                        "doctor.fix.store_newer" if newer else "doctor.fix.store")]
    findings: list[Finding] = []
    with _closing(store):
        problems = store.database.integrity_problems()
        version = store.database.schema_version()
        size = path.stat().st_size
        if problems:
            findings.append(Finding("store.integrity", FAIL, f"{path}: {problems[0]}", "doctor.fix.store_corrupt",
                                    details={"problems": problems}))
        else:
            findings.append(Finding("store.integrity", OK, f"{path}: sound, schema {version} of {LATEST_VERSION}, "
                                    f"{size} bytes", details={"schema": version, "bytes": size}))
        findings.append(_outbox_finding(store.outbox.status(), probes.now()))
    return findings


@contextlib.contextmanager
def _closing(store: Any) -> Iterator[Any]:
    try:
        yield store
    finally:
        store.close()


def _outbox_finding(status: Any, now: datetime) -> Finding:
    details = status.to_json()
    counts = f"{status.pending} pending, {status.sent} sent, {status.failed} refused"
    if status.failed:
        return Finding("store.outbox", WARNING, f"{counts}: the backend refused some records"
                       + (f" ({status.last_error})" if status.last_error else ""), "doctor.fix.outbox_refused",
                       details)
    if status.pending and status.oldest_pending_at and now - status.oldest_pending_at > OLD_PENDING:
        return Finding("store.outbox", WARNING, f"{counts}; the oldest has waited since "
                       f"{status.oldest_pending_at:%Y-%m-%d %H:%M} UTC", "doctor.fix.outbox_stuck", details)
    return Finding("store.outbox", OK, counts, details=details)


def _recorded_audit_head(settings: Settings, probes: Probes) -> str | None:
    """The log's running head as the store recorded it (so that a log cut short is seen); None when the
    store cannot be opened now (its own finding says why)."""
    from sync.store import Store

    path = settings.store_path()
    key = _store_key(settings, probes)
    if not path.is_file() or not key.exists():
        return None
    try:
        store = Store.open(path, key, busy_timeout_s=settings.store.busy_timeout_s)
    except StoreError:
        return None
    with _closing(store):
        return store.audit_head.load()


def check_audit(settings: Settings, probes: Probes) -> list[Finding]:
    from agent.audit import AuditKeys, verify_log

    path = settings.audit_path()
    if not path.is_file():
        return [Finding("audit", OK, f"no audit log yet at {path}")]
    keys: AuditKeys | None
    try:
        keys = AuditKeys(_store_key(settings, probes).load(create=False))
    except StoreError:
        keys = None
    report = verify_log(path, keys, _recorded_audit_head(settings, probes))
    details = report.to_json()
    if report.first_problem is not None:
        problem = report.first_problem
        return [Finding("audit", FAIL, f"{path}: the chain breaks at line {problem.line}: {problem.problem}",
                        "doctor.fix.audit_broken", details)]
    if keys is None:
        return [Finding("audit", WARNING, f"{path}: {report.entries} entries chained; MACs not checked (no store key)",
                        "doctor.fix.key_missing", details)]
    return [Finding("audit", OK, f"{path}: {report.entries} entries, chain and MACs intact", details=details)]


# --- the report ------------------------------------------------------------------------------------


def worst(findings: Sequence[Finding]) -> str:
    statuses = {finding.status for finding in findings}
    return FAIL if FAIL in statuses else WARNING if WARNING in statuses else OK


def report_json(findings: Sequence[Finding], *, now: datetime) -> dict[str, Any]:
    return {"agent_version": __version__, "checked_at": now.isoformat(), "host": socket.gethostname(),
            "status": worst(findings), "counts": {s: sum(f.status == s for f in findings) for s in STATUSES},
            "items": [finding.to_json() for finding in findings]}


def report_lines(findings: Sequence[Finding]) -> Iterator[str]:
    labels = {OK: "  OK  ", WARNING: " WARN ", FAIL: " FAIL "}
    for finding in findings:
        key = f"doctor.item.{finding.item}"
        title = f"{messages.text(key, 'vi')} / {messages.text(key, 'en')}"
        yield f"[{labels[finding.status]}] {title}: {finding.summary}"
        if finding.fix:
            yield f"         {messages.text('doctor.fix_label', 'vi')}: {messages.text(finding.fix, 'vi')}"
            yield f"         {messages.text('doctor.fix_label', 'en')}: {messages.text(finding.fix, 'en')}"
    counts = {s: sum(f.status == s for f in findings) for s in STATUSES}
    yield messages.text("doctor.summary", "vi", **counts)
    yield messages.text("doctor.summary", "en", **counts)
