"""``python -m agent demo [--profile clinic|notary|exam] [--port N] [--token T]``: the whole desk on one
machine with no hardware, for a newcomer's first minute. It starts the mock backends (simulators.backends)
with a few demo citizens, puts simulated CCCDs on pcscd's virtual reader (vpcd) when the machine has pcscd
and the vpcd driver (starting pcscd itself when it is installed but not running and it may), or else
serves them in process and says so in a banner; starts the agent (card monitor, QR loop on a simulated
webcam, store, syncer, audit, local API) and the desk page; prints the address and the access token; then
cycles through the outcomes of the site kind. A clinic: a QR code scanned then the card tapped (verified),
insurance expired, no insurance card, a tampered card, a cloned card, and the backend going down (an
answer from cache, a "cannot check now") and coming back (the queued records delivered). A notary
office: the citizen's data typed (the desk's manual entry with extra fields) then the card tapped, the
chip agreeing with what was typed or not (the difference flagged, the chip data kept), a tampered card,
a cloned card, each verification receipt saved in the data directory. An exam centre: candidates of
today's session (seeded by the mock backends) checked in, one of them again ("already checked in"),
someone not on the roster, a tampered card, and the licensing backend going down (check-in from the
roster kept offline) and coming back.

Ctrl-C or SIGTERM stops everything it started, child processes by pid. Like agent/app.py this is
composition code: the one place, with agent/simulated_reader.py, where the agent meets the simulators.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from agent.commands.serve import announce, port_number
from agent.errors import AgentError, CardRemovedError, ConfigError
from agent.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEMO_PORT = 8780
BACKEND_TOKEN = "demo-backend-token"  # noqa: S105 - the mock backends' token, loopback only
STEP_S = 5.0
RESULT_TIMEOUT_S = 15.0
PCSCD_START_TIMEOUT_S = 6.0
REMOVAL_TIMEOUT_S = 3.0
PCSCD_PATHS = ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd")
IN_PROCESS_READER = "Đầu đọc mô phỏng / Simulated reader (in-process)"
FRAME_SIZE = (640, 480)
CAMERA_FPS = 10.0

SIMULATOR_AUTO = "auto"
SIMULATOR_PCSC = "pcsc"
SIMULATOR_IN_PROCESS = "in-process"


@dataclasses.dataclass(frozen=True)
class Citizen:
    """One demo citizen: who (a simulator person), which card (a simulator profile), which insurance."""

    label: str
    person_index: int
    card_profile: str
    insurance: str | None  # "valid" | "expired" | None (no card: not_found)
    on_roster: bool = False  # a candidate of today's exam session
    typed: str = ""  # at a notary: TYPED_MATCHING or TYPED_WRONG_BIRTH_DATE


TYPED_MATCHING = "matching"
TYPED_WRONG_BIRTH_DATE = "wrong-birth-date"

CAST = (
    Citizen("insured", 0, "normal", "valid"),
    Citizen("expired", 1, "normal", "expired"),
    Citizen("uninsured", 2, "normal", None),
    Citizen("tampered", 3, "tampered-dg13", "valid"),
    Citizen("clone", 4, "clone", "valid"),
    Citizen("new_while_offline", 5, "normal", "valid"),
)

# (what the console says, the action): one outcome every STEP_S seconds, all of them within a minute.
STEPS = (
    ("QR code of an insured citizen shown to the camera", ("qr", "insured")),
    ("the same citizen taps the card (the QR gave the chip key)", ("tap", "insured")),
    ("a citizen whose insurance expired taps the card", ("tap", "expired")),
    ("a citizen with no insurance card taps the card", ("tap", "uninsured")),
    ("a card whose chip data was altered (DG13 tampered)", ("tap", "tampered")),
    ("a cloned card (data copied, chip keys do not match)", ("tap", "clone")),
    ("the insurance backend goes down", ("backend", "down")),
    ("the insured citizen taps again: answered from cache", ("tap", "insured")),
    ("a citizen never seen before taps: cannot check now", ("tap", "new_while_offline")),
    ("the backend comes back: the queued records are delivered", ("backend", "up")),
)

NOTARY_CAST = (
    Citizen("matching", 0, "normal", None, typed=TYPED_MATCHING),
    Citizen("differing", 1, "normal", None, typed=TYPED_WRONG_BIRTH_DATE),
    Citizen("tampered", 3, "tampered-dg13", None, typed=TYPED_MATCHING),
    Citizen("clone", 4, "clone", None, typed=TYPED_MATCHING),
)

NOTARY_STEPS = (
    ("the notary types a citizen's ID number, name, date of birth and sex; the citizen taps the card",
     ("typed_tap", "matching")),
    ("the notary mistypes the date of birth; the citizen taps the card: the difference is flagged",
     ("typed_tap", "differing")),
    ("a card whose chip data was altered (DG13 tampered)", ("typed_tap", "tampered")),
    ("a cloned card (data copied, chip keys do not match)", ("typed_tap", "clone")),
)

EXAM_CAST = (
    Citizen("candidate_1", 0, "normal", None, on_roster=True),
    Citizen("candidate_2", 1, "normal", None, on_roster=True),
    Citizen("not_on_roster", 2, "normal", None),
    Citizen("tampered", 3, "tampered-dg13", None, on_roster=True),
    Citizen("candidate_3", 5, "normal", None, on_roster=True),
)

# From the second round on the same candidates are "already checked in": one check-in per session.
EXAM_STEPS = (
    ("a candidate on today's roster taps the card", ("tap", "candidate_1")),
    ("another candidate on the roster taps the card", ("tap", "candidate_2")),
    ("the first candidate taps again: already checked in", ("tap", "candidate_1")),
    ("someone not on this session's roster taps the card", ("tap", "not_on_roster")),
    ("a card whose chip data was altered (DG13 tampered)", ("tap", "tampered")),
    ("the licensing backend goes down", ("backend", "down")),
    ("a third candidate taps: answered from the roster kept offline", ("tap", "candidate_3")),
    ("the backend comes back: the queued check-ins are delivered", ("backend", "up")),
)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """What the demo plays at one site kind: who takes part and the steps of one round."""

    cast: tuple[Citizen, ...]
    steps: tuple[tuple[str, tuple[str, str]], ...]


SCENARIOS = {
    "clinic": Scenario(CAST, STEPS),
    "notary": Scenario(NOTARY_CAST, NOTARY_STEPS),
    "exam": Scenario(EXAM_CAST, EXAM_STEPS),
}
DEFAULT_PROFILE = "clinic"
RECEIPTS_DIR = "receipts"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("demo", parents=[common], help="the desk with simulated cards and backends")
    parser.add_argument("--profile", choices=tuple(SCENARIOS), default=DEFAULT_PROFILE,
                        help=f"site kind whose outcomes are played (default {DEFAULT_PROFILE})")
    parser.add_argument("--port", type=port_number, default=DEMO_PORT,
                        help=f"desk page / API port on 127.0.0.1 (default {DEMO_PORT}; 0 = any free port)")
    parser.add_argument("--token", help="access token (default: a new one)")
    parser.add_argument("--backend-port", type=port_number, default=0, help="mock backends port (default: free)")
    parser.add_argument("--simulator", choices=(SIMULATOR_AUTO, SIMULATOR_PCSC, SIMULATOR_IN_PROCESS),
                        default=SIMULATOR_AUTO, help="where the simulated card sits (default: pcscd+vpcd if present)")
    parser.add_argument("--step-seconds", type=float, default=STEP_S, help=f"pause between outcomes (default {STEP_S})")
    parser.add_argument("--cycles", type=int, default=0, help="stop cycling after N rounds (default: never)")
    parser.add_argument("--keep-data", action="store_true", help="keep the demo's store and audit log on exit")
    parser.set_defaults(handler=run)


# --- the simulated desk hardware -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _CardEvent:
    kind: str
    reader: str


class SimulatedDesk:
    """An in-process reader for the agent (the Readers shape of agent.app): ``put_card`` is a tap."""

    mode = SIMULATOR_IN_PROCESS

    def __init__(self, reader_name: str = IN_PROCESS_READER) -> None:
        self.reader_name = reader_name
        self.events: queue.Queue[Any] = queue.Queue()
        self._card: Any = None
        self._lock = threading.Lock()

    def put_card(self, card: Any) -> None:
        with self._lock:
            self._card = card
        self.events.put(_CardEvent("inserted", self.reader_name))

    def remove_card(self) -> None:
        with self._lock:
            self._card = None
        self.events.put(_CardEvent("removed", self.reader_name))

    def connect(self, reader: str) -> Any:
        from simulators.card.transport import InProcessTransport

        with self._lock:
            card = self._card
        if card is None:
            raise CardRemovedError("no card on the simulated reader")
        return InProcessTransport(card)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def statuses(self) -> dict[str, Any]:
        with self._lock:
            present = self._card is not None
        return {"state": "ok", "simulated": True,
                "readers": [{"name": self.reader_name, "card_present": present, "contactless": True}]}


class _EstimatingTransport:
    """A PC/SC transport to a simulated card that also reports the link model's time estimate."""

    def __init__(self, inner: Any, card: Any) -> None:
        self.inner = inner
        self.card = card
        self.reader = getattr(inner, "reader", "")

    def transmit(self, apdu: bytes) -> Any:
        return self.inner.transmit(apdu)

    @property
    def link_estimate_ms(self) -> float:
        return float(self.card.link_estimate_ms)

    def close(self) -> None:
        self.inner.close()


