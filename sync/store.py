"""The agent's local store: one SQLite file in WAL mode (opened through sqlite-utils) holding the
verification results, the backend check cache, downloaded exam rosters and the outbox of events
waiting for a backend.

Nothing personal is in clear in the file: records are found by keyed hashes of the ID number, and
every personal value is sealed with AES-GCM under a key kept outside the file (:mod:`sync.keys`).
A result and the events it queues are written in one transaction, so a process killed at any point
leaves either both or neither. Every SQLite failure becomes a typed error: StoreLockedError
(another process holds the file; retryable), StoreCorruptError (damaged file, or the wrong key),
StoreError (anything else). The store never deletes or recreates a file it cannot read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from agent.errors import InvalidInputError, StoreCorruptError, StoreError, StoreLockedError
from agent.models import BackendCheck, Identity, Source, Verdict, VerificationResult
from sync.keys import KeySource, StoreKeys
from sync.migrations import LATEST_VERSION, MIGRATIONS

KIND_RESULT = "result"
STATE_PENDING = "pending"
STATE_SENT = "sent"
STATE_FAILED = "failed"
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26
_CHUNK = 5000
MAX_LIST_LIMIT = 1000  # results decrypted for one page of the history, at most
_MAX_OFFSET = 2**62  # SQLite integers are 64-bit


def utc_now() -> datetime:
    return datetime.now(UTC)


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


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


@dataclasses.dataclass(frozen=True)
class PurgeReport:
    results: int
    cache: int
    outbox: int
    rosters: int


class Store:
    """Open with :meth:`Store.open`; close with :meth:`close` (or use it as a context manager)."""

    def __init__(self, db: sqlite_utils.Database, keys: StoreKeys, path: Path,
                 clock: Callable[[], datetime]) -> None:
        self.db = db
        self.path = path
        self._keys = keys
        self._clock = clock
        self._lock = threading.RLock()

    # --- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, key_source: KeySource, *, busy_timeout_s: float = 5.0,
             clock: Callable[[], datetime] = utc_now) -> Store:
        """Open (or create) the store at ``path``; the key comes from ``key_source``.

        A new key is made only for a new store: for an existing one a missing key is an error, since a
        new key would silently orphan every sealed record.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Owner-only from the first byte; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise StoreError(f"cannot create the store {path}: {exc.strerror}") from exc
        with _guard(f"cannot open the store {path}"):
            conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        try:
            with _guard(f"cannot open the store {path}"):
                db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version > LATEST_VERSION:
                    raise StoreError(f"the store {path} was written by a newer agent (schema {version})")
                if db.journal_mode != "wal":
                    db.enable_wal()
                conn.execute("PRAGMA synchronous=FULL")  # a check-in is not lost to a power cut either
                conn.execute("PRAGMA foreign_keys=ON")
                stored_check = _stored_key_check(conn) if version >= 1 else None
            keys = StoreKeys(key_source.load(create=stored_check is None))
            if stored_check is not None and not hmac.compare_digest(stored_check, keys.check_value.hex()):
                raise StoreCorruptError(f"the store {path} is encrypted under another key ({key_source.describe()})")
            store = cls(db, keys, path, clock)
            store._migrate()
            store._bind_key()
            return store
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        for migration in MIGRATIONS:
            with self._write() as conn:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= migration.version:
                    continue
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")

    def _bind_key(self) -> None:
        with self._write() as conn:
            stored = _stored_key_check(conn)
            if stored is None:
                conn.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)", (self._keys.check_value.hex(),))
            elif not hmac.compare_digest(stored, self._keys.check_value.hex()):
                raise StoreCorruptError(f"the store {self.path} is encrypted under another key")

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        with self._lock, _guard(f"cannot write to the store {self.path}"):
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting up to the busy timeout
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # keep the original error, not the rollback's
                        conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _guard(f"cannot read the store {self.path}"):
            yield self.db.conn

    def _seal(self, data: Any, context: bytes) -> bytes:
        return self._keys.seal(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), context)

    def _unseal(self, sealed: bytes, context: bytes) -> Any:
        plain = self._keys.open(bytes(sealed), context)
        try:
            return json.loads(plain)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreCorruptError("a sealed value is not valid JSON") from exc

    # --- results --------------------------------------------------------------------------------

    def record(self, result: VerificationResult, events: Sequence[OutboundEvent] = (),
               cache: Sequence[tuple[str, BackendCheck]] = (), roster: RosterCopy | None = None) -> None:
        """Store a result, the events it queues, fresh backend answers and a roster downloaded on the
        way, all or nothing."""
        lookup = self._keys.lookup(KIND_RESULT, result.identity.id_number)
        sealed = self._seal(result.to_json(), b"result\x00" + result.result_id.encode())
        now = _epoch(self._clock())
        cache_rows = [self._cache_row(id_number, check) for id_number, check in cache]
        event_rows = [self._event_row(event, now) for event in events]
        roster_rows = self._roster_rows(roster.session_id, roster.entries) if roster is not None else []
        with self._write() as conn:
            conn.execute(
                "INSERT INTO results (result_id, created_at, verdict, profile, source, lookup, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (result.result_id, _epoch(result.created_at), str(result.verdict), result.site_profile,
                 str(result.source), lookup, sealed),
            )
            self._upsert_cache(conn, cache_rows)
            conn.executemany(
                "INSERT INTO outbox (event_id, destination, created_at, updated_at, payload) VALUES (?, ?, ?, ?, ?)",
                event_rows,
            )
            if roster is not None:
                self._replace_roster(conn, roster.session_id, roster.info, roster_rows,
                                     _epoch(roster.downloaded_at) if roster.downloaded_at else now)

    def get_result(self, result_id: str) -> VerificationResult | None:
        with self._read() as conn:
            row = conn.execute("SELECT payload FROM results WHERE result_id = ?", (result_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return _result_from_json(self._unseal(row[0], b"result\x00" + result_id.encode()))

    def results_for(self, id_number: str, *, since: datetime | None = None) -> list[VerificationResult]:
        """The results recorded for one person (found by keyed hash), oldest first."""
        lookup = self._keys.lookup(KIND_RESULT, id_number)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT result_id, payload FROM results WHERE lookup = ? AND created_at >= ? ORDER BY created_at",
                (lookup, _epoch(since) if since else 0.0),
            ).fetchall()
        return [_result_from_json(self._unseal(p, b"result\x00" + r.encode())) for r, p in rows if p is not None]

    def list_results(self, limit: int, offset: int = 0) -> list[VerificationResult]:
        """A page of the history, newest first (equal times: the later recorded first). Results whose
        personal part was purged after the retention period are left out; only the rows of the page
        are decrypted."""
        if not 0 <= limit <= MAX_LIST_LIMIT:
            raise InvalidInputError(f"must be between 0 and {MAX_LIST_LIMIT}", field="limit")
        if not 0 <= offset <= _MAX_OFFSET:
            raise InvalidInputError("must be a whole number, 0 or more", field="offset")
        with self._read() as conn:
            rows = conn.execute(
                "SELECT result_id, payload FROM results WHERE payload IS NOT NULL"
                " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_result_from_json(self._unseal(p, b"result\x00" + r.encode())) for r, p in rows]

    def count_results(self, *, include_purged: bool = True) -> int:
        """How many results were recorded; with ``include_purged=False`` only those :meth:`list_results`
        can still show."""
        with self._read() as conn:
            if include_purged:
                return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
            return int(conn.execute("SELECT count(*) FROM results WHERE payload IS NOT NULL").fetchone()[0])

    # --- check cache ----------------------------------------------------------------------------

    def _cache_row(self, id_number: str, check: BackendCheck, scope: str = "") -> tuple[bytes, float, bytes]:
        lookup = self._keys.lookup(check.kind, id_number, scope)
        checked_at = check.checked_at or self._clock()
        sealed = self._seal({"kind": check.kind, "status": check.status, "details": check.details},
                            b"cache\x00" + lookup)
        return lookup, _epoch(checked_at), sealed

    @staticmethod
    def _upsert_cache(conn: sqlite3.Connection, rows: Sequence[tuple[bytes, float, bytes]]) -> None:
        conn.executemany(
            "INSERT INTO check_cache (lookup, checked_at, payload) VALUES (?, ?, ?)"
            " ON CONFLICT (lookup) DO UPDATE SET checked_at = excluded.checked_at, payload = excluded.payload"
            " WHERE excluded.checked_at >= check_cache.checked_at",
            rows,
        )

    def cache_put(self, id_number: str, check: BackendCheck, *, scope: str = "") -> None:
        row = self._cache_row(id_number, check, scope)
        with self._write() as conn:
            self._upsert_cache(conn, [row])

    def cache_put_many(self, items: Iterable[tuple[str, BackendCheck]], *, scope: str = "") -> int:
        """Bulk fill in one transaction (imports, benchmarks): rows are written in chunks."""
        count = 0
        with self._write() as conn:
            chunk: list[tuple[bytes, float, bytes]] = []
            for id_number, check in items:
                chunk.append(self._cache_row(id_number, check, scope))
                if len(chunk) >= _CHUNK:
                    self._upsert_cache(conn, chunk)
                    count += len(chunk)
                    chunk = []
            self._upsert_cache(conn, chunk)
            count += len(chunk)
        return count

    def cache_get(self, kind: str, id_number: str, *, max_age_s: float, scope: str = "") -> BackendCheck | None:
        """The last answer of kind ``kind`` for this person if younger than ``max_age_s``, marked
        ``from_cache`` and carrying the time it was checked."""
        lookup = self._keys.lookup(kind, id_number, scope)
        oldest = _epoch(self._clock()) - max_age_s
        with self._read() as conn:
            row = conn.execute("SELECT checked_at, payload FROM check_cache WHERE lookup = ? AND checked_at >= ?",
                               (lookup, oldest)).fetchone()
        if row is None:
            return None
        data = self._unseal(row[1], b"cache\x00" + lookup)
        return BackendCheck(kind=data["kind"], status=data["status"], details=data["details"], from_cache=True,
                            checked_at=_moment(row[0]))

    def count_cache(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM check_cache").fetchone()[0])

    # --- rosters --------------------------------------------------------------------------------

    def save_roster(self, session_id: str, info: Mapping[str, Any],
                    entries: Iterable[tuple[str, Mapping[str, Any]]], *, downloaded_at: datetime | None = None) -> int:
        """Replace the stored roster of ``session_id``: (ID number, details) per candidate."""
        rows = self._roster_rows(session_id, entries)
        stamp = _epoch(downloaded_at or self._clock())
        with self._write() as conn:
            self._replace_roster(conn, session_id, info, rows, stamp)
        return len(rows)

    def _roster_rows(self, session_id: str,
                     entries: Iterable[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, bytes, bytes]]:
        rows = []
        for id_number, details in entries:
            lookup = self._keys.lookup("roster", id_number, session_id)
            rows.append((session_id, lookup, self._seal(dict(details), b"roster\x00" + session_id.encode() + lookup)))
        return rows

    @staticmethod
    def _replace_roster(conn: sqlite3.Connection, session_id: str, info: Mapping[str, Any],
                        rows: Sequence[tuple[str, bytes, bytes]], stamp: float) -> None:
        conn.execute("DELETE FROM roster_entries WHERE session_id = ?", (session_id,))
        conn.execute("INSERT OR REPLACE INTO roster_sessions (session_id, downloaded_at, info) VALUES (?, ?, ?)",
                     (session_id, stamp, json.dumps(dict(info), ensure_ascii=False)))
        conn.executemany("INSERT INTO roster_entries (session_id, lookup, payload) VALUES (?, ?, ?)", rows)

    def roster_info(self, session_id: str | None = None) -> RosterInfo | None:
        """The stored roster of ``session_id``, or the most recently downloaded one."""
        with self._read() as conn:
            if session_id is None:
                row = conn.execute("SELECT session_id, downloaded_at, info FROM roster_sessions"
                                   " ORDER BY downloaded_at DESC LIMIT 1").fetchone()
            else:
                row = conn.execute("SELECT session_id, downloaded_at, info FROM roster_sessions WHERE session_id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            return None
        try:
            info = json.loads(row[2])
        except json.JSONDecodeError as exc:
            raise StoreCorruptError("a stored roster's description is not valid JSON") from exc
        return RosterInfo(row[0], _moment(row[1]), info if isinstance(info, dict) else {})

    def roster_entry(self, session_id: str, id_number: str) -> dict[str, Any] | None:
        lookup = self._keys.lookup("roster", id_number, session_id)
        with self._read() as conn:
            row = conn.execute("SELECT payload FROM roster_entries WHERE session_id = ? AND lookup = ?",
                               (session_id, lookup)).fetchone()
        if row is None:
            return None
        data = self._unseal(row[0], b"roster\x00" + session_id.encode() + lookup)
        return data if isinstance(data, dict) else None

    # --- outbox ---------------------------------------------------------------------------------

    def _event_row(self, event: OutboundEvent, now: float) -> tuple[str, str, float, float, bytes]:
        sealed = self._seal(event.payload, b"outbox\x00" + event.event_id.encode())
        return event.event_id, event.destination, now, now, sealed

    def enqueue(self, events: Sequence[OutboundEvent]) -> None:
        now = _epoch(self._clock())
        rows = [self._event_row(e, now) for e in events]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO outbox (event_id, destination, created_at, updated_at, payload) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def pending(self, limit: int) -> list[OutboxItem]:
        """The oldest ``limit`` events not yet acknowledged by their backend."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, event_id, destination, created_at, attempts, payload FROM outbox"
                " WHERE state = 'pending' ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            OutboxItem(seq, event_id, destination, _moment(created), attempts,
                       self._unseal(payload, b"outbox\x00" + event_id.encode()))
            for seq, event_id, destination, created, attempts, payload in rows
        ]

    def settle(self, *, delivered: Sequence[str] = (), rejected: Mapping[str, str] | None = None) -> None:
        """Mark events the backend acknowledged as sent, and those it refused for good as failed."""
        now = _epoch(self._clock())
        rejected = rejected or {}
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = '', updated_at = ?"
                " WHERE event_id = ? AND state = 'pending'",
                [(now, event_id) for event_id in delivered],
            )
            conn.executemany(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?"
                " WHERE event_id = ? AND state = 'pending'",
                [(reason[:200], now, event_id) for event_id, reason in rejected.items()],
            )
            if delivered:
                self._set_meta(conn, "sync.last_sent_at", str(now))
            if rejected:
                first_reason = next(iter(rejected.values()))
                self._set_meta(conn, "sync.last_error", f"rejected by the backend: {first_reason}"[:300])
                self._set_meta(conn, "sync.last_error_at", str(now))

    def note_attempt_failed(self, event_ids: Sequence[str], error: str) -> None:
        """A delivery attempt failed for a reason that may pass (the events stay pending)."""
        now = _epoch(self._clock())
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?"
                " WHERE event_id = ? AND state = 'pending'",
                [(error[:200], now, event_id) for event_id in event_ids],
            )
            self._set_meta(conn, "sync.last_error", error[:300])
            self._set_meta(conn, "sync.last_error_at", str(now))

    def event_state(self, event_id: str) -> str | None:
        """pending / sent / failed, or None if there is no such event (never queued, or purged)."""
        with self._read() as conn:
            row = conn.execute("SELECT state FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
        return str(row[0]) if row else None

    def outbox_status(self) -> OutboxStatus:
        with self._read() as conn:
            counts = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
            oldest = conn.execute("SELECT min(created_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
            meta = dict(conn.execute("SELECT name, value FROM meta WHERE name LIKE 'sync.%'").fetchall())

        def stamp(name: str) -> datetime | None:
            return _moment(float(meta[name])) if name in meta else None

        return OutboxStatus(
            pending=int(counts.get(STATE_PENDING, 0)),
            sent=int(counts.get(STATE_SENT, 0)),
            failed=int(counts.get(STATE_FAILED, 0)),
            oldest_pending_at=_moment(oldest) if oldest is not None else None,
            last_error=str(meta.get("sync.last_error", "")),
            last_error_at=stamp("sync.last_error_at"),
            last_sent_at=stamp("sync.last_sent_at"),
        )

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, name: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # --- retention ------------------------------------------------------------------------------

    def purge(self, *, retention_days: int, now: datetime | None = None) -> PurgeReport:
        """Erase personal data older than the retention period.

        Results keep their non-personal columns (time, verdict, profile) for counts; cache entries,
        rosters and delivered or refused events go. Events still pending are kept: they have not
        reached their backend yet, and dropping them would lose a check-in.
        """
        cutoff = _epoch((now or self._clock()) - timedelta(days=retention_days))
        with self._write() as conn:
            results = conn.execute(
                "UPDATE results SET payload = NULL, lookup = NULL WHERE created_at < ? AND payload IS NOT NULL",
                (cutoff,),
            ).rowcount
            cache = conn.execute("DELETE FROM check_cache WHERE checked_at < ?", (cutoff,)).rowcount
            outbox = conn.execute("DELETE FROM outbox WHERE state != 'pending' AND updated_at < ?", (cutoff,)).rowcount
            rosters = conn.execute("DELETE FROM roster_sessions WHERE downloaded_at < ?", (cutoff,)).rowcount
        return PurgeReport(results, cache, outbox, rosters)


def _stored_key_check(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
    return str(row[0]) if row else None


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise _translate(exc, what) from exc


def _translate(exc: sqlite3.Error, what: str) -> StoreError:
    code = int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF
    text = str(exc)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
        return StoreLockedError(f"{what}: the database is locked by another process")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return StoreCorruptError(f"{what}: the file is damaged or not a database ({text})")
    if code == _SQLITE_FULL:
        return StoreError(f"{what}: the disk is full")
    return StoreError(f"{what}: {text}")


def _result_from_json(data: dict[str, Any]) -> VerificationResult:
    try:
        checks = tuple(
            BackendCheck(
                kind=c["kind"],
                status=c["status"],
                details=c.get("details") or {},
                from_cache=bool(c.get("from_cache")),
                checked_at=datetime.fromisoformat(c["checked_at"]) if c.get("checked_at") else None,
            )
            for c in data.get("checks", [])
        )
        return VerificationResult(
            result_id=data["result_id"],
            source=Source(data["source"]),
            identity=Identity.from_json(data["identity"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            verdict=Verdict(data["verdict"]),
            reasons=tuple(data.get("reasons", ())),
            authenticity=data.get("authenticity") or {},
            checks=checks,
            site_profile=data.get("site_profile", ""),
            operator=data.get("operator", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreCorruptError("a stored result does not have the expected shape") from exc
