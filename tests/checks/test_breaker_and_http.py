"""The call policy of the backend clients: circuit breaker states, retries with backoff and jitter
for idempotent calls only, timeouts, and the mapping of every failure to a typed error."""

from __future__ import annotations

import random

import pytest
import requests

from agent.checks.breaker import BreakerState, CircuitBreaker
from agent.checks.http import BackendHttp
from agent.errors import BackendRejectedError, BackendResponseError, BackendUnavailableError
from tests.checks.fakes import Clock, ScriptedSession

OK = (200, {"ok": True})


# --- breaker ------------------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_refuses_until_reset():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(10)
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.2)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_lets_one_trial_through_and_its_outcome_decides():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    assert not breaker.allow()  # only one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(5)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_breaker_with_zero_failures_is_disabled():
    breaker = CircuitBreaker(failures=0, reset_s=5)
    for _ in range(10):
        breaker.record_failure()
    assert breaker.allow() and breaker.state is BreakerState.CLOSED


# --- http --------------------------------------------------------------------------------------------


def make_http(session, *, retries=2, breaker=None, token="tok", sleeps=None):
    sleeps = [] if sleeps is None else sleeps
    return BackendHttp(session, "http://backend.test/insurance/", name="insurance", token=token,
                       connect_timeout_s=0.5, read_timeout_s=1.5, retries=retries, breaker=breaker,
                       backoff_base_s=0.1, backoff_max_s=0.4, rng=random.Random(1), sleep=sleeps.append)


def test_a_good_call_sends_token_timeouts_and_body():
    session = ScriptedSession(OK)
    assert make_http(session).post("/v1/x", {"a": 1}, what="x", idempotent=False, idempotency_key="k1") == {"ok": True}
    (call,) = session.calls
    assert call.url == "http://backend.test/insurance/v1/x" and call.method == "POST" and call.json == {"a": 1}
    assert call.headers["Authorization"] == "Bearer tok" and call.headers["Idempotency-Key"] == "k1"
    assert call.timeout == (0.5, 1.5)


def test_no_token_no_authorization_header():
    session = ScriptedSession(OK)
    make_http(session, token="").get("/v1/x", what="x")
    assert "Authorization" not in session.calls[0].headers


@pytest.mark.parametrize("failure", [
    (503, {"error": "busy"}),
    (500, b"oops"),
    (429, {}),
    (408, {}),
    requests.exceptions.ConnectionError("refused"),
    requests.exceptions.ConnectTimeout("slow"),
    requests.exceptions.ReadTimeout("slow"),
    requests.exceptions.ChunkedEncodingError("cut"),
])
def test_transient_failures_are_retried_for_idempotent_calls(failure):
    sleeps: list[float] = []
    session = ScriptedSession(failure, failure, OK)
    assert make_http(session, sleeps=sleeps).get("/v1/x", what="x") == {"ok": True}
    assert len(session.calls) == 3 and len(sleeps) == 2


def test_retries_give_up_with_backend_unavailable():
    session = ScriptedSession(*[(503, {})] * 3)
    with pytest.raises(BackendUnavailableError) as caught:
        make_http(session).get("/v1/x", what="lookup")
    assert caught.value.retryable and "HTTP 503" in caught.value.message and len(session.calls) == 3


def test_non_idempotent_calls_are_tried_once():
    session = ScriptedSession(requests.exceptions.ReadTimeout("slow"), OK)
    with pytest.raises(BackendUnavailableError):
        make_http(session).post("/v1/x", {}, what="x", idempotent=False)
    assert len(session.calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_rejections_and_never_retried(status):
    session = ScriptedSession((status, {"error": "no such thing"}), OK)
    with pytest.raises(BackendRejectedError) as caught:
        make_http(session).get("/v1/x", what="x")
    assert caught.value.status == status and not caught.value.retryable
    assert "no such thing" in caught.value.message and len(session.calls) == 1


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b"null", b""])
def test_malformed_answers_are_response_errors_and_never_retried(body):
    session = ScriptedSession((200, body), OK)
    with pytest.raises(BackendResponseError):
        make_http(session).get("/v1/x", what="x")
    assert len(session.calls) == 1


def test_unexpected_status_is_a_response_error():
    with pytest.raises(BackendResponseError):
        make_http(ScriptedSession((302, {}))).get("/v1/x", what="x")


def test_other_request_exceptions_are_wrapped():
    with pytest.raises(BackendUnavailableError) as caught:
        make_http(ScriptedSession(requests.exceptions.InvalidURL("bad")), retries=0).get("/v1/x", what="x")
    assert isinstance(caught.value.__cause__, requests.exceptions.InvalidURL)


def test_backoff_is_exponential_with_bounded_jitter():
    http = make_http(ScriptedSession())
    for attempt, step in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.4), (9, 0.4)]:
        delays = [http.backoff_delay(attempt) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert max(delays) - min(delays) > step / 4  # there is jitter


def test_sleeps_between_attempts_follow_the_backoff():
    sleeps: list[float] = []
    make_http(ScriptedSession((503, {}), (503, {}), OK), sleeps=sleeps).get("/v1/x", what="x")
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2


def test_an_open_breaker_answers_without_touching_the_network():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_s=30, clock=clock)
    refused = requests.exceptions.ConnectionError("refused")
    session = ScriptedSession(refused, refused, refused)
    http = make_http(session, breaker=breaker)
    with pytest.raises(BackendUnavailableError):
        http.get("/v1/x", what="x")
    assert breaker.state is BreakerState.OPEN and len(session.calls) == 3
    for _ in range(50):
        with pytest.raises(BackendUnavailableError) as caught:
            http.get("/v1/x", what="x")
        assert "circuit open" in caught.value.message
    assert len(session.calls) == 3
    clock.advance(30)
    session.script.append(OK)
    assert http.get("/v1/x", what="x") == {"ok": True}
    assert breaker.state is BreakerState.CLOSED


def test_the_breaker_stops_retries_midway():
    breaker = CircuitBreaker(failures=2, reset_s=30, clock=Clock())
    session = ScriptedSession((503, {}), (503, {}), OK)
    with pytest.raises(BackendUnavailableError) as caught:
        make_http(session, retries=5, breaker=breaker).get("/v1/x", what="x")
    assert "circuit open" in caught.value.message and len(session.calls) == 2


def test_rejections_and_malformed_answers_do_not_trip_the_breaker():
    breaker = CircuitBreaker(failures=1, reset_s=30, clock=Clock())
    http = make_http(ScriptedSession((404, {}), (200, b"x"), OK), breaker=breaker)
    with pytest.raises(BackendRejectedError):
        http.get("/v1/x", what="x")
    with pytest.raises(BackendResponseError):
        http.get("/v1/x", what="x")
    assert http.get("/v1/x", what="x") == {"ok": True}


def test_error_messages_carry_no_personal_data():
    session = ScriptedSession((404, {"error": "unknown"}), (503, {}))
    http = make_http(session, retries=0)
    for _ in range(2):
        with pytest.raises((BackendRejectedError, BackendUnavailableError)) as caught:
            http.post("/v1/cards/search", {"id_number": "001090012345"}, what="insurance card lookup", idempotent=True)
        assert "001090012345" not in caught.value.message
