"""Verification receipts: one JSON file that a notary can archive instead of a photocopy, holding the
raw EF.SOD and data groups as read, the Active Authentication challenge and signature, every check's
outcome, the reading time and the agent version; and their offline re-verification against the trust
store (ICAO Doc 9303-11 §5.1 passive authentication, §6.1 Active Authentication).

Chip Authentication is an interactive key agreement: it cannot be replayed from a file, so its
recorded outcome is reported as recorded. Everything else is recomputed from the bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import __version__
from agent.errors import DocumentError
from agent.icao.active_auth import challenge_for_transaction, verify_active_authentication
from agent.icao.lds.document import FILE_SOD, ChipDocument
from agent.icao.passive_auth import passive_authentication
from agent.icao.read_sequence import ChipReading
from agent.icao.trust import TrustStore
from agent.models import Status

RECEIPT_FORMAT = "cccd-agent-receipt/1"


def build_receipt(reading: ChipReading, *, transaction_id: str, read_at: datetime) -> dict[str, Any]:
    """The receipt of one read, JSON-able (files in base64)."""
    evidence = reading.evidence()
    return {
        "format": RECEIPT_FORMAT,
        "agent_version": __version__,
        "transaction_id": transaction_id,
        "read_at": read_at.isoformat(),
        "files": {name: _b64(data) for name, data in sorted(reading.document.files.items())},
        "outcome": {"passive": str(reading.passive_outcome.status), "chip": str(reading.chip_outcome.status)},
        **evidence,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_receipt(receipt: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")


def load_receipt(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"cannot read the receipt: {exc}", file=str(path)) from exc
    if not isinstance(data, dict) or data.get("format") != RECEIPT_FORMAT:
        raise DocumentError(f"not a {RECEIPT_FORMAT} receipt", file=str(path))
    return data


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
class ReceiptVerification:
    """The outcomes recomputed from a receipt, compared with what it recorded."""

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


def verify_receipt(receipt: dict[str, Any], trust: TrustStore) -> ReceiptVerification:
    """Recompute every check a receipt records, at its reading time, against ``trust``."""
    try:
        files = {name: base64.b64decode(value, validate=True) for name, value in receipt["files"].items()}
        read_at = datetime.fromisoformat(receipt["read_at"])
        recorded_passive = receipt["passive_authentication"]
        recorded_outcome = receipt["outcome"]
        transaction_id = str(receipt["transaction_id"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DocumentError(f"the receipt is incomplete or damaged: {exc}", file="receipt") from exc
    document = ChipDocument.from_files(files)
    comparisons: list[CheckComparison] = []
    notes: list[str] = []

    recorded_checks: dict[str, Any] = recorded_passive.get("checks", {}) if isinstance(recorded_passive, dict) else {}
    if document.sod is None:
        reason = document.problems[FILE_SOD].message if FILE_SOD in document.problems else "EF.SOD missing"
        passive_now = str(Status.FAILED)
        recorded = str(recorded_outcome.get("passive"))
        comparisons.append(CheckComparison("passive_authentication", recorded, passive_now, reason))
    else:
        result = passive_authentication(document.sod, document.data_groups, trust, at=read_at)
        for name, outcome in result.checks():
            recorded = recorded_checks.get(name, {}).get("status", "absent")
            comparisons.append(CheckComparison(name, recorded, str(outcome.status), outcome.reason))
        for name in recorded_checks:
            if name not in dict(result.checks()):
                comparisons.append(CheckComparison(name, recorded_checks[name].get("status", "?"), "absent"))
        passive_now = str(result.overall.status)

    chip_now = str(recorded_outcome.get("chip", Status.NOT_SUPPORTED))
    active = receipt.get("active_authentication")
    if isinstance(active, dict) and document.dg15 is not None:
        challenge = bytes.fromhex(active.get("challenge", ""))
        signature = bytes.fromhex(active.get("signature", ""))
        algorithm = None
        if document.dg14 is not None and document.dg14.active_authentication:
            algorithm = document.dg14.active_authentication[0].signature_algorithm_oid
        outcome = verify_active_authentication(
            document.dg15.public_key_der, challenge, signature, signature_algorithm_oid=algorithm
        )
        comparisons.append(
            CheckComparison("active_authentication", str(active.get("status")), str(outcome.status), outcome.reason)
        )
        if challenge != challenge_for_transaction(transaction_id):
            comparisons.append(
                CheckComparison(
                    "active_authentication_binding",
                    "ok",
                    "failed",
                    "the challenge was not derived from this receipt's transaction id",
                )
            )
    chip_auth = receipt.get("chip_authentication")
    if isinstance(chip_auth, dict) and chip_auth.get("status") not in (None, str(Status.NOT_SUPPORTED)):
        notes.append(
            f"chip authentication recorded as {chip_auth.get('status')}: an interactive protocol, "
            "not re-verifiable from a file"
        )
    return ReceiptVerification(tuple(comparisons), passive_now, chip_now, tuple(notes))
