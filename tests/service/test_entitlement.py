"""The entitlement answers (agent.service.entitlement) and how the pipeline records them
(agent.service.pipeline): an answer comes from the backend or the store and writes nothing; the
pipeline records the result, the event built from its final decision, the fresh answers and a roster
downloaded on the way in one transaction; ``prefetch_roster`` keeps the session's roster for offline
check-in; the exam session is chosen by the desk's local day."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.audit import AuditKeys, AuditLog
from agent.errors import BackendUnavailableError, ConfigError, StoreError
from agent.models import CheckKind, ExamSessionInfo, Identity, Source, Verdict, VerificationResult
from agent.service.desk import DeskService
from agent.service.entitlement import Assessment, Entitlement
from agent.service.pipeline import Submission
from agent.service.policy import ClinicPolicy, ExamPolicy, NotaryPolicy, policy_for
from sync.store import OutboundEvent, Store
from tests.api.desk_fakes import (
    AUDIT_SECRET,
    ID_BINH,
    ID_HANG,
    ID_STRANGER,
    SESSION,
    FakeInsurance,
    FakeLicensing,
    make_desk,
)
from tests.sync.helpers import open_store

NOW = datetime(2025, 3, 14, 8, 30, tzinfo=UTC)


class CandidateDown(FakeLicensing):
    """The roster downloads, then the single-candidate lookup fails (the link dropped in between)."""

    def candidate(self, session_id: str, id_number: str):
        raise BackendUnavailableError("licensing: down")


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        yield opened


def entitlement(store: Store, *, insurance: FakeInsurance | None = None,
                licensing: FakeLicensing | None = None) -> Entitlement:
    return Entitlement(store, insurance or FakeInsurance(), licensing or FakeLicensing((ID_HANG, ID_BINH)),
                       now=lambda: NOW)


def service(store: Store, folder: Path, profile: str, *, insurance: FakeInsurance | None = None,
            licensing: FakeLicensing | None = None, ids: Iterator[str] | None = None) -> DeskService:
    """The pipeline behind a desk of ``profile``, with a fixed clock and result ids."""
    numbers = ids or (f"result-{i:04d}" for i in range(1, 10_000))
    audit = AuditLog(folder / "audit.jsonl", AuditKeys(AUDIT_SECRET), operator="le-tan-01", site_id="bv-test")
    return DeskService(store=store, entitlement=entitlement(store, insurance=insurance, licensing=licensing),
                       policy=policy_for(profile), audit=audit, clock=lambda: NOW, new_id=lambda: next(numbers))


def record(desk: DeskService, id_number: str, source: Source = Source.MANUAL) -> VerificationResult:
    return desk.pipeline.verify(Submission(Identity(id_number), source)).result


def files_of(folder: Path) -> dict[str, bytes]:
    """The store's database and write-ahead log, byte for byte (the -shm index changes on reads)."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("agent.sqlite3*")) if not p.name.endswith("-shm")}


def nothing_recorded(store: Store) -> bool:
    return (store.results.count() == 0 and store.outbox.status().pending == 0 and store.cache.count() == 0
            and store.rosters.info() is None)


# --- an answer writes nothing ------------------------------------------------------------------------


def test_insurance_online_answers_and_writes_nothing(tmp_path, store):
    before = files_of(tmp_path)
    answer = entitlement(store).insurance(Identity(ID_HANG), None)
    assert files_of(tmp_path) == before and nothing_recorded(store)
    assert isinstance(answer, Assessment)
    assert answer.check.kind == "insurance" and answer.check.status == "valid" and not answer.check.from_cache
    assert answer.cache == ((ID_HANG, answer.check),)  # the fresh answer, to keep for offline checks
    assert answer.roster is None
    assert ID_HANG not in repr(answer)


def test_insurance_offline_answers_from_the_cache_and_writes_nothing(tmp_path, store):
    insurance = FakeInsurance()
    record(service(store, tmp_path, "clinic", insurance=insurance), ID_BINH)
    insurance.down = True
    ent = entitlement(store, insurance=insurance)
    before = files_of(tmp_path)
    cached = ent.insurance(Identity(ID_BINH), None)
    unknown = ent.insurance(Identity(ID_STRANGER), None)
    assert files_of(tmp_path) == before and store.results.count() == 1
    assert cached.check.from_cache and cached.check.status == "expired"
    assert cached.cache == ()  # nothing new to keep
    assert unknown.check.status == "unavailable"


