"""The audit trail of the desk: an append-only, hash-chained log of what each operator did
(verifications, failed reads, receipts viewed, the agent starting and stopping), which an auditor
checks with ``python -m agent audit verify`` (access rights per officer and an audit trail are
required: docs/reference/field.md "Security requirements").

One JSON object per line. Each entry carries its sequence number, the time, the operator and site,
the action and a few non-personal facts, the SHA-256 ``hash`` of its own canonical form and the
``prev`` hash of the entry before it, so that an edited, removed, reordered or inserted line breaks
the chain at that point. A ``mac`` (HMAC-SHA256 of the hash under a key kept outside the log)
stops anyone without the key from rewriting the whole chain after an edit. Removing the last entries
leaves a chain that still links, so each append also records the running head (sequence number, hash
and a MAC of both) apart from the log, in the store (:class:`AuditHead`); ``audit verify`` compares the
log's end with it and reports the entries missing from the tail. No personal data is
written in clear (Decree 13/2023): an ID number appears only masked (first 3 + last 2 digits) and as
a keyed hash (``subject``) that lets an auditor holding the key find one person's entries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import filelock

from agent.errors import StoreError, StoreLockedError
from agent.privacy import mask_id

log = logging.getLogger(__name__)

GENESIS = "0" * 64
SUBJECT_BYTES = 16
TAIL_BYTES = 64 * 1024  # an entry is well under 2 KB: the last one is always inside this tail
LOCK_TIMEOUT_S = 30.0  # an append holds the lock for one write and fsync: far less, even on a slow disk
_INFO_MAC = b"cccd-agent audit v1: entry MAC"
_INFO_SUBJECT = b"cccd-agent audit v1: subject"
_HEAD_PREFIX = "audit-head-v1"

ACTION_VERIFICATION = "verification"
ACTION_READ_FAILED = "read_failed"
ACTION_RECEIPT_VIEWED = "receipt_viewed"
ACTION_STARTED = "agent_started"
ACTION_SIGNED_IN = "operator_signed_in"
ACTION_SIGNED_OUT = "operator_signed_out"
ACTION_SIGN_IN_FAILED = "operator_sign_in_failed"
ACTION_STOPPED = "agent_stopped"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the entry without its own ``hash`` and ``mac``."""
    body = {k: v for k, v in entry.items() if k not in ("hash", "mac")}
    return hashlib.sha256(_canonical(body)).hexdigest()


class AuditKeys:
    """Keys derived from one secret (the store's master key): one MACs entries, one hashes subjects."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise StoreError("the audit key must be at least 16 bytes")
        self._mac_key = hmac.new(secret, _INFO_MAC, hashlib.sha256).digest()
        self._subject_key = hmac.new(secret, _INFO_SUBJECT, hashlib.sha256).digest()

    def mac(self, digest: str) -> str:
        return hmac.new(self._mac_key, digest.encode("ascii"), hashlib.sha256).hexdigest()

    def subject(self, id_number: str) -> str:
        """A keyed hash of an ID number: the same person gives the same value, nobody can reverse it."""
        return hmac.new(self._subject_key, id_number.encode("utf-8"), hashlib.sha256).digest()[:SUBJECT_BYTES].hex()


def person_fields(keys: AuditKeys | None, id_number: str) -> dict[str, str]:
    """What the audit log may say about a person: the masked number and, with a key, its keyed hash."""
    if not id_number:
        return {}
    fields = {"id_masked": mask_id(id_number)}
    if keys is not None:
        fields["subject"] = keys.subject(id_number)
    return fields


class AuditHead(Protocol):
    """Where the log's running head is kept, apart from the log (the store: sync.store.AuditHeadRecord)."""

    def load(self) -> str | None: ...

    def save(self, value: str) -> None: ...


def encode_head(seq: int, digest: str, keys: AuditKeys | None) -> str:
    """``audit-head-v1:<seq>:<hash>:<mac>`` (the MAC empty without a key)."""
    mac = keys.mac(f"head:{seq}:{digest}") if keys is not None else ""
    return f"{_HEAD_PREFIX}:{seq}:{digest}:{mac}"


def decode_head(value: str, keys: AuditKeys | None) -> tuple[int, str] | str:
    """(seq, hash) of a recorded head, or the reason it cannot be trusted."""
    parts = value.split(":")
    if len(parts) != 4 or parts[0] != _HEAD_PREFIX or not parts[1].isdigit() or len(parts[2]) != 64:
        return "the store's record of the log's end is malformed"
    seq, digest, mac = int(parts[1]), parts[2], parts[3]
    if keys is not None and not hmac.compare_digest(mac, keys.mac(f"head:{seq}:{digest}")):
        return "the store's record of the log's end does not verify (rewritten without the audit key)"
    return seq, digest


