"""The desk's verification pipeline (agent.service): chip, QR and typed number through one path to a
verdict with reasons, a stored result, a queued event and an audit entry; the verdict rules; the
reader loop."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from agent.api.views import event_view, result_view
from agent.audit import verify_log
from agent.errors import CameraUnavailableError, CardRemovedError, InvalidInputError
from agent.models import BackendCheck, CheckKind, Source, Status, Verdict
from agent.ports import CardEvent, CardEventKind
from agent.receipt import SignatureStatus, build_receipt, check_signature
from agent.service import verdict as v
from agent.service.desk import DeskService
from agent.service.policy import policy_for
from agent.service.worker import ReaderWorker
from tests.api.desk_fakes import (
    CLONE,
    GENUINE,
    ID_BINH,
    ID_HANG,
    ID_STRANGER,
    NAME_BINH,
    NAME_HANG,
    SESSION,
    TAMPERED,
    UNKNOWN_CSCA,
    Desk,
    FakeCard,
    FakeChipRead,
    FakeLicensing,
    evidence,
    identity,
    make_desk,
    qr_text,
)


@pytest.fixture
def desk(tmp_path) -> Iterator[Desk]:
    made = make_desk(tmp_path)
    yield made
    made.close()


def events_of(desk: Desk) -> list[dict]:
    return [item.payload for item in desk.store.outbox.pending(100)]


def audit_entries(desk: Desk) -> list[dict]:
    return list(desk.audit.entries())


# --- QR and typed numbers ------------------------------------------------------------------------


def test_qr_of_an_insured_citizen_is_verified_recorded_queued_and_audited(desk):
    result = desk.service.verify_qr_text(qr_text()).result
    assert result.source is Source.QR
    assert result.verdict is Verdict.VERIFIED
    assert result.identity.full_name == NAME_HANG
    assert result.checks[0].status == "valid"
    assert "reason.qr_not_signed" in result.reasons and "check.insurance.valid" in result.reasons
    assert desk.store.results.get(result.result_id) == result
    [event] = events_of(desk)
    assert event["event_id"] == result.result_id and event["verdict"] == "verified"
    entry = audit_entries(desk)[-1]
    assert entry["action"] == "verification" and entry["data"]["result_id"] == result.result_id
    assert entry["data"]["id_masked"] == "038*******34"
    raw = (desk.folder / "audit.jsonl").read_text(encoding="utf-8")
    assert ID_HANG not in raw and NAME_HANG not in raw and "Hằng" not in raw


def test_qr_arms_the_next_tap_with_the_can_and_the_derived_bac_key(desk):
    desk.service.verify_qr_text(qr_text())
    hint = desk.service.current_hint()
    assert hint is not None and hint.id_number == ID_HANG and hint.origin == "qr"
    mrz = hint.keys.mrz
    assert mrz is not None and mrz.document_number == ID_HANG[-9:] and mrz.date_of_birth == "870506"
    assert hint.keys.can == ID_HANG[-6:]


@pytest.mark.parametrize(("text", "field_hint"), [
    ("", "empty"),
    ("   ", "empty"),
    ("038187001234|123|Tên|06051987|Nữ|Địa chỉ|01022021", "old_id_number"),
    ("03818700123|123456789|Tên|06051987|Nữ|Địa chỉ|01022021", "id_number"),
    ("038187001234|123456789|Tên|31021987|Nữ|Địa chỉ|01022021", "date_of_birth"),
    ("hello world", "neither"),
    ("x" * 5000, "longer than"),
])
def test_bad_qr_text_is_a_typed_input_error_naming_the_problem(desk, text, field_hint):
    with pytest.raises(InvalidInputError) as caught:
        desk.service.verify_qr_text(text)
    assert caught.value.field == "text"
    assert field_hint in caught.value.message
    assert "Tên" not in caught.value.message  # the value is never repeated
    assert desk.store.results.count() == 0


def test_vneid_code_cannot_be_checked_without_its_backend(desk):
    result = desk.service.verify_qr_text("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlMTIzNDU2").result
    assert result.source is Source.VNEID and result.verdict is Verdict.CANNOT_CHECK
    assert "reason.vneid_unverified" in result.reasons
    assert events_of(desk) == []


def test_typed_id_checks_entitlement_and_arms_the_tap(desk):
    result = desk.service.verify_manual(ID_BINH).result
    assert result.source is Source.MANUAL and result.verdict is Verdict.WARNING  # insurance expired
    assert result.reasons[0] == "check.insurance.expired"
    assert desk.service.current_hint().id_number == ID_BINH
    view = result_view(desk.service.latest())
    assert [s["key"] for s in view["next_steps"]] == ["next.insurance_expired"]
    assert view["display"]["id_masked"] == "001*******67"


def test_old_nine_digit_cmnd_is_recorded_but_not_looked_up(desk):
    result = desk.service.verify_manual("123456789").result
    assert result.verdict is Verdict.CANNOT_CHECK and "reason.old_id" in result.reasons
    assert desk.insurance.calls == 0 and events_of(desk) == []
    assert desk.service.current_hint() is None  # a CMND opens no chip


@pytest.mark.parametrize("typed", ["", "12345", "0381870012345", "03818700123a", "１２３４５６７８９０１２"])
def test_typed_number_must_be_12_or_9_digits(desk, typed):
    with pytest.raises(InvalidInputError) as caught:
        desk.service.verify_manual(typed)
    assert caught.value.field == "id_number" and "12 digits" in caught.value.message


def test_typed_bad_date_of_birth_is_refused(desk):
    with pytest.raises(InvalidInputError) as caught:
        desk.service.verify_manual(ID_HANG, {"date_of_birth": "32/13/1987"})
    assert caught.value.field == "date_of_birth"


# --- chip taps ------------------------------------------------------------------------------------


def tap(desk: Desk, read) -> object:
    card = FakeCard(read)
    return desk.service.verify_chip(card, reader="Test reader")


def test_tap_without_a_key_asks_for_the_qr_or_the_number(desk):
    assert tap(desk, FakeChipRead(identity(), GENUINE)) is None
    assert desk.service.reader_state.state == "needs_key"
    assert desk.chip.calls == []
    assert audit_entries(desk)[-1]["data"]["error"] == "no_access_key"


def test_genuine_chip_after_qr_is_verified_with_face_and_receipt(desk):
    desk.service.verify_qr_text(qr_text())
    desk_result = tap(desk, FakeChipRead(identity(), GENUINE))
    result = desk_result.result
    assert desk.chip.calls[0]["id_number"] == ID_HANG and desk.chip.calls[0]["mrz"] is not None
    assert result.source is Source.CHIP and result.verdict is Verdict.VERIFIED
    assert result.result_id == desk.chip.calls[0]["transaction_id"]
    assert result.reasons[:2] == ("reason.genuine", "check.insurance.valid") or "reason.genuine" in result.reasons
    assert desk_result.badge == "genuine" and result.evidence.access_method == "PACE-CAN"
    view = result_view(desk.service.latest())
    assert view["face"].startswith("data:image/jpeg;base64,")
    assert view["authenticity"]["badge"] == "genuine" and view["authenticity"]["access_method"] == "PACE-CAN"
    assert "receipt" not in view["authenticity"] and "chip_receipt" not in view
    receipt = desk.service.receipt(result.result_id)
    assert receipt["chip"] == {"files": {"DG1": "ab" * 32}}
    assert receipt["signature"]["algorithm"] == "Ed25519" and receipt["result"]["verdict"] == "verified"
    assert check_signature(receipt, [desk.service.receipt_key.public]).status is SignatureStatus.OK
    assert audit_entries(desk)[-1]["action"] == "receipt_viewed"
    stored = desk.store.results.get(result.result_id)
    assert build_receipt(site_id="bv-test", issued_at=stored.created_at, key=desk.service.receipt_key, result=stored,
                         chip=stored.chip_receipt) == receipt  # the receipt survives in the store
    assert desk.service.receipt(result.result_id) == receipt  # asking again gives the same receipt


@pytest.mark.parametrize(("authenticity", "reason"), [(TAMPERED, "reason.passive_failed"), (CLONE, "reason.clone")])
def test_forged_or_copied_card_is_rejected_and_nothing_is_sent(desk, authenticity, reason):
    desk.service.expect_card(ID_HANG)
    shown = tap(desk, FakeChipRead(identity(), authenticity))
    result = shown.result
    assert result.verdict is Verdict.REJECTED
    assert result.reasons[0] == reason
    assert shown.badge == "failed" and desk.service.get(result.result_id).badge == "failed"
    # The lookup started as soon as DG13 was in, before the checks failed: its answer counts for nothing,
    # is not kept for later and sends nothing.
    assert desk.insurance.calls == 1 and not result.checks
    assert desk.store.cache.get(CheckKind.INSURANCE, ID_HANG, max_age_s=3600) is None
    assert events_of(desk) == []
    assert desk.store.results.get(result.result_id).verdict is Verdict.REJECTED
    view = result_view(desk.service.latest())
    assert view["next_steps"][0]["key"] == "next.refuse_card"
    assert view["badge_text"]["en"] == "Card failed the check"
    assert view["badge_reason"]["key"] == reason


def test_unknown_trust_anchor_is_a_warning_not_a_failure(desk):
    desk.service.expect_card(ID_HANG)
    shown = tap(desk, FakeChipRead(identity(), UNKNOWN_CSCA))
    result = shown.result
    assert result.verdict is Verdict.WARNING
    assert shown.badge == "trust_anchor_unknown"
    assert "reason.trust_unknown" in result.reasons


def test_failed_read_tells_the_desk_what_to_do_and_records_nothing(desk):
    desk.service.expect_card(ID_HANG)
    assert tap(desk, CardRemovedError("card left the field")) is None
    assert desk.service.reader_state.message_key == "error.card_removed"
    assert desk.store.results.count() == 0
    assert audit_entries(desk)[-1]["data"]["error"] == "CardRemovedError"


def test_chip_of_another_person_than_the_qr_is_rejected(desk):
    desk.service.verify_qr_text(qr_text())
    other = identity(id_number=ID_STRANGER, name="Lê Thị Mai", dob=date(1995, 1, 2))
    result = tap(desk, FakeChipRead(other, GENUINE)).result
    assert result.verdict is Verdict.REJECTED and result.reasons[0] == "reason.qr_chip_mismatch"


def test_id_number_not_matching_the_birth_year_is_flagged(desk):
    desk.service.expect_card(ID_HANG)
    odd = identity(dob=date(1990, 5, 6))  # the ID says 1987
    result = tap(desk, FakeChipRead(odd, GENUINE)).result
    assert result.verdict is Verdict.WARNING and "reason.id_inconsistent" in result.reasons


# --- offline ----------------------------------------------------------------------------------------


def test_backend_down_answers_from_cache_then_cannot_check(desk):
    desk.service.verify_manual(ID_HANG)
    desk.insurance.down = True
    cached = desk.service.verify_manual(ID_HANG).result
    assert cached.verdict is Verdict.VERIFIED and cached.checks[0].from_cache
    assert "reason.offline" in cached.reasons
    view = result_view(desk.service.latest())
    assert view["offline"] is True and view["offline_since"]
    unknown = desk.service.verify_manual(ID_STRANGER).result
    assert unknown.verdict is Verdict.CANNOT_CHECK and unknown.reasons[0] == "check.insurance.unavailable"
    assert desk.service.state.backend == "offline"
    assert len(events_of(desk)) == 3  # every check-in is queued for when the backend is back


def test_the_service_records_one_result_with_its_final_verdict(desk):
    """The entitlement alone says verified; the chip's unknown trust anchor makes it a warning. The one
    result recorded, and the event the backend gets, carry the final verdict; the fresh answer is cached."""
    desk.service.expect_card(ID_HANG)
    result = tap(desk, FakeChipRead(identity(), UNKNOWN_CSCA)).result
    assert result.verdict is Verdict.WARNING
    assert desk.store.results.count() == 1 and desk.store.results.get(result.result_id) == result
    [event] = events_of(desk)
    assert event["event_id"] == result.result_id and event["verdict"] == "warning"
    assert desk.store.cache.get("insurance", ID_HANG, max_age_s=3600).status == "valid"


# --- exam and notary profiles ------------------------------------------------------------------------


def test_exam_roster_check_in_then_already_checked_in_then_not_on_roster(tmp_path):
    desk = make_desk(tmp_path, "exam", licensing=FakeLicensing((ID_HANG,)))
    try:
        first = desk.service.verify_manual(ID_HANG).result
        assert first.verdict is Verdict.VERIFIED and first.checks[0].details["candidate_no"] == "B2-0001"
        again = desk.service.verify_manual(ID_HANG).result
        assert again.verdict is Verdict.WARNING and "reason.already_checked_in" in again.reasons
        assert len(events_of(desk)) == 1  # one check-in per candidate reaches the backend
        stranger = desk.service.verify_manual(ID_STRANGER).result
        assert stranger.verdict is Verdict.REJECTED and stranger.reasons[0] == "check.roster.not_on_roster"
        assert result_view(desk.service.latest())["next_steps"][0]["key"] == "next.not_on_roster"
    finally:
        desk.close()


def test_exam_offline_uses_the_downloaded_roster(tmp_path):
    desk = make_desk(tmp_path, "exam", licensing=FakeLicensing((ID_HANG, ID_BINH)))
    try:
        desk.service.verify_manual(ID_HANG)  # online: the roster is downloaded on the way
        assert desk.store.rosters.entry(SESSION, ID_BINH) is not None  # kept with the result
        desk.licensing.down = True
        offline = desk.service.verify_manual(ID_BINH).result
        assert offline.verdict is Verdict.VERIFIED and offline.checks[0].from_cache
        assert desk.service.verify_manual(ID_STRANGER).result.verdict is Verdict.REJECTED
    finally:
        desk.close()


def test_notary_compares_chip_with_what_was_typed_and_keeps_the_chip_data(tmp_path):
    desk = make_desk(tmp_path, "notary")
    try:
        typed = desk.service.verify_manual(ID_HANG, {"full_name": "Nguyễn Thị Thu Hang", "date_of_birth": "06/05/1987",
                                                      "sex": "nữ"}).result
        assert typed.verdict is Verdict.WARNING and "reason.typed" in typed.reasons
        result = tap(desk, FakeChipRead(identity(), GENUINE)).result
        assert result.verdict is Verdict.WARNING and "reason.notary_differences" in result.reasons
        comparison = {row["field"]: row for row in result.checks[0].details["comparison"]}
        assert comparison["full_name"]["same"] is False and comparison["full_name"]["chip"] == NAME_HANG
        assert comparison["date_of_birth"]["same"] is True and comparison["sex"]["same"] is True
        assert result.identity.full_name == NAME_HANG  # flagged, not overwritten
        assert events_of(desk)[-1]["type"] == "notary_record"
        assert desk.service.receipt(result.result_id)["result"]["checks"][0]["details"]["comparison"]
    finally:
        desk.close()


def test_notary_matching_data_is_verified(tmp_path):
    desk = make_desk(tmp_path, "notary")
    try:
        desk.service.verify_manual(ID_HANG, {"full_name": "  nguyễn thị thu hằng ", "date_of_birth": "1987-05-06"})
        result = tap(desk, FakeChipRead(identity(), GENUINE)).result
        assert result.verdict is Verdict.VERIFIED
    finally:
        desk.close()


# --- history, hub, restart ---------------------------------------------------------------------------


def test_history_pages_newest_first_and_survives_a_restart(tmp_path):
    desk = make_desk(tmp_path)
    ids = [desk.service.verify_manual(n).result.result_id for n in (ID_HANG, ID_BINH, ID_STRANGER)]
    page, total = desk.service.history(page=1, size=2)
    assert total == 3 and [r.result_id for r in page] == ids[::-1][:2]
    desk.close()
    reopened = make_desk(tmp_path)
    try:
        page, total = reopened.service.history(page=2, size=2)
        assert total == 3 and [r.result_id for r in page] == [ids[0]]
        assert reopened.service.latest().result_id == ids[-1]
        assert verify_log(tmp_path / "audit.jsonl", reopened.audit.keys).ok
    finally:
        reopened.close()


def test_history_leaves_out_purged_results_and_needs_no_audit_log(tmp_path):
    desk = make_desk(tmp_path)
    old = desk.service.verify_manual(ID_HANG).result
    desk.store.purge(retention_days=0, now=old.created_at + timedelta(seconds=1))
    kept = [desk.service.verify_manual(n).result.result_id for n in (ID_BINH, ID_STRANGER)]
    page, total = desk.service.history(page=1, size=5)
    assert total == 2 and [r.result_id for r in page] == kept[::-1]
    assert desk.service.history(page=2, size=5) == ([], 2)
    desk.close()
    (tmp_path / "audit.jsonl").unlink()  # the history is the store's, not the audit log's
    reopened = make_desk(tmp_path)
    try:
        assert reopened.service.latest().result_id == kept[-1]
        page, total = reopened.service.history(page=1, size=1)
        assert total == 2 and [r.result_id for r in page] == [kept[-1]]
        assert page[0].badge == "not_checked" and page[0].next_steps == ()
    finally:
        reopened.close()


def test_history_shows_results_recorded_outside_the_desk(desk):
    """``python -m agent verify`` records into the same store: the desk's history shows it too."""
    typed = desk.service.verify_manual(ID_HANG).result
    command = DeskService(store=desk.store, entitlement=desk.service.entitlement, policy=policy_for("clinic"),
                          audit=desk.audit)
    from_command = command.verify_manual(ID_BINH).result
    page, total = desk.service.history()
    assert total == 2 and [r.result_id for r in page] == [from_command.result_id, typed.result_id]


