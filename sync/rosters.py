"""Exam rosters kept for offline check-in: per session, when it was downloaded and its description
(``roster_sessions``, nothing personal), and one sealed row per candidate (``roster_entries``).

A candidate's row is found by the keyed hash of the ID number scoped to the session, and sealed under
associated data ``b"roster\\x00" + session_id + lookup``. Saving a session replaces its whole roster;
deleting a session deletes its candidates with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from agent.errors import StoreCorruptError
from sync.database import Database, Row, epoch, moment

KIND_ROSTER = "roster"


@dataclasses.dataclass(frozen=True)
class RosterInfo:
    session_id: str
    downloaded_at: datetime
    info: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RosterCopy:
    """A whole exam roster as downloaded, kept for offline check-ins: (ID number, details) per candidate.
    ``downloaded_at`` None means "when it is written"."""

    session_id: str
    info: dict[str, Any]
    entries: tuple[tuple[str, dict[str, Any]], ...] = dataclasses.field(repr=False)
    downloaded_at: datetime | None = None


class Rosters:
    """The ``roster_sessions`` and ``roster_entries`` tables of one store."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._sessions = database.table("roster_sessions")
        self._entries = database.table("roster_entries")

    # --- writing --------------------------------------------------------------------------------

    def save(self, session_id: str, info: Mapping[str, Any], entries: Iterable[tuple[str, Mapping[str, Any]]], *,
             downloaded_at: datetime | None = None) -> int:
        """Replace the stored roster of ``session_id``: (ID number, details) per candidate; how many."""
        rows = self.rows_for(session_id, entries)
        stamp = epoch(downloaded_at) if downloaded_at else self._database.now()
        with self._database.write():
            self.write(session_id, info, rows, stamp)
        return len(rows)

    def rows_for(self, session_id: str, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Row]:
        """The sealed candidate rows of a roster (sealed before the write transaction)."""
        rows = []
        for id_number, details in entries:
            lookup = self._database.keys.lookup(KIND_ROSTER, id_number, session_id)
            rows.append({"session_id": session_id, "lookup": lookup,
                         "payload": self._database.seal(dict(details), _context(session_id, lookup))})
        return rows

    def write(self, session_id: str, info: Mapping[str, Any], rows: Sequence[Row], downloaded_at: float) -> None:
        """Replace the session's roster with rows from :meth:`rows_for`, in the caller's transaction."""
        self._database.require_write()
        self._entries.delete_where("session_id = ?", [session_id])
        # The description is dumped here rather than by sqlite-utils so its text stays as it always was.
        self._sessions.insert({"session_id": session_id, "downloaded_at": downloaded_at,
                               "info": json.dumps(dict(info), ensure_ascii=False)}, replace=True)
        self._entries.insert_all(rows)

    def purge_before(self, cutoff: float) -> int:
        """Delete the rosters downloaded before ``cutoff`` (their candidates go with them); how many."""
        self._database.require_write()
        # Table.delete_where() does not say how many rows went, and the purge report needs it.
        return int(self._database.db.execute("DELETE FROM roster_sessions WHERE downloaded_at < ?",
                                             [cutoff]).rowcount)

    # --- reading --------------------------------------------------------------------------------

    def info(self, session_id: str | None = None) -> RosterInfo | None:
        """The stored roster of ``session_id``, or the most recently downloaded one."""
        with self._database.read():
            if session_id is None:
                rows = list(self._sessions.rows_where(order_by="downloaded_at DESC", limit=1))
            else:
                rows = list(self._sessions.rows_where("session_id = ?", [session_id]))
        if not rows:
            return None
        row = rows[0]
        try:
            info = json.loads(row["info"])
        except json.JSONDecodeError as exc:
            raise StoreCorruptError("a stored roster's description is not valid JSON") from exc
        return RosterInfo(row["session_id"], moment(row["downloaded_at"]), info if isinstance(info, dict) else {})

    def entry(self, session_id: str, id_number: str) -> dict[str, Any] | None:
        """The details of one candidate of ``session_id``, or None if not on the stored roster."""
        lookup = self._database.keys.lookup(KIND_ROSTER, id_number, session_id)
        with self._database.read():
            rows = list(self._entries.rows_where("session_id = ? AND lookup = ?", [session_id, lookup],
                                                 select="payload"))
        if not rows:
            return None
        data = self._database.unseal(rows[0]["payload"], _context(session_id, lookup))
        return data if isinstance(data, dict) else None


def _context(session_id: str, lookup: bytes) -> bytes:
    return b"roster\x00" + session_id.encode() + lookup
