"""A hostile or broken backend over loopback (issue 13 item 3): the mock backends' ``hostile`` fault sends
JSON nested 200,000 deep, a 5,000-digit number, lists where strings belong, 512 MB (declared or chunked),
an answer dribbled a byte at a time; every client (insurance, licensing, event upload, the BHXH gateway)
turns each into its typed error, holds at most the answer cap in memory, and gives up at its one
deadline instead of reading for ever."""

from __future__ import annotations

import random
import tracemalloc
from datetime import date

import pytest

from agent.checks.bhxh import BhxhGateway
from agent.checks.http import MAX_ANSWER_BYTES, BackendHttp, new_session
from agent.checks.insurance import InsuranceClient
from agent.checks.licensing import LicensingClient
from agent.errors import BackendError, BackendResponseError, BackendUnavailableError
from agent.models import InsuranceQuery, Operator
from simulators.backends.data import build_world
from simulators.backends.faults import HOSTILE_MODES, FaultSettingError
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends

TOKEN = "hostile-token"
MALFORMED = ("deep_json", "huge_number", "wrong_types", "flood", "flood_chunked")
STAFF_CCCD, STAFF_NAME = next(iter(DEFAULT_STAFF.items()))


@pytest.fixture(scope="module")
def world():
    return build_world(5, today=date.today(), population=200, sessions=1, session_size=5)


@pytest.fixture
def backends(world):
    with MockBackends(token=TOKEN, world=world) as running:
        yield running


def http(url: str, name: str) -> BackendHttp:
    return BackendHttp(new_session(), url, name=name, token=TOKEN, connect_timeout_s=0.5, read_timeout_s=1.0,
                       retries=2, backoff_base_s=0.01, rng=random.Random(0))


def someone(world) -> InsuranceQuery:
    return InsuranceQuery(world.ids_with_status("valid")[0])


def test_the_hostile_modes_are_checked(backends):
    with pytest.raises(FaultSettingError):
        backends.set_faults(hostile="teapot")
    assert backends.set_faults(hostile="flood").hostile == "flood"


@pytest.mark.parametrize("mode", MALFORMED)
def test_a_malformed_answer_is_a_malformed_response_error(backends, world, mode):
    backends.set_faults(hostile=mode)
    client = InsuranceClient(http(backends.insurance_url, "insurance"))
    tracemalloc.start()
    try:
        with pytest.raises(BackendResponseError):
            client.lookup(someone(world))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One answer costs at most its cap (and the JSON decoder's work on it), never what the server sends.
    assert peak < 8 * MAX_ANSWER_BYTES


@pytest.mark.parametrize("mode", MALFORMED)
def test_licensing_and_event_uploads_refuse_it_too(backends, mode):
    backends.set_faults(hostile=mode)
    licensing = LicensingClient(http(backends.licensing_url, "licensing"))
    with pytest.raises(BackendResponseError):
        licensing.sessions()
    with pytest.raises(BackendResponseError):
        licensing.candidate("S-1", "001089012345")
    insurance = InsuranceClient(http(backends.insurance_url, "insurance"))
    with pytest.raises(BackendResponseError):
        insurance.send_events([{"event_id": "e-1", "type": "insurance_checkin"}])


def test_an_answer_dribbled_a_byte_at_a_time_ends_at_the_calls_deadline(backends, world):
    # 200,000 bytes at one per 20 ms would take over an hour; each read alone is within the read timeout.
    backends.set_faults(hostile="dribble")
    client = InsuranceClient(http(backends.insurance_url, "insurance"))
    with pytest.raises(BackendUnavailableError, match="did not finish in time"):
        client.lookup(someone(world))


@pytest.mark.parametrize("mode", [*MALFORMED, "dribble"])
def test_the_bhxh_gateway_client_refuses_it(backends, world, mode):
    backends.set_faults(hostile=mode)
    gateway = BhxhGateway(new_session(), backends.gateway_url, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD,
                          connect_timeout_s=0.5, read_timeout_s=1.0)
    citizen = world.citizens[world.ids_with_status("valid")[0]]
    query = InsuranceQuery(citizen.id_number, citizen.full_name, citizen.date_of_birth,
                           operator=Operator(STAFF_NAME, STAFF_CCCD))
    with pytest.raises(BackendError) as raised:
        gateway.lookup(query)
    expected = BackendUnavailableError if mode == "dribble" else BackendResponseError
    assert isinstance(raised.value, expected)


def test_every_mode_is_covered():
    assert set(HOSTILE_MODES) == {*MALFORMED, "dribble", "echo_4xx"}  # echo_4xx: tests/sync/test_hostile_outbox.py