def test_latest_of_an_empty_desk_is_none(desk):
    assert desk.service.latest() is None
    assert desk.service.history() == ([], 0)


@pytest.mark.parametrize(("page", "size", "field"), [(0, 20, "page"), (1, 0, "size"), (1, 101, "size")])
def test_history_refuses_bad_paging(desk, page, size, field):
    with pytest.raises(InvalidInputError) as caught:
        desk.service.history(page=page, size=size)
    assert caught.value.field == field


def test_results_and_reader_states_are_published(desk):
    loop = asyncio.new_event_loop()
    try:
        subscription = desk.service.hub.subscribe(loop)
        desk.service.verify_qr_text(qr_text())

        async def drain() -> list:
            got = []
            while True:
                try:
                    got.append(await subscription.get(0.2))
                except TimeoutError:
                    return got

        events = loop.run_until_complete(drain())
    finally:
        loop.close()
    views = [event_view(message.event) for message in events]
    kinds = [kind for kind, _data in views]
    assert "result" in kinds and "reader" in kinds
    assert [message.id for message in events] == sorted(message.id for message in events)
    result = next(data for kind, data in views if kind == "result")
    json.dumps(result)  # JSON-able as it is
    assert result["verdict"] == "verified" and result["display"]["full_name"] == NAME_HANG


