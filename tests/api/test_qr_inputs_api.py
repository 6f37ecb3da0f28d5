"""``POST /api/verify/qr`` for the desk's scanners: a keyboard-wedge scan (``"keyboard": true``) is
repaired before it is parsed, the site's software's text is taken as it is; a BHYT card's code answers
with its masked card number; an unknown code is a 422 with its own message."""

from __future__ import annotations

from tests.api.desk_fakes import NAME_HANG
from tests.qr.ime_model import TELEX, compose

CARD = "GD4383812345678"


def bhyt_text() -> str:
    from datetime import date

    from tests.qr.bhyt_samples import bhyt_payload

    return bhyt_payload(CARD, NAME_HANG, date(1987, 5, 6), sex=2)


def test_a_wedge_scan_is_repaired_and_the_same_text_from_software_is_not(client, auth, desk):
    mangled = compose(bhyt_text().replace("|", "\\"), TELEX)
    refused = client.post("/api/verify/qr", json={"text": mangled}, headers=auth)
    assert refused.status_code == 422
    answer = client.post("/api/verify/qr", json={"text": mangled, "keyboard": True}, headers=auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["source"] == "bhyt_qr" and result["display"]["bhyt_card_masked"] == "GD4**********78"
    assert result["display"]["full_name"] == NAME_HANG
    assert CARD not in str(result["display"])


def test_an_unknown_code_is_422_with_its_own_message(client, auth):
    answer = client.post("/api/verify/qr", json={"text": "WIFI:S:x;T:WPA;P:y;;", "keyboard": True}, headers=auth)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["message_vi"].startswith("Mã QR không rõ")
    assert "BHYT" in error["message_en"]


def test_keyboard_must_be_a_boolean(client, auth):
    answer = client.post("/api/verify/qr", json={"text": "x", "keyboard": "maybe"}, headers=auth)
    assert answer.status_code == 422 and answer.json()["error"]["fields"][0]["field"] == "keyboard"


def test_the_wedge_idle_gap_reaches_the_page_from_the_settings(tmp_path):
    from fastapi.testclient import TestClient

    from agent.wiring.demo import simulated_site

    with simulated_site(tmp_path, token="wedge-token-0123456789") as site:
        with TestClient(site.agent.api, base_url="http://127.0.0.1:8780") as client:
            config = client.get("/api/config", headers={"Authorization": "Bearer wedge-token-0123456789"}).json()
        assert config["wedge_idle_ms"] == 150 == site.agent.settings.qr.wedge_idle_ms
        assert site.agent.status()["scanner"] == {"state": "disabled"}  # no [qr] serial_port here
