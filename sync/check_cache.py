"""The backend check cache: the last answer of each backend for one person, kept so the desk can
answer from it when the backend cannot be reached (marked ``from_cache``, with the time it was
checked), and only while it is younger than the caller's TTL.

A row is found by the keyed hash of kind, scope and ID number; its answer ``{"kind", "status",
"details"}`` (and the backend's own reason and next-step keys when it gave them) is sealed under
associated data ``b"cache\\x00" + lookup``. A newer answer replaces an older one, never the other way
round (answers can arrive late and out of order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent.errors import StoreCorruptError
from agent.models import BackendCheck
from sync.database import Database, Row, epoch, moment

_CHUNK = 5000  # rows sealed and written per statement batch in a bulk fill

# sqlite-utils' upsert_all() writes ON CONFLICT ... DO UPDATE without a WHERE clause, so "replace only
# when newer" cannot be said through it: this one statement stays SQL.
_UPSERT_IF_NEWER = (
    "INSERT INTO check_cache (lookup, checked_at, payload) VALUES (:lookup, :checked_at, :payload)"
    " ON CONFLICT (lookup) DO UPDATE SET checked_at = excluded.checked_at, payload = excluded.payload"
    " WHERE excluded.checked_at >= check_cache.checked_at"
)


class CheckCache:
    """The ``check_cache`` table of one store."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._table = database.table("check_cache")

    # --- writing --------------------------------------------------------------------------------

    def rows_for(self, items: Iterable[tuple[str, BackendCheck]], *, scope: str = "") -> list[Row]:
        """The sealed rows of (ID number, answer) pairs; an answer without a time is "now"."""
        return [self._row(id_number, check, scope) for id_number, check in items]

    def write(self, rows: Sequence[Row]) -> None:
        """Upsert rows from :meth:`rows_for`, each only over an older answer, in the caller's transaction."""
        self._database.require_write()
        if rows:
            # Database.execute() takes one parameter set; executemany is the connection's.
            self._database.db.conn.executemany(_UPSERT_IF_NEWER, rows)

    def put(self, id_number: str, check: BackendCheck, *, scope: str = "") -> None:
        rows = self.rows_for([(id_number, check)], scope=scope)
        with self._database.write():
            self.write(rows)

    def put_many(self, items: Iterable[tuple[str, BackendCheck]], *, scope: str = "") -> int:
        """Bulk fill in one transaction (imports, benchmarks): rows are sealed and written in chunks."""
        count = 0
        with self._database.write():
            chunk: list[Row] = []
            for id_number, check in items:
                chunk.append(self._row(id_number, check, scope))
                if len(chunk) >= _CHUNK:
                    self.write(chunk)
                    count += len(chunk)
                    chunk = []
            self.write(chunk)
            count += len(chunk)
        return count

    def purge_before(self, cutoff: float) -> int:
        """Delete answers checked before ``cutoff``, in the caller's transaction; how many."""
        self._database.require_write()
        # Table.delete_where() does not say how many rows went, and the purge report needs it.
        return int(self._database.db.execute("DELETE FROM check_cache WHERE checked_at < ?", [cutoff]).rowcount)

    def _row(self, id_number: str, check: BackendCheck, scope: str) -> Row:
        lookup = self._database.keys.lookup(str(check.kind), id_number, scope)
        checked_at = epoch(check.checked_at) if check.checked_at else self._database.now()
        payload = {"kind": str(check.kind), "status": str(check.status), "details": dict(check.details)}
        if check.reason_key or check.next_key:
            payload |= {"reason_key": check.reason_key, "next_key": check.next_key}
        return {"lookup": lookup, "checked_at": checked_at, "payload": self._database.seal(payload, _context(lookup))}

    # --- reading --------------------------------------------------------------------------------

    def get(self, kind: str, id_number: str, *, max_age_s: float, scope: str = "") -> BackendCheck | None:
        """The last answer of kind ``kind`` for this person if younger than ``max_age_s``, marked
        ``from_cache`` and carrying the time it was checked."""
        lookup = self._database.keys.lookup(str(kind), id_number, scope)
        oldest = self._database.now() - max_age_s
        # The desk's hottest read (benchmarks/store.py): a plain Database.execute() rather than
        # rows_where(), whose generator and per-row dict cost a tenth of a lookup.
        with self._database.read() as db:
            row = db.execute("SELECT checked_at, payload FROM check_cache WHERE lookup = ? AND checked_at >= ?",
                             [lookup, oldest]).fetchone()
        if row is None:
            return None
        checked_at, sealed = row
        data = self._database.unseal(sealed, _context(lookup))
        try:
            # Built directly rather than by BackendCheck.from_json() and replace(), for the same reason;
            # the payload is only the answer, its time is the column's.
            return BackendCheck(kind=data["kind"], status=data["status"], details=dict(data["details"]),
                                from_cache=True, checked_at=moment(checked_at),
                                reason_key=str(data.get("reason_key", "")), next_key=str(data.get("next_key", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreCorruptError("a cached answer does not have the expected shape") from exc

    def count(self) -> int:
        with self._database.read():
            return int(self._table.count_where())


def _context(lookup: bytes) -> bytes:
    return b"cache\x00" + lookup
