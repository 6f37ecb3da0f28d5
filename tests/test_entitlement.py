"""The entitlement check (agent.entitlement): ``assess`` answers from the backend or the store and
writes nothing; ``check`` records what ``assess`` answered, result, event, cache entries and roster,
in one transaction; ``prefetch_roster`` keeps the session's roster for offline check-in; the exam
session is chosen by the desk's local day."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.checks.licensing import ExamSessionInfo
from agent.entitlement import Assessment, Entitlement
from agent.errors import BackendUnavailableError, ConfigError, StoreError
from agent.models import Identity, Source, Verdict
from sync.store import OutboundEvent, Store
from tests.api.desk_fakes import (
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


def entitlement(store: Store, *, insurance: FakeInsurance | None = None, licensing: FakeLicensing | None = None,
                ids: Iterator[str] | None = None) -> Entitlement:
    numbers = ids or (f"result-{i:04d}" for i in range(1, 10_000))
    return Entitlement(store, insurance or FakeInsurance(), licensing or FakeLicensing((ID_HANG, ID_BINH)),
                       site_id="bv-test", operator="le-tan-01", now=lambda: NOW, new_id=lambda: next(numbers))


def files_of(folder: Path) -> dict[str, bytes]:
    """The store's database and write-ahead log, byte for byte (the -shm index changes on reads)."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("agent.sqlite3*")) if not p.name.endswith("-shm")}


def nothing_recorded(store: Store) -> bool:
    return (store.count_results() == 0 and store.outbox_status().pending == 0 and store.count_cache() == 0
            and store.roster_info() is None)


# --- assess writes nothing -------------------------------------------------------------------------


def test_assess_online_answers_and_writes_nothing(tmp_path, store):
    before = files_of(tmp_path)
    answer = entitlement(store).assess(Identity(ID_HANG), "clinic")
    assert files_of(tmp_path) == before and nothing_recorded(store)
    assert isinstance(answer, Assessment)
    assert (answer.result_id, answer.created_at) == ("result-0001", NOW)
    assert answer.check.kind == "insurance" and answer.check.status == "valid" and not answer.check.from_cache
    assert answer.verdict is Verdict.VERIFIED and answer.reasons == ("insurance: valid",)
    [event] = answer.events
    assert event.event_id == "result-0001" and event.destination == "insurance"
    assert event.payload["type"] == "insurance_checkin" and event.payload["verdict"] == "verified"
    assert event.payload["card_number"] == "GD4383812345678"
    assert answer.cache == ((ID_HANG, answer.check),)  # the fresh answer, to keep for offline checks
    assert answer.roster is None
    assert ID_HANG not in repr(answer)


def test_assess_offline_answers_from_the_cache_and_writes_nothing(tmp_path, store):
    insurance = FakeInsurance()
    ent = entitlement(store, insurance=insurance)
    ent.check(Identity(ID_BINH), "clinic")
    insurance.down = True
    before = files_of(tmp_path)
    cached = ent.assess(Identity(ID_BINH), "clinic")
    unknown = ent.assess(Identity(ID_STRANGER), "clinic")
    assert files_of(tmp_path) == before and store.count_results() == 1
    assert cached.check.from_cache and cached.check.status == "expired" and cached.verdict is Verdict.WARNING
    assert cached.cache == ()  # nothing new to keep
    assert unknown.check.status == "unavailable" and unknown.verdict is Verdict.CANNOT_CHECK
    assert [e.payload["verdict"] for e in (*cached.events, *unknown.events)] == ["warning", "cannot_check"]


def test_assess_takes_the_callers_result_id_and_time(store):
    at = NOW + timedelta(minutes=5)
    answer = entitlement(store).assess(Identity(ID_HANG), "notary", result_id="chip-transaction-1", at=at)
    assert (answer.result_id, answer.created_at, answer.check.checked_at) == ("chip-transaction-1", at, at)
    assert answer.events[0].event_id == "chip-transaction-1"
    assert answer.events[0].payload["occurred_at"] == at.isoformat()
    assert answer.events[0].payload["type"] == "notary_record"


def test_assess_exam_brings_the_roster_without_writing_it(tmp_path, store):
    before = files_of(tmp_path)
    answer = entitlement(store).assess(Identity(ID_HANG), "exam")
    assert files_of(tmp_path) == before and nothing_recorded(store)
    assert answer.check.status == "on_roster" and answer.verdict is Verdict.VERIFIED
    assert answer.events[0].payload["session_id"] == SESSION
    assert answer.roster is not None and answer.roster.session_id == SESSION
    assert [number for number, _ in answer.roster.entries] == [ID_HANG, ID_BINH]
    assert answer.roster.downloaded_at == NOW