# --- verdict rules ---------------------------------------------------------------------------------


def insurance(status: str, *, cached: bool = False) -> BackendCheck:
    return BackendCheck("insurance", status, {}, from_cache=cached)


NO_CLONE_CHECK = evidence(Status.OK, Status.NOT_SUPPORTED)
CLINIC, NOTARY, EXAM = policy_for("clinic"), policy_for("notary"), policy_for("exam")


@pytest.mark.parametrize(("facts", "expected"), [
    (v.Facts(Source.CHIP, CLINIC, GENUINE, insurance("valid")), Verdict.VERIFIED),
    (v.Facts(Source.CHIP, CLINIC, GENUINE, insurance("expired")), Verdict.WARNING),
    (v.Facts(Source.CHIP, CLINIC, GENUINE, insurance("unavailable")), Verdict.CANNOT_CHECK),
    (v.Facts(Source.CHIP, CLINIC, GENUINE, insurance("valid", cached=True)), Verdict.VERIFIED),
    (v.Facts(Source.CHIP, CLINIC, TAMPERED, insurance("valid")), Verdict.REJECTED),
    (v.Facts(Source.CHIP, CLINIC, CLONE, None), Verdict.REJECTED),
    (v.Facts(Source.CHIP, CLINIC, UNKNOWN_CSCA, insurance("valid")), Verdict.WARNING),
    (v.Facts(Source.CHIP, CLINIC, NO_CLONE_CHECK, insurance("valid")), Verdict.VERIFIED),
    (v.Facts(Source.CHIP, NOTARY, NO_CLONE_CHECK, None), Verdict.WARNING),
    (v.Facts(Source.QR, CLINIC, None, insurance("valid")), Verdict.VERIFIED),
    (v.Facts(Source.QR, NOTARY, None, BackendCheck("notary", "recorded")), Verdict.WARNING),
    (v.Facts(Source.MANUAL, EXAM, None, BackendCheck("roster", "on_roster")), Verdict.VERIFIED),
    (v.Facts(Source.MANUAL, EXAM, None, BackendCheck("roster", "on_roster"), already_checked_in=True),
     Verdict.WARNING),
    (v.Facts(Source.MANUAL, EXAM, None, BackendCheck("roster", "not_on_roster")), Verdict.REJECTED),
    # an answer the exam policy does not list
    (v.Facts(Source.MANUAL, EXAM, None, BackendCheck("roster", "expired")), Verdict.CANNOT_CHECK),
    (v.Facts(Source.MANUAL, CLINIC, None, None, old_id_only=True), Verdict.CANNOT_CHECK),
    (v.Facts(Source.CHIP, CLINIC, GENUINE, insurance("valid"), problems=("reason.qr_chip_mismatch",)),
     Verdict.REJECTED),
    (v.Facts(Source.CHIP, NOTARY, GENUINE, BackendCheck("notary", "recorded"), differences=2), Verdict.WARNING),
])
def test_verdict_table(facts, expected):
    decision = v.decide(facts)
    assert decision.verdict is expected
    assert decision.reasons and len(set(decision.reasons)) == len(decision.reasons)
    if expected is Verdict.VERIFIED:
        assert decision.next_steps == ()
    else:
        assert decision.next_steps  # every problem says what to do next


