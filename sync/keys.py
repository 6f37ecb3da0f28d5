"""The store's secret key and what is derived from it: AES-GCM sealing of personal data at rest and
keyed hashes (HMAC-SHA256) that let the store find a record by ID number without keeping the number
(docs/architecture.md "Privacy"; Decree 13/2023 on personal data).

The 32-byte master key never enters the database file. It lives either in the OS credential store
(:class:`KeyringKey`: Windows Credential Manager through ``keyring``, the default on Windows, where file
permission bits protect nothing) or in a key file (:class:`KeyFile`: the default elsewhere, created
owner-only, 0600 in a 0700 directory, and refused when others can read it). Which one a desk uses is
chosen by the wiring (``[store] key_source``). Two independent keys are derived from it with
HKDF-SHA256: one encrypts, one hashes lookups. Every sealed value is bound to its row by the associated
data, so a value copied into another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Protocol

import filelock
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agent.errors import StoreCorruptError, StoreError

KEY_BYTES = 32
NONCE_BYTES = 12
LOOKUP_BYTES = 16  # 128-bit keyed hashes: no collisions among millions of rows
KEY_FILE_PREFIX = "cccd-agent-store-key-v1:"
KEYRING_SERVICE = "cccd-agent"
CREATE_LOCK_TIMEOUT_S = 30.0
_INFO_SEAL = b"cccd-agent store v1: AES-256-GCM"
_INFO_LOOKUP = b"cccd-agent store v1: lookup HMAC-SHA256"
_INFO_CHECK = b"cccd-agent store v1: key check"


class KeySource(Protocol):
    """Where the master key lives. ``load(create=True)`` may make a new one if there is none."""

    def load(self, *, create: bool) -> bytes: ...

    def describe(self) -> str: ...


class StoreKeys:
    """The keys derived from one master key, and the operations that use them."""

    def __init__(self, master: bytes) -> None:
        if len(master) != KEY_BYTES:
            raise StoreError(f"the store key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(_derive(master, _INFO_SEAL))
        self._lookup_key = _derive(master, _INFO_LOOKUP)
        self.check_value = _derive(master, _INFO_CHECK)  # stored in the database: proves the right key

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < NONCE_BYTES + 16:
            raise StoreCorruptError("a sealed value is truncated")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise StoreCorruptError("a sealed value does not open: damaged, moved, or another key") from exc

    def lookup(self, kind: str, value: str, scope: str = "") -> bytes:
        """The keyed hash a record is found by: HMAC(kind, scope, value) truncated to 16 bytes."""
        message = b"\x00".join(part.encode("utf-8") for part in (kind, scope, value))
        return hmac.new(self._lookup_key, message, hashlib.sha256).digest()[:LOOKUP_BYTES]


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class KeyFile:
    """A 32-byte secret in a file of its own, readable by the owner only: the store's master key, or
    another secret kept the same way (the receipt signing key) under its own ``prefix``."""

    def __init__(self, path: Path, *, prefix: str = KEY_FILE_PREFIX, what: str = "store key") -> None:
        self.path = Path(path)
        self.prefix = prefix
        self.what = what

    def describe(self) -> str:
        return f"key file {self.path}"

    def load(self, *, create: bool) -> bytes:
        try:
            return self._read()
        except FileNotFoundError:
            if not create:
                raise StoreError(
                    f"the {self.what} file {self.path} is missing: what it protects cannot be read without it "
                    "(restore it from backup; a new key would not open the existing records)"
                ) from None
        except IsADirectoryError:
            raise StoreError(f"the {self.what} file {self.path} is a folder, not a key file: set the key file "
                             "setting to a file inside it") from None
        except OSError as exc:
            raise StoreError(f"cannot read the {self.what} file {self.path}: {exc.strerror or exc}") from None
        self._create()
        try:
            return self._read()
        except OSError as exc:
            raise StoreError(f"cannot read the {self.what} file {self.path}: {exc.strerror or exc}") from None

    def _read(self) -> bytes:
        with self.path.open("rb") as handle:
            if os.name == "posix" and os.fstat(handle.fileno()).st_mode & 0o077:
                raise StoreError(f"the {self.what} file {self.path} is readable by other users: chmod 600 it")
            text = handle.read(4096).decode("ascii", errors="replace").strip()
        if not text.startswith(self.prefix):
            raise StoreError(f"{self.path} is not a {self.what} file")
        try:
            key = base64.b64decode(text[len(self.prefix):], validate=True)
        except (binascii.Error, ValueError):
            raise StoreError(f"{self.path} is not a {self.what} file") from None
        if len(key) != KEY_BYTES:
            raise StoreError(f"{self.path} does not hold a {KEY_BYTES}-byte key")
        return key

    def exists(self) -> bool:
        return self.path.is_file()

    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _create(self) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of the {self.what} {directory}: {exc.strerror}") from exc
        line = (self.prefix + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n").encode()
        # Of two processes creating the key at once, one key must win and both must use it. A lock file
        # beside the key serialises creation (hard links, which did this before, do not exist on FAT or
        # exFAT drives); under it the key is written whole to a temporary file (owner-only on POSIX:
        # mkstemp makes it 0600) and renamed into place, so a reader never sees a half-written key.
        try:
            with filelock.FileLock(self.lock_path(), timeout=CREATE_LOCK_TIMEOUT_S):
                if self.path.exists():
                    return  # the other process won: its key is the one
                fd, temporary = tempfile.mkstemp(prefix=".new-key-", dir=directory)
                try:
                    try:
                        os.write(fd, line)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                    os.replace(temporary, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary)
                    raise
                _fsync_directory(directory)
        except filelock.Timeout:
            raise StoreError(f"another process has been creating the {self.what} {self.path} for "
                             f"{CREATE_LOCK_TIMEOUT_S:.0f} s: is an agent stuck?") from None
        except OSError as exc:
            raise StoreError(f"cannot create the {self.what} file {self.path}: {exc.strerror or exc}") from exc


class KeyringBackend(Protocol):
    """The part of the ``keyring`` package's API that is used."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...


