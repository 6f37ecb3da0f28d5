"""The store's database file and what every repository shares: opening it, its transactions, the
translation of SQLite failures into typed errors, sealing and unsealing personal values, and the
``meta`` table. Opening creates the file owner-only, wraps a :mod:`sqlite3` connection in a
sqlite-utils ``Database``, switches on WAL, ``synchronous=FULL`` and foreign keys, refuses a schema
newer than this agent, runs the migrations (:mod:`sync.migrations`) and binds the file to its key (a
check value in ``meta``); a file is never deleted or recreated.

Opening also runs SQLite's ``quick_check`` (pages, b-trees, constraints), bounded in time by a progress
handler (:data:`OPEN_CHECK_S`: a check that has not finished by then is left to ``doctor``). A file it
finds damaged is opened for reading only: no migration, no write, every :meth:`Database.write` a
:class:`agent.errors.StoreDamagedError` saying how to recover (export the outbox, which must not be
lost, then start on a new file and import it), since writing to a damaged b-tree can spread the damage.

Transactions with sqlite-utils: the connection is in autocommit mode (``isolation_level=None``) and the
transactions are ours. :meth:`Database.write` issues ``BEGIN IMMEDIATE`` itself, so the write lock is
taken up front and a busy file is waited for (up to the busy timeout) before anything is written,
rather than failing half way when a deferred transaction tries to upgrade its read lock; it commits at
the end and on any error rolls back, keeping the original error rather than the rollback's.
sqlite-utils' own ``atomic()`` / ``begin()`` open a deferred ``BEGIN``, so they are not used for this.
Inside our transaction its table methods (``insert``, ``insert_all``, ``upsert``, ``delete_where``) run
in savepoints of it and ``Database.execute`` does not commit, so whatever the repositories write between
``write()``'s enter and exit is one transaction. Where sqlite-utils cannot say it (an upsert only over
an older row, a many-row update or a delete whose count is reported, ``executemany``) the repositories
keep SQL and say why at the spot. One re-entrant lock around the connection makes a store safe to
share between threads. Every :class:`sqlite3.Error` becomes StoreLockedError (another process holds
the file; retryable), StoreCorruptError (a damaged file; a wrong key too) or StoreError (anything else).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table

from agent.errors import StoreCorruptError, StoreDamagedError, StoreError, StoreLockedError
from sync.keys import KeySource, StoreKeys
from sync.migrations import LATEST_VERSION, MIGRATIONS

Row = dict[str, Any]
"""A row as sqlite-utils reads and writes it: column name to value."""

OPEN_CHECK_S = 2.0  # a desk's store (a year of results) checks in a fraction of that
TABLES = frozenset({"meta", "results", "check_cache", "roster_sessions", "roster_entries", "outbox"})
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26
_KEY_CHECK = "key_check"


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch(moment: datetime) -> float:
    """A time as the store's columns keep it (seconds since 1970, UTC)."""
    return moment.timestamp()


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SchemaTable(Table):
    """A table of the store's schema, which :meth:`Database.open` has checked is there.

    sqlite-utils' ``Table.exists()`` queries ``sqlite_master`` inside every ``rows_where()`` and
    ``insert_all()``, which doubled the cost of a cache lookup; and a table that did not exist would be
    read as empty or created from the first row inserted. Neither is wanted here: a table that vanished
    while the store is open should fail the statement ("no such table"), as it does with this answer.
    """

    def exists(self) -> bool:
        return True


