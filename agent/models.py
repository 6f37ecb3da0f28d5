"""The agent's shared value types: outcomes of checks, identities, backend answers and the
verification result that is shown, stored and synced (DESIGN.md "Key shapes").

This module is a leaf: standard library only, so that the pure core (agent.icao) and the store
(sync) can both use it. Personal fields are ``repr=False`` so that a stray ``print`` or log line of a
result never shows them.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any


class Status(enum.StrEnum):
    """The outcome of one check. ``unknown`` means we could not decide, e.g. no trusted CSCA."""

    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SUPPORTED = "not_supported"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One check's outcome with a plain reason (English, no personal data) for failed / unknown."""

    status: Status
    reason: str = ""

    @classmethod
    def ok(cls, reason: str = "") -> Outcome:
        return cls(Status.OK, reason)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls(Status.FAILED, reason)

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        return cls(Status.UNKNOWN, reason)

    @classmethod
    def not_supported(cls, reason: str = "") -> Outcome:
        return cls(Status.NOT_SUPPORTED, reason)

    @property
    def is_ok(self) -> bool:
        return self.status is Status.OK


class Source(enum.StrEnum):
    CHIP = "chip"
    QR = "qr"
    VNEID = "vneid"
    MANUAL = "manual"


class Verdict(enum.StrEnum):
    """What the desk shows: accept, accept with a warning, reject, or cannot decide now."""

    VERIFIED = "verified"
    WARNING = "warning"
    REJECTED = "rejected"
    CANNOT_CHECK = "cannot_check"


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the citizen is, as read from the chip, a QR code or typed by the operator."""

    id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(default="", repr=False)
    date_of_birth: date | None = dataclasses.field(default=None, repr=False)
    sex: str = dataclasses.field(default="", repr=False)
    old_id_number: str = dataclasses.field(default="", repr=False)
    address: str = dataclasses.field(default="", repr=False)
    place_of_origin: str = dataclasses.field(default="", repr=False)
    nationality: str = dataclasses.field(default="", repr=False)
    issue_date: date | None = dataclasses.field(default=None, repr=False)
    expiry_date: date | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id_number": self.id_number,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "sex": self.sex,
            "old_id_number": self.old_id_number,
            "address": self.address,
            "place_of_origin": self.place_of_origin,
            "nationality": self.nationality,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        def day(value: Any) -> date | None:
            return date.fromisoformat(value) if value else None

        return cls(
            id_number=data["id_number"],
            full_name=data.get("full_name", ""),
            date_of_birth=day(data.get("date_of_birth")),
            sex=data.get("sex", ""),
            old_id_number=data.get("old_id_number", ""),
            address=data.get("address", ""),
            place_of_origin=data.get("place_of_origin", ""),
            nationality=data.get("nationality", ""),
            issue_date=day(data.get("issue_date")),
            expiry_date=day(data.get("expiry_date")),
        )


@dataclasses.dataclass(frozen=True)
class BackendCheck:
    """One entitlement answer (insurance status, roster seat, notary record) and where it came from."""

    kind: str  # "insurance" | "roster" | "notary"
    status: str  # e.g. valid / expired / not_found / suspended / checked_in / not_on_roster / unavailable
    details: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    from_cache: bool = False
    checked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "details": dict(self.details),
            "from_cache": self.from_cache,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


@dataclasses.dataclass(frozen=True)
class VerificationResult:
    """The whole answer for one citizen at one desk. ``result_id`` is also the sync idempotency key."""

    result_id: str
    source: Source
    identity: Identity
    created_at: datetime
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    authenticity: dict[str, Any] = dataclasses.field(default_factory=dict)
    checks: tuple[BackendCheck, ...] = ()
    site_profile: str = ""
    operator: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "result_id": self.result_id,
            "source": str(self.source),
            "identity": self.identity.to_json(),
            "created_at": self.created_at.isoformat(),
            "verdict": str(self.verdict),
            "reasons": list(self.reasons),
            "authenticity": dict(self.authenticity),
            "checks": [c.to_json() for c in self.checks],
            "site_profile": self.site_profile,
            "operator": self.operator,
        }
