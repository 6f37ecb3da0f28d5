"""The BHXH gateway client (agent.checks.bhxh) against the mock gateway over loopback: every class of
``maKetQua`` gives its status and details, the name / birth / staff checks, the token kept and renewed
(once) on a 401, no retry of what cannot get better, one retry of a connection that failed, Retry-After
honoured, malformed answers refused, and the credentials kept out of the body and the errors."""

from __future__ import annotations

import copy
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from agent.checks.bhxh import RESULT_CODES, BhxhGateway, benefit_level, md5_password
from agent.checks.facilities import FacilityCatalogue
from agent.checks.http import new_session
from agent.errors import BackendResponseError, BackendUnavailableError, InvalidInputError, OperatorRequiredError
from agent.models import CheckStatus, InsuranceQuery, Operator
from simulators.backends.data import BENEFIT_RATES as SIMULATED_RATES
from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends
from tests.checks.fakes import ScriptedSession

STAFF_CCCD, STAFF_NAME = next(iter(DEFAULT_STAFF.items()))
OPERATOR = Operator(STAFF_NAME, STAFF_CCCD)


@pytest.fixture(scope="module")
def world():
    return build_world(7, today=date.today(), population=800, sessions=1, session_size=20)


@pytest.fixture
def mock(world):
    with MockBackends(token="t", world=world, seed=7) as running:
        yield running


def gateway(mock: MockBackends, **options: Any) -> BhxhGateway:
    return BhxhGateway(new_session(), mock.gateway_url, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD,
                       connect_timeout_s=0.5, read_timeout_s=2.0, **options)


def person(mock: MockBackends, code: str) -> Any:
    id_number = mock.gateway.ids_with_code(code)[0]
    return mock.gateway.children.get(id_number) or mock.world.citizens[id_number]


def query(someone: Any, **changes: Any) -> InsuranceQuery:
    fields = {"card_number": someone.id_number, "full_name": someone.full_name,
              "date_of_birth": someone.date_of_birth, "birth_year": None, "operator": OPERATOR, **changes}
    return InsuranceQuery(**fields)


# --- every class of result code ------------------------------------------------------------------------

EXPECTED = {
    "000": CheckStatus.VALID, "001": CheckStatus.VALID_WITH_WARNING, "002": CheckStatus.VALID_WITH_WARNING,
    "003": CheckStatus.VALID,  # the old card expired, the new one covers today
    "004": CheckStatus.VALID, "010": CheckStatus.EXPIRED, "050": CheckStatus.NOT_FOUND,
    "110": CheckStatus.SUSPENDED, "120": CheckStatus.SUSPENDED, "121": CheckStatus.SUSPENDED,
    "122": CheckStatus.SUSPENDED, "123": CheckStatus.SUSPENDED, "124": CheckStatus.SUSPENDED,
    "130": CheckStatus.VALID_WITH_WARNING,
}


@pytest.mark.parametrize(("code", "status"), EXPECTED.items())
def test_each_seeded_class_gives_its_status_and_message(mock, code, status):
    someone = person(mock, code)
    check = gateway(mock).lookup(query(someone))
    assert check.kind == "insurance" and check.status is status
    assert check.details["gateway_code"] == code and check.reason_key == f"bhyt.{code}"
    assert check.details["message"]  # the gateway's ghiChu, shown verbatim
    assert check.next_key == RESULT_CODES[code].next_key
    if code not in ("050", "130"):
        card = mock.world.cards[someone.id_number]
        assert check.details["card_number"] == card.card_number
        assert check.details["benefit_level"] == int(card.card_number[2])
        assert check.details["benefit_rate"] == SIMULATED_RATES[card.benefit_level]
        assert check.details["facility_code"] == card.facility.code
        assert check.details["valid_from"] == card.valid_from.isoformat()
        assert date.fromisoformat(check.details["five_year_date"]) < card.valid_from
    if code in ("003", "004"):
        new = check.details["new_card"]
        assert new["number"] != check.details["card_number"] and new["facility"]["code"] == card.facility.code
        assert date.fromisoformat(new["valid_from"]) <= date.today() <= date.fromisoformat(new["valid_to"])
    assert someone.id_number not in repr(check)


