"""The outbox: events waiting for their backend, oldest first, each with the ``event_id`` the backend
dedupes by, and the delivery state the syncer (:mod:`sync.syncer`) moves them through: pending, then
sent once acknowledged or failed once refused for good. Nothing leaves the outbox but by the purge,
and an event still pending is never purged.

The payload is sealed under associated data ``b"outbox\\x00" + event_id``. The last delivery error and
the time of the last delivery are kept in ``meta`` (``sync.*``) for the status.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sync.database import Database, Row, moment

STATE_PENDING = "pending"
STATE_SENT = "sent"
STATE_FAILED = "failed"
_META_LAST_ERROR = "sync.last_error"
_META_LAST_ERROR_AT = "sync.last_error_at"
_META_LAST_SENT_AT = "sync.last_sent_at"


@dataclasses.dataclass(frozen=True)
class OutboundEvent:
    """An event to queue with a result: ``event_id`` is the idempotency key the backend dedupes by."""

    event_id: str
    destination: str  # "insurance" | "licensing"
    payload: dict[str, Any] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class OutboxItem:
    seq: int
    event_id: str
    destination: str
    created_at: datetime
    attempts: int
    payload: dict[str, Any] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class OutboxStatus:
    pending: int
    sent: int
    failed: int
    oldest_pending_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    last_sent_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "pending": self.pending,
            "sent": self.sent,
            "failed": self.failed,
            "oldest_pending_at": stamp(self.oldest_pending_at),
            "last_error": self.last_error,
            "last_error_at": stamp(self.last_error_at),
            "last_sent_at": stamp(self.last_sent_at),
        }


# Table.update() changes one row by primary key and insists that it changed; these change an event only
# while it is still pending (a refused event is not silently flipped to sent), so they stay SQL.
_MARK_SENT = ("UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = '', updated_at = ?"
              " WHERE event_id = ? AND state = 'pending'")
_MARK_FAILED = ("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?"
                " WHERE event_id = ? AND state = 'pending'")
_NOTE_ATTEMPT = ("UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?"
                 " WHERE event_id = ? AND state = 'pending'")


class Outbox:
    """The ``outbox`` table of one store."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._table = database.table("outbox")

    # --- queueing -------------------------------------------------------------------------------

    def rows_for(self, events: Sequence[OutboundEvent], now: float) -> list[Row]:
        """The sealed rows of ``events`` queued at ``now`` (sealed before the write transaction)."""
        return [{"event_id": event.event_id, "destination": event.destination, "created_at": now,
                 "updated_at": now, "payload": self._database.seal(event.payload, _context(event.event_id))}
                for event in events]

    def write(self, rows: Sequence[Row]) -> None:
        """Insert rows from :meth:`rows_for`; an event id already queued fails the whole transaction."""
        self._database.require_write()
        self._table.insert_all(rows)

    def enqueue(self, events: Sequence[OutboundEvent]) -> None:
        rows = self.rows_for(events, self._database.now())
        with self._database.write():
            self.write(rows)

    # --- delivering -----------------------------------------------------------------------------

    def pending(self, limit: int) -> list[OutboxItem]:
        """The oldest ``limit`` events not yet acknowledged by their backend."""
        # The state is spelt out, not bound: only then can SQLite use the partial index outbox_pending.
        # rows_where() writes the limit into the SQL text, hence a whole number only.
        with self._database.read():
            rows = list(self._table.rows_where(
                "state = 'pending'", select="seq, event_id, destination, created_at, attempts, payload",
                order_by="seq", limit=operator.index(limit),
            ))
        return [OutboxItem(row["seq"], row["event_id"], row["destination"], moment(row["created_at"]),
                           row["attempts"], self._database.unseal(row["payload"], _context(row["event_id"])))
                for row in rows]

    def settle(self, *, delivered: Sequence[str] = (), rejected: Mapping[str, str] | None = None) -> None:
        """Mark events the backend acknowledged as sent, and those it refused for good as failed."""
        now = self._database.now()
        rejected = rejected or {}
        with self._database.write() as db:
            db.conn.executemany(_MARK_SENT, [(now, event_id) for event_id in delivered])
            db.conn.executemany(_MARK_FAILED, [(reason[:200], now, event_id) for event_id, reason in rejected.items()])
            if delivered:
                self._database.set_meta(_META_LAST_SENT_AT, str(now))
            if rejected:
                first_reason = next(iter(rejected.values()))
                self._database.set_meta(_META_LAST_ERROR, f"rejected by the backend: {first_reason}"[:300])
                self._database.set_meta(_META_LAST_ERROR_AT, str(now))

    def note_attempt_failed(self, event_ids: Sequence[str], error: str) -> None:
        """A delivery attempt failed for a reason that may pass (the events stay pending)."""
        now = self._database.now()
        with self._database.write() as db:
            db.conn.executemany(_NOTE_ATTEMPT, [(error[:200], now, event_id) for event_id in event_ids])
            self._database.set_meta(_META_LAST_ERROR, error[:300])
            self._database.set_meta(_META_LAST_ERROR_AT, str(now))

    def purge_before(self, cutoff: float) -> int:
        """Delete sent and failed events last touched before ``cutoff``; pending ones stay. How many."""
        self._database.require_write()
        # Table.delete_where() does not say how many rows went, and the purge report needs it.
        return int(self._database.db.execute(
            "DELETE FROM outbox WHERE state != 'pending' AND updated_at < ?", [cutoff]).rowcount)

    # --- status ---------------------------------------------------------------------------------

    def state(self, event_id: str) -> str | None:
        """pending / sent / failed, or None if there is no such event (never queued, or purged)."""
        with self._database.read():
            rows = list(self._table.rows_where("event_id = ?", [event_id], select="state"))
        return str(rows[0]["state"]) if rows else None

    def status(self) -> OutboxStatus:
        with self._database.read() as db:
            counts = {row["state"]: row["n"]
                      for row in db.query("SELECT state, count(*) AS n FROM outbox GROUP BY state")}
            oldest = next(db.query("SELECT min(created_at) AS oldest FROM outbox WHERE state = 'pending'"))["oldest"]
            meta = self._database.meta_values("sync.")

        def stamp(name: str) -> datetime | None:
            return moment(float(meta[name])) if name in meta else None

        return OutboxStatus(
            pending=int(counts.get(STATE_PENDING, 0)),
            sent=int(counts.get(STATE_SENT, 0)),
            failed=int(counts.get(STATE_FAILED, 0)),
            oldest_pending_at=moment(oldest) if oldest is not None else None,
            last_error=str(meta.get(_META_LAST_ERROR, "")),
            last_error_at=stamp(_META_LAST_ERROR_AT),
            last_sent_at=stamp(_META_LAST_SENT_AT),
        )


def _context(event_id: str) -> bytes:
    return b"outbox\x00" + event_id.encode()