@dataclasses.dataclass(frozen=True)
class AuditProblem:
    """The first broken link: the 1-based line, the entry's sequence number if readable, what is wrong."""

    line: int
    seq: int | None
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "seq": self.seq, "problem": self.problem}


@dataclasses.dataclass(frozen=True)
class AuditReport:
    path: str
    entries: int
    operators: dict[str, int]
    actions: dict[str, int]
    macs_checked: bool
    first_problem: AuditProblem | None
    first_at: str | None = None
    last_at: str | None = None
    head_checked: bool = False  # the log's end was compared with the head kept in the store

    @property
    def ok(self) -> bool:
        return self.first_problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "entries": self.entries,
            "operators": self.operators,
            "actions": self.actions,
            "macs_checked": self.macs_checked,
            "first_problem": self.first_problem.to_json() if self.first_problem else None,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "head_checked": self.head_checked,
        }


class AuditLog:
    """Appends chained entries to one file; safe between threads and between processes (the desk
    service and a technician's command): every append takes an exclusive lock on ``<log>.lock`` (a
    ``filelock`` lock: ``flock`` on POSIX, ``msvcrt.locking`` on Windows) and re-reads the tail under it.
    An append that cannot get the lock within ``lock_timeout_s`` fails with StoreLockedError rather than
    writing unlocked, which could fork the hash chain."""

    def __init__(self, path: str | os.PathLike[str], keys: AuditKeys | None, *, operator: str, site_id: str,
                 clock: Callable[[], datetime] = _utc_now, lock_timeout_s: float = LOCK_TIMEOUT_S,
                 head: AuditHead | None = None) -> None:
        self.path = Path(path)
        self.keys = keys
        self.head = head
        self.operator = operator
        self.site_id = site_id
        self._clock = clock
        self._lock = threading.Lock()
        self._file_lock = filelock.FileLock(self.path.with_name(self.path.name + ".lock"),
                                            timeout=lock_timeout_s)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        except OSError as exc:
            raise StoreError(f"cannot create the audit log {self.path}: {exc.strerror}") from exc

    def append(self, action: str, data: Mapping[str, Any] | None = None, *,
               operator: str | None = None) -> dict[str, Any]:
        """Write one entry and return it. ``data`` must hold no personal data (see person_fields)."""
        with self._lock, self._file() as handle:
            seq, prev, needs_newline = _tail_state(handle)
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "at": self._clock().astimezone(UTC).isoformat(timespec="milliseconds"),
                "operator": operator or self.operator,
                "site_id": self.site_id,
                "action": action,
                "data": dict(data or {}),
                "prev": prev,
            }
            entry["hash"] = entry_hash(entry)
            if self.keys is not None:
                entry["mac"] = self.keys.mac(entry["hash"])
            line = (b"\n" if needs_newline else b"") + _canonical(entry) + b"\n"
            try:
                os.write(handle.fileno(), line)  # one write: an entry is never interleaved with another
                os.fsync(handle.fileno())
            except OSError as exc:
                raise StoreError(f"cannot write to the audit log {self.path}: {exc.strerror}") from exc
            if self.head is not None:
                try:  # under the log's lock, so that heads are recorded in the entries' order
                    self.head.save(encode_head(entry["seq"], entry["hash"], self.keys))
                except StoreError as error:
                    # The entry is written; a head that lags behind the log is not a removal.
                    log.warning("audit: the log's head could not be recorded in the store: %s", error.message)
            return entry

    def entries(self) -> Iterator[dict[str, Any]]:
        return read_entries(self.path)

    @contextlib.contextmanager
    def _file(self) -> Iterator[Any]:
        try:
            self._file_lock.acquire()
        except filelock.Timeout:
            raise StoreLockedError(f"the audit log {self.path} has been locked by another process for "
                                   f"{self._file_lock.timeout:.0f} s") from None
        except OSError as exc:
            raise StoreError(f"cannot lock the audit log {self.path}: {exc.strerror or exc}") from exc
        try:
            try:
                handle = self.path.open("a+b")
            except OSError as exc:
                raise StoreError(f"cannot open the audit log {self.path}: {exc.strerror}") from exc
            with handle:
                yield handle
        finally:
            self._file_lock.release()


