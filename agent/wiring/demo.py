"""The demo's world (docs/architecture.md "Where to change what"): the mock backends with a few demo
citizens, their simulated cards, a desk on simulated hardware (:func:`simulated_site`: the agent with a
simulated reader and webcam from :mod:`agent.wiring.simulated`, its API server, the mock backends) and
the scripted outcomes of each kind of site (:class:`DemoDriver`).

A clinic: a QR code scanned then the card tapped (verified), insurance expired, no insurance card, a
tampered card, a cloned card, and the backend going down (an answer from cache, a "cannot check now")
and coming back (the queued records delivered). A notary office: the citizen's data typed (the desk's
manual entry with extra fields) then the card tapped, the chip agreeing with what was typed or not (the
difference flagged, the chip data kept), a tampered card, a cloned card, each verification receipt saved
in the data directory. An exam centre: candidates of today's session (seeded by the mock backends)
checked in, one of them again ("already checked in"), someone not on the roster, a tampered card, and the
licensing backend going down (check-in from the roster kept offline) and coming back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models import SiteKind
from agent.service.state import READER_ERROR
from agent.settings import Settings, load_settings
from agent.wiring.production import Agent, build_agent, frame_codes
from agent.wiring.simulated import (
    MODE_IN_PROCESS,
    DemoCamera,
    InProcessDesk,
    VpcdDesk,
    simulator_trust_dir,
    stop_child,
    vpcd_or_start_pcscd,
)

log = logging.getLogger(__name__)

DEMO_PORT = 8780
BACKEND_TOKEN = "demo-backend-token"  # noqa: S105 - the mock backends' token, loopback only
STEP_S = 5.0
RESULT_TIMEOUT_S = 15.0

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
    saves_receipts: bool = False  # each chip result's receipt kept in the data directory, as a notary does


SCENARIOS = {
    SiteKind.CLINIC: Scenario(CAST, STEPS),
    SiteKind.NOTARY: Scenario(NOTARY_CAST, NOTARY_STEPS, saves_receipts=True),
    SiteKind.EXAM: Scenario(EXAM_CAST, EXAM_STEPS),
}
DEFAULT_PROFILE = SiteKind.CLINIC
RECEIPTS_DIR = "receipts"


# --- the demo's world ---------------------------------------------------------------------------------


def demo_people(seed: bytes | None = None, profile: SiteKind | str = DEFAULT_PROFILE) -> dict[str, Any]:
    from simulators.card.people import DEFAULT_SEED, make_person

    return {c.label: make_person(seed or DEFAULT_SEED, c.person_index) for c in SCENARIOS[SiteKind(profile)].cast}


def demo_card(citizen: Citizen, seed: bytes | None = None) -> Any:
    from simulators.card.card import SimulatedCard
    from simulators.card.people import DEFAULT_SEED, make_person
    from simulators.card.personalise import personalise
    from simulators.card.profiles import get_profile

    chosen = seed or DEFAULT_SEED
    profile = dataclasses.replace(get_profile(citizen.card_profile), person_index=citizen.person_index)
    return SimulatedCard(personalise(make_person(chosen, citizen.person_index), profile, seed=chosen))


def demo_world(people: dict[str, Any], seed: int = 2024, profile: SiteKind | str = DEFAULT_PROFILE) -> Any:
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
    for number, citizen in enumerate(SCENARIOS[SiteKind(profile)].cast):
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


def demo_operators(work: Path) -> Path:
    """The demo desk's operators file: the one staff member the mock gateway has on its registered list
    (one operator: signed in automatically)."""
    from simulators.backends.gateway import DEFAULT_STAFF

    cccd, name = next(iter(DEFAULT_STAFF.items()))
    path = work / "operators.toml"
    path.write_text(f'[[operator]]\nname = "{name}"\ncccd = "{cccd}"\n', encoding="utf-8")
    return path


def demo_settings(config: str | None, work: Path, backends: Any, *, port: int = DEMO_PORT,
                  profile: SiteKind | str = DEFAULT_PROFILE, operators_file: Path | None = None) -> Settings:
    """A desk of ``profile`` in ``work`` against the mock backends, the clinic on the BHXH gateway's own
    dialect with its check-ins going to the mock HIS webhook."""
    from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_USERNAME

    # The profile is named as the environment would name it, so that its file (agent/config/<profile>.toml)
    # is layered in as for a real site; the command line still wins over everything.
    environ = {**os.environ, "CCCD_AGENT__SITE__PROFILE": profile}
    return load_settings(config, environ=environ, overrides={
        "site": {"profile": profile, "site_id": f"demo-{profile}", "operator": "demo-receptionist",
                 "operators_file": str(operators_file or demo_operators(work))},
        "backends": {"insurance_url": backends.insurance_url, "licensing_url": backends.licensing_url,
                     "token": BACKEND_TOKEN, "retries": 1, "connect_timeout_s": 0.5, "read_timeout_s": 1.0,
                     "breaker_failures": 2, "breaker_reset_s": 3.0,
                     "insurance_protocol": "bhxh-egw-2024", "bhxh_url": backends.gateway_url,
                     "bhxh_username": DEFAULT_USERNAME, "bhxh_password": DEFAULT_PASSWORD},
        "his": {"webhook_url": backends.his_url, "webhook_token": BACKEND_TOKEN},
        # Key files in the demo's own folder, on Windows too: the demo never touches the desk's keyring.
        "store": {"path": str(work / "agent.sqlite3"), "key_file": str(work / "keys" / "store.key"),
                  "key_source": "file"},
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

    agent: Agent
    server: Any
    desk: InProcessDesk | VpcdDesk
    camera: DemoCamera
    backends: Any
    people: dict[str, Any]
    cards: dict[str, Any]
    work: Path
    profile: SiteKind | str = DEFAULT_PROFILE

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
                   profile: SiteKind | str = DEFAULT_PROFILE, operators_file: Path | None = None,
                   say: Callable[[str], None] = lambda _text: None) -> Iterator[SimulatedSite]:
    """Start a desk on simulated hardware in ``work``; stop everything (children by pid) on exit.
    ``operators_file`` replaces the demo's single operator (who is signed in automatically)."""
    from agent.api.server import LoopbackServer
    from agent.messages import both
    from simulators.backends.server import MockBackends

    if profile not in SCENARIOS:
        raise ConfigError(f"expected one of {', '.join(SCENARIOS)}", key="--profile")
    children: list[tuple[subprocess.Popen[bytes], str]] = []
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(_stop_children, children, say)
        simulator_trust_dir(work / "trust")
        cast = SCENARIOS[SiteKind(profile)].cast
        people = demo_people(profile=profile)
        backends = MockBackends(token=BACKEND_TOKEN, port=backend_port,
                                world=demo_world(people, profile=profile)).start()
        cleanup.callback(backends.stop)
        for person in people.values():  # the demo's own citizens answer as their cards say, nothing more
            backends.gateway.classes.pop(person.id_number, None)
        say(f"[demo] mock backends on {backends.url} (BHXH gateway, HIS webhook, licensing)")
        settings = demo_settings(config, work, backends, port=port, profile=profile, operators_file=operators_file)
        desk: InProcessDesk | VpcdDesk | None = None
        if simulator != SIMULATOR_IN_PROCESS:
            desk = vpcd_or_start_pcscd(settings, work, say, children)
        if desk is None:
            if simulator == SIMULATOR_PCSC:
                raise ConfigError("no free vpcd reader: install pcscd and vsmartcard-vpcd (or run as root)",
                                  key="--simulator")
            desk = InProcessDesk()
            say("=" * 78)
            say(both("desk.simulator_banner"))
            say("=" * 78)
        camera = DemoCamera()
        banners = ["desk.demo_banner"] + (["desk.simulator_banner"] if desk.mode == MODE_IN_PROCESS else [])
        agent = build_agent(settings, token=token, cards=desk, qr_codes=frame_codes(lambda: camera),
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
        self.scenario = SCENARIOS[SiteKind(site.profile)]
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
        sync = self.agent.sync_thread
        sync.wake()
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while time.monotonic() < deadline and not self.stop_event.is_set():
            if self.agent.store.outbox.status().pending == 0:
                break
            sync.wake()
            self.stop_event.wait(0.5)
        status = self.agent.store.outbox.status()
        return f"backend up; records pending: {status.pending}, sent: {status.sent}"

    def _tap(self, label: str) -> str:
        before = self._latest_id()
        self.site.tap(label)
        state = self.agent.service.reader_state
        if state.state == READER_ERROR:
            return f"read failed: {state.message_key}"
        outcome = self._describe()
        latest = self.agent.service.latest()
        if self.scenario.saves_receipts and latest is not None and latest.result_id != before:
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
        check = result.check
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

