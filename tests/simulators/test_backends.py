"""The mock insurance (BHYT) portal and licensing service, over real loopback HTTP: seeded data,
token auth, idempotent POSTs, the admin endpoints and every fault control (from Python and HTTP)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from simulators.backends.data import PROVINCES, build_world
from simulators.backends.faults import Faults, FaultSettingError, updated
from simulators.backends.server import MockBackends

TOKEN = "t0ken"
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 3, 14)


@pytest.fixture(scope="module")
def world():
    return build_world(7, today=TODAY)


@pytest.fixture
def backends(world):
    with MockBackends(token=TOKEN, world=world) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        yield session


# --- the seeded world -----------------------------------------------------------------------------


def test_same_seed_same_world_and_another_seed_another():
    a, b, c = build_world(1, today=TODAY), build_world(1, today=TODAY), build_world(2, today=TODAY)
    assert list(a.citizens) == list(b.citizens)
    assert [x.card_number for x in a.cards.values()] == [x.card_number for x in b.cards.values()]
    assert list(a.citizens) != list(c.citizens)


def test_id_numbers_follow_the_cccd_layout(world):
    prefixes = {p.id_prefix for p in PROVINCES}
    for citizen in world.citizens.values():
        number = citizen.id_number
        assert re.fullmatch(r"\d{12}", number)
        assert number[:3] in prefixes and number[:3] == "0" + citizen.province_code
        century = 0 if citizen.date_of_birth.year < 2000 else 2
        assert int(number[3]) == century + (0 if citizen.sex == "Nam" else 1)
        assert number[4:6] == f"{citizen.date_of_birth.year % 100:02d}"


def test_names_and_addresses_are_vietnamese_with_diacritics(world):
    citizens = list(world.citizens.values())
    with_marks = [c for c in citizens
                  if any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", c.full_name))]
    assert len(with_marks) > len(citizens) // 2
    assert all(unicodedata.is_normalized("NFC", c.full_name + c.address) for c in citizens)
    assert any(c.full_name.startswith("Nguyễn ") for c in citizens)
    assert all(c.address.startswith("Số ") and ("tỉnh" in c.address or "thành phố" in c.address) for c in citizens)


def test_cards_and_facilities_have_real_shapes(world):
    for card in world.cards.values():
        assert re.fullmatch(r"[A-Z]{2}[1-5]\d{12}", card.card_number)
        assert int(card.card_number[2]) == card.benefit_level
        assert re.fullmatch(r"\d{5}", card.facility.code) and card.facility.name
        assert card.valid_from <= card.valid_to
    statuses = {world.insurance_status(i) for i in world.citizens}
    assert statuses == {"valid", "expired", "suspended", "not_found"}
    counts = {s: len(world.ids_with_status(s)) for s in statuses}
    assert counts["valid"] > counts["expired"] > 0


def test_exam_sessions_hold_about_three_hundred_adults(world):
    assert len(world.sessions) >= 3
    for session in world.sessions.values():
        assert 280 <= len(session.candidates) <= 320
        ids = [c.id_number for c in session.candidates]
        assert len(set(ids)) == len(ids)
        assert all((TODAY - c.date_of_birth) >= timedelta(days=18 * 365) for c in session.candidates)


# --- serving ----------------------------------------------------------------------------------------


def test_listens_on_loopback_only(backends):
    assert backends._server is not None
    assert backends._server.server_address[0] == "127.0.0.1"
    assert backends.url == f"http://127.0.0.1:{backends.port}" and backends.port > 0


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dDBrZW4=", f"bearer{TOKEN}"])
def test_every_endpoint_needs_the_token(backends, header):
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/insurance/v1/cards/001090000001"), ("GET", "/_admin/events"),
                         ("POST", "/insurance/v1/checkins"), ("GET", "/licensing/v1/sessions")]:
        response = requests.request(method, backends.url + path, headers=headers, json={}, timeout=5)
        assert response.status_code == 401


def test_insurance_lookup_answers_each_status(backends, http, world):
    for status in ("valid", "expired", "suspended"):
        id_number = world.ids_with_status(status)[0]
        card = world.cards[id_number]
        body = http.post(backends.insurance_url + "/v1/cards/search", json={"id_number": id_number}, timeout=5).json()
        assert body["status"] == status and body["id_number"] == id_number
        assert body["card_number"] == card.card_number
        assert body["facility"] == {"code": card.facility.code, "name": card.facility.name}
        assert date.fromisoformat(body["valid_to"]) == card.valid_to
        assert body == {**http.get(f"{backends.insurance_url}/v1/cards/{id_number}", timeout=5).json(),
                        "checked_at": body["checked_at"]}
    stranger = "001099999999"
    assert stranger not in world.citizens
    assert http.get(f"{backends.insurance_url}/v1/cards/{stranger}", timeout=5).json()["status"] == "not_found"
    bad = http.get(f"{backends.insurance_url}/v1/cards/12345", timeout=5)
    assert bad.status_code == 400


def test_licensing_sessions_rosters_and_candidates(backends, http, world):
    sessions = http.get(backends.licensing_url + "/v1/sessions", timeout=5).json()["sessions"]
    assert {s["session_id"] for s in sessions} == set(world.sessions)
    session = world.sessions[sessions[0]["session_id"]]
    roster = http.get(f"{backends.licensing_url}/v1/sessions/{session.session_id}/roster", timeout=5).json()
    assert roster["candidate_count"] == len(roster["candidates"]) == len(session.candidates)
    someone = session.candidates[3]
    found = http.post(f"{backends.licensing_url}/v1/sessions/{session.session_id}/candidates/search",
                      json={"id_number": someone.id_number}, timeout=5).json()
    assert found["status"] == "on_roster" and found["candidate_no"] == someone.candidate_no
    outsider = next(i for i in world.citizens if i not in {c.id_number for c in session.candidates})
    missing = http.get(f"{backends.licensing_url}/v1/sessions/{session.session_id}/candidates/{outsider}", timeout=5)
    assert missing.json()["status"] == "not_on_roster"
    assert http.get(f"{backends.licensing_url}/v1/sessions/NOPE/roster", timeout=5).status_code == 404
    assert http.get(f"{backends.url}/nowhere", timeout=5).status_code == 404


def _checkin(event_id: str, **extra):
    return {"event_id": event_id, "id_number": "001090000001", "occurred_at": "2025-03-14T08:00:00+07:00", **extra}


def test_posts_are_idempotent_by_the_client_event_id(backends, http):
    url = backends.insurance_url + "/v1/checkins"
    first = http.post(url, json=_checkin("evt-00000001"), timeout=5)
    again = http.post(url, json=_checkin("evt-00000001"), timeout=5)
    assert (first.status_code, first.json()["status"]) == (201, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    changed = http.post(url, json=_checkin("evt-00000001", verdict="warning"), timeout=5)
    assert changed.status_code == 409
    events = http.get(backends.url + "/_admin/events", timeout=5).json()
    assert events["count"] == 1 and events["events"][0]["deliveries"] == 3
    assert events["events"][0]["data"] == {**_checkin("evt-00000001"), "type": "insurance_checkin"}


def test_batch_answers_one_receipt_per_event(backends, http, world):
    session_id = next(iter(world.sessions))
    events = [
        {**_checkin("cand-0000001"), "type": "candidate_checkin", "session_id": session_id},
        {**_checkin("nota-0000001"), "type": "notary_record"},
        {**_checkin("cand-0000002"), "type": "candidate_checkin", "session_id": "NO-SUCH"},
        {**_checkin("insu-0000001"), "type": "insurance_checkin"},  # wrong service
        {**_checkin("bad"), "type": "notary_record"},  # id too short
        "not an object",
    ]
    answer = http.post(backends.licensing_url + "/v1/events/batch", json={"events": events}, timeout=5)
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected", "rejected", "rejected", "rejected"]
    resent = http.post(backends.licensing_url + "/v1/events/batch", json={"events": events[:2]}, timeout=5).json()
    assert [r["status"] for r in resent["results"]] == ["duplicate", "duplicate"]
    assert [e["event_id"] for e in backends.events("licensing")] == ["cand-0000001", "nota-0000001"]
    too_many = {"events": [_checkin(f"evt-{i:08d}") for i in range(1001)]}
    assert http.post(backends.insurance_url + "/v1/events/batch", json=too_many, timeout=5).status_code == 413
    assert http.post(backends.insurance_url + "/v1/events/batch", data=b"{nope", timeout=5).status_code == 400


def test_single_candidate_checkin_takes_the_session_from_the_url(backends, http, world):
    session_id = next(iter(world.sessions))
    url = f"{backends.licensing_url}/v1/sessions/{session_id}/checkins"
    assert http.post(url, json=_checkin("cand-0000009"), timeout=5).status_code == 201
    assert backends.events()[0]["data"]["session_id"] == session_id
    clash = http.post(url, json=_checkin("cand-0000010", session_id="OTHER"), timeout=5)
    assert clash.status_code == 400


# --- faults ------------------------------------------------------------------------------------------


def test_fault_settings_are_checked():
    with pytest.raises(FaultSettingError):
        updated(Faults(), {"error_rate": 1.5})
    with pytest.raises(FaultSettingError):
        updated(Faults(), {"nonsense": 1})
    with pytest.raises(FaultSettingError):
        updated(Faults(), {"down": "yes"})
    with pytest.raises(FaultSettingError):
        updated(Faults(), {"error_status": 200})
    with pytest.raises(FaultSettingError):
        updated(Faults(), {"latency_ms": -1})
    assert updated(Faults(), {"error_rate": 1, "down": True}) == Faults(error_rate=1.0, down=True)


def test_faults_over_http_admin_endpoint(backends, http):
    admin = backends.url + "/_admin/faults"
    assert http.put(admin, json={"error_rate": 1.0, "error_status": 502}, timeout=5).json()["error_rate"] == 1.0
    assert backends.faults.error_status == 502
    answer = http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5)
    assert answer.status_code == 502
    assert http.put(admin, json={"error_rate": 7}, timeout=5).status_code == 400
    assert http.delete(admin, timeout=5).json() == Faults().to_json()
    assert http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5).status_code == 200


def test_error_fault_does_not_process_the_event(backends, http):
    backends.set_faults(error_rate=1.0)
    answer = http.post(backends.insurance_url + "/v1/checkins", json=_checkin("evt-00000002"), timeout=5)
    assert answer.status_code == 503
    assert backends.events() == []


def test_latency_fault_delays_answers(backends, http):
    backends.set_faults(latency_ms=150)
    started = time.monotonic()
    assert http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.14


def test_malformed_fault_sends_broken_json(backends, http):
    backends.set_faults(malformed_rate=1.0)
    response = http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_timeout_fault_hangs_past_the_read_timeout(backends, http):
    backends.set_faults(timeout_rate=1.0, hang_s=2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=(1, 0.2))


def test_down_fault_resets_connections_but_admin_still_answers(backends, http):
    backends.set_faults(down=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5)
    assert http.get(backends.url + "/_admin/faults", timeout=5).json()["down"] is True
    http.put(backends.url + "/_admin/faults", json={"down": False}, timeout=5)
    assert http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5).status_code == 200


def test_ack_loss_processes_then_drops_the_answer(backends, http):
    backends.set_faults(ack_loss_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(backends.insurance_url + "/v1/checkins", json=_checkin("evt-00000003"), timeout=5)
    assert [e["event_id"] for e in backends.events()] == ["evt-00000003"]
    backends.clear_faults()
    again = http.post(backends.insurance_url + "/v1/checkins", json=_checkin("evt-00000003"), timeout=5)
    assert again.json()["status"] == "duplicate"


def test_error_rate_is_a_share_not_all_or_nothing(backends, http):
    backends.set_faults(error_rate=0.5)
    statuses = [http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5).status_code for _ in range(60)]
    assert 10 < statuses.count(503) < 50 and statuses.count(200) + statuses.count(503) == 60


def test_stop_cuts_open_connections_and_start_keeps_port_and_events(backends, http):
    http.post(backends.insurance_url + "/v1/checkins", json=_checkin("evt-00000004"), timeout=5)
    port = backends.port
    backends.stop()
    assert not backends.running
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=2)  # the kept-alive socket is gone
    backends.start()
    assert backends.port == port
    assert [e["event_id"] for e in backends.events()] == ["evt-00000004"]
    assert http.get(backends.insurance_url + "/v1/cards/001090000001", timeout=5).status_code == 200


def test_admin_reset_and_samples(backends, http, world):
    http.post(backends.insurance_url + "/v1/checkins", json=_checkin("evt-00000005"), timeout=5)
    backends.set_faults(latency_ms=1)
    samples = http.get(backends.url + "/_admin/samples", timeout=5).json()
    assert samples["insurance"]["valid"][0] in world.ids_with_status("valid")
    assert samples["insurance"]["not_found"][0] not in world.cards
    assert http.post(backends.url + "/_admin/reset", timeout=5).json() == {"ok": True}
    assert backends.events() == [] and backends.faults == Faults()


def test_command_line_serves_until_stopped(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "backends", "--port", "0", "--seed", "3", "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        url = f"http://127.0.0.1:{match.group(1)}"
        answer = requests.get(url + "/_admin/samples", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["sessions"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
