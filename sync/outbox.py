"""The outbox: events waiting for their backend, oldest first, each with the ``event_id`` the backend
dedupes by, and the delivery state the syncer (:mod:`sync.syncer`) moves them through: pending, then
sent once acknowledged or failed once refused for good, or parked: an event its backend kept failing
on (5xx, a refused batch) while the others got through, kept and shown to the operator, out of the
others' way until someone retries it (``requeue_parked``). Nothing leaves the outbox but by the purge,
and an event still pending or parked is never purged.

The payload is sealed under associated data ``b"outbox\\x00" + event_id``. The last delivery error and
the time of the last delivery are kept in ``meta`` (``sync.*``) for the status. Error texts are stored
classified and bounded (what kind of failure, the HTTP status), never a backend's text as it came: a
backend that echoes the request would otherwise put an ID number in the database in clear; any run of
digits long enough to be one is masked here whatever the caller passed.

:meth:`Outbox.export` and :meth:`Outbox.import_rows` carry the events still to deliver from a damaged
store to a new one, their payloads still sealed (the new store uses the same key).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import operator
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agent.errors import StoreError
from sync.database import Database, Row, moment

STATE_PENDING = "pending"
STATE_SENT = "sent"
STATE_FAILED = "failed"
STATE_PARKED = "parked"
MAX_ERROR_CHARS = 200
_LONG_NUMBER = re.compile(r"\d{6,}")  # an ID number (12), an old CMND (9), a card or phone number
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
    parked: int = 0
    parked_events: tuple[dict[str, Any], ...] = ()  # event id, destination, attempts, error: no personal data

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
            "parked": self.parked,
            "parked_events": [dict(event) for event in self.parked_events],
        }


# Table.update() changes one row by primary key and insists that it changed; these change an event only
# while it is still pending (a refused event is not silently flipped to sent), so they stay SQL.
_MARK_SENT = ("UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = '', updated_at = ?"
              " WHERE event_id = ? AND state = 'pending'")
_MARK_FAILED = ("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?"
                " WHERE event_id = ? AND state = 'pending'")
_NOTE_ATTEMPT = ("UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?"
                 " WHERE event_id = ? AND state = 'pending'")
_PARK = ("UPDATE outbox SET state = 'parked', last_error = ?, updated_at = ?"
         " WHERE event_id = ? AND state = 'pending'")
_REQUEUE = "UPDATE outbox SET state = 'pending', attempts = 0, updated_at = ? WHERE state = 'parked'"


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
            db.conn.executemany(_MARK_FAILED, [(bounded_error(f"rejected by the backend: {reason}"), now, event_id)
                                               for event_id, reason in rejected.items()])
            if delivered:
                self._database.set_meta(_META_LAST_SENT_AT, str(now))
            if rejected:
                first_reason = next(iter(rejected.values()))
                self._database.set_meta(_META_LAST_ERROR, bounded_error(f"rejected by the backend: {first_reason}"))
                self._database.set_meta(_META_LAST_ERROR_AT, str(now))

    def note_attempt_failed(self, event_ids: Sequence[str], error: str) -> None:
        """A delivery attempt failed for a reason that may pass (the events stay pending)."""
        now = self._database.now()
        error = bounded_error(error)
        with self._database.write() as db:
            db.conn.executemany(_NOTE_ATTEMPT, [(error, now, event_id) for event_id in event_ids])
            self._database.set_meta(_META_LAST_ERROR, error)
            self._database.set_meta(_META_LAST_ERROR_AT, str(now))

    def park(self, event_ids: Sequence[str], error: str) -> None:
        """Set aside pending events their backend keeps failing on while it takes the others: kept,
        counted and listed in the status, not offered again until :meth:`requeue_parked`."""
        now = self._database.now()
        error = bounded_error(f"parked: {error}")
        with self._database.write() as db:
            db.conn.executemany(_PARK, [(error, now, event_id) for event_id in event_ids])
            self._database.set_meta(_META_LAST_ERROR, error)
            self._database.set_meta(_META_LAST_ERROR_AT, str(now))

    def requeue_parked(self) -> int:
        """Offer every parked event again (the operator fixed what the backend refused); how many."""
        with self._database.write() as db:
            return int(db.conn.execute(_REQUEUE, [self._database.now()]).rowcount)

    def purge_before(self, cutoff: float) -> int:
        """Delete sent and failed events last touched before ``cutoff``; pending and parked ones stay.
        How many."""
        self._database.require_write()
        # Table.delete_where() does not say how many rows went, and the purge report needs it.
        return int(self._database.db.execute(
            "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < ?", [cutoff]).rowcount)

    # --- moving to a new store ------------------------------------------------------------------

    def export(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The events still to deliver (pending and parked), payloads sealed as stored and each checked to
        open under the key; and the event ids whose payload no longer opens (damaged beyond export)."""
        with self._database.read() as db:
            rows = [dict(row) for row in db.query(
                "SELECT event_id, destination, created_at, attempts, payload FROM outbox"
                " WHERE state IN ('pending', 'parked') ORDER BY seq")]
        exported: list[dict[str, Any]] = []
        unreadable: list[str] = []
        for row in rows:
            try:
                self._database.unseal(row["payload"], _context(row["event_id"]))
            except StoreError:
                unreadable.append(str(row["event_id"]))
                continue
            exported.append({"event_id": row["event_id"], "destination": row["destination"],
                             "created_at": row["created_at"], "attempts": row["attempts"],
                             "payload": base64.b64encode(bytes(row["payload"])).decode("ascii")})
        return exported, unreadable

    def import_rows(self, rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        """Queue exported events again (as pending); those already here are left alone. (added, skipped)"""
        now = self._database.now()
        prepared: list[Row] = []
        for row in rows:
            try:
                event_id, payload = str(row["event_id"]), base64.b64decode(str(row["payload"]), validate=True)
                self._database.unseal(payload, _context(event_id))
                prepared.append({"event_id": event_id, "destination": str(row["destination"]),
                                 "created_at": float(row["created_at"]), "updated_at": now, "payload": payload})
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise StoreError(f"an exported outbox event is malformed ({type(exc).__name__})") from exc
        with self._database.read():
            known = {event["event_id"] for event in prepared
                     if list(self._table.rows_where("event_id = ?", [event["event_id"]], select="event_id"))}
        fresh = [event for event in prepared if event["event_id"] not in known]
        with self._database.write():
            self.write(fresh)
        return len(fresh), len(prepared) - len(fresh)

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
            parked = [{"event_id": row["event_id"], "destination": row["destination"], "attempts": row["attempts"],
                       "error": row["last_error"], "parked_at": moment(row["updated_at"]).isoformat()}
                      for row in db.query("SELECT event_id, destination, attempts, last_error, updated_at FROM outbox"
                                          " WHERE state = 'parked' ORDER BY seq LIMIT 20")]

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
            parked=int(counts.get(STATE_PARKED, 0)),
            parked_events=tuple(parked),
        )


def bounded_error(text: str) -> str:
    """An error text as the outbox keeps it: at most :data:`MAX_ERROR_CHARS`, every long run of digits
    masked like an ID number (first 3 and last 2 kept)."""
    masked = _LONG_NUMBER.sub(lambda found: found[0][:3] + "*" * (len(found[0]) - 5) + found[0][-2:], text)
    return masked[:MAX_ERROR_CHARS]


def _context(event_id: str) -> bytes:
    return b"outbox\x00" + event_id.encode()
