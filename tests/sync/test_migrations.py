"""Upgrades keep data. A desk's folder written by an older agent (tests/sync/fixtures/desk-<version>, made
by tests/sync/old_desk.py with that version's code) opens with today's agent: the store migrated from its
schema, every result and the person lookup, the cached answers, the roster kept offline, the outbox (what
was sent stays sent, what was pending is delivered once), the audit chain and its MACs, the receipt key.
And the migrations themselves: applied one by one from the first schema they give what a new store gets;
one that fails leaves the file at the version before it, for the next start to try again."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.audit import AuditKeys, AuditLog, verify_log
from agent.errors import StoreError
from agent.receipt import RECEIPT_KEY_PREFIX, ReceiptKey
from sync import database
from sync.keys import KeyFile
from sync.migrations import LATEST_VERSION, MIGRATIONS, Migration
from sync.store import Store
from sync.syncer import Syncer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLD_DESKS = ("desk-0.1.0",)


def restored(name: str, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of an old desk's folder, as a technician restores it: key files owner-only again (git keeps
    no permission bits)."""
    folder = tmp_path / name
    shutil.copytree(FIXTURES / name, folder)
    for path in folder.rglob("*"):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))


@dataclasses.dataclass(frozen=True)
class Accepted:
    status: str = "accepted"
    reason: str = ""


