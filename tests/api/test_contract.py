"""The local API's contract: a token on every /api/ call, foreign origins and hosts refused, bad input
answered 422 with a message that names the field and what is expected, the endpoints the site's
software relies on, and the OpenAPI description that documents them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from agent.api.app import create_api
from tests.api.conftest import BASE_URL, PARTNER, TOKEN
from tests.api.desk_fakes import ID_BINH, ID_HANG, NAME_HANG, qr_text

NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"
GET_ENDPOINTS = ["/api/status", "/api/sync/status", "/api/results/latest", "/api/results", "/api/results/stream",
                 f"/api/results/{NO_SUCH_ID}", f"/api/receipts/{NO_SUCH_ID}", "/api/messages", "/api/config",
                 "/api/openapi.json"]
POST_ENDPOINTS = [("/api/verify/qr", {"text": qr_text()}), ("/api/verify/manual", {"id_number": ID_HANG})]


# --- the token ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_ENDPOINTS)
def test_no_token_is_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message_vi"] and error["message_en"] and "Bearer" in error["message"]


@pytest.mark.parametrize(("path", "body"), POST_ENDPOINTS)
def test_no_token_on_a_verification_is_401_and_nothing_happens(client, desk, path, body):
    assert client.post(path, json=body).status_code == 401
    assert client.post(path, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post(path, json=body, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert desk.store.results.count() == 0 and desk.insurance.calls == 0


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, {"X-Agent-Token": TOKEN},
                                     {"authorization": f"bearer {TOKEN}"}])
def test_either_header_carries_the_token(client, headers):
    assert client.get("/api/status", headers=headers).status_code == 200


def test_page_and_assets_need_no_token_and_carry_none(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert TOKEN not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for asset in ("/static/desk.js", "/static/desk.css"):
        response = client.get(asset)
        assert response.status_code == 200 and TOKEN not in response.text
    assert client.get("/favicon.svg").status_code == 200


def test_an_empty_token_is_refused_at_construction(desk):
    with pytest.raises(ValueError):
        create_api(desk.service, token="")


# --- origins and hosts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8780",
                                    "http://localhost.evil.example"])
def test_foreign_origin_is_refused_even_with_the_token(client, desk, auth, origin):
    response = client.post("/api/verify/manual", json={"id_number": ID_HANG}, headers={**auth, "Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"
    assert "access-control-allow-origin" not in response.headers
    assert desk.store.results.count() == 0


def test_foreign_preflight_is_refused(client):
    response = client.options("/api/status", headers={"Origin": "http://evil.example",
                                                      "Access-Control-Request-Method": "GET"})
    assert response.status_code == 403


def test_allowed_origin_gets_cors_answers(client, auth):
    preflight = client.options("/api/verify/manual", headers={
        "Origin": PARTNER, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PARTNER
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    response = client.get("/api/status", headers={**auth, "Origin": PARTNER})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == PARTNER
    # the allowed origin still needs the token
    assert client.get("/api/status", headers={"Origin": PARTNER}).status_code == 401


def test_the_page_own_origin_is_allowed(client, auth):
    response = client.post("/api/verify/manual", json={"id_number": ID_HANG}, headers={**auth, "Origin": BASE_URL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8780", "192.168.1.20:8780",
                                  "attacker.127.0.0.1.nip.io"])
def test_non_loopback_host_header_is_refused(client, auth, host):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away."""
    response = client.get("/api/status", headers={**auth, "Host": host})
    assert response.status_code == 403
    assert client.get("/", headers={"Host": host}).status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1:8780", "localhost:8780", "[::1]:8780", "127.0.0.1"])
