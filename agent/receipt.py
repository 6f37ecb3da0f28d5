"""Verification receipts: one signed JSON file that a notary can archive instead of a photocopy, the
same whether ``python -m agent read --receipt`` wrote it or the desk handed it out
(``GET /api/receipts/{id}?download=1``), and its offline re-verification.

The envelope (format ``cccd-agent-receipt/2``) holds the site, the time of the verification (or of
the read), the desk's result (verdict, reasons, checks, operator; absent for a bare ``read``) and the chip part, and an
Ed25519 signature over all of it by the site's receipt key (generated on first use and kept outside
the store like the store key; its public key is exported with ``python -m agent receipt-key``). So an
edited verdict, time or operator breaks the signature. Ed25519 signatures are deterministic: the receipt
of a result is the same however often it is asked for.

The chip part (format ``cccd-agent-receipt/1``, also what older agents wrote on its own) holds the raw
EF.SOD and data groups as read, the Active Authentication challenge and signature, every check's
outcome, the reading time and the agent version; it is re-verified against the trust store (ICAO
Doc 9303-11 §5.1 passive authentication, §6.1 Active Authentication). Chip Authentication is an
interactive key agreement: it cannot be replayed from a file, so its recorded outcome is reported as
recorded. :func:`verify_receipt` says which part changed: the signature, the chip evidence, or both.
Older unsigned files (a bare chip receipt, the desk's first download format with its plain digest)
are still verified, and said to be unsigned.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent import __version__
from agent.errors import DocumentError
from agent.icao.active_auth import challenge_for_transaction, verify_active_authentication
from agent.icao.lds.document import ChipDocument
from agent.icao.lds_registry import EF_SOD
from agent.icao.passive_auth import passive_authentication
from agent.icao.read_sequence import ChipReading
from agent.icao.trust import TrustStore
from agent.models import Status, VerificationResult

RECEIPT_FORMAT = "cccd-agent-receipt/2"
CHIP_RECEIPT_FORMAT = "cccd-agent-receipt/1"
LEGACY_DESK_VERSION = 1  # the desk's first download: {"receipt_version": 1, ..., "digest_sha256"}
SIGNATURE_ALGORITHM = "Ed25519"
KEY_ID_HEX = 16
RECEIPT_KEY_PREFIX = "cccd-agent-receipt-key-v1:"  # the key file's header (sync.keys.KeyFile)
MAX_RECEIPT_BYTES = 16 * 1024 * 1024  # a chip's files are ~30 KB; a receipt is never megabytes

PART_SIGNATURE = "signature"
PART_CHIP = "chip evidence"


# --- the chip part ---------------------------------------------------------------------------------


def build_chip_receipt(reading: ChipReading, *, transaction_id: str, read_at: datetime) -> dict[str, Any]:
    """The chip part of a receipt for one read, JSON-able (files in base64)."""
    evidence = reading.evidence()
    return {
        "format": CHIP_RECEIPT_FORMAT,
        "agent_version": __version__,
        "transaction_id": transaction_id,
        "read_at": read_at.isoformat(),
        "files": {name: _b64(data) for name, data in sorted(reading.document.files.items())},
        "outcome": {"passive": str(reading.passive_outcome.status), "chip": str(reading.chip_outcome.status)},
        **evidence,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclasses.dataclass(frozen=True)
class CheckComparison:
    name: str
    recorded: str
    now: str
    reason: str = ""

    @property
    def same(self) -> bool:
        return self.recorded == self.now


@dataclasses.dataclass(frozen=True)
class ChipVerification:
    """The outcomes recomputed from a chip receipt, compared with what it recorded."""

    comparisons: tuple[CheckComparison, ...]
    passive: str
    chip: str
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[CheckComparison, ...]:
        return tuple(c for c in self.comparisons if not c.same)

    @property
    def consistent(self) -> bool:
        return not self.changed

    def to_json(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "passive": self.passive,
            "chip": self.chip,
            "checks": [dataclasses.asdict(c) | {"same": c.same} for c in self.comparisons],
            "changed": [c.name for c in self.changed],
            "notes": list(self.notes),
        }


@dataclasses.dataclass(frozen=True)
class _ChipPart:
    """A chip receipt's fields, checked for shape."""

    files: dict[str | int, bytes]
    read_at: datetime
    transaction_id: str
    recorded_checks: dict[str, str]
    recorded_passive: str
    recorded_chip: str
    active: tuple[str, bytes, bytes] | None  # recorded status, challenge, signature
    chip_auth_status: str | None


