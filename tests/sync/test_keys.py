"""The store key: the key file (0600, never overwritten, refused when readable by others or
malformed), the optional OS keyring, AES-GCM sealing bound to its row, and keyed lookup hashes."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from agent.errors import StoreCorruptError, StoreError
from sync.keys import KEY_BYTES, KeyFile, KeyringKey, StoreKeys

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
    assert [p.name for p in source.path.parent.iterdir()] == ["store.key"]  # no temporary left behind


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