def test_assess_exam_answers_from_the_roster_just_downloaded_when_the_lookup_fails(store):
    answer = entitlement(store, licensing=CandidateDown((ID_HANG, ID_BINH))).assess(Identity(ID_BINH), "exam")
    assert answer.check.status == "on_roster" and answer.check.from_cache and answer.check.checked_at == NOW
    assert answer.check.details["candidate_no"] == "B2-0002"
    assert answer.roster is not None  # still to be kept
    assert store.roster_info() is None
    outsider = entitlement(store, licensing=CandidateDown((ID_HANG,))).assess(Identity(ID_STRANGER), "exam")
    assert outsider.check.status == "not_on_roster" and outsider.verdict is Verdict.REJECTED


def test_assess_exam_does_not_download_a_roster_still_fresh(store):
    ent = entitlement(store)
    ent.check(Identity(ID_HANG), "exam")
    assert store.roster_info(SESSION) is not None
    assert ent.assess(Identity(ID_BINH), "exam").roster is None


def test_assess_of_an_unknown_profile_is_a_config_error(tmp_path, store):
    before = files_of(tmp_path)
    with pytest.raises(ConfigError) as caught:
        entitlement(store).assess(Identity(ID_HANG), "bakery")
    assert caught.value.key == "site.profile"
    assert files_of(tmp_path) == before and nothing_recorded(store)


# --- check records what assess answered --------------------------------------------------------------


def test_check_records_the_result_its_event_and_the_cache(store):
    result = entitlement(store).check(Identity(ID_HANG), "clinic", source=Source.QR)
    assert result.result_id == "result-0001" and result.source is Source.QR and result.created_at == NOW
    assert result.verdict is Verdict.VERIFIED and result.reasons == ("insurance: valid",)
    assert result.operator == "le-tan-01" and result.site_profile == "clinic"
    assert store.get_result(result.result_id) == result
    [queued] = store.pending(10)
    assert queued.event_id == result.result_id and queued.payload["verdict"] == "verified"
    assert store.cache_get("insurance", ID_HANG, max_age_s=1e12).status == "valid"


def test_check_gives_what_assess_gives(tmp_path):
    with open_store(tmp_path / "a") as first, open_store(tmp_path / "b") as second:
        assessed = entitlement(first).assess(Identity(ID_BINH), "clinic")
        checked = entitlement(second).check(Identity(ID_BINH), "clinic")
        assert (checked.verdict, checked.reasons) == (assessed.verdict, assessed.reasons)
        [check] = checked.checks
        assert (check.kind, check.status, check.details) == (assessed.check.kind, assessed.check.status,
                                                             assessed.check.details)  # the fake stamps its own time
        assert [e.payload for e in second.pending(10)] == [e.payload for e in assessed.events]


def test_check_writes_result_event_cache_and_roster_in_one_transaction(store):
    store.enqueue([OutboundEvent("result-0001", "licensing", {"event_id": "result-0001"})])  # the id is taken
    with pytest.raises(StoreError):
        entitlement(store).check(Identity(ID_HANG), "exam")
    assert store.count_results() == 0 and store.roster_info() is None and store.outbox_status().pending == 1
    ids = iter(["result-0001", "result-0002"])
    with pytest.raises(StoreError):
        entitlement(store, ids=ids).check(Identity(ID_HANG), "clinic")
    assert store.count_cache() == 0  # the fresh answer was not kept without its result
    exam = entitlement(store, ids=iter(["result-0003"])).check(Identity(ID_HANG), "exam")
    assert store.get_result(exam.result_id) == exam and store.roster_entry(SESSION, ID_BINH) is not None


def test_check_of_an_unknown_profile_records_nothing(store):
    with pytest.raises(ConfigError):
        entitlement(store).check(Identity(ID_HANG), "bakery")
    assert nothing_recorded(store)


# --- the roster kept ahead -------------------------------------------------------------------------------


def test_prefetch_roster_keeps_the_current_session(store):
    copy = entitlement(store).prefetch_roster()
    assert copy is not None and copy.session_id == SESSION and len(copy.entries) == 2
    assert store.roster_info(SESSION).downloaded_at == NOW
    assert store.roster_entry(SESSION, ID_BINH)["candidate_no"] == "B2-0002"
    assert store.count_results() == 0


def test_prefetch_roster_of_a_named_session(store):
    copy = entitlement(store).prefetch_roster("SH-OTHER")
    assert copy is not None and store.roster_info("SH-OTHER") is not None


def test_prefetch_roster_with_the_backend_down(store):
    licensing = FakeLicensing()
    licensing.down = True
    assert entitlement(store, licensing=licensing).prefetch_roster() is None  # no session known at all
    with pytest.raises(BackendUnavailableError):
        entitlement(store, licensing=licensing).prefetch_roster(SESSION)
    assert store.roster_info() is None


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
    assert ent.assess(Identity(ID_HANG), "exam").events[0].payload["session_id"] == "DAY-15"
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
        assert desk.store.roster_entry(SESSION, ID_BINH) is not None
        desk.licensing.down = True
        assert desk.service.prefetch_roster() is False  # best effort: said in the log, not raised
    finally:
        desk.close()
    clinic = make_desk(tmp_path / "clinic")
    try:
        assert clinic.service.prefetch_roster() is False and clinic.store.roster_info() is None
    finally:
        clinic.close()