class VpcdDesk:
    """The simulated card on pcscd's virtual reader: the agent reads it through pyscard like a real one."""

    mode = SIMULATOR_PCSC

    def __init__(self, settings: Settings, reader_name: str, port: int) -> None:
        from agent.app import PcscReaders
        from simulators.card.vpcd import VpcdBridge

        self.reader_name = reader_name
        self.pcsc = PcscReaders(dataclasses.replace(settings, reader=dataclasses.replace(settings.reader,
                                                                                         name=reader_name)))
        self.events = self.pcsc.events
        self.bridge = VpcdBridge(_NoCard(), port=port, inserted=False)

    def put_card(self, card: Any) -> None:
        self.bridge.insert(card=card)

    def remove_card(self) -> None:
        """Take the card away and wait until pcscd has seen it go (it polls vpcd about every 0.4 s): a
        card put back sooner would look to pcscd as if it had never left, and no tap would be seen."""
        self.bridge.remove()
        deadline = time.monotonic() + REMOVAL_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                readers = self.pcsc.system.readers()
            except AgentError:
                return
            if not any(r.name == self.reader_name and r.card_present for r in readers):
                return
            time.sleep(0.02)

    def connect(self, reader: str) -> Any:
        return _EstimatingTransport(self.pcsc.connect(reader), self.bridge.card)

    def start(self) -> None:
        self.bridge.start()
        self.pcsc.start()

    def stop(self) -> None:
        self.pcsc.stop()
        self.bridge.stop()

    def statuses(self) -> dict[str, Any]:
        return {**self.pcsc.statuses(), "simulated": True}