def test_a_new_card_that_does_not_cover_today_leaves_the_expired_status(mock):
    someone = person(mock, "003")
    client = gateway(mock, now=lambda: datetime.now().astimezone() + timedelta(days=400))
    assert client.lookup(query(someone)).status is CheckStatus.EXPIRED


@pytest.mark.parametrize(("change", "code", "status"), [
    ({"full_name": "Ai Khác Hoàn Toàn"}, "060", CheckStatus.MISMATCH),
    ("first-letter", "061", CheckStatus.MISMATCH),
    ({"date_of_birth": date(1901, 1, 1)}, "070", CheckStatus.MISMATCH),
    ({"operator": Operator("Người Lạ", "012345678901")}, "054", CheckStatus.CONFIG_ERROR),
    ({"operator": Operator("Tên Sai", STAFF_CCCD)}, "055", CheckStatus.CONFIG_ERROR),
])
def test_wrong_details_are_named_by_the_gateway(mock, change, code, status):
    someone = person(mock, "000")
    if change == "first-letter":
        change = {"full_name": someone.full_name[0] + "ZZZ"}
    client = gateway(mock)
    checks_before = mock.gateway.checks
    check = client.lookup(query(someone, **change))
    assert (check.status, check.details["gateway_code"], check.reason_key) == (status, code, f"bhyt.{code}")
    assert mock.gateway.checks == checks_before + 1  # never retried: it cannot get better by asking again


def test_a_birth_year_alone_is_sent_as_yyyy(mock):
    someone = person(mock, "000")
    check = gateway(mock).lookup(query(someone, date_of_birth=None, birth_year=someone.date_of_birth.year))
    assert check.status is CheckStatus.VALID
    wrong = gateway(mock).lookup(query(someone, date_of_birth=None, birth_year=someone.date_of_birth.year + 1))
    assert wrong.details["gateway_code"] == "070"


def test_a_card_is_found_by_its_15_character_number_too(mock):
    someone = person(mock, "000")
    card = mock.world.cards[someone.id_number].card_number
    assert gateway(mock).lookup(query(someone, card_number=card.lower())).status is CheckStatus.VALID
    other_province = card[:3] + ("99" if card[3:5] != "99" else "98") + card[5:]
    assert gateway(mock).lookup(query(someone, card_number=other_province)).details["gateway_code"] == "052"
    other_level = card[:2] + ("5" if card[2] != "5" else "4") + card[3:]
    assert gateway(mock).lookup(query(someone, card_number=other_level)).details["gateway_code"] == "053"
    assert gateway(mock).lookup(query(someone, card_number="GD4019999999999")).details["gateway_code"] == "051"


def test_the_facility_name_comes_from_the_catalogue_when_it_knows_the_code(mock):
    someone = person(mock, "000")
    code = mock.world.cards[someone.id_number].facility.code
    named = gateway(mock, facilities=FacilityCatalogue({code: "Trạm Y tế xã Thử"})).lookup(query(someone))
    assert named.details["facility_name"] == "Trạm Y tế xã Thử"
    assert "facility_name" not in gateway(mock, facilities=FacilityCatalogue()).lookup(query(someone)).details


def test_the_bundled_catalogue_names_hanoi_facilities():
    catalogue = FacilityCatalogue.load()
    assert len(catalogue) > 500 and catalogue.name_of("01c51").startswith("Trạm y tế")
    assert catalogue.name_of("99999") == ""


@pytest.mark.parametrize(("card", "level"), [("GD4383812345678", 4), ("TE1010123456789", 1), ("001089012345", None)])
def test_the_benefit_level_is_the_third_character_of_a_15_character_card(card, level):
    assert benefit_level(card) == level


# --- what the request needs ------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"full_name": "  "}, "full_name"), ({"date_of_birth": None}, "date_of_birth"),
    ({"card_number": "12345"}, "id_number"),
])
def test_a_missing_detail_is_named_before_anything_is_sent(mock, change, field):
    with pytest.raises(InvalidInputError) as caught:
        gateway(mock).lookup(query(person(mock, "000"), **change))
    assert caught.value.field == field and mock.gateway.checks == 0 and mock.gateway.logins == 0


