"""The desk's operators file (``[site] operators_file``): who may sign in at this desk, with the name and
CCCD number the BHXH gateway wants for every lookup (``hoTenCb``, ``cccdCb``: the staff member must be
on the list the facility registered with BHXH) and an optional PIN, kept only as a salted hash.

The file is TOML, one ``[[operator]]`` table each::

    [[operator]]
    name = "Nguyễn Thảo Chi"
    cccd = "072188004365"
    pin_hash = "pbkdf2-sha256$200000$<salt hex>$<hash hex>"   # optional: python -m agent operators hash-pin

A PIN hash is PBKDF2-HMAC-SHA256 (NIST SP 800-132) over the PIN with a random 16-byte salt; the
number of iterations is part of the hash, so it can grow without invalidating older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models import Operator

PIN_SCHEME = "pbkdf2-sha256"
PIN_ITERATIONS = 200_000
SALT_BYTES = 16
PIN_PATTERN = re.compile(r"^[0-9]{4,12}$")
CCCD_PATTERN = re.compile(r"^[0-9]{12}$")
MAX_NAME = 100
MAX_OPERATORS = 500


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = PIN_ITERATIONS) -> str:
    """The stored form of a PIN of 4 to 12 digits (ConfigError for anything else)."""
    if not PIN_PATTERN.fullmatch(pin):
        raise ConfigError("a PIN is 4 to 12 digits", key="pin")
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)
    return f"{PIN_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def pin_matches(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` is the PIN behind ``pin_hash`` (compared in constant time)."""
    parsed = _parse_pin_hash(pin_hash)
    if parsed is None or not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        return False
    iterations, salt, expected = parsed
    return hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations), expected)


def _parse_pin_hash(pin_hash: str) -> tuple[int, bytes, bytes] | None:
    parts = pin_hash.split("$")
    if len(parts) != 4 or parts[0] != PIN_SCHEME or not parts[1].isdigit():
        return None
    try:
        salt, digest = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        return None
    iterations = int(parts[1])
    if not 1_000 <= iterations <= 10_000_000 or len(salt) < 8 or len(digest) != 32:
        return None
    return iterations, salt, digest


def load_operators(path: Path) -> tuple[Operator, ...]:
    """The operators of ``path``; ConfigError naming the file, the entry and the field for anything wrong."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from exc
    unknown = sorted(set(data) - {"operator"})
    if unknown:
        raise ConfigError("only [[operator]] tables belong here", source=source, key=unknown[0])
    entries = data.get("operator", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError("no [[operator]] table: list at least one operator", source=source, key="operator")
    if len(entries) > MAX_OPERATORS:
        raise ConfigError(f"more than {MAX_OPERATORS} operators", source=source, key="operator")
    operators = tuple(_operator(entry, number, source) for number, entry in enumerate(entries, start=1))
    seen: set[str] = set()
    for number, operator in enumerate(operators, start=1):
        if operator.cccd in seen:
            raise ConfigError("the same CCCD number is listed twice", source=source, key=f"operator {number}.cccd")
        seen.add(operator.cccd)
    return operators


def _operator(entry: Any, number: int, source: str) -> Operator:
    where = f"operator {number}"
    if not isinstance(entry, dict):
        raise ConfigError("expected a table", source=source, key=where)
    unknown = sorted(set(entry) - {"name", "cccd", "pin_hash"})
    if unknown:
        raise ConfigError("unknown key", source=source, key=f"{where}.{unknown[0]}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ConfigError(f"a name of 1 to {MAX_NAME} characters", source=source, key=f"{where}.name")
    cccd = entry.get("cccd")
    if not isinstance(cccd, str) or not CCCD_PATTERN.fullmatch(cccd):
        raise ConfigError("the operator's 12-digit CCCD number", source=source, key=f"{where}.cccd")
    pin_hash = entry.get("pin_hash", "")
    if not isinstance(pin_hash, str) or (pin_hash and _parse_pin_hash(pin_hash) is None):
        raise ConfigError("not a PIN hash from 'python -m agent operators hash-pin'", source=source,
                          key=f"{where}.pin_hash")
    return Operator(" ".join(unicodedata.normalize("NFC", name).split()), cccd, pin_hash)
