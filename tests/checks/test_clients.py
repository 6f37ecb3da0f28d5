"""The insurance and licensing clients: what they make of good answers, how they refuse bad ones,
the event upload's receipts, and the whole stack against the real mock backends over loopback."""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.checks.breaker import BreakerState, CircuitBreaker
from agent.checks.events import EventReceipt, parse_receipts
from agent.checks.http import BackendHttp, new_session
from agent.checks.insurance import InsuranceClient, parse_card
from agent.checks.licensing import LicensingClient
from agent.checks.uploader import BackendUploader
from agent.errors import BackendRejectedError, BackendResponseError, BackendUnavailableError
from agent.models import InsuranceQuery
from simulators.backends.data import build_world
from simulators.backends.server import MockBackends
from tests.checks.fakes import ScriptedSession

ID = "038190001234"
NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
CARD = {
    "id_number": ID,
    "status": "valid",
    "card_number": "GD4380123456789",
    "valid_from": "2025-01-01",
    "valid_to": "2025-12-31",
    "benefit_level": 4,
    "benefit_rate": 80,
    "facility": {"code": "38001", "name": "Bệnh viện Đa khoa tỉnh Thanh Hóa"},
}


def test_a_valid_card_becomes_a_backend_check():
    check = parse_card(copy.deepcopy(CARD), ID, checked_at=NOW)
    assert (check.kind, check.status, check.from_cache, check.checked_at) == ("insurance", "valid", False, NOW)
    assert check.details == {
        "card_number": "GD4380123456789", "valid_from": "2025-01-01", "valid_to": "2025-12-31",
        "benefit_level": 4, "benefit_rate": 80, "facility_code": "38001",
        "facility_name": "Bệnh viện Đa khoa tỉnh Thanh Hóa",
    }


def test_not_found_needs_no_card_fields():
    check = parse_card({"id_number": ID, "status": "not_found"}, ID, checked_at=NOW)
    assert check.status == "not_found" and check.details == {}


def _broken(**changes):
    data = copy.deepcopy(CARD)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize("data", [
    _broken(id_number="038190009999"),  # an answer about someone else
    _broken(id_number=...),
    _broken(status="maybe"),
    _broken(card_number="GD438012345678"),  # 14 characters
    _broken(card_number="gd4380123456789"),
    _broken(card_number=...),
    _broken(valid_from="2025-13-01"),
    _broken(valid_to="2024-12-31"),  # ends before it starts
    _broken(benefit_level=6),
    _broken(benefit_level="4"),
    _broken(benefit_level=True),
    _broken(facility={"code": "381", "name": "x"}),
    _broken(facility={"code": "38001", "name": ""}),
    _broken(facility="38001"),
    _broken(benefit_rate=180),
])
def test_bad_card_answers_are_refused(data):
    with pytest.raises(BackendResponseError) as caught:
        parse_card(data, ID, checked_at=NOW)
    assert ID not in caught.value.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from([*sorted(CARD), "x"]), json_values, max_size=10))
def test_any_json_object_gives_a_check_or_a_response_error(data):
    try:
        check = parse_card(data, ID, checked_at=NOW)
    except BackendResponseError:
        return
    assert check.status in {"valid", "expired", "suspended", "not_found"}


@given(st.dictionaries(st.sampled_from(["results", "x"]), json_values, max_size=3))
def test_any_receipt_answer_gives_receipts_or_a_response_error(data):
    try:
        receipts = parse_receipts(data, ["a-000001", "b-000002"], what="upload")
    except BackendResponseError:
        return
    assert set(receipts) == {"a-000001", "b-000002"}