class Database:
    """One open store file. Open with :meth:`Database.open`; the repositories share one instance."""

    def __init__(self, db: sqlite_utils.Database, keys: StoreKeys, path: Path,
                 clock: Callable[[], datetime]) -> None:
        self.db = db
        self.keys = keys
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._writer: int | None = None  # the thread inside write(), if any
        self._tables: dict[str, Table] = {}
        self._meta = self.table("meta")
        self.damaged: tuple[str, ...] = ()  # what the check at opening found; empty when sound

    # --- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, key_source: KeySource, *, busy_timeout_s: float = 5.0,
             clock: Callable[[], datetime] = utc_now) -> Database:
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
        with translated(f"cannot open the store {path}"):
            conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        try:
            with translated(f"cannot open the store {path}"):
                db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
                version = _user_version(db)
                if version > LATEST_VERSION:
                    raise StoreError(f"the store {path} was written by a newer agent (schema {version})")
                db.enable_wal()  # a no-op when the file already is in WAL mode
                db.execute("PRAGMA synchronous=FULL")  # a check-in is not lost to a power cut either
                db.execute("PRAGMA foreign_keys=ON")
                stored_check = _key_check(db) if version >= 1 else None
            keys = StoreKeys(key_source.load(create=stored_check is None))
            if stored_check is not None and not hmac.compare_digest(stored_check, keys.check_value.hex()):
                raise StoreCorruptError(f"the store {path} is encrypted under another key ({key_source.describe()})")
            database = cls(db, keys, path, clock)
            database.damaged = tuple(database.quick_check(OPEN_CHECK_S) or ())
            if database.damaged:
                return database  # read only: nothing (not even a migration) is written to a damaged file
            database._migrate()
            database._check_tables()
            database._bind_key()
            return database
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _migrate(self) -> None:
        for migration in MIGRATIONS:
            with self.write() as db:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                if _user_version(db) >= migration.version:
                    continue
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {int(migration.version)}")

    def _bind_key(self) -> None:
        with self.write() as db:
            stored = _key_check(db)
            if stored is None:
                self._meta.insert({"name": _KEY_CHECK, "value": self.keys.check_value.hex()})
            elif not hmac.compare_digest(stored, self.keys.check_value.hex()):
                raise StoreCorruptError(f"the store {self.path} is encrypted under another key")

    def _check_tables(self) -> None:
        # The repositories take their tables as there (SchemaTable): a file whose schema lost one is
        # refused now, as damaged, rather than at some later write, and never patched up.
        with self.read() as db:
            missing = TABLES - set(db.table_names())
        if missing:
            raise StoreCorruptError(f"the store {self.path} lacks its tables {', '.join(sorted(missing))}")

    def table(self, name: str) -> Table:
        """The sqlite-utils table object of ``name``, one per table (made directly: ``db.table()`` and
        ``db[name]`` ask the schema whether it is a view on every call)."""
        if name not in TABLES:
            raise KeyError(f"the store has no table {name}")
        return self._tables.setdefault(name, SchemaTable(self.db, name))

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction, all or nothing, holding the store's lock (see the module docstring)."""
        conn = self.db.conn
        if self.damaged:
            raise StoreDamagedError(self.damage_report())
        with self._lock, translated(f"cannot write to the store {self.path}"):
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting up to the busy timeout
            self._writer = threading.get_ident()
            try:
                yield self.db
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # keep the original error, not the rollback's
                        conn.execute("ROLLBACK")
                raise
            finally:
                self._writer = None

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """Reads under the store's lock; fetch every row inside (sqlite-utils hands out lazy generators)."""
        with self._lock, translated(f"cannot read the store {self.path}"):
            yield self.db

    def require_write(self) -> None:
        """Called by the repositories' parts of a write: outside :meth:`write` (or on another thread than
        the one inside it) a sqlite-utils insert would commit on its own or slip into someone else's
        transaction, and the all-or-nothing promise of :meth:`sync.store.Store.record` would not hold."""
        if self._writer != threading.get_ident():
            raise RuntimeError("a store write outside Database.write()")

    def now(self) -> float:
        """The store's clock, as the columns keep time."""
        return epoch(self.clock())

    def integrity_problems(self, limit: int = 5) -> list[str]:
        """SQLite's ``quick_check`` of the file (pages, indexes, constraints): empty when sound. For
        ``cccd-agent doctor``; it reads the whole file, so it is not run at every start."""
        with self.read() as db:
            rows = [str(row[0]) for row in db.execute(f"PRAGMA quick_check({int(limit)})").fetchall()]
        return [] if rows == ["ok"] else rows

    def quick_check(self, budget_s: float, limit: int = 5) -> list[str] | None:
        """``quick_check`` stopped after ``budget_s`` seconds: its problems (empty when sound), or None when
        it did not finish in time. A page too damaged to read is itself the problem found."""
        deadline = time.monotonic() + budget_s
        conn = self.db.conn
        with self._lock:
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            try:
                rows = [str(row[0]) for row in conn.execute(f"PRAGMA quick_check({int(limit)})").fetchall()]
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    return None
                raise translate(exc, f"cannot check the store {self.path}") from exc
            except sqlite3.DatabaseError as exc:
                return [str(exc)]
            finally:
                conn.set_progress_handler(None, 0)
        return [] if rows == ["ok"] else rows

    def damage_report(self) -> str:
        """What was found and how to recover, for the error every write raises."""
        return (f"the store {self.path} is damaged ({self.damaged[0][:160]}); nothing more is written to it. "
                "Export the outbox first (cccd-agent sync --export-outbox FILE), move the damaged file aside, "
                "start the agent again (it makes a new store) and import the outbox "
                "(cccd-agent sync --import-outbox FILE)")

    def schema_version(self) -> int:
        with self.read() as db:
            return _user_version(db)

    # --- sealing --------------------------------------------------------------------------------

    def seal(self, data: Any, context: bytes) -> bytes:
        """``data`` as compact JSON, sealed under the store key and bound to ``context`` (its row)."""
        return self.keys.seal(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), context)

    def unseal(self, sealed: bytes, context: bytes) -> Any:
        plain = self.keys.open(bytes(sealed), context)
        try:
            return json.loads(plain)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreCorruptError("a sealed value is not valid JSON") from exc

    # --- meta -----------------------------------------------------------------------------------

    def meta_values(self, prefix: str) -> dict[str, str]:
        """The ``meta`` entries whose names start with ``prefix`` (a literal: no ``%`` or ``_``)."""
        with self.read():
            rows = list(self._meta.rows_where("name LIKE ?", [prefix + "%"], select="name, value"))
        return {str(row["name"]): str(row["value"]) for row in rows}

    def set_meta(self, name: str, value: str) -> None:
        """Set one ``meta`` entry, in the write transaction the caller holds."""
        self.require_write()
        self._meta.upsert({"name": name, "value": value}, pk="name")


def _user_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _key_check(db: sqlite_utils.Database) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE name = ?", [_KEY_CHECK]).fetchone()
    return str(row[0]) if row else None


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn any :class:`sqlite3.Error` raised inside into the store's typed error, prefixed by ``what``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, what) from exc


def translate(exc: sqlite3.Error, what: str) -> StoreError:
    code = int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF
    text = str(exc)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
        return StoreLockedError(f"{what}: the database is locked by another process")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return StoreCorruptError(f"{what}: the file is damaged or not a database ({text})")
    if code == _SQLITE_FULL:
        return StoreError(f"{what}: the disk is full")
    return StoreError(f"{what}: {text}")