@pytest.mark.parametrize("operator", [None, Operator("Không Có Số")])
def test_no_lookup_without_an_operator_and_their_cccd(mock, operator):
    with pytest.raises(OperatorRequiredError):
        gateway(mock).lookup(query(person(mock, "000"), operator=operator))
    assert mock.gateway.checks == 0


# --- the token ---------------------------------------------------------------------------------------------


def test_the_token_is_kept_then_renewed_when_it_expires(world):
    with MockBackends(token="t", world=world, seed=7, token_life_s=62.0) as mock:
        client = gateway(mock)
        for code in ("000", "010", "050"):
            client.lookup(query(person(mock, code)))
        assert mock.gateway.logins == 1  # one login for many lookups
    with MockBackends(token="t", world=world, seed=7, token_life_s=61.0) as mock:
        client = gateway(mock)
        client.lookup(query(person(mock, "000")))
        time.sleep(1.1)  # the token's life (61 s) less the renewal margin (60 s) has passed
        client.lookup(query(person(mock, "000")))
        assert mock.gateway.logins == 2


def test_a_401_gets_one_new_login_then_the_answer(mock):
    client = gateway(mock)
    client.lookup(query(person(mock, "000")))
    mock.gateway.expire_tokens()  # the gateway ended every session early
    assert client.lookup(query(person(mock, "000"))).status is CheckStatus.VALID
    assert mock.gateway.logins == 2


def test_a_refused_account_is_a_configuration_error_and_not_retried(world):
    with MockBackends(token="t", world=world, seed=7, gateway_accounts={DEFAULT_USERNAME: "another"}) as mock:
        check = gateway(mock).lookup(query(person(mock, "000")))
        assert (check.status, check.details["gateway_code"]) == (CheckStatus.CONFIG_ERROR, "401")
        assert check.next_key == "next.bhyt_check_account"
        assert mock.gateway.logins == 0 and mock.gateway.checks == 0


def test_the_credentials_travel_in_the_query_string_and_the_password_as_md5(mock):
    session = RecordingSession()
    client = BhxhGateway(session, mock.gateway_url, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD)
    client.lookup(query(person(mock, "000")))
    login, check = session.calls
    assert login["url"].endswith("/api/token/take") and login["data"] == {
        "username": DEFAULT_USERNAME, "password": md5_password(DEFAULT_PASSWORD)}
    assert md5_password(DEFAULT_PASSWORD) == md5_password(DEFAULT_PASSWORD).upper() != DEFAULT_PASSWORD
    assert set(check["params"]) == {"token", "id_token", "username", "password"}
    assert "password" not in check["json"] and check["json"]["cccdCb"] == STAFF_CCCD
    assert check["json"]["ngaySinh"].count("/") == 2


class RecordingSession:
    def __init__(self) -> None:
        self.session = new_session()
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **options: Any) -> Any:
        self.calls.append({"url": url, **options})
        return self.session.request(method, url, **options)


# --- when the gateway cannot answer ----------------------------------------------------------------------


def test_a_down_gateway_is_unavailable_and_says_nothing_of_the_credentials(mock):
    client = gateway(mock)
    mock.stop()
    with pytest.raises(BackendUnavailableError) as caught:
        client.lookup(query(person(mock, "000")))
    assert (caught.value.__cause__ is None and caught.value.__context__ is None) or \
        "password" not in repr(caught.value.__context__)
    for secret in (DEFAULT_PASSWORD, md5_password(DEFAULT_PASSWORD), "password=", "token="):
        assert secret not in caught.value.message


def test_the_gateways_own_server_errors_are_unavailable(mock):
    mock.set_faults(gateway_transient_rate=1.0)
    client = gateway(mock)
    codes = {client.lookup(query(person(mock, "000"))).details["gateway_code"] for _ in range(12)}
    assert codes == {"101", "500"}
    assert client.lookup(query(person(mock, "000"))).status is CheckStatus.UNAVAILABLE