def test_the_policy_asks_its_own_backend(store):
    ent = entitlement(store)
    at = NOW + timedelta(minutes=5)
    assert ClinicPolicy().assess(ent, Identity(ID_HANG), None, at=at).check.kind is CheckKind.INSURANCE
    notary = NotaryPolicy().assess(ent, Identity(ID_HANG), None, at=at)
    assert (notary.check.kind, notary.check.status, notary.check.checked_at) == ("notary", "recorded", at)
    assert ExamPolicy().assess(ent, Identity(ID_HANG), None, at=at).check.kind is CheckKind.ROSTER


def test_roster_seat_brings_the_roster_without_writing_it(tmp_path, store):
    before = files_of(tmp_path)
    answer = entitlement(store).roster_seat(ID_HANG, None, NOW)
    assert files_of(tmp_path) == before and nothing_recorded(store)
    assert answer.check.status == "on_roster" and answer.check.details["session_id"] == SESSION
    assert answer.roster is not None and answer.roster.session_id == SESSION
    assert [number for number, _ in answer.roster.entries] == [ID_HANG, ID_BINH]
    assert answer.roster.downloaded_at == NOW


def test_roster_seat_answers_from_the_roster_just_downloaded_when_the_lookup_fails(store):
    answer = entitlement(store, licensing=CandidateDown((ID_HANG, ID_BINH))).roster_seat(ID_BINH, None, NOW)
    assert answer.check.status == "on_roster" and answer.check.from_cache and answer.check.checked_at == NOW
    assert answer.check.details["candidate_no"] == "B2-0002"
    assert answer.roster is not None  # still to be kept
    assert store.rosters.info() is None
    outsider = entitlement(store, licensing=CandidateDown((ID_HANG,))).roster_seat(ID_STRANGER, None, NOW)
    assert outsider.check.status == "not_on_roster"


def test_roster_seat_does_not_download_a_roster_still_fresh(tmp_path, store):
    record(service(store, tmp_path, "exam"), ID_HANG)
    assert store.rosters.info(SESSION) is not None
    assert entitlement(store).roster_seat(ID_BINH, None, NOW).roster is None


def test_an_unknown_kind_of_desk_is_a_config_error(tmp_path, store):
    before = files_of(tmp_path)
    with pytest.raises(ConfigError) as caught:
        policy_for("bakery")
    assert caught.value.key == "site.profile"
    assert files_of(tmp_path) == before and nothing_recorded(store)


# --- the pipeline records the answer with its final decision ----------------------------------------


def test_the_pipeline_records_the_result_its_event_and_the_cache(tmp_path, store):
    result = record(service(store, tmp_path, "clinic"), ID_HANG, Source.QR)
    assert result.result_id == "result-0001" and result.source is Source.QR and result.created_at == NOW
    assert result.verdict is Verdict.VERIFIED and result.reasons == ("reason.qr_not_signed", "check.insurance.valid")
    assert result.operator == "le-tan-01" and result.site_profile == "clinic"
    assert store.results.get(result.result_id) == result
    [queued] = store.outbox.pending(10)
    assert queued.event_id == result.result_id and queued.destination == "insurance"
    assert queued.payload["type"] == "insurance_checkin" and queued.payload["verdict"] == "verified"
    assert queued.payload["card_number"] == "GD4383812345678" and queued.payload["site_id"] == "bv-test"
    assert store.cache.get("insurance", ID_HANG, max_age_s=1e12).status == "valid"


def test_the_event_carries_the_verdict_of_the_whole_decision(tmp_path, store):
    insurance = FakeInsurance()
    desk = service(store, tmp_path, "clinic", insurance=insurance)
    record(desk, ID_BINH)
    insurance.down = True
    cached = record(desk, ID_BINH)
    unknown = record(desk, ID_STRANGER)
    assert cached.verdict is Verdict.WARNING and unknown.verdict is Verdict.CANNOT_CHECK
    assert [e.payload["verdict"] for e in store.outbox.pending(10)] == ["warning", "warning", "cannot_check"]


def test_a_notary_record_takes_the_results_id_and_time(tmp_path, store):
    result = record(service(store, tmp_path, "notary"), ID_HANG)
    [event] = store.outbox.pending(10)
    assert (event.event_id, event.payload["occurred_at"]) == (result.result_id, NOW.isoformat())
    assert event.payload["type"] == "notary_record" and result.check.checked_at == NOW