def read_entries(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every readable entry, oldest first (for listings; use :func:`verify_log` to check them)."""
    for _number, raw in _lines(Path(path)):
        try:
            entry = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict):
            yield entry


def _tail_state(handle: Any) -> tuple[int, str, bool]:
    """(last seq, last hash, whether the file ends without a newline) from the file's tail."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return 0, GENESIS, False
    start = max(0, size - TAIL_BYTES)
    handle.seek(start)
    tail = handle.read()
    needs_newline = not tail.endswith(b"\n")
    for raw in reversed(tail.split(b"\n")):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            return int(entry["seq"]), str(entry["hash"]), needs_newline
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            # A torn last line (the agent died mid-write): chain on from the last good entry; the
            # verifier reports the torn line, nothing is rewritten.
            continue
    if start > 0:
        raise StoreError("the end of the audit log is unreadable: run 'python -m agent audit verify'")
    return 0, GENESIS, needs_newline


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot read the audit log {path}: {exc.strerror}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.rstrip(b"\r\n")


def verify_log(path: str | os.PathLike[str], keys: AuditKeys | None, head: str | None = None) -> AuditReport:
    """Walk the chain from the first entry and stop at the first broken link; with the ``head`` recorded
    in the store (:class:`AuditHead`), a log that ends before it, or elsewhere, is broken too."""
    file = Path(path)
    if not file.is_file():
        raise StoreError(f"there is no audit log at {file}")
    operators: dict[str, int] = {}
    actions: dict[str, int] = {}
    count = 0
    prev = GENESIS
    expected_seq = 1
    first_at: str | None = None
    last_at: str | None = None
    problem: AuditProblem | None = None
    recorded = decode_head(head, keys) if head is not None else None
    hash_at_head: str | None = None
    lines = 0
    for number, raw in _lines(file):
        lines = number
        if not raw.strip():
            problem = AuditProblem(number, None, "empty line inside the log")
            break
        try:
            entry = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            problem = AuditProblem(number, None, "not a JSON entry (edited, or a write torn by a crash)")
            break
        found = _entry_problem(entry, expected_seq, prev, keys)
        if found:
            seq = entry.get("seq") if isinstance(entry, dict) and isinstance(entry.get("seq"), int) else None
            problem = AuditProblem(number, seq, found)
            break
        count += 1
        operators[entry["operator"]] = operators.get(entry["operator"], 0) + 1
        actions[entry["action"]] = actions.get(entry["action"], 0) + 1
        first_at = first_at or entry["at"]
        last_at = entry["at"]
        prev = entry["hash"]
        if isinstance(recorded, tuple) and entry["seq"] == recorded[0]:
            hash_at_head = entry["hash"]
        expected_seq += 1
    if problem is None and recorded is not None:
        problem = _head_problem(recorded, count, hash_at_head, lines)
    return AuditReport(str(file), count, operators, actions, keys is not None, problem, first_at, last_at,
                       head_checked=recorded is not None)


def _head_problem(recorded: tuple[int, str] | str, count: int, hash_at_head: str | None,
                  lines: int) -> AuditProblem | None:
    if isinstance(recorded, str):
        return AuditProblem(lines + 1, None, recorded)
    seq, digest = recorded
    if count < seq:
        return AuditProblem(lines + 1, seq, f"the log ends at entry {count} but the store recorded entry {seq}: "
                                            f"the last {seq - count} entries were removed")
    if hash_at_head != digest:
        return AuditProblem(seq, seq, f"entry {seq} is not the one the store recorded (the log was rewritten)")
    return None


def _entry_problem(entry: Any, expected_seq: int, prev: str, keys: AuditKeys | None) -> str:
    if not isinstance(entry, dict):
        return "not a JSON object"
    for name, kind in (("seq", int), ("at", str), ("operator", str), ("action", str), ("prev", str), ("hash", str)):
        if not isinstance(entry.get(name), kind):
            return f"field {name!r} missing or of the wrong type"
    if entry["seq"] != expected_seq:
        return f"sequence number {entry['seq']} where {expected_seq} was expected (an entry removed or inserted)"
    if entry["prev"] != prev:
        return "does not link to the entry before it (an entry removed, reordered or rewritten)"
    if entry_hash(entry) != entry["hash"]:
        return "its content does not match its hash (the entry was edited)"
    if keys is not None:
        mac = entry.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, keys.mac(entry["hash"])):
            return "its MAC does not verify (rewritten without the audit key, or another key)"
    return ""