@pytest.mark.parametrize("results", [
    [{"event_id": "a-000001", "status": "accepted"}],  # one missing
    [{"event_id": "a-000001", "status": "accepted"}, {"event_id": "a-000001", "status": "accepted"}],
    [{"event_id": "a-000001", "status": "accepted"}, {"event_id": "zzz", "status": "accepted"}],
    [{"event_id": "a-000001", "status": "accepted"}, {"event_id": "b-000002", "status": "maybe"}],
    [{"event_id": "a-000001", "status": "accepted"}, "b-000002"],
])
def test_receipts_must_match_the_events_sent_exactly(results):
    with pytest.raises(BackendResponseError):
        parse_receipts({"results": results}, ["a-000001", "b-000002"], what="upload")


def test_receipts_keep_the_backend_reason():
    receipts = parse_receipts({"results": [
        {"event_id": "a-000001", "status": "duplicate"},
        {"event_id": "b-000002", "status": "rejected", "reason": "unknown session"},
    ]}, ["a-000001", "b-000002"], what="upload")
    assert receipts == {"a-000001": EventReceipt("duplicate"), "b-000002": EventReceipt("rejected", "unknown session")}
    assert receipts["a-000001"].delivered and not receipts["b-000002"].delivered


def test_uploader_routes_by_destination_and_refuses_unknown_ones():
    answer = {"results": [{"event_id": "a-000001", "status": "accepted"}]}
    insurance_session, licensing_session = ScriptedSession((200, answer)), ScriptedSession((200, answer))
    uploader = BackendUploader(
        InsuranceClient(BackendHttp(insurance_session, "http://i.test", name="insurance")),
        LicensingClient(BackendHttp(licensing_session, "http://l.test", name="licensing")),
    )
    assert uploader.upload("licensing", [{"event_id": "a-000001"}])["a-000001"].status == "accepted"
    assert licensing_session.calls[0].url == "http://l.test/v1/events/batch" and not insurance_session.calls
    assert licensing_session.calls[0].headers["Idempotency-Key"]
    refused = uploader.upload("elsewhere", [{"event_id": "c-000003"}])
    assert refused["c-000003"].status == "rejected"


def test_a_batch_needs_distinct_event_ids():
    client = InsuranceClient(BackendHttp(ScriptedSession(), "http://i.test", name="insurance"))
    with pytest.raises(ValueError):
        client.send_events([{"event_id": "a-000001"}, {"event_id": "a-000001"}])
    assert client.send_events([]) == {}


def test_roster_download_is_validated():
    roster = {"session_id": "S-1", "centre": "Trung tâm", "exam_date": "2025-03-14", "licence_class": "B2",
              "candidate_count": 2, "candidates": [
                  {"candidate_no": "B2-0001", "id_number": ID, "full_name": "Lê Văn Tám",
                   "date_of_birth": "1990-01-02", "licence_class": "B2"},
                  {"candidate_no": "B2-0002", "id_number": ID, "full_name": "Lê Thị Hoa",
                   "date_of_birth": "1991-01-02", "licence_class": "B2"}]}
    client = LicensingClient(BackendHttp(ScriptedSession((200, roster)), "http://l.test", name="licensing"))
    with pytest.raises(BackendResponseError, match="twice"):
        client.roster("S-1")
    roster["candidate_count"] = 3
    client = LicensingClient(BackendHttp(ScriptedSession((200, roster)), "http://l.test", name="licensing"))
    with pytest.raises(BackendResponseError):
        client.roster("S-1")
    with pytest.raises(BackendRejectedError):
        client.roster("../../_admin")


# --- against the real mock backends ------------------------------------------------------------------

TOKEN = "tok-clients"


@pytest.fixture(scope="module")
def world():
    return build_world(11, today=date.today())


@pytest.fixture
def backends(world):
    with MockBackends(token=TOKEN, world=world) as running:
        yield running


def clients(backends, *, retries=1, breaker=None, read_timeout_s=2.0):
    session = new_session()

    def http(name, url):
        return BackendHttp(session, url, name=name, token=TOKEN, connect_timeout_s=0.5, read_timeout_s=read_timeout_s,
                           retries=retries, breaker=breaker, backoff_base_s=0.01, rng=random.Random(0))

    return (InsuranceClient(http("insurance", backends.insurance_url)),
            LicensingClient(http("licensing", backends.licensing_url)))