def test_the_exam_roster_is_kept_with_the_result(tmp_path, store):
    result = record(service(store, tmp_path, "exam"), ID_HANG)
    assert result.check.status == "on_roster" and result.verdict is Verdict.VERIFIED
    assert store.outbox.pending(10)[0].payload["session_id"] == SESSION
    assert store.rosters.entry(SESSION, ID_BINH) is not None


def test_result_event_cache_and_roster_are_written_in_one_transaction(tmp_path, store):
    store.outbox.enqueue([OutboundEvent("result-0001", "licensing", {"event_id": "result-0001"})])  # the id is taken
    with pytest.raises(StoreError):
        record(service(store, tmp_path, "exam"), ID_HANG)
    assert store.results.count() == 0 and store.rosters.info() is None and store.outbox.status().pending == 1
    with pytest.raises(StoreError):
        record(service(store, tmp_path, "clinic", ids=iter(["result-0001"])), ID_HANG)
    assert store.cache.count() == 0  # the fresh answer was not kept without its result
    exam = record(service(store, tmp_path, "exam", ids=iter(["result-0003"])), ID_HANG)
    assert store.results.get(exam.result_id) == exam and store.rosters.entry(SESSION, ID_BINH) is not None


# --- the roster kept ahead -------------------------------------------------------------------------------


def test_prefetch_roster_keeps_the_current_session(store):
    copy = entitlement(store).prefetch_roster()
    assert copy is not None and copy.session_id == SESSION and len(copy.entries) == 2
    assert store.rosters.info(SESSION).downloaded_at == NOW
    assert store.rosters.entry(SESSION, ID_BINH)["candidate_no"] == "B2-0002"
    assert store.results.count() == 0


def test_prefetch_roster_of_a_named_session(store):
    copy = entitlement(store).prefetch_roster("SH-OTHER")
    assert copy is not None and store.rosters.info("SH-OTHER") is not None


def test_prefetch_roster_with_the_backend_down(store):
    licensing = FakeLicensing()
    licensing.down = True
    assert entitlement(store, licensing=licensing).prefetch_roster() is None  # no session known at all
    with pytest.raises(BackendUnavailableError):
        entitlement(store, licensing=licensing).prefetch_roster(SESSION)
    assert store.rosters.info() is None


class Timetable(FakeLicensing):
    def __init__(self, days: dict[str, date]) -> None:
        super().__init__((ID_HANG,))
        self.days = days

    def sessions(self) -> list[ExamSessionInfo]:
        return [ExamSessionInfo(s, "Trung tâm", d, "B2", 1) for s, d in self.days.items()]


@pytest.fixture
def vietnam_time(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "ICT-7")  # POSIX form of UTC+7: needs no time zone database
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_session_is_chosen_by_the_desks_local_day(store, vietnam_time):
    # 06:30 in Hà Nội on 15 March is still 14 March in UTC: the check-in is for the 15th's session.
    early = datetime(2025, 3, 14, 23, 30, tzinfo=UTC)
    timetable = Timetable({"DAY-14": date(2025, 3, 14), "DAY-15": date(2025, 3, 15), "DAY-16": date(2025, 3, 16)})
    ent = Entitlement(store, FakeInsurance(), timetable, now=lambda: early)
    assert ent.roster_seat(ID_HANG, None, early).check.details["session_id"] == "DAY-15"
    assert ent.prefetch_roster().session_id == "DAY-15"


def test_after_the_last_session_the_last_one_is_used(store):
    timetable = Timetable({"OLD-1": date(2025, 3, 1), "OLD-2": date(2025, 3, 10)})
    ent = Entitlement(store, FakeInsurance(), timetable, now=lambda: NOW)
    assert ent.prefetch_roster().session_id == "OLD-2"


# --- the desk service ---------------------------------------------------------------------------------


def test_the_desk_keeps_the_exam_roster_ahead(tmp_path):
    desk = make_desk(tmp_path, "exam", licensing=FakeLicensing((ID_HANG, ID_BINH)))
    try:
        assert desk.service.prefetch_roster() is True
        assert desk.store.rosters.entry(SESSION, ID_BINH) is not None
        desk.licensing.down = True
        assert desk.service.prefetch_roster() is False  # best effort: said in the log, not raised
    finally:
        desk.close()
    clinic = make_desk(tmp_path / "clinic")
    try:
        assert clinic.service.prefetch_roster() is False and clinic.store.rosters.info() is None
    finally:
        clinic.close()