def test_loopback_host_names_are_accepted(client, auth, host):
    assert client.get("/api/status", headers={**auth, "Host": host}).status_code == 200


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "field", "words"), [
    ("/api/verify/manual", {}, "id_number", "is required"),
    ("/api/verify/manual", {"id_number": "12345"}, "id_number", "12 digits"),
    ("/api/verify/manual", {"id_number": "03818700123x"}, "id_number", "12 digits"),
    ("/api/verify/manual", {"id_number": 38187001234}, "id_number", "must be text"),
    ("/api/verify/manual", {"id_number": ID_HANG, "colour": "blue"}, "colour", "not a known field"),
    ("/api/verify/manual", {"id_number": ID_HANG, "date_of_birth": "31/02/1987"}, "date_of_birth", "DD/MM/YYYY"),
    ("/api/verify/manual", [ID_HANG], "", "JSON object"),
    ("/api/verify/qr", {}, "text", "is required"),
    ("/api/verify/qr", {"text": ""}, "text", "at least 1 character"),
    ("/api/verify/qr", {"text": "just some words"}, "text", "neither a CCCD, a VNeID nor a BHYT"),
    ("/api/verify/qr", {"text": "038187001234|1|Tên|06051987|Nữ|Địa chỉ|01022021"}, "text", "old_id_number"),
    ("/api/verify/qr", {"text": "x" * 5000}, "text", "at most 4096"),
])
def test_bad_input_is_422_with_a_clear_message(client, desk, auth, path, body, field, words):
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert words in error["message"]
    if "BHYT" in words:  # a code that is no known kind has its own clear answer
        assert error["message_vi"].startswith("Mã QR không rõ") and "Unknown QR code" in error["message_en"]
    else:
        assert error["message_vi"] == "Thông tin nhập vào không hợp lệ." and error["message_en"]
    if field:
        assert error["message"].startswith(f"{field}: ") or f"{field}:" in error["message"]
        assert any(f["field"] == field for f in error["fields"])
    assert "Tên" not in error["message"] and "Địa chỉ" not in error["message"]  # values are not echoed
    assert desk.store.results.count() == 0


