"""The store's secret key and what is derived from it: AES-GCM sealing of personal data at rest and
keyed hashes (HMAC-SHA256) that let the store find a record by ID number without keeping the number
(docs/architecture.md "Privacy"; Decree 13/2023 on personal data).

The 32-byte master key never enters the database file. It lives in a key file created with 0600
permissions (in a 0700 directory), or in the OS keyring when one is handed in. Two independent keys
are derived from it with HKDF-SHA256: one encrypts, one hashes lookups. Every sealed value is bound
to its row by the associated data, so a value copied into another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agent.errors import StoreCorruptError, StoreError

KEY_BYTES = 32
NONCE_BYTES = 12
LOOKUP_BYTES = 16  # 128-bit keyed hashes: no collisions among millions of rows
KEY_FILE_PREFIX = "cccd-agent-store-key-v1:"
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
        self._create()
        return self._read()

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

    def _create(self) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = (self.prefix + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n").encode()
        # Written whole to a private temporary file, then linked into place: a reader never sees a
        # half-written key, and of two processes creating it at once, one key wins and both use it.
        fd, temporary = tempfile.mkstemp(prefix=".new-key-", dir=directory)
        try:
            os.chmod(temporary, 0o600)
            os.write(fd, line)
            os.fsync(fd)
            os.close(fd)
            fd = -1
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                pass
        finally:
            if fd >= 0:
                os.close(fd)
            os.unlink(temporary)
        _fsync_directory(directory)


class KeyringBackend(Protocol):
    """The part of the ``keyring`` package's API that is used."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...


class KeyringKey:
    """The master key in the OS keyring (Windows Credential Manager, Secret Service ...)."""

    def __init__(self, backend: KeyringBackend, *, service: str = "cccd-agent", username: str = "store-key") -> None:
        self.backend = backend
        self.service = service
        self.username = username

    def describe(self) -> str:
        return f"OS keyring entry {self.service}/{self.username}"

    def load(self, *, create: bool) -> bytes:
        stored = self.backend.get_password(self.service, self.username)
        if stored is None:
            if not create:
                raise StoreError(f"the store key is missing from the {self.describe()}")
            self.backend.set_password(self.service, self.username,
                                      base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"))
            stored = self.backend.get_password(self.service, self.username)
        try:
            key = base64.b64decode(stored or "", validate=True)
        except (binascii.Error, ValueError):
            raise StoreError(f"the {self.describe()} does not hold a store key") from None
        if len(key) != KEY_BYTES:
            raise StoreError(f"the {self.describe()} does not hold a {KEY_BYTES}-byte key")
        return key


def keyring_or_none() -> KeyringBackend | None:
    """The ``keyring`` package if it is installed (optional), else None."""
    try:
        import keyring
    except ImportError:
        return None
    backend: KeyringBackend = keyring
    return backend


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
