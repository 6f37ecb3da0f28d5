"""The mock BHXH gateway (simulators.backends.gateway) over raw HTTP, as any HIS would call it: the login
(form or JSON, the MD5 in either case, a refused login answering HTTP 200 with maKetQua 401), the card
check with the credentials in the query string, seeded people in every result class, the request-made
codes (205, 054, 055, 060, 061, 070, 051-053), tokens that expire, the transient-error and latency
controls, and the ``--latency`` / ``--token-life`` options of ``python -m simulators backends``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from simulators.backends.command import latency_range
from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME, NOTES, SEEDED_CLASSES
from simulators.backends.server import MockBackends

ROOT = Path(__file__).resolve().parents[2]
MD5 = hashlib.md5(DEFAULT_PASSWORD.encode(), usedforsecurity=False).hexdigest()
STAFF_CCCD, STAFF_NAME = next(iter(DEFAULT_STAFF.items()))


@pytest.fixture(scope="module")
def world():
    return build_world(23, today=date.today(), population=400, sessions=1, session_size=10)


@pytest.fixture
def mock(world):
    with MockBackends(token="t", world=world, seed=23, token_life_s=2.0) as running:
        yield running


def login(mock: MockBackends, *, password: str = MD5, as_json: bool = False) -> requests.Response:
    fields = {"username": DEFAULT_USERNAME, "password": password}
    url = f"{mock.gateway_url}/api/token/take"
    return requests.post(url, json=fields, timeout=5) if as_json else requests.post(url, data=fields, timeout=5)


def check(mock: MockBackends, key: dict[str, Any] | None, body: dict[str, str], *, as_json: bool = True,
          password: str = MD5) -> requests.Response:
    query = {"token": key["access_token"], "id_token": key["id_token"], "username": DEFAULT_USERNAME,
             "password": password} if key else {}
    url = f"{mock.gateway_url}/api/egw/KQNhanLichSuKCB2024"
    if as_json:
        return requests.post(url, params=query, json=body, timeout=5)
    return requests.post(url, params=query, data=body, timeout=5)


def card_body(person: Any, **changes: str) -> dict[str, str]:
    return {"maThe": person.id_number, "hoTen": person.full_name,
            "ngaySinh": person.date_of_birth.strftime("%d/%m/%Y"), "hoTenCb": STAFF_NAME, "cccdCb": STAFF_CCCD,
            **changes}


def person_with(mock: MockBackends, code: str) -> Any:
    id_number = mock.gateway.ids_with_code(code)[0]
    return mock.gateway.children.get(id_number) or mock.world.citizens[id_number]


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("password", [MD5, MD5.upper()])
def test_a_login_gives_a_token_that_says_when_it_ends(mock, as_json, password):
    answer = login(mock, password=password, as_json=as_json)
    assert answer.status_code == 200
    body = answer.json()
    assert body["maKetQua"] == "200"
    key = body["APIKey"]
    assert key["token_type"] == "Bearer" and key["username"] == DEFAULT_USERNAME and key["id_token"]
    assert key["expires_in"].endswith("Z") and "T" in key["expires_in"]  # an ISO instant in UTC


def test_a_refused_login_is_http_200_with_401(mock):
    answer = login(mock, password=hashlib.md5(b"wrong", usedforsecurity=False).hexdigest())
    assert answer.status_code == 200 and answer.json()["maKetQua"] == "401"
    plain = login(mock, password=DEFAULT_PASSWORD)  # the password itself, not its MD5
    assert plain.json()["maKetQua"] == "401"


def test_every_seeded_class_has_people(mock):
    for code in (*SEEDED_CLASSES, "000", "010", "050", "110", "130"):
        assert mock.gateway.ids_with_code(code), code


@pytest.mark.parametrize("code", ["000", "001", "002", "003", "004", "010", "110", "120", "124", "130"])
@pytest.mark.parametrize("as_json", [True, False])
def test_the_card_check_answers_each_class_in_strings_and_dd_mm_yyyy(mock, code, as_json):
    key = login(mock).json()["APIKey"]
    person = person_with(mock, code)
    answer = check(mock, key, card_body(person), as_json=as_json)
    assert answer.status_code == 200
    body = answer.json()
    assert body["maKetQua"] == code and body["ghiChu"] == NOTES[code]
    assert body["hoTen"] == person.full_name and body["dsLichSuKCB2018"] is None
    if code != "130":
        assert all(isinstance(body[f], str) for f in ("maThe", "maDKBD", "gtTheTu", "gtTheDen", "ngayDu5Nam"))
        assert len(body["gtTheDen"].split("/")) == 3 and len(body["maDKBD"]) == 5
    if code in ("003", "004"):
        assert body["maTheMoi"] and body["maTheCu"] == mock.world.cards[person.id_number].card_number


@pytest.mark.parametrize(("change", "code"), [
    ({"hoTen": "Zzz Người Khác"}, "060"), ({"ngaySinh": "01/01/1900"}, "070"), ({"ngaySinh": "1.1.1990"}, "205"),
    ({"hoTen": ""}, "205"), ({"cccdCb": "001199000777"}, "054"), ({"hoTenCb": "Tên Khác"}, "055"),
    ({"maThe": "XX4019912345678"}, "051"),
])
def test_what_the_request_gets_wrong_is_named_by_its_code(mock, change, code):
    key = login(mock).json()["APIKey"]
    body = check(mock, key, card_body(person_with(mock, "000"), **change)).json()
    assert body["maKetQua"] == code and body["ghiChu"] == NOTES[code]


def test_the_first_letter_right_and_a_year_alone(mock):
    key = login(mock).json()["APIKey"]
    person = person_with(mock, "000")
    assert check(mock, key, card_body(person, hoTen=person.full_name + " A")).json()["maKetQua"] == "061"
    born = str(person.date_of_birth.year)
    assert check(mock, key, card_body(person, ngaySinh=born)).json()["maKetQua"] == "000"


def test_a_card_number_with_a_wrong_province_or_benefit_code(mock):
    key = login(mock).json()["APIKey"]
    person = person_with(mock, "000")
    card = mock.world.cards[person.id_number].card_number
    province = card[:3] + ("99" if card[3:5] != "99" else "98") + card[5:]
    benefit = card[:2] + str(6 - int(card[2])) + card[3:] if card[2] != "3" else card[:2] + "4" + card[3:]
    assert check(mock, key, card_body(person, maThe=card)).json()["maKetQua"] == "000"
    assert check(mock, key, card_body(person, maThe=province)).json()["maKetQua"] == "052"
    assert check(mock, key, card_body(person, maThe=benefit)).json()["maKetQua"] == "053"


def test_no_token_a_wrong_password_or_an_expired_token_is_http_401(mock):
    person = person_with(mock, "000")
    assert check(mock, None, card_body(person)).status_code == 401
    key = login(mock).json()["APIKey"]
    wrong = check(mock, key, card_body(person), password="0" * 32)
    assert wrong.status_code == 401 and wrong.json()["maKetQua"] == "401"
    assert check(mock, key, card_body(person)).status_code == 200
    time.sleep(2.2)  # the token_life_s of this mock
    assert check(mock, key, card_body(person)).status_code == 401
    fresh = login(mock).json()["APIKey"]
    requests.post(f"{mock.url}/_admin/gateway/expire-tokens", headers={"Authorization": "Bearer t"},
                  timeout=5).raise_for_status()
    assert check(mock, fresh, card_body(person)).status_code == 401


def test_a_token_can_be_made_to_die_at_once(mock):
    mock.gateway.dead_tokens = 1
    key = login(mock).json()["APIKey"]
    assert check(mock, key, card_body(person_with(mock, "000"))).status_code == 401
    key = login(mock).json()["APIKey"]
    assert check(mock, key, card_body(person_with(mock, "000"))).status_code == 200


def test_transient_errors_and_latency_come_from_the_fault_controls(mock):
    key = login(mock).json()["APIKey"]
    person = person_with(mock, "000")
    mock.set_faults(gateway_transient_rate=1.0)
    seen = set()
    for _ in range(12):
        answer = check(mock, key, card_body(person))
        seen.add((answer.status_code, answer.json()["maKetQua"]))
    assert seen == {(200, "101"), (500, "500")}
    mock.set_faults(gateway_transient_rate=0.0, latency_ms=300)
    started = time.monotonic()
    assert check(mock, key, card_body(person)).json()["maKetQua"] == "000"
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(("text", "expected"), [("1.0-3.0", (1.0, 3.0)), ("2", (2.0, 2.0))])
def test_the_latency_option_takes_one_value_or_a_range(text, expected):
    assert latency_range(text) == expected


@pytest.mark.parametrize("text", ["3-1", "-1", "x", "1-2-3"])
def test_a_wrong_latency_option_is_refused(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        latency_range(text)


def test_the_command_serves_the_gateway_with_its_options(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "simulators", "backends", "--port", "0", "--latency", "0.1-0.2",
                                "--token-life", "5"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if "http://127.0.0.1:" in line:
                url = "http://" + line.split("http://", 1)[1].split()[0].rstrip(".,")
        assert url, "the command printed no URL"
        started = time.monotonic()
        answer = requests.post(f"{url}/api/token/take", data={"username": DEFAULT_USERNAME, "password": MD5},
                               timeout=5)
        assert answer.json()["maKetQua"] == "200" and time.monotonic() - started >= 0.1
    finally:
        process.terminate()
        process.wait(10)
