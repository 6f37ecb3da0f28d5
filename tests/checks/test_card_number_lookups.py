"""Insurance lookups by BHYT card number (a patient who showed only a BHYT card's QR code), over loopback
HTTP against the mock backends: the proxy protocol (mock-v1) and the BHXH gateway's own dialect, by the
15-character card number and by the 10-digit social insurance number; an answer about another card is
refused; a check-in carrying only a card number is accepted by the mock."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from agent.checks.bhxh import BhxhGateway
from agent.checks.http import BackendHttp, new_session
from agent.checks.insurance import InsuranceClient, parse_card_by_number
from agent.errors import BackendResponseError, InvalidInputError
from agent.models import CheckStatus, InsuranceQuery, Operator
from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends

STAFF_CCCD, STAFF_NAME = next(iter(DEFAULT_STAFF.items()))
OPERATOR = Operator(STAFF_NAME, STAFF_CCCD)
NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mock():
    with MockBackends(token="t", world=build_world(11, today=date.today(), population=300, sessions=1,
                                                    session_size=10), seed=11) as running:
        yield running


def insured(mock: MockBackends):
    id_number = next(i for i, card in mock.world.cards.items() if card.status_on(mock.world.today) == "valid")
    return mock.world.citizens[id_number], mock.world.cards[id_number]


def by_card(number: str, person) -> InsuranceQuery:
    return InsuranceQuery(number, person.full_name, person.date_of_birth, None, OPERATOR)


def proxy(mock: MockBackends) -> InsuranceClient:
    return InsuranceClient(BackendHttp(new_session(), mock.insurance_url, name="insurance", token="t",
                                       connect_timeout_s=0.5, read_timeout_s=2.0, retries=0))


def test_the_proxy_finds_a_card_by_its_number_and_by_the_social_insurance_number(mock):
    person, card = insured(mock)
    for number in (card.card_number, card.card_number[5:]):
        check = proxy(mock).lookup(by_card(number, person))
        assert check.status is CheckStatus.VALID and check.details["card_number"] == card.card_number
        assert check.details["facility_code"] == card.facility.code
    missing = proxy(mock).lookup(by_card("GD4999999999999", person))
    assert missing.status is CheckStatus.NOT_FOUND
    with pytest.raises(InvalidInputError):
        proxy(mock).lookup(by_card("GD49", person))


def test_an_answer_about_another_card_is_refused():
    answer = {"card_number": "GD4380123456789", "status": "valid", "valid_from": "2025-01-01",
              "valid_to": "2025-12-31", "benefit_level": 4, "facility": {"code": "38001", "name": "BV"}}
    assert parse_card_by_number(copy.deepcopy(answer), "0123456789", checked_at=NOW).status is CheckStatus.VALID
    with pytest.raises(BackendResponseError, match="different card"):
        parse_card_by_number(copy.deepcopy(answer), "GD4380000000000", checked_at=NOW)


def test_the_gateway_takes_the_card_number_and_the_social_insurance_number_as_mathe(mock):
    person, card = insured(mock)
    gateway = BhxhGateway(new_session(), mock.gateway_url, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD,
                          connect_timeout_s=0.5, read_timeout_s=2.0)
    for number in (card.card_number, card.card_number[5:]):
        check = gateway.lookup(by_card(number, person))
        assert check.details["card_number"] == card.card_number
        assert mock.gateway.asked[-1]["maThe"] == number
    with pytest.raises(InvalidInputError):
        gateway.lookup(by_card("12345", person))


def test_a_check_in_with_only_a_card_number_is_taken(mock):
    event = {"event_id": "evt-bhyt-0001", "type": "insurance_checkin", "occurred_at": NOW.isoformat(),
             "id_number": "", "card_number": "GD4380123456789"}
    assert mock.services.post_batch("insurance", {"events": [event]}).body["results"][0]["status"] == "accepted"
    bad = {**event, "event_id": "evt-bhyt-0002", "card_number": "nope"}
    assert mock.services.post_batch("insurance", {"events": [bad]}).body["results"][0]["status"] == "rejected"
