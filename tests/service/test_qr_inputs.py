"""The desk's QR inputs beyond the webcam (agent.service.desk.verify_qr_text): a BHYT card's code looked up
by its card number at a clinic and refused as an identity elsewhere, a keyboard-wedge scan repaired (or
its name flagged), an unknown code said so, the serial scanner's loop in the reader worker; and a BHYT
card's number typed when its code will not scan (agent.service.desk.verify_manual)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest

from agent.api.views import result_view
from agent.errors import InvalidInputError, ScannerUnavailableError, UnknownQrCodeError
from agent.models import Identity, InsuranceQuery, Operator, Source, Verdict
from agent.service import verdict as v
from agent.service.policy import policy_for
from agent.service.worker import ReaderWorker
from tests.api.desk_fakes import ID_HANG, NAME_HANG, Desk, FakeInsurance, make_desk, qr_text
from tests.qr.bhyt_samples import bhyt_payload
from tests.qr.ime_model import TELEX, VNI, compose

CARD = "GD4383812345678"
BHYT = bhyt_payload(CARD, NAME_HANG, date(1987, 5, 6), sex=2)


@pytest.fixture
def desk(tmp_path) -> Iterator[Desk]:
    made = make_desk(tmp_path, insurance=FakeInsurance({ID_HANG: "valid", CARD: "valid", CARD[-10:]: "expired"}))
    yield made
    made.close()


def events_of(desk: Desk) -> list[dict]:
    return [item.payload for item in desk.store.outbox.pending(100)]


def test_a_bhyt_code_at_a_clinic_is_looked_up_by_its_card_number(desk):
    result = desk.service.verify_qr_text(BHYT).result
    assert result.source is Source.BHYT_QR and result.verdict is Verdict.VERIFIED
    assert result.identity.id_number == "" and result.identity.bhyt_card == CARD
    [query] = desk.insurance.queries
    assert (query.card_number, query.full_name, query.date_of_birth) == (CARD, NAME_HANG, date(1987, 5, 6))
    assert query.by_card
    assert "check.insurance.valid" in result.reasons and "reason.bhyt_qr" in result.reasons
    assert desk.service.current_hint() is None  # a BHYT card opens no chip
    [event] = events_of(desk)
    assert event["card_number"] == CARD and event["id_number"] == ""
    view = result_view(desk.service.latest())
    assert view["display"]["bhyt_card_masked"] == "GD4**********78" and view["display"]["id_masked"] == ""
    entry = list(desk.audit.entries())[-1]
    assert entry["data"]["source"] == "bhyt_qr" and entry["data"]["id_masked"] == "GD4**********78"
    assert CARD not in (desk.folder / "audit.jsonl").read_text(encoding="utf-8")


def test_the_2021_card_is_looked_up_by_its_social_insurance_number(desk):
    result = desk.service.verify_qr_text(bhyt_payload(CARD[-10:], NAME_HANG, date(1987, 5, 6), sex=2)).result
    assert desk.insurance.queries[-1].card_number == CARD[-10:]
    assert result.check is not None and result.check.status == "expired"


@pytest.mark.parametrize("profile", ["notary", "exam"])
def test_a_bhyt_code_does_not_identify_anyone_where_identity_is_checked(tmp_path, profile):
    desk = make_desk(tmp_path, profile)
    try:
        result = desk.service.verify_qr_text(BHYT).result
        assert result.source is Source.BHYT_QR and result.verdict is Verdict.CANNOT_CHECK
        assert result.reasons[0] == "reason.bhyt_not_identity" and result.checks == ()
        assert "next.tap_card" in desk.service.latest().next_steps
    finally:
        desk.close()


def test_a_telex_mangled_wedge_scan_is_the_same_result_as_the_clean_code(desk):
    clean = desk.service.verify_qr_text(BHYT).result
    typed = desk.service.verify_qr_text(compose(BHYT.replace("|", "\\"), TELEX), via="keyboard").result
    assert (typed.source, typed.verdict, typed.reasons) == (clean.source, clean.verdict, clean.reasons)
    assert typed.identity == clean.identity


def test_a_wedge_scan_whose_name_is_lost_keeps_the_card_and_says_tap_the_chip(desk):
    result = desk.service.verify_qr_text(compose(BHYT, VNI), via="keyboard").result
    assert result.identity.bhyt_card in (CARD, CARD[-10:])
    assert "reason.name_unreliable" in result.reasons
    assert "next.tap_chip_for_name" in desk.service.latest().next_steps
    # only a scan typed into the page is repaired: the same text from the site's software is refused
    with pytest.raises(InvalidInputError):
        desk.service.verify_qr_text(compose(BHYT, VNI), via="api")


def test_a_cccd_typed_without_diacritics_keeps_the_number_and_flags_the_name(desk):
    ascii_only = qr_text(name="Nguyen Thi Hang", sex="Nu").replace("|", "\\")
    ascii_only = ascii_only.encode("ascii", errors="ignore").decode()
    result = desk.service.verify_qr_text(ascii_only, via="keyboard").result
    assert result.source is Source.QR and result.identity.id_number == ID_HANG
    assert result.identity.sex == "Nữ" and "reason.name_unreliable" in result.reasons
    assert desk.service.current_hint().id_number == ID_HANG  # it still opens the chip, which has the name


def test_an_unknown_code_is_said_so(desk):
    with pytest.raises(UnknownQrCodeError) as caught:
        desk.service.verify_qr_text("WIFI:S:phong-kham;T:WPA;P:secret;;")
    assert caught.value.message_key == "error.qr_unknown" and caught.value.field == "text"
    with pytest.raises(InvalidInputError) as caught:
        fields = BHYT.split("|")
        desk.service.verify_qr_text("|".join([*fields[:3], "3", *fields[4:]]))  # a BHYT code with a bad sex field
    assert "BHYT card" in caught.value.message and "sex" in caught.value.message


def test_the_verdict_of_a_bhyt_code_by_desk_kind():
    clinic, notary = policy_for("clinic"), policy_for("notary")
    assert v.decide(v.Facts(source=Source.BHYT_QR, policy=clinic)).verdict is Verdict.VERIFIED
    facts = v.Facts(source=Source.BHYT_QR, policy=notary, problems=(v.REASON_BHYT_NOT_IDENTITY,))
    assert v.decide(facts).verdict is Verdict.CANNOT_CHECK
    flagged = v.decide(v.Facts(source=Source.QR, policy=clinic, problems=(v.REASON_NAME_UNRELIABLE,)))
    assert flagged.verdict is Verdict.WARNING and flagged.next_steps == ("next.tap_chip_for_name",)


def test_a_query_by_card_number():
    identity = Identity(id_number="", bhyt_card=CARD, full_name=NAME_HANG)
    query = InsuranceQuery.of(identity, Operator("x"))
    assert query.card_number == CARD and query.by_card
    assert not InsuranceQuery.of(Identity(id_number=ID_HANG), None).by_card
    assert Identity.from_json(identity.to_json()) == identity
    assert "bhyt_card" not in Identity(id_number=ID_HANG).to_json()  # other identities' JSON is unchanged


def test_the_reader_loop_runs_the_serial_scanner_and_retries_it(desk):
    plugged = threading.Event()
    opened: list[int] = []

    def scanner(stop: threading.Event) -> Iterator[str | None]:
        opened.append(1)
        if not plugged.is_set():
            raise ScannerUnavailableError("serial port COM3 cannot be opened: FileNotFoundError")
        yield None
        yield qr_text()
        stop.wait(5)

    worker = ReaderWorker(desk.service, scanner_codes=scanner, scanner_retry_s=0.05)
    assert worker.scanner_state == {"state": "starting"} and worker.camera_state == {"state": "disabled"}
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while worker.scanner_state.get("state") != "unavailable":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert worker.scanner_state["message_key"] == "error.scanner_unavailable"
        plugged.set()
        while worker.scans < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert worker.scanner_state == {"state": "ok"} and len(opened) >= 2
        assert desk.service.latest().result.source is Source.QR
    finally:
        worker.stop()


# --- a BHYT card's number typed from the card (its code will not scan) ------------------------------------

def test_a_typed_bhyt_card_number_is_looked_up_as_its_code_would_be(desk):
    from_code = desk.service.verify_qr_text(BHYT).result
    typed = desk.service.verify_manual("gd4 38 3812345678", {"full_name": NAME_HANG, "date_of_birth": "06/05/1987"})
    result = typed.result
    assert result.source is Source.MANUAL and result.identity.bhyt_card == CARD and result.identity.id_number == ""
    assert (result.verdict, result.check.status) == (from_code.verdict, from_code.check.status)
    query = desk.insurance.queries[-1]
    assert (query.card_number, query.full_name, query.date_of_birth, query.by_card) == (
        CARD, NAME_HANG, date(1987, 5, 6), True)
    assert "reason.typed" in result.reasons
    assert desk.service.current_hint() is None  # no CCCD number, so no chip key
    assert events_of(desk)[-1]["card_number"] == CARD
    assert CARD not in (desk.folder / "audit.jsonl").read_text(encoding="utf-8")


def test_a_typed_social_insurance_number_is_looked_up_too(desk):
    result = desk.service.verify_manual(CARD[-10:], {"full_name": NAME_HANG, "date_of_birth": "1987"}).result
    assert desk.insurance.queries[-1].card_number == CARD[-10:] and result.check.status == "expired"


@pytest.mark.parametrize("profile", ["notary", "exam"])
def test_a_typed_bhyt_card_number_identifies_no_one_where_identity_is_checked(tmp_path, profile):
    desk = make_desk(tmp_path, profile)
    try:
        result = desk.service.verify_manual(CARD, {"full_name": NAME_HANG}).result
        assert result.verdict is Verdict.CANNOT_CHECK and result.reasons[0] == "reason.bhyt_not_identity"
        assert result.checks == () and desk.insurance.queries == []
    finally:
        desk.close()


@pytest.mark.parametrize("typed", ["GD9383812345678", "G14383812345678", "GD438381234567", "12345678901"])
def test_what_is_no_number_of_ours_is_refused_by_field(desk, typed):
    with pytest.raises(InvalidInputError) as caught:
        desk.service.verify_manual(typed)
    assert caught.value.field == "id_number" and "BHYT" in caught.value.message
    assert desk.insurance.queries == []


def test_a_typed_bhyt_card_number_offline_is_answered_from_the_cache_or_queued(desk):
    typed = {"full_name": NAME_HANG, "date_of_birth": "06/05/1987"}
    online = desk.service.verify_qr_text(BHYT).result  # seen once by its code, online
    desk.insurance.down = True
    cached = desk.service.verify_manual(CARD, typed).result
    assert cached.check is not None and cached.check.from_cache and cached.check.status == online.check.status
    never_seen = desk.service.verify_manual("HT3791234567890", typed).result
    assert never_seen.verdict is Verdict.CANNOT_CHECK and never_seen.check.status == "unavailable"
    assert [e["card_number"] for e in events_of(desk)][-1] == "HT3791234567890"  # recorded, to be sent later