def _chip_part(receipt: Mapping[str, Any]) -> _ChipPart:
    def damaged(what: str) -> DocumentError:
        return DocumentError(f"the receipt is incomplete or damaged: {what}", file="receipt")

    try:
        for name in ("files", "outcome"):
            if not isinstance(receipt[name], Mapping):
                raise damaged(f"{name!r} is not an object")
        files: dict[str | int, bytes] = {str(name): base64.b64decode(value, validate=True)
                                         for name, value in dict(receipt["files"]).items()}
        read_at = datetime.fromisoformat(receipt["read_at"])
        outcome = dict(receipt["outcome"])
        passive = receipt["passive_authentication"]
        transaction_id = str(receipt["transaction_id"])
        checks = dict(passive.get("checks") or {}) if isinstance(passive, dict) else {}
        recorded_checks = {str(name): str(dict(value).get("status", "?")) for name, value in checks.items()}
        active_data = receipt.get("active_authentication")
        active = None
        if isinstance(active_data, dict):
            active = (str(active_data.get("status")), bytes.fromhex(str(active_data.get("challenge", ""))),
                      bytes.fromhex(str(active_data.get("signature", ""))))
        chip_auth = receipt.get("chip_authentication")
        chip_auth_status = str(chip_auth["status"]) if isinstance(chip_auth, dict) and chip_auth.get("status") else None
    except KeyError as exc:
        raise damaged(f"{exc.args[0]!r} is missing") from exc
    except (TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise damaged(str(exc)) from exc
    return _ChipPart(files, read_at, transaction_id, recorded_checks, str(outcome.get("passive")),
                     str(outcome.get("chip", Status.NOT_SUPPORTED)), active, chip_auth_status)


def verify_chip_receipt(receipt: Mapping[str, Any], trust: TrustStore) -> ChipVerification:
    """Recompute every check a chip receipt records, at its reading time, against ``trust``."""
    part = _chip_part(receipt)
    document = ChipDocument.from_files(part.files)
    comparisons: list[CheckComparison] = []
    notes: list[str] = []
    if document.sod is None:
        reason = document.problems[EF_SOD.name].message if EF_SOD.name in document.problems else "EF.SOD missing"
        passive_now = str(Status.FAILED)
        comparisons.append(CheckComparison("passive_authentication", part.recorded_passive, passive_now, reason))
    else:
        result = passive_authentication(document.sod, document.data_groups, trust, at=part.read_at)
        now = dict(result.checks())
        for name, outcome in now.items():
            comparisons.append(CheckComparison(name, part.recorded_checks.get(name, "absent"), str(outcome.status),
                                               outcome.reason))
        comparisons += [CheckComparison(name, recorded, "absent") for name, recorded in part.recorded_checks.items()
                        if name not in now]
        passive_now = str(result.overall.status)

    if part.active is not None and document.dg15 is not None:
        recorded_status, challenge, signature = part.active
        algorithm = None
        if document.dg14 is not None and document.dg14.active_authentication:
            algorithm = document.dg14.active_authentication[0].signature_algorithm_oid
        outcome = verify_active_authentication(document.dg15.public_key_der, challenge, signature,
                                               signature_algorithm_oid=algorithm)
        comparisons.append(CheckComparison("active_authentication", recorded_status, str(outcome.status),
                                           outcome.reason))
        if challenge != challenge_for_transaction(part.transaction_id):
            comparisons.append(CheckComparison("active_authentication_binding", "ok", "failed",
                                               "the challenge was not derived from this receipt's transaction id"))
    if part.chip_auth_status not in (None, str(Status.NOT_SUPPORTED)):
        notes.append(f"chip authentication recorded as {part.chip_auth_status}: an interactive protocol, "
                     "not re-verifiable from a file")
    return ChipVerification(tuple(comparisons), passive_now, part.recorded_chip, tuple(notes))


# --- the site's receipt key ------------------------------------------------------------------------------


class ReceiptKey:
    """The site's Ed25519 key that signs receipts (from a 32-byte seed kept like the store key)."""

    def __init__(self, seed: bytes) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self._private.public_key()
        self.key_id = key_id(self.public)

    def __repr__(self) -> str:
        return f"ReceiptKey(key_id={self.key_id!r})"

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def public_pem(self) -> str:
        return public_pem(self.public)


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of SHA-256 over its raw 32 bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A site's receipt public key as exported by ``python -m agent receipt-key`` (PEM)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise DocumentError(f"cannot read the public key: {exc.strerror}", file=str(path)) from exc
    except ValueError as exc:
        raise DocumentError("not a PEM public key", file=str(path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise DocumentError("not an Ed25519 receipt key", file=str(path))
    return key


# --- the envelope ----------------------------------------------------------------------------------------


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def build_receipt(*, site_id: str, issued_at: datetime, key: ReceiptKey, result: VerificationResult | None = None,
                  chip: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The signed receipt of a desk result (its chip part when it was a chip read), or of a bare read."""
    body: dict[str, Any] = {
        "format": RECEIPT_FORMAT,
        "agent_version": __version__,
        "site_id": site_id,
        "issued_at": issued_at.isoformat(),
        "result": result.to_json() if result is not None else None,
        "chip": dict(chip) if chip is not None else None,
    }
    body["signature"] = {
        "algorithm": SIGNATURE_ALGORITHM,
        "key_id": key.key_id,
        "value": _b64(key.sign(_canonical(body))),
    }
    return body


def write_receipt(receipt: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")


def load_receipt(path: Path) -> dict[str, Any]:
    """A receipt file of any format this agent wrote; DocumentError when it is not one."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECEIPT_BYTES + 1)
    except OSError as exc:
        raise DocumentError(f"cannot read the receipt: {exc.strerror}", file=str(path)) from exc
    return parse_receipt(raw, name=str(path))


def parse_receipt(raw: bytes, *, name: str) -> dict[str, Any]:
    """The receipt in ``raw`` (a file's bytes); DocumentError naming ``name`` when it is not one."""
    if len(raw) > MAX_RECEIPT_BYTES:
        raise DocumentError("the file is too large to be a receipt", file=name)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and a number too long to convert (sys.int_info)
        raise DocumentError(f"cannot read the receipt: {type(exc).__name__}", file=name) from exc
    if not isinstance(data, dict) or _format_of(data) is None:
        raise DocumentError("not a cccd-agent receipt", file=name)
    return data


def _format_of(data: Mapping[str, Any]) -> str | None:
    if data.get("format") in (RECEIPT_FORMAT, CHIP_RECEIPT_FORMAT):
        return str(data["format"])
    if data.get("receipt_version") == LEGACY_DESK_VERSION:
        return "desk-v1"
    return None


class SignatureStatus(enum.StrEnum):
    OK = "ok"  # signed by a key this verifier trusts, and intact
    FAILED = "failed"  # changed after signing, or signed by another key than the site's
    UNKNOWN = "unknown"  # intact, but no trusted key to tell who signed it
    ABSENT = "absent"  # an older, unsigned receipt


@dataclasses.dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    reason: str = ""
    key_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.status), "reason": self.reason, "key_id": self.key_id}


@dataclasses.dataclass(frozen=True)
class ReceiptVerification:
    """A receipt checked again: its signature, and its chip evidence recomputed (None without a chip part)."""

    format: str
    signature: SignatureCheck
    chip: ChipVerification | None
    result: Mapping[str, Any] | None = None

    @property
    def changed_parts(self) -> tuple[str, ...]:
        parts = []
        if self.signature.status is SignatureStatus.FAILED:
            parts.append(PART_SIGNATURE)
        if self.chip is not None and not self.chip.consistent:
            parts.append(PART_CHIP)
        return tuple(parts)

    @property
    def consistent(self) -> bool:
        return not self.changed_parts

    def to_json(self) -> dict[str, Any]:
        chip = self.chip.to_json() if self.chip is not None else {}
        return {
            "format": self.format,
            "consistent": self.consistent,
            "changed_parts": list(self.changed_parts),
            "signature": self.signature.to_json(),
            "passive": chip.get("passive"),
            "chip": chip.get("chip"),
            "checks": chip.get("checks", []),
            "changed": chip.get("changed", []),
            "notes": chip.get("notes", []),
            "verdict": self.result.get("verdict") if self.result else None,
        }


def verify_receipt(receipt: Mapping[str, Any], trust: TrustStore,
                   trusted_keys: Sequence[Ed25519PublicKey] = ()) -> ReceiptVerification:
    """Check a receipt of any format: its signature against ``trusted_keys`` (the site's own receipt
    key, or keys an auditor was given) and its chip part against ``trust``."""
    kind = _format_of(receipt)
    if kind == CHIP_RECEIPT_FORMAT:
        return ReceiptVerification(kind, SignatureCheck(SignatureStatus.ABSENT, "a bare chip receipt is not signed"),
                                   verify_chip_receipt(receipt, trust))
    if kind == "desk-v1":
        return _verify_legacy_desk(receipt, trust)
    if kind != RECEIPT_FORMAT:
        raise DocumentError("not a cccd-agent receipt", file="receipt")
    chip = receipt.get("chip")
    result = receipt.get("result")
    if (chip is not None and not isinstance(chip, Mapping)) or (result is not None and not isinstance(result, Mapping)):
        raise DocumentError("the receipt is incomplete or damaged: 'chip' or 'result' is not an object", file="receipt")
    return ReceiptVerification(kind, check_signature(receipt, trusted_keys),
                               verify_chip_receipt(chip, trust) if chip is not None else None, result)


def check_signature(receipt: Mapping[str, Any], trusted_keys: Sequence[Ed25519PublicKey]) -> SignatureCheck:
    """The envelope's signature under one of ``trusted_keys`` (named by its key id)."""
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping):
        return SignatureCheck(SignatureStatus.FAILED, "the signature is missing")
    named = str(signature.get("key_id", ""))
    if signature.get("algorithm") != SIGNATURE_ALGORITHM:
        return SignatureCheck(SignatureStatus.FAILED, "unknown signature algorithm", named)
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
    except (binascii.Error, ValueError):
        return SignatureCheck(SignatureStatus.FAILED, "the signature is not base64", named)
    body = _canonical({k: v for k, v in receipt.items() if k != "signature"})
    if not trusted_keys:
        return SignatureCheck(SignatureStatus.UNKNOWN,
                              "no receipt key to check it against: give the site's public key (--public-key)", named)
    for public in trusted_keys:
        if key_id(public) != named:
            continue
        try:
            public.verify(value, body)
        except InvalidSignature:
            return SignatureCheck(SignatureStatus.FAILED, "the receipt was changed after it was signed", named)
        return SignatureCheck(SignatureStatus.OK, "", named)
    known = ", ".join(key_id(k) for k in trusted_keys)
    return SignatureCheck(SignatureStatus.FAILED, f"signed by key {named or '?'}, not by the site's key ({known})",
                          named)


def _verify_legacy_desk(receipt: Mapping[str, Any], trust: TrustStore) -> ReceiptVerification:
    """The desk's first download format: a plain SHA-256 digest, which catches accidents, not forgers."""
    body = {k: v for k, v in receipt.items() if k != "digest_sha256"}
    digest = hashlib.sha256(_canonical(body)).hexdigest()
    recorded = str(receipt.get("digest_sha256", ""))
    if hmac.compare_digest(digest, recorded):
        signature = SignatureCheck(SignatureStatus.ABSENT, "an older receipt: unsigned, its digest matches")
    else:
        signature = SignatureCheck(SignatureStatus.FAILED, "an older receipt whose digest does not match")
    chip = receipt.get("chip_receipt")
    result = receipt.get("result")
    return ReceiptVerification("desk-v1", signature,
                               verify_chip_receipt(chip, trust) if isinstance(chip, Mapping) else None,
                               result if isinstance(result, Mapping) else None)