def test_malformed_json_is_422(client, auth):
    response = client.post("/api/verify/manual", content=b"{not json",
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize("query", ["size=0", "size=101", "page=0", "page=x", "size=-3"])
def test_bad_paging_is_422(client, auth, query):
    response = client.get(f"/api/results?{query}", headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["message"].split(":")[0] in ("size", "page")


@pytest.mark.parametrize("result_id", ["x", "../etc/passwd", "a" * 65, "abc def ghi"])
def test_bad_result_id_is_422_or_404(client, auth, result_id):
    response = client.get(f"/api/receipts/{result_id}", headers=auth)
    assert response.status_code in (404, 422)
    if response.status_code == 422:
        assert response.json()["error"]["fields"][0]["field"] == "result_id"


# --- the endpoints ----------------------------------------------------------------------------------------


def test_verify_then_read_back_through_every_endpoint(client, desk, auth):
    response = client.post("/api/verify/qr", json={"text": qr_text()}, headers=auth)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["verdict"] == "verified" and result["source"] == "qr"
    assert result["identity"]["id_number"] == ID_HANG  # the site's software gets the full identity
    assert result["display"]["id_masked"] == "038*******34" and result["display"]["full_name"] == NAME_HANG
    assert result["verdict_text"] == {"key": "verdict.verified", "vi": "Hợp lệ", "en": "Verified"}
    assert result["entitlement"]["details"]["facility_name"] == "Bệnh viện Đa khoa tỉnh Thanh Hóa"
    result_id = result["result_id"]

    latest = client.get("/api/results/latest", headers=auth).json()["result"]
    assert latest["result_id"] == result_id
    assert client.get(f"/api/results/{result_id}", headers=auth).json()["result"]["result_id"] == result_id
    manual = client.post("/api/verify/manual", json={"id_number": "001090004567"}, headers=auth).json()["result"]
    history = client.get("/api/results?page=1&size=1", headers=auth).json()
    assert history["total"] == 2 and [r["result_id"] for r in history["results"]] == [manual["result_id"]]
    assert "identity" not in history["results"][0] and "face" not in history["results"][0]

    receipt = client.get(f"/api/receipts/{result_id}", headers=auth)
    assert receipt.status_code == 200 and receipt.json()["result"]["result_id"] == result_id
    download = client.get(f"/api/receipts/{result_id}?download=1", headers=auth)
    assert "attachment" in download.headers["content-disposition"]
    missing = client.get("/api/receipts/00000000-0000-0000-0000-000000000000", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    sync = client.get("/api/sync/status", headers=auth).json()
    assert sync["pending"] == 2
    status = client.get("/api/status", headers=auth).json()
    assert status["readers"]["state"] == "ok" and status["reader_state"]["state"] in ("armed", "idle")
    assert status["site_profile"] == "clinic"
    config = client.get("/api/config", headers=auth).json()
    assert config["site_profile"] == "clinic" and config["banners"] == ["desk.demo_banner"]
    texts = client.get("/api/messages", headers=auth).json()
    assert texts["verdict.rejected"] == {"vi": "Không hợp lệ", "en": "Rejected"}
    assert "desk.badge.trust_anchor_unknown" in texts


HISTORY_LINE_FIELDS = {"result_id", "created_at", "source", "site_profile", "operator", "verdict", "verdict_text",
                       "badge", "full_name", "id_masked", "check"}


def test_history_pages_newest_first_in_its_stable_shape(client, desk, auth):
    typed = [client.post("/api/verify/manual", json={"id_number": number}, headers=auth).json()["result"]
             for number in (ID_HANG, ID_BINH, "123456789")]
    ids = [r["result_id"] for r in typed]
    first = client.get("/api/results?page=1&size=2", headers=auth).json()
    assert set(first) == {"results", "page", "size", "total"}
    assert (first["page"], first["size"], first["total"]) == (1, 2, 3)
    assert [r["result_id"] for r in first["results"]] == [ids[2], ids[1]]
    line = first["results"][1]
    assert set(line) == HISTORY_LINE_FIELDS
    assert line["created_at"] == typed[1]["created_at"] and line["source"] == "manual"
    assert line["verdict"] == "warning" and line["verdict_text"]["key"] == "verdict.warning"
    assert line["id_masked"] == "001*******67" and line["operator"] == "le-tan-01"
    assert line["check"] == {"kind": "insurance", "status": "expired", "from_cache": False}
    assert first["results"][0]["check"] is None  # an old CMND is not looked up
    second = client.get("/api/results?page=2&size=2", headers=auth).json()
    assert [r["result_id"] for r in second["results"]] == [ids[0]] and second["total"] == 3
    assert client.get("/api/results?page=3&size=2", headers=auth).json() == {
        "results": [], "page": 3, "size": 2, "total": 3}
    default = client.get("/api/results", headers=auth).json()
    assert (default["page"], default["size"], len(default["results"])) == (1, 20, 3)


def test_history_leaves_out_purged_results(client, desk, auth):
    old = client.post("/api/verify/manual", json={"id_number": ID_HANG}, headers=auth).json()["result"]
    desk.store.purge(retention_days=0, now=datetime.fromisoformat(old["created_at"]) + timedelta(seconds=1))
    new = client.post("/api/verify/manual", json={"id_number": ID_BINH}, headers=auth).json()["result"]
    history = client.get("/api/results", headers=auth).json()
    assert history["total"] == 1 and [r["result_id"] for r in history["results"]] == [new["result_id"]]
    assert client.get(f"/api/results/{old['result_id']}", headers=auth).status_code == 404


def test_responses_are_not_cached_and_not_framed(client, auth):
    response = client.get("/api/status", headers=auth)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_every_endpoint_and_the_token(client, auth):
    spec = client.get("/api/openapi.json", headers=auth).json()
    paths = set(spec["paths"])
    for path in ("/api/status", "/api/results/latest", "/api/results", "/api/results/stream", "/api/verify/qr",
                 "/api/verify/manual", "/api/receipts/{result_id}", "/api/sync/status"):
        assert path in paths, path
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}
    assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404
