"""The resilient HTTP call under every backend client: connect and read timeouts, retries with
exponential backoff and jitter for idempotent calls only, a circuit breaker, JSON decoding, and the
mapping of every failure to the agent's backend errors.

- Unreachable, timed out, 5xx, 408, 429 or an open breaker -> BackendUnavailableError (retryable:
  answer from the cache, queue, try later). These are retried here only when the call is idempotent
  (lookups, and POSTs that carry the client's own event ids); a non-idempotent call is tried once.
- Any other 4xx -> BackendRejectedError (the backend is alive and said no; never retried).
- A 2xx whose body is not a JSON object -> BackendResponseError (never retried).

One deadline bounds the whole call, retries and backoff included: ``connect_timeout_s + read_timeout_s``
from the start of the call (a server that answers one byte at a time, or keeps failing slowly, costs at
most that), and an answer is read piece by piece up to :data:`MAX_ANSWER_BYTES` (issue 13).

The requests session (or a fake with the same ``request`` method) is handed in, and so are the
random source and the sleep function, so tests control time and jitter. URLs never carry personal
data (lookups send the ID number in the body), so wrapped exceptions may be chained safely.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests
import urllib3

from agent.checks.breaker import CircuitBreaker
from agent.errors import BackendRejectedError, BackendResponseError, BackendUnavailableError
from agent.privacy import mask_numbers

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
# A backend's answer is a few kilobytes: a larger one is a broken or hostile server, not data to keep.
MAX_ANSWER_BYTES = 1 << 20
READ_CHUNK = 64 * 1024
_TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ResponseLike(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...


class SessionLike(Protocol):
    def request(self, method: str, url: str, *, params: Any = None, data: Any = None, headers: Any = None,
                timeout: Any = None, stream: Any = None, json: Any = None) -> Any: ...


def new_session(pool_size: int = 4) -> requests.Session:
    """A requests session with keep-alive pools and no automatic retries (we retry ourselves)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class BackendHttp:
    """JSON calls to one backend (``base_url``), with the policy described in the module docstring."""

    def __init__(
        self,
        session: SessionLike,
        base_url: str,
        *,
        name: str,
        token: str = "",
        connect_timeout_s: float = 1.0,
        read_timeout_s: float = 2.0,
        retries: int = 2,
        breaker: CircuitBreaker | None = None,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 1.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._token = token
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.retries = max(0, retries)
        self.breaker = breaker or CircuitBreaker(failures=0, reset_s=1.0)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._monotonic = monotonic

    def get(self, path: str, *, what: str) -> dict[str, Any]:
        return self.call("GET", path, None, what=what, idempotent=True)

    def post(self, path: str, body: Mapping[str, Any], *, what: str, idempotent: bool,
             idempotency_key: str | None = None) -> dict[str, Any]:
        return self.call("POST", path, body, what=what, idempotent=idempotent, idempotency_key=idempotency_key)

    def call(self, method: str, path: str, body: Mapping[str, Any] | None, *, what: str, idempotent: bool,
             idempotency_key: str | None = None) -> dict[str, Any]:
        """One logical call; ``what`` names it in errors ("insurance card lookup"), never its data."""
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        attempts = 1 + (self.retries if idempotent else 0)
        deadline = self._monotonic() + self.timeout[0] + self.timeout[1]
        last: BackendUnavailableError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = self.backoff_delay(attempt)
                if self._monotonic() + delay >= deadline:
                    break  # no time left for another try within the call's deadline
                self._sleep(delay)
            if not self.breaker.allow():
                raise BackendUnavailableError(
                    f"{self.name}: {what}: circuit open, retry in {self.breaker.retry_in():.1f} s"
                ) from last
            try:
                return self._attempt(method, path, body, headers, what, deadline)
            except BackendUnavailableError as error:
                last = error
                log.debug("%s: %s failed (attempt %d of %d): %s", self.name, what, attempt + 1, attempts,
                         error.message)
        assert last is not None
        raise last

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half the step fixed, half random."""
        step = min(self.backoff_max_s, self.backoff_base_s * (2.0 ** (attempt - 1)))
        return step / 2 + self._rng.uniform(0, step / 2)

    def _attempt(self, method: str, path: str, body: Mapping[str, Any] | None, headers: dict[str, str],
                 what: str, deadline: float) -> dict[str, Any]:
        url = self.base_url + path
        remaining = max(0.001, deadline - self._monotonic())
        try:
            response = self.session.request(method, url, json=body, headers=headers,
                                            timeout=(min(self.timeout[0], remaining), min(self.timeout[1], remaining)),
                                            stream=True)
            status = int(response.status_code)
            content = read_body(response, what=f"{self.name}: {what}", deadline_at=deadline, monotonic=self._monotonic)
        except _TRANSIENT_EXCEPTIONS as exc:
            self.breaker.record_failure()
            raise BackendUnavailableError(f"{self.name}: {what}: {_describe(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            self.breaker.record_failure()
            raise BackendUnavailableError(f"{self.name}: {what}: request failed ({type(exc).__name__})") from exc
        if status in TRANSIENT_STATUSES:
            self.breaker.record_failure()
            raise BackendUnavailableError(f"{self.name}: {what}: HTTP {status}")
        self.breaker.record_success()
        if 400 <= status < 500:
            raise BackendRejectedError(f"{self.name}: {what}: HTTP {status}{_reason(content)}", status=status)
        if not 200 <= status < 300:
            raise BackendResponseError(f"{self.name}: {what}: unexpected HTTP {status}")
        return json_object(content, what=f"{self.name}: {what}")


def read_body(response: Any, *, what: str, deadline_at: float, max_bytes: int = MAX_ANSWER_BYTES,
              monotonic: Callable[[], float] = time.monotonic) -> bytes:
    """The body of a streamed answer, read piece by piece: a body over ``max_bytes`` is a
    BackendResponseError and one still arriving at ``deadline_at`` a BackendUnavailableError, so a
    server that dribbles or floods costs at most the deadline and ``max_bytes`` of memory. Answers
    without a stream (test doubles) give their ``content``."""
    raw = getattr(response, "raw", None)
    read1 = getattr(raw, "read1", None)
    if read1 is None:
        content = bytes(response.content)
        if len(content) > max_bytes:
            raise BackendResponseError(f"{what}: the answer is larger than {max_bytes} bytes")
        return content
    declared = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise BackendResponseError(f"{what}: the answer is larger than {max_bytes} bytes")
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            # read1 returns what one socket read brings: the deadline is checked between reads even
            # when a server sends one byte at a time (each read alone is bounded by the read timeout).
            try:
                part = read1(READ_CHUNK)
            except (urllib3.exceptions.HTTPError, OSError):
                # Not chained: the underlying error may quote the URL (which can carry credentials).
                raise BackendUnavailableError(f"{what}: the connection broke while the answer came in") from None
            if not part:
                break
            size += len(part)
            if size > max_bytes:
                raise BackendResponseError(f"{what}: the answer is larger than {max_bytes} bytes")
            parts.append(part)
            if monotonic() > deadline_at:
                raise BackendUnavailableError(f"{what}: the answer did not finish in time")
    finally:
        response.close()
    return b"".join(parts)


def json_object(content: bytes, *, what: str) -> dict[str, Any]:
    """A JSON object, or a BackendResponseError: bad UTF-8, bad JSON, nesting too deep, a number too
    long to convert, or anything but an object at the top."""
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise BackendResponseError(f"{what}: the answer is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BackendResponseError(f"{what}: the answer is not a JSON object")
    return data


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect or connection lost"
    return type(exc).__name__


def _reason(content: bytes) -> str:
    """The backend's short ``error`` text, if any: it says which rule we broke, never our data."""
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, ValueError, RecursionError):  # bad JSON, a number too long, nesting too deep
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    # Masked: a backend that echoes the request would put the ID number into logs and the outbox.
    return f" ({mask_numbers(error)[:120]})" if isinstance(error, str) and error else ""
