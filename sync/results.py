"""The verification results the desk has shown: one row each, found by ``result_id`` or by a keyed hash
of the person's ID number, paged newest first for the history.

The whole result, chip receipt included, is sealed in ``payload`` under associated data
``b"result\\x00" + result_id``, so a payload copied into another row does not open; the other columns
(time, verdict, site profile, source) hold nothing personal and outlive the retention period for
counts, while :meth:`Results.purge_before` erases the personal part. The JSON shape is the model's own
(:meth:`agent.models.VerificationResult.to_json` / ``from_json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.errors import InvalidInputError, StoreCorruptError
from agent.models import VerificationResult
from sync.database import Database, Row, epoch

KIND_RESULT = "result"
MAX_LIST_LIMIT = 1000  # results decrypted for one page of the history, at most
_MAX_OFFSET = 2**62  # SQLite integers are 64-bit


class Results:
    """The ``results`` table of one store."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._table = database.table("results")

    # --- writing (in the transaction of Store.record) ------------------------------------------

    def row_for(self, result: VerificationResult) -> Row:
        """The row of ``result``, sealed (done before the write transaction, so the lock is held briefly)."""
        return {
            "result_id": result.result_id,
            "created_at": epoch(result.created_at),
            "verdict": str(result.verdict),
            "profile": str(result.site_profile),
            "source": str(result.source),
            "lookup": self._database.keys.lookup(KIND_RESULT, result.identity.id_number),
            "payload": self._database.seal(result.to_json(with_chip_receipt=True), _context(result.result_id)),
        }

    def write(self, row: Row) -> None:
        """Insert a row from :meth:`row_for`; a result id already stored fails the whole transaction."""
        self._database.require_write()
        self._table.insert(row)

    def purge_before(self, cutoff: float) -> int:
        """Erase the personal part (payload, lookup) of results older than ``cutoff``; how many."""
        self._database.require_write()
        # Table.update() changes one row by primary key; this is one statement over many rows.
        return int(self._database.db.execute(
            "UPDATE results SET payload = NULL, lookup = NULL WHERE created_at < ? AND payload IS NOT NULL",
            [cutoff],
        ).rowcount)

    # --- reading --------------------------------------------------------------------------------

    def get(self, result_id: str) -> VerificationResult | None:
        """The result ``result_id``; None if there is none or its personal part was purged."""
        with self._database.read():
            rows = list(self._table.rows_where("result_id = ?", [result_id], select="payload"))
        if not rows or rows[0]["payload"] is None:
            return None
        return self._decode(result_id, rows[0]["payload"])

    def for_person(self, id_number: str, *, since: datetime | None = None) -> list[VerificationResult]:
        """The results recorded for one person (found by keyed hash), oldest first."""
        lookup = self._database.keys.lookup(KIND_RESULT, id_number)
        with self._database.read():
            rows = list(self._table.rows_where(
                "lookup = ? AND created_at >= ?", [lookup, epoch(since) if since else 0.0],
                select="result_id, payload", order_by="created_at",
            ))
        return [self._decode(row["result_id"], row["payload"]) for row in rows if row["payload"] is not None]

    def page(self, limit: int, offset: int = 0) -> list[VerificationResult]:
        """A page of the history, newest first (equal times: the later recorded first). Results whose
        personal part was purged after the retention period are left out; only the rows of the page
        are decrypted."""
        # rows_where() writes limit and offset into the SQL text: only whole numbers in range get there.
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIST_LIMIT:
            raise InvalidInputError(f"must be between 0 and {MAX_LIST_LIMIT}", field="limit")
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= _MAX_OFFSET:
            raise InvalidInputError("must be a whole number, 0 or more", field="offset")
        with self._database.read():
            rows = list(self._table.rows_where(
                "payload IS NOT NULL", select="result_id, payload", order_by="created_at DESC, rowid DESC",
                limit=limit, offset=offset,
            ))
        return [self._decode(row["result_id"], row["payload"]) for row in rows]

    def count(self, *, include_purged: bool = True) -> int:
        """How many results were recorded; with ``include_purged=False`` only those :meth:`page` can
        still show."""
        with self._database.read():
            if include_purged:
                return int(self._table.count_where())
            return int(self._table.count_where("payload IS NOT NULL"))

    def _decode(self, result_id: str, sealed: bytes) -> VerificationResult:
        data = self._database.unseal(sealed, _context(result_id))
        if not isinstance(data, Mapping):
            raise StoreCorruptError("a stored result does not have the expected shape")
        return _result_from_json(data)


def _context(result_id: str) -> bytes:
    return b"result\x00" + result_id.encode()


def _result_from_json(data: Mapping[str, Any]) -> VerificationResult:
    try:
        return VerificationResult.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: a list where a dict was
        raise StoreCorruptError("a stored result does not have the expected shape") from exc