class KeyringKey:
    """A 32-byte secret in the OS credential store (Windows Credential Manager, Secret Service ...),
    under the service ``cccd-agent`` and a name per secret (``store-key``, ``receipt-key``).

    ``adopt`` is the key file this secret was kept in before (an agent upgraded from key files, or a
    desk switched to the keyring): while the keyring has no entry, that file's key is copied in and read
    back, so that the records it protects stay readable. The file itself is left where it is (deleting a
    key cannot be undone); ``cccd-agent doctor`` says that it is still there."""

    def __init__(self, backend: KeyringBackend, *, service: str = KEYRING_SERVICE, username: str = "store-key",
                 what: str = "store key", adopt: KeyFile | None = None) -> None:
        self.backend = backend
        self.service = service
        self.username = username
        self.what = what
        self.adopt = adopt

    def describe(self) -> str:
        return f"OS keyring entry {self.service}/{self.username}"

    def exists(self) -> bool:
        return self._get() is not None

    def load(self, *, create: bool) -> bytes:
        stored = self._get()
        if stored is None:
            if self.adopt is not None and self.adopt.exists():
                self._put(base64.b64encode(self.adopt.load(create=False)).decode("ascii"))
            elif not create:
                raise StoreError(f"the {self.what} is missing from the {self.describe()}: what it protects "
                                 "cannot be read without it (restore it, or the key file it came from)")
            else:
                self._put(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"))
            stored = self._get()
        try:
            key = base64.b64decode(stored or "", validate=True)
        except (binascii.Error, ValueError):
            raise StoreError(f"the {self.describe()} does not hold a {self.what}") from None
        if len(key) != KEY_BYTES:
            raise StoreError(f"the {self.describe()} does not hold a {KEY_BYTES}-byte key")
        return key

    # A backend raises errors of its own kinds (keyring.errors.*, OSError from the Windows API ...):
    # each becomes a StoreError naming the entry and the kind of failure, never the secret.
    def _get(self) -> str | None:
        try:
            return self.backend.get_password(self.service, self.username)
        except Exception as exc:
            raise StoreError(f"cannot read the {self.describe()}: {type(exc).__name__}: {exc}") from exc

    def _put(self, value: str) -> None:
        try:
            self.backend.set_password(self.service, self.username, value)
        except Exception as exc:
            raise StoreError(f"cannot write the {self.describe()}: {type(exc).__name__}: {exc}") from exc
        if self._get() != value:  # a backend that accepted the write but did not keep it
            raise StoreError(f"the {self.describe()} did not keep the {self.what} written to it")


def os_keyring(platform: str = sys.platform) -> KeyringBackend:
    """The OS credential store through the ``keyring`` package (a dependency on Windows only).

    On Windows the Credential Manager backend is taken by name rather than discovered through entry
    points, which a frozen build may lack, and so that no weaker backend is ever picked instead."""
    try:
        import keyring
    except ImportError:
        raise StoreError("the OS keyring needs the 'keyring' package, which is not installed "
                         "(pip install keyring, or [store] key_source = \"file\")") from None
    if platform == "win32":
        from keyring.backends.Windows import WinVaultKeyring

        windows: KeyringBackend = WinVaultKeyring()
        return windows
    chosen: KeyringBackend = keyring.get_keyring()
    return chosen


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
