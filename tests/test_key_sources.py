"""Where a desk keeps its store and receipt keys (agent.wiring.production's chooser): the OS credential
store on Windows (``[store] key_source = "auto"``), the key file elsewhere, either one when asked. The
Windows path runs here with a fake Credential Manager: a new desk keeps no key file at all, and a desk
upgraded from key files keeps reading its store, its audit MACs and its receipts' key."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest

from agent.audit import verify_log
from agent.errors import StoreError
from agent.settings import Settings, load_settings
from agent.wiring import production
from sync.keys import KeyFile, KeyringKey
from tests.sync.test_keys import FakeKeyring


def site(tmp_path: Path, key_source: str = "auto") -> Settings:
    return load_settings(environ={}, overrides={
        "store": {"path": str(tmp_path / "data" / "agent.sqlite3"), "key_file": str(tmp_path / "keys" / "store.key"),
                  "key_source": key_source},
        "audit": {"path": str(tmp_path / "data" / "audit.jsonl")},
    })


@pytest.mark.parametrize(("key_source", "platform", "keyring"), [
    ("auto", "win32", True), ("auto", "linux", False), ("auto", "darwin", False),
    ("file", "win32", False), ("keyring", "linux", True),
])
def test_which_desks_use_the_keyring(tmp_path, key_source, platform, keyring):
    settings = site(tmp_path, key_source)
    assert production.uses_keyring(settings, platform) is keyring
    store = production.store_key_source(settings, platform=platform, keyring_backend=FakeKeyring())
    receipt = production.receipt_key_source(settings, platform=platform, keyring_backend=FakeKeyring())
    if keyring:
        assert isinstance(store, KeyringKey) and store.username == "store-key"
        assert isinstance(receipt, KeyringKey) and receipt.username == "receipt-key"
        assert store.adopt is not None and store.adopt.path == settings.store_key_path()
    else:
        assert isinstance(store, KeyFile) and store.path == settings.store_key_path()
        assert isinstance(receipt, KeyFile) and receipt.path == settings.receipt_key_path()


@pytest.fixture
def windows(monkeypatch):
    """This process as a Windows desk: the platform the wiring sees, and a fake Credential Manager."""
    vault = FakeKeyring()
    monkeypatch.setattr(production, "PLATFORM", "win32")
    monkeypatch.setattr(production, "os_keyring", lambda platform: vault)
    return vault


def test_a_new_windows_desk_keeps_its_keys_in_the_credential_manager(tmp_path, windows):
    settings = site(tmp_path)
    store = production.open_store(settings)
    store.close()
    audit = production.open_audit(settings)
    audit.append("agent_started", {"version": "test"})
    receipt_key = production.open_receipt_key(settings)
    assert set(windows.items) == {("cccd-agent", "store-key"), ("cccd-agent", "receipt-key")}
    assert not (tmp_path / "keys").exists()  # no key file anywhere
    # Reopened: the same keys (the store opens, the audit MACs verify, the receipt key is the same).
    production.open_store(settings).close()
    assert verify_log(settings.audit_path(), production.open_audit(settings).keys).ok
    assert production.open_receipt_key(settings, create=False).public_pem() == receipt_key.public_pem()


def test_a_windows_desk_upgraded_from_key_files_keeps_its_data(tmp_path, monkeypatch):
    settings = site(tmp_path)
    # The agent before: key files, on "linux" as the old code chose whatever the platform.
    monkeypatch.setattr(production, "PLATFORM", "linux")
    store = production.open_store(settings)
    store.close()
    production.open_audit(settings).append("agent_started", {"version": "0.1.0"})
    old_receipt = production.open_receipt_key(settings).public_pem()
    old_key = KeyFile(settings.store_key_path()).load(create=False)
    # The agent now, on Windows: the keys move into the Credential Manager and everything still opens.
    vault = FakeKeyring()
    monkeypatch.setattr(production, "PLATFORM", "win32")
    monkeypatch.setattr(production, "os_keyring", lambda platform: vault)
    production.open_store(settings).close()
    audit = production.open_audit(settings)
    assert audit.keys is not None
    audit.append("agent_started", {"version": "0.2.0"})
    report = verify_log(settings.audit_path(), audit.keys)
    assert report.ok and report.entries == 2 and report.macs_checked
    assert production.open_receipt_key(settings, create=False).public_pem() == old_receipt
    assert base64.b64decode(vault.items[("cccd-agent", "store-key")]) == old_key
    assert settings.store_key_path().exists()  # left for the technician to back up and delete


def test_a_windows_store_without_its_key_is_refused_not_rekeyed(tmp_path, windows):
    settings = site(tmp_path)
    production.open_store(settings).close()
    windows.items.clear()  # the Credential Manager entry lost (another account, a reinstalled PC)
    with pytest.raises(StoreError, match="missing from the OS keyring entry cccd-agent/store-key"):
        production.open_store(settings)
    assert not windows.items  # no new key was made for an existing store


def test_the_demo_never_uses_the_desk_keyring(tmp_path, windows):
    from agent.wiring.demo import demo_settings
    from simulators.backends.server import MockBackends

    with MockBackends() as backends:
        settings = demo_settings(None, tmp_path, backends)
    assert not production.uses_keyring(settings, "win32")
    production.open_store(settings).close()
    assert not windows.items


def test_key_source_is_a_setting(tmp_path):
    settings = site(tmp_path, "file")
    assert dataclasses.asdict(settings.store)["key_source"] == "file"
    assert settings.origin("store.key_source") == "command line"
