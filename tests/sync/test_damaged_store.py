"""A damaged store and a key file that is a folder, through the command line (issue 13 items 10 and 11):
the store checks itself when it opens, refuses to write to a damaged file (which stays byte for byte as
it was) with a message that says how to recover, lets the outbox be exported from it and imported into
a new store; a key path that is a directory is a typed error naming it, not a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import StoreDamagedError
from sync.keys import KeyFile
from sync.store import Store
from tests.sync.helpers import open_store
from tests.sync.test_syncer import insurance_events

ROOT = Path(__file__).resolve().parents[2]
EXIT_STORE = 74


def cli(folder: Path, *args: str, key_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    env |= {"CCCD_AGENT__STORE__PATH": str(folder / "agent.sqlite3"),
            "CCCD_AGENT__STORE__KEY_FILE": str(key_file or folder / "keys" / "store.key")}
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, check=False)


def damage_an_index(path: Path) -> None:
    """Scribble over the header of one index page (results_by_time): SQLite's quick_check finds it, the
    outbox table itself is untouched."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'results_by_time'").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size + 3)
        handle.write(b"\xff\xff\xff\x00" * 20)


@pytest.fixture
def damaged(tmp_path) -> tuple[Path, list[str]]:
    with open_store(tmp_path) as store:
        ids = insurance_events(store, 5)
        store.database.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_an_index(tmp_path / "agent.sqlite3")
    return tmp_path, ids


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_store_is_found_at_opening_and_never_written_to(damaged):
    folder, _ids = damaged
    before = digest(folder / "agent.sqlite3")
    done = cli(folder, "sync", "--once")
    assert done.returncode == EXIT_STORE
    assert "StoreDamagedError" in done.stderr and "--export-outbox" in done.stderr
    assert "Traceback" not in done.stderr
    assert digest(folder / "agent.sqlite3") == before


def test_a_damaged_store_refuses_writes_in_the_library_too(damaged):
    folder, _ids = damaged
    with open_store(folder) as store:
        assert store.database.damaged
        with pytest.raises(StoreDamagedError):
            store.outbox.requeue_parked()


def test_the_outbox_is_exported_from_the_damaged_store_and_imported_into_a_new_one(damaged):
    folder, ids = damaged
    exported = folder / "outbox.json"
    done = cli(folder, "sync", "--export-outbox", str(exported))
    assert done.returncode == 0, done.stderr
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert [event["event_id"] for event in document["events"]] == ids
    assert oct(exported.stat().st_mode & 0o777) == "0o600"
    (folder / "agent.sqlite3").rename(folder / "agent.sqlite3.damaged")
    for leftover in folder.glob("agent.sqlite3-*"):
        leftover.unlink()
    done = cli(folder, "sync", "--import-outbox", str(exported))
    assert done.returncode == 0, done.stderr
    with Store.open(folder / "agent.sqlite3", KeyFile(folder / "keys" / "store.key")) as store:
        assert not store.database.damaged
        assert [item.event_id for item in store.outbox.pending(10)] == ids
    again = cli(folder, "sync", "--import-outbox", str(exported))
    assert again.returncode == 0 and "5" in again.stdout  # all five already there: skipped


def test_a_sound_store_passes_the_check(tmp_path):
    with open_store(tmp_path) as store:
        assert store.database.damaged == ()
        assert store.database.quick_check(5.0) == []


def test_a_key_file_that_is_a_folder_is_a_typed_error_naming_it(tmp_path):
    folder = tmp_path / "keys" / "store.key"
    folder.mkdir(parents=True)
    done = cli(tmp_path, "sync", "--status", key_file=folder)
    assert done.returncode == EXIT_STORE
    assert "Traceback" not in done.stderr and "IsADirectoryError" not in done.stderr
    assert str(folder) in done.stderr and "is a folder" in done.stderr


def test_a_receipt_key_file_that_is_a_folder_too(tmp_path):
    folder = tmp_path / "receipt.key"
    folder.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    env["CCCD_AGENT__RECEIPTS__KEY_FILE"] = str(folder)
    done = subprocess.run([sys.executable, "-m", "agent", "receipt-key"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == EXIT_STORE
    assert "Traceback" not in done.stderr and str(folder) in done.stderr
