"""A circuit breaker per backend, so that a dead backend costs the desk microseconds, not a
connect timeout per check.

Closed: calls go through and consecutive failures are counted. After ``failures`` in a row it opens:
calls are refused at once until ``reset_s`` has passed. Then it is half-open: one trial call is let
through; its success closes the breaker, its failure opens it for another ``reset_s``. The clock is a
parameter so that tests need not sleep. ``failures=0`` disables the breaker.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, *, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_s:
                return BreakerState.HALF_OPEN
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when not open)."""
        with self._lock:
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self.reset_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state, only one trial call at a time."""
        if self.failures <= 0:
            return True
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.reset_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._trial_in_flight = False
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._consecutive = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        if self.failures <= 0:
            return
        with self._lock:
            self._consecutive += 1
            self._trial_in_flight = False
            if self._state is BreakerState.HALF_OPEN or self._consecutive >= self.failures:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
