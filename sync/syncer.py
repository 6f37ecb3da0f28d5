"""The syncer: delivers the outbox to the backends in batches, exactly once on the backend side.

Exactly once rests on two rules. Every event carries its own ``event_id``, which the backend dedupes
by; and an event is marked sent only after its backend acknowledged it (``accepted`` or
``duplicate``). So a backend dying mid-batch, a lost answer or the agent killed between the
backend's acknowledgement and our commit only means the batch is sent again and answered
``duplicate``. An event the backend refuses (``rejected``) is marked failed, kept and shown in the
status; nothing is dropped silently. A failed attempt backs off exponentially with jitter.

One event must not hold up the others (issue 13): an event that has failed ``park_after`` attempts is a
suspect. Each pass sends the others first, in batches, then each suspect alone; a suspect that fails
while its backend is seen to take other events (in the same pass) is parked: kept, shown in the sync
status and on the desk page, not offered again until the operator retries it. A suspect that fails when
nothing gets through is the backend being down, not the event: it stays pending. Errors are stored
classified (unavailable / rejected with its HTTP status / malformed answer), never as the backend's text.

:meth:`Syncer.run` is the one delivery loop, in the foreground (``python -m agent sync``) or on a
thread of the desk (:class:`SyncThread`, started by ``serve`` and the demo): every ``interval_s``, at
once when woken (a new record), backing off while deliveries fail, purging personal data past the
retention period once an hour. A locked store is waited out; any other store failure ends the loop by
raising (a damaged store needs a person; on a thread it is kept as the last error for the status).

The uploader is a port (:class:`agent.ports.Uploader`): the wiring hands in one built on the backend
clients, tests hand in fakes. This module knows only the store, the ports, agent.models and agent.errors.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent.errors import (
    BackendError,
    BackendRejectedError,
    BackendResponseError,
    BackendUnavailableError,
    StoreError,
    StoreLockedError,
)
from agent.ports import Uploader
from sync.store import OutboxItem, Store

log = logging.getLogger(__name__)
DELIVERED = frozenset({"accepted", "duplicate"})
REJECTED = "rejected"
PURGE_EVERY_S = 3600.0
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
PARK_AFTER_ATTEMPTS = 5
# Suspects sent alone in a row that fail with nothing getting through: the backend is down, stop the pass.
MAX_UNPROVEN_FAILURES = 3


@dataclasses.dataclass(frozen=True)
class DrainReport:
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    remaining: int = 0
    error: str = ""
    parked: int = 0

    @property
    def complete(self) -> bool:
        return not self.error and self.remaining == 0

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "complete": self.complete}


@dataclasses.dataclass
class _Tally:
    """What one drain pass has done so far (the counts of its DrainReport)."""

    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    parked: int = 0


class Syncer:
    def __init__(
        self,
        store: Store,
        uploader: Uploader,
        *,
        batch_size: int = 50,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 300.0,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        park_after: int = PARK_AFTER_ATTEMPTS,
    ) -> None:
        self.store = store
        self.uploader = uploader
        self.batch_size = max(1, batch_size)
        self.park_after = max(1, park_after)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self.last_report: DrainReport | None = None
        self.last_error = ""
        self.last_contact_at = 0.0  # monotonic time of the last pass that reached a backend (or failed to)

    def drain(self, *, max_batches: int | None = None) -> DrainReport:
        """Send pending events batch by batch until none is left, a delivery fails or ``max_batches``.

        Backend failures end the pass and are reported (and noted on the events); store failures raise.
        """
        tally = _Tally()
        error = ""
        batches = 0
        while max_batches is None or batches < max_batches:
            items = self.store.outbox.pending(self.batch_size)
            if not items:
                break
            batches += 1
            for destination, group in _by_destination(items).items():
                error = self._deliver_group(destination, group, tally)
                if error:
                    break
            if error:
                break
        remaining = self.store.outbox.status().pending
        return DrainReport(tally.delivered, tally.duplicates, tally.rejected, remaining, error, tally.parked)

    def _deliver_group(self, destination: str, group: Sequence[OutboxItem], tally: _Tally) -> str:
        """The events of one pass for one backend: the others in one batch, then each suspect alone (see
        the module notes); the error that ended it, if any."""
        regular = [item for item in group if item.attempts < self.park_after]
        suspects = [item for item in group if item.attempts >= self.park_after]
        backend_up = False
        if regular:
            error = self._deliver(destination, regular, tally)
            if error:
                return error
            backend_up = True
        failed_unproven: list[tuple[OutboxItem, str]] = []
        for item in suspects:
            error = self._deliver(destination, [item], tally)
            if not error:
                backend_up = True
                for earlier, reason in failed_unproven:
                    self._park(earlier, reason, tally)
                failed_unproven = []
            elif backend_up:
                self._park(item, error, tally)
            else:
                failed_unproven.append((item, error))
                if len(failed_unproven) >= MAX_UNPROVEN_FAILURES:
                    return error
        return failed_unproven[-1][1] if failed_unproven else ""

    def _park(self, item: OutboxItem, reason: str, tally: _Tally) -> None:
        log.warning("sync: event %s to %s parked after %d failed attempts (the backend takes the others): %s",
                    item.event_id, item.destination, item.attempts + 1, reason)
        self.store.outbox.park([item.event_id], reason)
        tally.parked += 1

    def _deliver(self, destination: str, group: Sequence[OutboxItem], tally: _Tally) -> str:
        """One batch to one backend, counted into ``tally``; the error that failed it (or some of it), if any."""
        ids = [item.event_id for item in group]
        # The idempotency key is the outbox row's own id, whatever the payload says.
        events = [{**item.payload, "event_id": item.event_id} for item in group]
        try:
            receipts = self.uploader.upload(destination, events)
        except BackendError as failure:
            message = classified(destination, failure)
            log.info("sync: %d events to %s stay queued: %s", len(ids), destination, message)
            self.store.outbox.note_attempt_failed(ids, message)
            return message
        sent = [i for i in ids if i in receipts and receipts[i].status in DELIVERED]
        refused = {i: receipts[i].reason or "rejected" for i in ids if i in receipts and receipts[i].status == REJECTED}
        self.store.outbox.settle(delivered=sent, rejected=refused)
        unanswered = [i for i in ids if i not in sent and i not in refused]
        duplicates = sum(1 for i in sent if receipts[i].status == "duplicate")
        tally.delivered += len(sent) - duplicates
        tally.duplicates += duplicates
        tally.rejected += len(refused)
        if unanswered:
            message = f"{destination}: no receipt for {len(unanswered)} events"
            self.store.outbox.note_attempt_failed(unanswered, message)
            return message
        return ""

    def backoff_delay(self, failures: int) -> float:
        """Exponential backoff with "equal jitter" after ``failures`` failed passes in a row."""
        step = min(self.backoff_max_s, self.backoff_base_s * (2.0 ** max(0, failures - 1)))
        return step / 2 + self._rng.uniform(0, step / 2)

    def run(self, *, interval_s: float, stop: threading.Event, retention_days: int | None = None,
            on_report: Callable[[DrainReport], None] | None = None, wake: threading.Event | None = None) -> None:
        """Drain every ``interval_s`` (at once when ``wake`` is set) until ``stop`` is set, backing off
        while deliveries fail. A locked store is waited out; any other StoreError ends the loop by
        raising: retrying cannot repair a damaged file, and a person must look. Whoever sets ``stop``
        while the loop waits on ``wake`` sets ``wake`` too."""
        failures = 0
        next_purge = 0.0
        waiter = wake or stop
        while not stop.is_set():
            if wake is not None:
                wake.clear()
            try:
                if retention_days and self._monotonic() >= next_purge:
                    self.store.purge(retention_days=retention_days)
                    next_purge = self._monotonic() + PURGE_EVERY_S
                report = self.drain()
            except StoreLockedError as locked:
                report = DrainReport(error=f"store: {locked.message}")
            except StoreError as broken:
                self.last_error = f"store: {broken.message}"
                raise
            self.last_report = report
            self.last_error = report.error
            if report.error or report.delivered or report.duplicates or report.rejected:
                self.last_contact_at = self._monotonic()
            if on_report is not None:
                on_report(report)
            failures = failures + 1 if report.error else 0
            waiter.wait(self.backoff_delay(failures) if failures else interval_s)


class SyncThread:
    """:meth:`Syncer.run` on a thread of the desk: ``wake()`` after a new record, ``stop()`` at the end."""

    def __init__(self, syncer: Syncer, *, interval_s: float, retention_days: int) -> None:
        self.syncer = syncer
        self.interval_s = interval_s
        self.retention_days = retention_days
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="desk-sync", daemon=True)
            self._thread.start()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        try:
            self.syncer.run(interval_s=self.interval_s, stop=self._stop, retention_days=self.retention_days,
                            wake=self._wake)
        except StoreError as broken:
            log.error("sync stopped: %s", broken.message)  # the status shows it (Syncer.last_error)


def classified(destination: str, failure: BackendError) -> str:
    """What the outbox keeps of a failed delivery: the kind of failure and the HTTP status, never the
    backend's own text (it may echo the events it was sent)."""
    if isinstance(failure, BackendRejectedError):
        kind = "rejected" + (f" (HTTP {failure.status})" if failure.status is not None else "")
    elif isinstance(failure, BackendUnavailableError):
        status = _HTTP_STATUS.search(failure.message)  # the clients write "HTTP 503" into the message
        kind = "unavailable" + (f" (HTTP {status[1]})" if status else "")
    elif isinstance(failure, BackendResponseError):
        kind = "malformed answer"
    else:
        kind = type(failure).__name__
    return f"{destination}: backend {kind}"


def _by_destination(items: Sequence[OutboxItem]) -> dict[str, list[OutboxItem]]:
    groups: dict[str, list[OutboxItem]] = {}
    for item in items:
        groups.setdefault(item.destination, []).append(item)
    return groups