class _NoCard:
    def power_on(self) -> bytes:
        raise AgentError("no card yet")

    def process(self, apdu: bytes) -> bytes:
        return b"\x6f\x00"


class DemoCamera:
    """A simulated webcam: an empty grey desk, or the card's QR code held in front of it."""

    def __init__(self, size: tuple[int, int] = FRAME_SIZE, fps: float = CAMERA_FPS) -> None:
        self.width, self.height = size
        self.interval = 1.0 / fps
        self._blank = np.full((self.height, self.width), 170, dtype=np.uint8)
        self._frame = self._blank
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        from simulators.camera.qr_image import render_qr

        symbol = render_qr(text, module_px=5)
        frame = self._blank.copy()
        top = max(0, (self.height - symbol.shape[0]) // 2)
        left = max(0, (self.width - symbol.shape[1]) // 2)
        part = symbol[: self.height - top, : self.width - left]
        frame[top : top + part.shape[0], left : left + part.shape[1]] = part
        with self._lock:
            self._frame = frame

    def clear(self) -> None:
        with self._lock:
            self._frame = self._blank

    def read(self) -> np.ndarray:
        time.sleep(self.interval)
        with self._lock:
            return self._frame

    def close(self) -> None:
        pass  # the same camera is opened again when the QR loop restarts


# --- pcscd -------------------------------------------------------------------------------------------


def start_pcscd(work: Path, say: Callable[[str], None]) -> subprocess.Popen[bytes] | None:
    """Start pcscd in the foreground as our child when it is installed and not running (root only)."""
    binary = shutil.which("pcscd") or next((p for p in PCSCD_PATHS if os.path.exists(p)), None)
    if binary is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    log_file = (work / "pcscd.log").open("wb")
    try:
        process = subprocess.Popen([binary, "-f"], stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    finally:
        log_file.close()
    say(f"[demo] started pcscd (pid {process.pid})")
    return process


def stop_child(process: subprocess.Popen[bytes], name: str, say: Callable[[str], None]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    say(f"[demo] stopped {name} (pid {process.pid})")


def find_vpcd_slot(deadline: float) -> tuple[str, int] | None:
    """A free vpcd slot (the last one: tests use the first), waiting until ``deadline`` for pcscd."""
    from agent.simulated_reader import free_vpcd_slots

    while True:
        slots = free_vpcd_slots()
        if slots:
            return sorted(slots)[-1]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def pcsc_available() -> bool:
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return False
    return True


# --- the demo's world ---------------------------------------------------------------------------------


def demo_people(seed: bytes | None = None, profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    from simulators.card.people import DEFAULT_SEED, make_person

    return {c.label: make_person(seed or DEFAULT_SEED, c.person_index) for c in SCENARIOS[profile].cast}


def demo_card(citizen: Citizen, seed: bytes | None = None) -> Any:
    from simulators.card.card import SimulatedCard
    from simulators.card.people import DEFAULT_SEED, make_person
    from simulators.card.personalise import personalise
    from simulators.card.profiles import get_profile

    chosen = seed or DEFAULT_SEED
    profile = dataclasses.replace(get_profile(citizen.card_profile), person_index=citizen.person_index)
    return SimulatedCard(personalise(make_person(chosen, citizen.person_index), profile, seed=chosen))


def demo_world(people: dict[str, Any], seed: int = 2024, profile: str = DEFAULT_PROFILE) -> Any:
    """The mock backends' seeded world plus the demo citizens, the insurance each should have and,
    for an exam centre, the demo candidates added to the roster of today's seeded session."""
    from datetime import date

    from simulators.backends.data import Candidate, InsuranceCard, build_world
    from simulators.backends.data import Citizen as WorldCitizen

    world = build_world(seed, today=date.today(), population=500, sessions=2, session_size=50)
    citizens = dict(world.citizens)
    cards = dict(world.cards)
    sessions = dict(world.sessions)
    today_session = min(sessions.values(), key=lambda s: s.exam_date)  # the seeded sessions start today
    candidates = list(today_session.candidates)
    for number, citizen in enumerate(SCENARIOS[profile].cast):
        person = people[citizen.label]
        province = person.id_number[1:3]
        citizens[person.id_number] = WorldCitizen(person.id_number, person.full_name, person.date_of_birth,
                                                  person.sex_vi, person.permanent_residence, province)
        cards.pop(person.id_number, None)
        candidates = [c for c in candidates if c.id_number != person.id_number]
        if citizen.on_roster:
            candidates.append(Candidate(f"{today_session.licence_class}-{len(candidates) + 1:04d}", person.id_number,
                                        person.full_name, person.date_of_birth, today_session.licence_class))
        if citizen.insurance is None:
            continue
        local = [f for f in world.facilities if f.code.startswith(province)] or list(world.facilities)
        valid_to = world.today + (timedelta(days=300) if citizen.insurance == "valid" else timedelta(days=-40))
        cards[person.id_number] = InsuranceCard(
            person.id_number, f"GD4{province}{province}{number + 1:08d}", valid_to - timedelta(days=364), valid_to,
            4, local[0])
    sessions[today_session.session_id] = dataclasses.replace(today_session, candidates=tuple(candidates))
    return dataclasses.replace(world, citizens=citizens, cards=cards, sessions=sessions)


def demo_settings(config: str | None, work: Path, backends: Any, *, port: int = DEMO_PORT,
                  profile: str = DEFAULT_PROFILE) -> Settings:
    # The profile is named as the environment would name it, so that its file (config/<profile>.toml)
    # is layered in as for a real site; the command line still wins over everything.
    environ = {**os.environ, "CCCD_AGENT__SITE__PROFILE": profile}
    return load_settings(config, environ=environ, overrides={
        "site": {"profile": profile, "site_id": f"demo-{profile}", "operator": "demo-receptionist"},
        "backends": {"insurance_url": backends.insurance_url, "licensing_url": backends.licensing_url,
                     "token": BACKEND_TOKEN, "retries": 1, "connect_timeout_s": 0.5, "read_timeout_s": 1.0,
                     "breaker_failures": 2, "breaker_reset_s": 3.0},
        "store": {"path": str(work / "agent.sqlite3"), "key_file": str(work / "keys" / "store.key")},
        "trust": {"csca_dir": str(work / "trust")},
        "audit": {"path": str(work / "audit.jsonl")},
        "sync": {"interval_s": 2.0},
        "api": {"port": port or DEMO_PORT},
        "qr": {"camera": ""},
    })


@dataclasses.dataclass
class SimulatedSite:
    """A running desk on simulated hardware: the agent (started), its API server (bound, not yet
    serving), the simulated reader and camera, the mock backends and the demo citizens' cards."""

    agent: Any
    server: Any
    desk: Any
    camera: DemoCamera
    backends: Any
    people: dict[str, Any]
    cards: dict[str, Any]
    work: Path
    profile: str = DEFAULT_PROFILE

    def tap(self, label: str, *, timeout: float = RESULT_TIMEOUT_S, arm: bool = True) -> Any:
        """Put a citizen's card on the reader (with its key, as if typed), wait for the outcome, remove it."""
        person = self.people[label]
        hint = self.agent.service.current_hint()
        if arm and (hint is None or hint.id_number != person.id_number):
            self.agent.service.expect_card(person.id_number, origin="demo")
        reads = self.agent.worker.reads
        self.desk.put_card(self.cards[label])
        try:
            _wait_until(lambda: self.agent.worker.reads > reads, timeout)
        finally:
            self.desk.remove_card()
        return self.agent.service.latest()

    def type_details(self, label: str, *, wrong_birth_date: bool = False) -> Any:
        """What the desk's manual entry with extra fields does: the ID number and the citizen's details
        as typed (a notary keeps them to compare with the chip on the next tap)."""
        person = self.people[label]
        born = person.date_of_birth
        if wrong_birth_date:  # a slip of one day, in the same year so that the ID number still agrees
            born = born + timedelta(days=1 if (born.month, born.day) != (12, 31) else -1)
        entered = {"full_name": person.full_name, "date_of_birth": born.isoformat(), "sex": person.sex_vi}
        return self.agent.service.verify_manual(person.id_number, entered)

    def save_receipt(self, result_id: str) -> Path | None:
        """The verification receipt of a result, as the desk downloads it, kept in the data directory."""
        receipt = self.agent.service.receipt(result_id)
        if receipt is None:
            return None
        folder = self.work / RECEIPTS_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"receipt-{result_id}.json"
        path.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")
        return path


def _wait_until(condition: Callable[[], bool], timeout: float, stop: threading.Event | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or (stop is not None and stop.is_set()):
            return False
        time.sleep(0.01)
    return True


@contextlib.contextmanager
def simulated_site(work: Path, *, port: int = 0, token: str | None = None, backend_port: int = 0,
                   simulator: str = SIMULATOR_IN_PROCESS, config: str | None = None,
                   profile: str = DEFAULT_PROFILE,
                   say: Callable[[str], None] = lambda _text: None) -> Iterator[SimulatedSite]:
    """Start a desk on simulated hardware in ``work``; stop everything (children by pid) on exit."""
    from agent.api.server import LoopbackServer
    from agent.app import build_agent, frame_codes
    from agent.messages import both
    from agent.simulated_reader import simulator_trust_dir
    from simulators.backends.server import MockBackends

    if profile not in SCENARIOS:
        raise ConfigError(f"expected one of {', '.join(SCENARIOS)}", key="--profile")
    children: list[tuple[subprocess.Popen[bytes], str]] = []
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(_stop_children, children, say)
        simulator_trust_dir(work / "trust")
        cast = SCENARIOS[profile].cast
        people = demo_people(profile=profile)
        backends = MockBackends(token=BACKEND_TOKEN, port=backend_port,
                                world=demo_world(people, profile=profile)).start()
        cleanup.callback(backends.stop)
        say(f"[demo] mock backends on {backends.url} (insurance and licensing)")
        settings = demo_settings(config, work, backends, port=port, profile=profile)
        desk: Any = None
        if simulator != SIMULATOR_IN_PROCESS and pcsc_available():
            slot = find_vpcd_slot(time.monotonic())
            if slot is None:
                process = start_pcscd(work, say)
                if process is not None:
                    children.append((process, "pcscd"))
                    slot = find_vpcd_slot(time.monotonic() + PCSCD_START_TIMEOUT_S)
            if slot is not None:
                desk = VpcdDesk(settings, *slot)
                say(f"[demo] simulated cards on the PC/SC virtual reader {slot[0]!r} (vpcd port {slot[1]})")
        if desk is None:
            if simulator == SIMULATOR_PCSC:
                raise ConfigError("no free vpcd reader: install pcscd and vsmartcard-vpcd (or run as root)",
                                  key="--simulator")
            desk = SimulatedDesk()
            say("=" * 78)
            say(both("desk.simulator_banner"))
            say("=" * 78)
        camera = DemoCamera()
        banners = ["desk.demo_banner"] + (["desk.simulator_banner"] if desk.mode == SIMULATOR_IN_PROCESS else [])
        agent = build_agent(settings, token=token, readers=desk, qr_codes=frame_codes(lambda: camera),
                            page_config={"demo": True, "banners": banners, "simulator": desk.mode})
        cleanup.callback(agent.close)
        server = LoopbackServer(agent.api, host=settings.api.host, port=port, on_stop=agent.service.hub.close)
        cleanup.callback(server.stop)
        agent.start()
        cards = {c.label: demo_card(c) for c in cast}
        yield SimulatedSite(agent, server, desk, camera, backends, people, cards, work, profile)


def _stop_children(children: list[tuple[subprocess.Popen[bytes], str]], say: Callable[[str], None]) -> None:
    for process, name in reversed(children):
        stop_child(process, name, say)


# --- the cycle ------------------------------------------------------------------------------------------


class DemoDriver:
    """Plays the steps of the site's scenario, one every ``step_s`` seconds, until stopped."""

    def __init__(self, site: SimulatedSite, *, step_s: float, cycles: int, say: Callable[[str], None]) -> None:
        self.site = site
        self.agent = site.agent
        self.step_s = step_s
        self.cycles = cycles
        self.say = say
        self.scenario = SCENARIOS[site.profile]
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-driver", daemon=True)
        self.outcomes: list[str] = []

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(RESULT_TIMEOUT_S + 5)

    def _run(self) -> None:
        cycle = 0
        try:
            while not self.stop_event.is_set() and (not self.cycles or cycle < self.cycles):
                cycle += 1
                for number, (text, action) in enumerate(self.scenario.steps, start=1):
                    if self.stop_event.wait(self.step_s if number > 1 or cycle > 1 else 1.0):
                        return
                    self.say(f"[demo] {cycle}.{number} {text}")
                    outcome = self._act(action)
                    self.outcomes.append(outcome)
                    self.say(f"[demo]      -> {outcome}")
            self.say("[demo] cycles done; the desk keeps running (Ctrl-C to stop)")
        except Exception:  # the demo's own bug must not take the desk down
            log.exception("the demo cycle failed")

    def _act(self, action: tuple[str, str]) -> str:
        kind, what = action
        if kind == "qr":
            return self._show_qr(what)
        if kind == "typed_tap":
            citizen = next(c for c in self.scenario.cast if c.label == what)
            self.site.type_details(what, wrong_birth_date=citizen.typed == TYPED_WRONG_BIRTH_DATE)
            return self._tap(what)
        if kind == "tap":
            return self._tap(what)
        backends = self.site.backends
        if what == "down":
            backends.set_faults(down=True)
            return "backend down"
        backends.clear_faults()
        sync = self.agent.sync_loop
        sync.wake()
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while time.monotonic() < deadline and not self.stop_event.is_set():
            if self.agent.store.outbox_status().pending == 0:
                break
            sync.wake()
            self.stop_event.wait(0.5)
        status = self.agent.store.outbox_status()
        return f"backend up; records pending: {status.pending}, sent: {status.sent}"

    def _tap(self, label: str) -> str:
        before = self._latest_id()
        self.site.tap(label)
        state = self.agent.service.reader_state
        if state.get("state") == "error":
            return f"read failed: {state.get('message_key')}"
        outcome = self._describe()
        latest = self.agent.service.latest()
        if self.site.profile == "notary" and latest is not None and latest.result_id != before:
            saved = self.site.save_receipt(latest.result_id)
            if saved is not None:
                outcome += f"; receipt saved: {saved.relative_to(self.site.work)}"
        return outcome

    def _show_qr(self, label: str) -> str:
        before = self._latest_id()
        self.site.camera.show(self.site.people[label].qr_text())
        try:
            _wait_until(lambda: self._latest_id() != before, RESULT_TIMEOUT_S, self.stop_event)
        finally:
            self.stop_event.wait(1.0)
            self.site.camera.clear()
        return self._describe()

    def _latest_id(self) -> str | None:
        latest = self.agent.service.latest()
        return latest.result_id if latest else None

    def _describe(self) -> str:
        latest = self.agent.service.latest()
        if latest is None:
            return "no result"
        result = latest.result
        check = result.checks[0] if result.checks else None
        extra = f", {check.kind} {check.status}{' (from cache)' if check.from_cache else ''}" if check else ""
        if "reason.already_checked_in" in result.reasons:
            extra += ", already checked in"
        comparison = (check.details.get("comparison") or []) if check else []
        if comparison:
            # Field names only: the typed and chip values are personal data.
            differing = [row["field"] for row in comparison if not row["same"]]
            extra += f", typed fields: {len(comparison) - len(differing)} same"
            extra += f", {len(differing)} differ ({', '.join(differing)})" if differing else ""
        return f"{result.source} {result.verdict}{extra}, authenticity {latest.badge}"


# --- the command ------------------------------------------------------------------------------------------


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, settings: Settings) -> int:
    def say(text: str) -> None:
        print(text, flush=True)

    if args.step_seconds <= 0:
        raise ConfigError("must be greater than zero", key="--step-seconds")
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)  # until uvicorn takes the signals over
    work = Path(tempfile.mkdtemp(prefix="cccd-demo-"))
    try:
        with simulated_site(work, port=args.port, token=args.token, backend_port=args.backend_port,
                            simulator=args.simulator, config=getattr(args, "config", None),
                            profile=args.profile, say=say) as site:
            driver = DemoDriver(site, step_s=args.step_seconds, cycles=args.cycles, say=say)
            try:
                announce(site.server.url, site.agent.token, f"{args.profile}, demo")
                say(f"[demo] data in {work}" + ("" if args.keep_data else " (removed on exit)"))
                driver.start()
                site.server.run()
            finally:
                say("[demo] stopping")
                driver.stop()
    except KeyboardInterrupt:
        say("[demo] stopping")
    finally:
        _remove_work(work, args.keep_data, say)
        signal.signal(signal.SIGTERM, previous_term)
    say("[demo] stopped")
    return 0


def _remove_work(work: Path, keep: bool, say: Callable[[str], None]) -> None:
    if keep:
        say(f"[demo] data kept in {work}")
        return
    shutil.rmtree(work, ignore_errors=True)