def test_a_policy_refuses_to_weigh_another_kind_of_check():
    with pytest.raises(ValueError, match="roster"):
        CLINIC.check_verdict(BackendCheck("roster", "on_roster"))


def test_every_reason_and_next_step_has_a_catalogue_text():
    from agent import messages

    checks = (insurance("valid"), insurance("expired"), insurance("suspended"), insurance("not_found"),
              insurance("unavailable", cached=True), BackendCheck("roster", "on_roster"),
              BackendCheck("roster", "not_on_roster"), BackendCheck("roster", "unavailable", from_cache=True),
              BackendCheck("notary", "recorded"))
    facts = [
        v.Facts(Source.CHIP, p, a, c, problems=pr, differences=d, already_checked_in=ac, old_id_only=o)
        for p in (CLINIC, NOTARY, EXAM)
        for a in (GENUINE, TAMPERED, CLONE, UNKNOWN_CSCA, NO_CLONE_CHECK)
        for c in checks if c.kind is p.check_kind  # a desk's policy only ever weighs its own kind of check
        for pr in ((), ("reason.id_inconsistent",), ("reason.qr_chip_mismatch",))
        for d in (0, 1)
        for ac in (False, True)
        for o in (False, True)
    ] + [v.Facts(s, CLINIC) for s in Source]
    keys = {key for f in facts for decision in [v.decide(f)] for key in decision.reasons + decision.next_steps}
    missing = sorted(k for k in keys if k not in messages.CATALOGUE)
    assert missing == []