def test_a_connection_error_is_retried_once_and_a_timeout_not_at_all(mock):
    refused = requests.exceptions.ConnectionError("refused")
    login = (200, {"maKetQua": "200", "APIKey": {"access_token": "a", "id_token": "b", "expires_in": "3600"}})
    answer = (200, {"maKetQua": "000", "ghiChu": "ok"})
    session = ScriptedSession(refused, login, refused, answer)
    check = BhxhGateway(session, "http://gw.test", username="u", password="p").lookup(query(person(mock, "000")))
    assert check.status is CheckStatus.VALID and len(session.calls) == 4
    slow = ScriptedSession(login, requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(BackendUnavailableError, match="no answer in time"):
        BhxhGateway(slow, "http://gw.test", username="u", password="p").lookup(query(person(mock, "000")))
    assert len(slow.calls) == 2
    twice = ScriptedSession(refused, refused)
    with pytest.raises(BackendUnavailableError):
        BhxhGateway(twice, "http://gw.test", username="u", password="p").lookup(query(person(mock, "000")))
    assert len(twice.calls) == 2


def test_retry_after_is_honoured(mock):
    client = gateway(mock, sleep=lambda seconds: waits.append(seconds))
    waits: list[float] = []
    mock.set_faults(error_rate=1.0, error_status=503, retry_after_s=1)
    with pytest.raises(BackendUnavailableError):
        client.lookup(query(person(mock, "000")))  # asked to wait 1 s within the deadline: waited, then busy again
    assert waits == [1.0]
    mock.set_faults(retry_after_s=30)
    with pytest.raises(BackendUnavailableError, match="asked to wait"):
        client.lookup(query(person(mock, "000")))
    mock.clear_faults()
    checks = mock.gateway.checks
    with pytest.raises(BackendUnavailableError, match="asked to wait"):
        client.lookup(query(person(mock, "000")))  # still within the 30 s: not even asked
    assert mock.gateway.checks == checks


@pytest.mark.parametrize(("field", "value"), [
    ("maKetQua", 0), ("maKetQua", "OK"), ("gtTheDen", "2025-12-31"), ("gtTheDen", "31/02/2025"), ("maThe", ["x"]),
    ("ghiChu", {"a": 1}),
])
def test_a_malformed_answer_is_a_response_error(mock, field, value):
    login = (200, {"maKetQua": "200", "APIKey": {"access_token": "a", "id_token": "b", "expires_in": "3600"}})
    good = {"maKetQua": "000", "ghiChu": "", "maThe": "GD4383812345678", "gtTheTu": "01/01/2025",
            "gtTheDen": "31/12/2025"}
    broken = copy.deepcopy(good) | {field: value}
    session = ScriptedSession(login, (200, broken))
    with pytest.raises(BackendResponseError):
        BhxhGateway(session, "http://gw.test", username="u", password="p").lookup(query(person(mock, "000")))


@pytest.mark.parametrize("body", [b"[1, 2]", b"{\"maKetQua\": ", b"x" * 10, b"{" * 100_000])
def test_unreadable_answers_are_response_errors(mock, body):
    login = (200, {"maKetQua": "200", "APIKey": {"access_token": "a", "id_token": "b", "expires_in": "3600"}})
    session = ScriptedSession(login, (200, body))
    with pytest.raises(BackendResponseError):
        BhxhGateway(session, "http://gw.test", username="u", password="p").lookup(query(person(mock, "000")))


@pytest.mark.parametrize(("expires_in", "life"), [
    ("2017-11-13T03:51:20.1047187Z", 3600.0), ("2017-11-13T03:51:20Z", 3600.0), ("2017-11-13T10:51:20+07:00", 3600.0),
    (1800, 1800.0), ("1800", 1800.0), (None, 3000.0), ("soon", 3000.0),
    # hostile answers (issue 13): an impossible date, a date beyond any clock, a number beyond any clock
    ("2017-13-45T03:51:20Z", 3000.0), ("9999-12-31T23:59:59-23:59", 3000.0), ("1" * 400, 86400.0), (1e308, 86400.0),
])
def test_the_token_life_is_read_from_expires_in(expires_in, life):
    from agent.checks.bhxh import _token_life

    now = datetime.fromisoformat("2017-11-13T02:51:20.104718+00:00")
    assert _token_life(expires_in, now) == pytest.approx(life, abs=1.0)
