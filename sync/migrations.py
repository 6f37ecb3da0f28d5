"""The store's schema as a versioned list of migrations; ``PRAGMA user_version`` records how far a
database file has come.

Each migration runs in one transaction with the version bump, so a process killed during a
migration leaves the file at the previous version, and the next start runs it again. Append new
migrations; never edit one that has shipped. Columns hold no personal data in clear: ID numbers only
as keyed hashes (``lookup``), everything personal sealed in ``payload`` (see :mod:`sync.keys`).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "results, check cache, rosters, outbox",
        (
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
            # One row per verification shown at the desk. After the retention period the personal
            # part (payload, lookup) is erased and the non-personal counts remain.
            """CREATE TABLE results (
                result_id TEXT PRIMARY KEY,
                created_at REAL NOT NULL,
                verdict TEXT NOT NULL,
                profile TEXT NOT NULL,
                source TEXT NOT NULL,
                lookup BLOB,
                payload BLOB
            )""",
            "CREATE INDEX results_by_lookup ON results (lookup) WHERE lookup IS NOT NULL",
            "CREATE INDEX results_by_time ON results (created_at)",
            # The last answer of each backend for one person: kind + scope + ID, as a keyed hash.
            """CREATE TABLE check_cache (
                lookup BLOB PRIMARY KEY,
                checked_at REAL NOT NULL,
                payload BLOB NOT NULL
            ) WITHOUT ROWID""",
            "CREATE INDEX check_cache_by_time ON check_cache (checked_at)",
            """CREATE TABLE roster_sessions (
                session_id TEXT PRIMARY KEY,
                downloaded_at REAL NOT NULL,
                info TEXT NOT NULL
            )""",
            """CREATE TABLE roster_entries (
                session_id TEXT NOT NULL REFERENCES roster_sessions (session_id) ON DELETE CASCADE,
                lookup BLOB NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (session_id, lookup)
            ) WITHOUT ROWID""",
            # Events waiting for a backend. ``event_id`` is the idempotency key the backend dedupes by.
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                destination TEXT NOT NULL,
                created_at REAL NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NOT NULL DEFAULT '',
                updated_at REAL NOT NULL,
                payload BLOB
            )""",
            "CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending'",
            "CREATE INDEX outbox_by_state_time ON outbox (state, updated_at)",
        ),
    ),
    Migration(
        2,
        "outbox: an event its backend keeps failing on is parked (kept, shown, out of the others' way)",
        (
            # SQLite cannot change a CHECK constraint in place: the table is rebuilt, rows and seq kept.
            """CREATE TABLE outbox_new (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                destination TEXT NOT NULL,
                created_at REAL NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'parked')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NOT NULL DEFAULT '',
                updated_at REAL NOT NULL,
                payload BLOB
            )""",
            """INSERT INTO outbox_new (seq, event_id, destination, created_at, state, attempts, last_error,
                                       updated_at, payload)
               SELECT seq, event_id, destination, created_at, state, attempts, last_error, updated_at, payload
               FROM outbox""",
            "DROP TABLE outbox",
            "ALTER TABLE outbox_new RENAME TO outbox",
            "CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending'",
            "CREATE INDEX outbox_by_state_time ON outbox (state, updated_at)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
