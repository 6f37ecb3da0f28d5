"""The agent's local store: one SQLite file (:mod:`sync.database`) and the repositories over it, the
verification results (:mod:`sync.results`), the backend check cache (:mod:`sync.check_cache`), the
exam rosters kept for offline check-in (:mod:`sync.rosters`) and the outbox of events waiting for a
backend (:mod:`sync.outbox`), plus the two operations that span them: recording a result with
everything it brings, and the retention purge.

Nothing personal is in clear in the file: records are found by keyed hashes of the ID number, and
every personal value is sealed with AES-GCM under a key kept outside the file (:mod:`sync.keys`).
A result and the events it queues are written in one transaction, so a process killed at any point
leaves either both or neither. Every SQLite failure becomes a typed error: StoreLockedError
(another process holds the file; retryable), StoreCorruptError (damaged file, or the wrong key),
StoreError (anything else). The store never deletes or recreates a file it cannot read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from agent.models import BackendCheck, VerificationResult
from sync.check_cache import CheckCache
from sync.database import Database, epoch, utc_now
from sync.keys import KeySource
from sync.outbox import STATE_FAILED, STATE_PENDING, STATE_SENT, OutboundEvent, Outbox, OutboxItem, OutboxStatus
from sync.results import MAX_LIST_LIMIT, Results
from sync.rosters import RosterCopy, RosterInfo, Rosters

__all__ = [
    "MAX_LIST_LIMIT",
    "STATE_FAILED",
    "STATE_PENDING",
    "STATE_SENT",
    "OutboundEvent",
    "OutboxItem",
    "OutboxStatus",
    "PurgeReport",
    "RosterCopy",
    "RosterInfo",
    "Store",
]


@dataclasses.dataclass(frozen=True)
class PurgeReport:
    results: int
    cache: int
    outbox: int
    rosters: int


class Store:
    """Open with :meth:`Store.open`; close with :meth:`close` (or use it as a context manager).

    ``results``, ``cache``, ``rosters`` and ``outbox`` are the repositories; they share one database,
    its lock and, in :meth:`record` and :meth:`purge`, one transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.results = Results(database)
        self.cache = CheckCache(database)
        self.rosters = Rosters(database)
        self.outbox = Outbox(database)
        self.audit_head = AuditHeadRecord(database)

    @classmethod
    def open(cls, path: str | Path, key_source: KeySource, *, busy_timeout_s: float = 5.0,
             clock: Callable[[], datetime] = utc_now) -> Store:
        """Open (or create) the store at ``path``; the key comes from ``key_source``.

        A new key is made only for a new store: for an existing one a missing key is an error, since a
        new key would silently orphan every sealed record.
        """
        return cls(Database.open(path, key_source, busy_timeout_s=busy_timeout_s, clock=clock))

    @property
    def path(self) -> Path:
        return self.database.path

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils database, for maintenance and tests (repositories go through the lock)."""
        return self.database.db

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, result: VerificationResult, events: Sequence[OutboundEvent] = (),
               cache: Sequence[tuple[str, BackendCheck]] = (), roster: RosterCopy | None = None) -> None:
        """Store a result, the events it queues, fresh backend answers and a roster downloaded on the
        way, all or nothing."""
        # Everything is hashed and sealed first, so the write lock is held only for the writes.
        now = self.database.now()
        result_row = self.results.row_for(result)
        cache_rows = self.cache.rows_for(cache)
        event_rows = self.outbox.rows_for(events, now)
        roster_rows = self.rosters.rows_for(roster.session_id, roster.entries) if roster is not None else []
        with self.database.write():
            self.results.write(result_row)
            self.cache.write(cache_rows)
            self.outbox.write(event_rows)
            if roster is not None:
                self.rosters.write(roster.session_id, roster.info, roster_rows,
                                   epoch(roster.downloaded_at) if roster.downloaded_at else now)

    def purge(self, *, retention_days: int, now: datetime | None = None) -> PurgeReport:
        """Erase personal data older than the retention period, in one transaction.

        Results keep their non-personal columns (time, verdict, profile) for counts; cache entries,
        rosters and delivered or refused events go. Events still pending are kept: they have not
        reached their backend yet, and dropping them would lose a check-in.
        """
        cutoff = epoch((now or self.database.clock()) - timedelta(days=retention_days))
        with self.database.write():
            return PurgeReport(
                results=self.results.purge_before(cutoff),
                cache=self.cache.purge_before(cutoff),
                outbox=self.outbox.purge_before(cutoff),
                rosters=self.rosters.purge_before(cutoff),
            )


class AuditHeadRecord:
    """The audit log's running head (its last sequence number and hash, MACed by the audit log), kept in
    the store's ``meta`` apart from the log itself: removing the log's last entries then no longer leaves
    a chain that verifies (agent.audit). The value is opaque here."""

    _NAME = "audit.head"

    def __init__(self, database: Database) -> None:
        self._database = database

    def load(self) -> str | None:
        return self._database.meta_values(self._NAME).get(self._NAME)

    def save(self, value: str) -> None:
        with self._database.write():
            self._database.set_meta(self._NAME, value)