class Uploader:
    """A backend that accepts everything and remembers each event id it got."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def upload(self, destination, events):
        ids = [event["event_id"] for event in events]
        self.sent.extend(ids)
        return {event_id: Accepted() for event_id in ids}


@pytest.mark.parametrize("name", OLD_DESKS)
def test_an_old_desk_opens_with_everything_it_had(name, tmp_path):
    folder, manifest = restored(name, tmp_path)
    key = KeyFile(folder / "keys" / "store.key")
    with Store.open(folder / "agent.sqlite3", key) as store:
        assert store.database.schema_version() == LATEST_VERSION >= manifest["store_schema"]
        assert store.database.integrity_problems() == []
        for entry in manifest["results"]:
            found = store.results.get(entry["result_id"])
            assert found is not None and found.identity.full_name == entry["full_name"]
            assert [r.result_id for r in store.results.for_person(entry["id_number"])] == [entry["result_id"]]
            assert store.cache.get("insurance", entry["id_number"], max_age_s=1e10) is not None
        roster = manifest["roster"]
        kept = store.rosters.entry(roster["session_id"], roster["id_number"])
        assert kept == {"candidate_no": roster["candidate_no"]}
        status = store.outbox.status()
        assert (status.pending, status.sent) == (len(manifest["pending"]), len(manifest["sent"]))
        assert sorted(item.event_id for item in store.outbox.pending(100)) == sorted(manifest["pending"])
    assert schema(folder / "agent.sqlite3") == schema(fresh_store(tmp_path))
    receipt = ReceiptKey(KeyFile(folder / "keys" / "receipt.key", prefix=RECEIPT_KEY_PREFIX,
                                 what="receipt key").load(create=False))
    assert receipt.public_pem() == manifest["receipt_public_key"]


@pytest.mark.parametrize("name", OLD_DESKS)
def test_an_old_desk_s_audit_chain_goes_on_under_the_same_key(name, tmp_path):
    folder, manifest = restored(name, tmp_path)
    keys = AuditKeys(KeyFile(folder / "keys" / "store.key").load(create=False))
    report = verify_log(folder / "audit.jsonl", keys)
    assert report.ok and report.macs_checked and report.entries == manifest["audit_entries"]
    AuditLog(folder / "audit.jsonl", keys, operator="le-tan-2", site_id="s").append("agent_started", {"version": "new"})
    report = verify_log(folder / "audit.jsonl", keys)
    assert report.ok and report.entries == manifest["audit_entries"] + 1


@pytest.mark.parametrize("name", OLD_DESKS)
def test_an_old_desk_s_queued_records_are_delivered_exactly_once(name, tmp_path):
    folder, manifest = restored(name, tmp_path)
    uploader = Uploader()
    with Store.open(folder / "agent.sqlite3", KeyFile(folder / "keys" / "store.key")) as store:
        report = Syncer(store, uploader, batch_size=10).drain()
        assert report.complete
        assert sorted(uploader.sent) == sorted(manifest["pending"])  # the sent ones are not sent again
        assert store.outbox.status().pending == 0


@pytest.mark.parametrize("name", OLD_DESKS)
def test_the_commands_of_today_on_an_old_desk(name, tmp_path):
    folder, manifest = restored(name, tmp_path)
    site = tmp_path / "site.toml"
    site.write_text(f'[store]\npath = "{folder / "agent.sqlite3"}"\nkey_file = "{folder / "keys" / "store.key"}"\n'
                    f'key_source = "file"\n[audit]\npath = "{folder / "audit.jsonl"}"\n', encoding="utf-8")

    def agent(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", *argv, "--config", str(site)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    status = agent("sync", "--status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pending"] == len(manifest["pending"])
    audit = agent("audit", "verify", "--json")
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["macs_checked"] is True
    key = agent("receipt-key")
    assert key.returncode == 0 and manifest["receipt_public_key"].strip() in key.stdout


def fresh_store(tmp_path: Path) -> Path:
    path = tmp_path / "fresh" / "agent.sqlite3"
    Store.open(path, KeyFile(tmp_path / "fresh" / "store.key")).close()
    return path


def test_migrations_are_numbered_from_one_without_gaps():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == MIGRATIONS[-1].version
    assert all(m.description and m.statements for m in MIGRATIONS)


def test_each_migration_from_the_first_schema_gives_what_a_new_store_gets(tmp_path):
    # A store at every older version, made with that version's migrations only, then opened now.
    fresh = schema(fresh_store(tmp_path))
    for version in range(1, LATEST_VERSION + 1):
        folder = tmp_path / f"v{version}"
        key = KeyFile(folder / "store.key")
        old = [m for m in MIGRATIONS if m.version <= version]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(database, "MIGRATIONS", tuple(old))
            patch.setattr(database, "LATEST_VERSION", version)
            Store.open(folder / "agent.sqlite3", key).close()
        with Store.open(folder / "agent.sqlite3", key) as store:
            assert store.database.schema_version() == LATEST_VERSION
        assert schema(folder / "agent.sqlite3") == fresh


def test_a_failing_migration_leaves_the_version_before_it(tmp_path, monkeypatch):
    key = KeyFile(tmp_path / "store.key")
    Store.open(tmp_path / "agent.sqlite3", key).close()
    broken = Migration(LATEST_VERSION + 1, "a table, then a statement that fails",
                       ("CREATE TABLE added (a INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(database, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(database, "LATEST_VERSION", broken.version)
    with pytest.raises(StoreError):
        Store.open(tmp_path / "agent.sqlite3", key)
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert "added" not in {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    fixed = Migration(broken.version, "a table", ("CREATE TABLE added (a INTEGER)",))
    monkeypatch.setattr(database, "MIGRATIONS", (*MIGRATIONS, fixed))
    with Store.open(tmp_path / "agent.sqlite3", key) as store:
        assert store.database.schema_version() == fixed.version


def test_an_older_agent_refuses_the_store_of_a_newer_one(tmp_path):
    folder, _manifest = restored(OLD_DESKS[0], tmp_path)
    with sqlite3.connect(folder / "agent.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    before = (folder / "agent.sqlite3").read_bytes()
    with pytest.raises(StoreError, match="newer agent"):
        Store.open(folder / "agent.sqlite3", KeyFile(folder / "keys" / "store.key"))
    assert (folder / "agent.sqlite3").read_bytes() == before  # a downgrade changes nothing