# --- the reader loop -------------------------------------------------------------------------------


class FakeCards:
    """A card source whose connections are made by ``connect``."""

    def __init__(self, connect) -> None:
        self.events: queue.Queue = queue.Queue()
        self.connect = connect

    def put(self, kind: CardEventKind) -> None:
        self.events.put(CardEvent(kind, "Test reader"))


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_worker_verifies_a_tapped_card_and_closes_the_connection(desk):
    desk.service.expect_card(ID_HANG)
    cards = [FakeCard(FakeChipRead(identity(), GENUINE))]
    source = FakeCards(lambda reader: cards[0])
    worker = ReaderWorker(desk.service, cards=source)
    worker.start()
    try:
        source.put(CardEventKind.INSERTED)
        wait_for(lambda: worker.reads == 1)
        assert cards[0].closed
        assert desk.service.latest().result.verdict is Verdict.VERIFIED
        source.put(CardEventKind.REMOVED)
    finally:
        worker.stop()
    assert not worker.running


def test_worker_reports_a_reader_that_cannot_connect(desk):
    def connect(reader: str):
        raise CardRemovedError("no card")

    source = FakeCards(connect)
    worker = ReaderWorker(desk.service, cards=source)
    worker.start()
    try:
        source.put(CardEventKind.INSERTED)
        wait_for(lambda: worker.reads == 1)
        assert desk.service.reader_state.message_key == "error.card_removed"
    finally:
        worker.stop()


def test_worker_turns_qr_codes_into_results_and_survives_bad_ones(desk):
    def codes(stop: threading.Event) -> Iterator[str]:
        yield "not a code at all"
        yield qr_text(ID_BINH, NAME_BINH, "01011990", "Nam")

    worker = ReaderWorker(desk.service, qr_codes=codes)
    worker.start()
    try:
        wait_for(lambda: worker.camera_state["state"] == "ended")
    finally:
        worker.stop()
    assert desk.service.latest().result.identity.full_name == NAME_BINH


def test_worker_without_camera_says_so_and_retries(desk):
    attempts = []

    def codes(stop: threading.Event) -> Iterator[str]:
        attempts.append(1)
        raise CameraUnavailableError("camera 0 cannot be opened")
        yield ""  # pragma: no cover

    worker = ReaderWorker(desk.service, qr_codes=codes, camera_retry_s=0.05)
    worker.start()
    try:
        wait_for(lambda: len(attempts) >= 2)
        assert worker.camera_state == {"state": "unavailable", "message_key": "error.camera_unavailable"}
    finally:
        worker.stop()