def test_lookups_over_loopback(backends, world):
    insurance, licensing = clients(backends)
    for status in ("valid", "expired", "suspended", "not_found"):
        id_number = world.ids_with_status(status)[0]
        assert insurance.lookup(InsuranceQuery(id_number)).status == status
    session_info = licensing.sessions()[0]
    roster = licensing.roster(session_info.session_id)
    assert len(roster.candidates) == session_info.candidate_count
    someone = roster.candidates[0]
    check = licensing.candidate(session_info.session_id, someone.id_number)
    assert check.status == "on_roster" and check.details["candidate_no"] == someone.candidate_no
    assert someone.id_number not in repr(someone) and someone.full_name not in repr(someone)


def test_wrong_token_is_a_rejection(backends, world):
    session = new_session()
    client = InsuranceClient(BackendHttp(session, backends.insurance_url, name="insurance", token="nope"))
    with pytest.raises(BackendRejectedError) as caught:
        client.lookup(InsuranceQuery(world.ids_with_status("valid")[0]))
    assert caught.value.status == 401


def test_faults_become_typed_errors(backends, world):
    insurance, _ = clients(backends, retries=0, read_timeout_s=0.3)
    someone = world.ids_with_status("valid")[0]
    backends.set_faults(malformed_rate=1.0)
    with pytest.raises(BackendResponseError):
        insurance.lookup(InsuranceQuery(someone))
    backends.set_faults(malformed_rate=0.0, timeout_rate=1.0, hang_s=3.0)
    with pytest.raises(BackendUnavailableError, match="read timeout"):
        insurance.lookup(InsuranceQuery(someone))
    backends.set_faults(timeout_rate=0.0, error_rate=1.0)
    with pytest.raises(BackendUnavailableError, match="HTTP 503"):
        insurance.lookup(InsuranceQuery(someone))
    backends.set_faults(error_rate=0.0, down=True)
    with pytest.raises(BackendUnavailableError, match="connect"):
        insurance.lookup(InsuranceQuery(someone))


def test_retries_ride_out_a_flaky_backend(backends, world):
    insurance, _ = clients(backends, retries=8)
    backends.set_faults(error_rate=0.3)
    answers = [insurance.lookup(InsuranceQuery(i)).status for i in world.ids_with_status("valid")[:20]]
    assert answers == ["valid"] * 20


def test_a_dead_backend_opens_the_breaker_and_stops_costing_requests(backends, world):
    breaker = CircuitBreaker(failures=3, reset_s=60)
    insurance, _ = clients(backends, retries=2, breaker=breaker)
    sent = []
    real = insurance.http.session.request
    insurance.http.session.request = lambda *a, **k: sent.append(a) or real(*a, **k)
    backends.stop()
    someone = world.ids_with_status("valid")[0]
    with pytest.raises(BackendUnavailableError):
        insurance.lookup(InsuranceQuery(someone))
    assert breaker.state is BreakerState.OPEN and len(sent) == 3
    for _ in range(100):
        with pytest.raises(BackendUnavailableError, match="circuit open"):
            insurance.lookup(InsuranceQuery(someone))
    assert len(sent) == 3


def test_upload_survives_lost_acknowledgements_without_duplicates(backends):
    insurance, _ = clients(backends, retries=8)
    events = [{"event_id": f"evt-{i:08d}", "type": "insurance_checkin", "id_number": f"{i:012d}",
               "occurred_at": "2025-03-14T08:00:00+07:00"} for i in range(40)]
    backends.set_faults(ack_loss_rate=0.5)
    receipts = insurance.send_events(events)
    assert all(r.delivered for r in receipts.values()) and len(receipts) == 40
    stored = backends.events()
    assert sorted(e["event_id"] for e in stored) == [e["event_id"] for e in events]
