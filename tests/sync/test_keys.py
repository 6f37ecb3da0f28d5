"""The store key: the key file (0600, never overwritten, refused when readable by others or
malformed, created without hard links so that FAT/exFAT drives do, one key when processes race), the OS
keyring (Windows Credential Manager by name, adopting the key file it replaces, its failures typed),
AES-GCM sealing bound to its row, and keyed lookup hashes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.errors import StoreCorruptError, StoreError
from sync.keys import KEY_BYTES, KeyFile, KeyringKey, StoreKeys

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def test_key_file_is_created_private_and_read_back(tmp_path):
    source = KeyFile(tmp_path / "secret" / "store.key")
    key = source.load(create=True)
    assert len(key) == KEY_BYTES
    assert source.load(create=False) == key
    assert source.load(create=True) == key  # never replaced once it exists
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(source.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(source.path.parent).st_mode) == 0o700
    # No temporary left behind; the lock file that serialises creation stays (removing it would race).
    assert sorted(p.name for p in source.path.parent.iterdir()) == ["store.key", "store.key.lock"]


def test_missing_key_file_is_not_created_when_told_not_to(tmp_path):
    with pytest.raises(StoreError, match="missing"):
        KeyFile(tmp_path / "store.key").load(create=False)
    assert not (tmp_path / "store.key").exists()


@posix_only
def test_key_file_readable_by_others_is_refused(tmp_path):
    source = KeyFile(tmp_path / "store.key")
    source.load(create=True)
    os.chmod(source.path, 0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        source.load(create=False)


@pytest.mark.parametrize("content", [b"", b"hello", b"cccd-agent-store-key-v1:not base64!",
                                     b"cccd-agent-store-key-v1:AAAA"])
def test_malformed_key_file_is_refused(tmp_path, content):
    path = tmp_path / "store.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(StoreError):
        KeyFile(path).load(create=True)
    assert path.read_bytes() == content  # never overwritten


def test_processes_racing_to_create_the_key_agree(tmp_path):
    source = KeyFile(tmp_path / "store.key")
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(source.load(create=True))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1


class FakeKeyring:
    def __init__(self):
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password


def test_keyring_key_is_created_once_and_reused():
    backend = FakeKeyring()
    source = KeyringKey(backend)
    with pytest.raises(StoreError):
        source.load(create=False)
    key = source.load(create=True)
    assert source.load(create=False) == key and len(key) == KEY_BYTES
    backend.items[("cccd-agent", "store-key")] = "garbage!"
    with pytest.raises(StoreError):
        source.load(create=False)


def test_sealing_round_trips_and_is_bound_to_its_context():
    keys = StoreKeys(bytes(range(32)))
    sealed = keys.seal("Nguyễn Văn An".encode(), b"result\x00r1")
    assert keys.open(sealed, b"result\x00r1") == "Nguyễn Văn An".encode()
    assert keys.seal(b"same", b"c") != keys.seal(b"same", b"c")  # fresh nonce every time
    with pytest.raises(StoreCorruptError):
        keys.open(sealed, b"result\x00r2")  # moved to another row
    with pytest.raises(StoreCorruptError):
        StoreKeys(bytes(32)).open(sealed, b"result\x00r1")  # another key
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(StoreCorruptError):
        keys.open(bytes(tampered), b"result\x00r1")
    with pytest.raises(StoreCorruptError):
        keys.open(sealed[:20], b"result\x00r1")


def test_lookup_hashes_are_keyed_and_separated_by_kind_and_scope():
    keys, other = StoreKeys(bytes(range(32))), StoreKeys(bytes(32))
    a = keys.lookup("insurance", "001090012345")
    assert a == keys.lookup("insurance", "001090012345") and len(a) == 16
    assert a != other.lookup("insurance", "001090012345")
    assert a != keys.lookup("roster", "001090012345")
    assert keys.lookup("roster", "001090012345", "S1") != keys.lookup("roster", "001090012345", "S2")
    assert b"001090012345" not in a


def test_a_key_of_the_wrong_size_is_refused():
    with pytest.raises(StoreError):
        StoreKeys(b"short")


# --- creation without hard links (FAT / exFAT), across processes ---------------------------------


def test_key_file_creation_needs_no_hard_links(tmp_path, monkeypatch):
    # FAT and exFAT drives have no hard links: os.link fails there (EPERM), as it does here now.
    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    source = KeyFile(tmp_path / "usb" / "store.key")
    key = source.load(create=True)
    assert source.load(create=False) == key


def test_processes_racing_to_create_the_key_file_agree(tmp_path):
    code = ("import sys, time\nfrom pathlib import Path\nfrom sync.keys import KeyFile\n"
            "while time.time() < float(sys.argv[2]): pass\n"
            "print(KeyFile(Path(sys.argv[1])).load(create=True).hex())\n")
    start_at = str(time.time() + 1.5)  # all four start creating at the same moment
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "store.key"), start_at],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(4)]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and len(next(iter(keys))) == 2 * KEY_BYTES


def test_a_creation_lock_held_too_long_is_a_clear_error(tmp_path, monkeypatch):
    import filelock

    import sync.keys as keys_module

    source = KeyFile(tmp_path / "store.key")
    monkeypatch.setattr(keys_module, "CREATE_LOCK_TIMEOUT_S", 0.2)
    with filelock.FileLock(source.lock_path(), thread_local=False):
        errors: list[Exception] = []

        def create() -> None:
            try:
                source.load(create=True)
            except StoreError as error:
                errors.append(error)

        holder = threading.Thread(target=create)
        holder.start()
        holder.join(10)
    assert errors and "is an agent stuck" in str(errors[0])
    assert not source.path.exists()


# --- the OS keyring ----------------------------------------------------------------------------------


def test_keyring_key_adopts_the_key_file_it_replaces(tmp_path):
    old = KeyFile(tmp_path / "store.key")
    key = old.load(create=True)
    backend = FakeKeyring()
    source = KeyringKey(backend, adopt=old)
    assert not source.exists()
    assert source.load(create=False) == key  # the records sealed under the file's key stay readable
    assert source.exists() and old.path.exists()  # copied, never deleted
    old.path.unlink()
    assert source.load(create=False) == key


def test_keyring_keys_of_store_and_receipt_are_separate_entries():
    backend = FakeKeyring()
    store = KeyringKey(backend, username="store-key").load(create=True)
    receipt = KeyringKey(backend, username="receipt-key", what="receipt key").load(create=True)
    assert store != receipt
    assert set(backend.items) == {("cccd-agent", "store-key"), ("cccd-agent", "receipt-key")}


class BrokenKeyring(FakeKeyring):
    def __init__(self, *, fail_get=False, fail_set=False, forget=False):
        super().__init__()
        self.fail_get, self.fail_set, self.forget = fail_get, fail_set, forget

    def get_password(self, service, username):
        if self.fail_get:
            raise OSError(1312, "A specified logon session does not exist")
        return super().get_password(service, username)

    def set_password(self, service, username, password):
        if self.fail_set:
            raise RuntimeError("PasswordSetError: Can't store password on keychain")
        if not self.forget:
            super().set_password(service, username, password)


@pytest.mark.parametrize(("backend", "words"), [
    (BrokenKeyring(fail_get=True), "cannot read the OS keyring entry"),
    (BrokenKeyring(fail_set=True), "cannot write the OS keyring entry"),
    (BrokenKeyring(forget=True), "did not keep the store key"),
])
def test_keyring_failures_are_store_errors(backend, words):
    with pytest.raises(StoreError, match=words) as caught:
        KeyringKey(backend).load(create=True)
    assert "cccd-agent/store-key" in str(caught.value)


def test_the_os_keyring_is_windows_credential_manager_by_name(monkeypatch):
    import types

    from sync.keys import os_keyring

    class WinVaultKeyring:
        pass

    windows = types.ModuleType("keyring.backends.Windows")
    windows.WinVaultKeyring = WinVaultKeyring
    keyring = types.ModuleType("keyring")
    keyring.get_keyring = lambda: "whatever was discovered"
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    monkeypatch.setitem(sys.modules, "keyring.backends", types.ModuleType("keyring.backends"))
    monkeypatch.setitem(sys.modules, "keyring.backends.Windows", windows)
    assert isinstance(os_keyring("win32"), WinVaultKeyring)
    assert os_keyring("linux") == "whatever was discovered"
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed (Linux: not a dependency there)
    with pytest.raises(StoreError, match="needs the 'keyring' package"):
        os_keyring("linux")
