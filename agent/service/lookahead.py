"""Entitlement answers asked for before the verification that needs them: a verdict while the card is
still reading (docs/architecture.md "Data flow").

A lookup at the BHXH gateway takes 1-3 s, a chip read about as long: done one after the other, the
desk waits for both. So the lookup starts on its own thread as soon as the identity is known (when a QR
code is read, or as soon as the chip's DG13 is in), and the pipeline takes its answer when the chip
checks are done. An answer is taken only for the same identity (ID number, name, date of birth or birth
year) and the same operator, and only while it is young (``max_age_s``); anything else is looked up
anew. A QR code or a typed number always asks anew (the operator checking again wants today's answer)
and leaves its answer for the card tapped after it; the chip's result uses it up (the next tap asks
again). Nothing is written here: the pipeline records the answer with the result, as for a lookup it made
itself, and a chip that fails its checks is rejected whatever the answer (the pipeline never takes it).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime

from agent.models import Identity, Operator
from agent.service.entitlement import Assessment, Entitlement
from agent.service.policy import SitePolicy

log = logging.getLogger(__name__)

MAX_AGE_S = 60.0  # a QR shown, then the card tapped: the same answer serves both within a minute
KEPT = 4  # one person at a time at a desk; a few in flight at most


@dataclasses.dataclass(frozen=True)
class _Asked:
    """What an answer is an answer to (never printed: personal data)."""

    id_number: str
    full_name: str
    date_of_birth: date | None
    birth_year: int | None
    operator: Operator | None

    @classmethod
    def of(cls, identity: Identity, operator: Operator | None) -> _Asked:
        return cls(identity.lookup_number, " ".join(identity.full_name.split()).upper(), identity.date_of_birth,
                   identity.year_of_birth, operator)

    def __repr__(self) -> str:
        return "_Asked(...)"


class _Pending:
    def __init__(self, started: float) -> None:
        self.started = started
        self.done = threading.Event()
        self.assessment: Assessment | None = None


class Lookahead:
    def __init__(self, policy: SitePolicy, entitlement: Entitlement, *, clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic, max_age_s: float = MAX_AGE_S) -> None:
        self.policy = policy
        self.entitlement = entitlement
        self._clock = clock
        self._monotonic = monotonic
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._pending: dict[_Asked, _Pending] = {}
        self.started = 0  # lookups started ahead (for tests and the benchmark)
        # Off only to measure what looking ahead saves (benchmarks/desk.py): each verification then asks
        # for itself, after the whole chip read.
        self.enabled = True

    def start(self, identity: Identity, operator: Operator | None, *, fresh: bool = False) -> None:
        """Start the lookup of ``identity`` by ``operator`` unless a young one is already started (with
        ``fresh``, start a new one whatever was started before)."""
        if not identity.lookup_number or not self.enabled:
            return
        asked = _Asked.of(identity, operator)
        now = self._monotonic()
        with self._lock:
            self._forget_old(now)
            if asked in self._pending and not fresh:
                return
            self._pending.pop(asked, None)
            pending = self._pending[asked] = _Pending(now)
            while len(self._pending) > KEPT:
                self._pending.pop(next(iter(self._pending)))
            self.started += 1
        threading.Thread(target=self._run, args=(identity, operator, pending), name="desk-lookahead",
                         daemon=True).start()

    def take(self, identity: Identity, operator: Operator | None, *, keep: bool = False) -> Assessment | None:
        """The answer started ahead for ``identity`` and ``operator`` (waiting for it if it is still on its
        way), or None: nothing started, too old, or it failed (the caller then asks itself, and gets the
        failure as its own). ``keep`` leaves it for the next verification of the same person."""
        asked = _Asked.of(identity, operator)
        with self._lock:
            self._forget_old(self._monotonic())
            pending = self._pending.get(asked) if keep else self._pending.pop(asked, None)
        if pending is None:
            return None
        pending.done.wait()
        return pending.assessment

    def _run(self, identity: Identity, operator: Operator | None, pending: _Pending) -> None:
        try:
            pending.assessment = self.policy.assess(self.entitlement, identity, operator, at=self._clock())
        except Exception as error:  # raised again by the pipeline's own lookup, where it is handled
            log.info("lookup ahead of the verification failed: %s", type(error).__name__)
        finally:
            pending.done.set()

    def _forget_old(self, now: float) -> None:
        for asked in [a for a, p in self._pending.items() if now - p.started > self.max_age_s]:
            del self._pending[asked]
