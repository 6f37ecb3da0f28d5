"""The agent's shared value types: outcomes of checks, identities, the chip's evidence, backend answers,
exam rosters and the verification result that is shown, stored, synced and put in receipts
(docs/architecture.md "Key types").

This module is a leaf: standard library only, so that the pure core (agent.icao), the adapters and the
store (sync) can all use it. Everything here is typed (enums and frozen dataclasses); JSON is made only
at the edges, through the ``to_json`` / ``from_json`` pairs below, which are the one JSON shape of
each type. Personal fields are ``repr=False`` so that a stray ``print`` or log line never shows them.
"""

from __future__ import annotations

import dataclasses
import enum
import unicodedata
from collections.abc import Mapping
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
    BHYT_QR = "bhyt_qr"  # the QR code of a BHYT health-insurance card (or the VssID app): no CCCD number


class Verdict(enum.StrEnum):
    """What the desk shows: accept, accept with a warning, reject, or cannot decide now."""

    VERIFIED = "verified"
    WARNING = "warning"
    REJECTED = "rejected"
    CANNOT_CHECK = "cannot_check"


class Badge(enum.StrEnum):
    """The card-authenticity badge of the desk page (derived by agent.service.verdict)."""

    GENUINE = "genuine"
    TRUST_ANCHOR_UNKNOWN = "trust_anchor_unknown"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class SiteKind(enum.StrEnum):
    """The kind of desk; each has one policy (agent.service.policy) and one settings file."""

    CLINIC = "clinic"
    NOTARY = "notary"
    EXAM = "exam"


# --- sex -------------------------------------------------------------------------------------------

_SEX_WORDS = {"nam": "Nam", "nữ": "Nữ"}
_SEX_LENIENT = {"m": "Nam", "male": "Nam", "f": "Nữ", "female": "Nữ", "nu": "Nữ"}
_SEX_UNSPECIFIED = {"", "x", "<"}


class Sex(enum.StrEnum):
    """Sex as the card prints it (DG13 and the QR say "Nam" / "Nữ"; the MRZ says M / F / X)."""

    MALE = "Nam"
    FEMALE = "Nữ"
    UNSPECIFIED = ""

    @classmethod
    def parse(cls, value: str | Sex | None, *, vietnamese_only: bool = False) -> Sex | None:
        """The one parser of a sex field: "Nam" / "Nữ" in any case and Unicode form; unless
        ``vietnamese_only`` also M / F / male / female / "Nu" (an MRZ, a form, a keyboard without
        diacritics), and "" / X / < as unspecified. None when the text is none of these."""
        if value is None:
            return cls.UNSPECIFIED
        if isinstance(value, Sex):
            return value
        text = unicodedata.normalize("NFC", value).strip().casefold()
        word = _SEX_WORDS.get(text)
        if word is None and not vietnamese_only:
            word = _SEX_LENIENT.get(text)
            if word is None and text in _SEX_UNSPECIFIED:
                return cls.UNSPECIFIED
        return cls(word) if word is not None else None


# --- identity ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the citizen is, as read from the chip, a QR code or typed by the operator."""

    id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(default="", repr=False)
    date_of_birth: date | None = dataclasses.field(default=None, repr=False)
    sex: Sex = dataclasses.field(default=Sex.UNSPECIFIED, repr=False)
    old_id_number: str = dataclasses.field(default="", repr=False)
    address: str = dataclasses.field(default="", repr=False)
    place_of_origin: str = dataclasses.field(default="", repr=False)
    nationality: str = dataclasses.field(default="", repr=False)
    issue_date: date | None = dataclasses.field(default=None, repr=False)
    expiry_date: date | None = dataclasses.field(default=None, repr=False)
    # Some people, mostly the elderly, are registered with a birth year only; set when the day is unknown.
    birth_year: int | None = dataclasses.field(default=None, repr=False)
    # The BHYT card number (15 characters, or the 10-digit social insurance number) of an identity that
    # came from a health-insurance card's QR code, which carries no CCCD number.
    bhyt_card: str = dataclasses.field(default="", repr=False)

    def __post_init__(self) -> None:
        # Every way in (DG13, the MRZ, a QR, a typed form) goes through the one parser; text that is
        # no known spelling is kept as "unspecified" rather than guessed.
        object.__setattr__(self, "sex", Sex.parse(self.sex) or Sex.UNSPECIFIED)

    @property
    def year_of_birth(self) -> int | None:
        return self.date_of_birth.year if self.date_of_birth else self.birth_year

    @property
    def lookup_number(self) -> str:
        """The number a lookup finds this person by: the ID number, else the BHYT card number."""
        return self.id_number or self.bhyt_card

    def to_json(self) -> dict[str, Any]:
        data = {
            "id_number": self.id_number,
            "full_name": self.full_name,
            "date_of_birth": _day_text(self.date_of_birth),
            "sex": str(self.sex),
            "old_id_number": self.old_id_number,
            "address": self.address,
            "place_of_origin": self.place_of_origin,
            "nationality": self.nationality,
            "issue_date": _day_text(self.issue_date),
            "expiry_date": _day_text(self.expiry_date),
            "birth_year": self.birth_year,
        }
        if self.bhyt_card:  # only then: the JSON of every other identity (stored, signed in receipts) stays as it was
            data["bhyt_card"] = self.bhyt_card
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Identity:
        return cls(
            id_number=data["id_number"],
            full_name=data.get("full_name", ""),
            date_of_birth=_day(data.get("date_of_birth")),
            sex=Sex.parse(data.get("sex", "")) or Sex.UNSPECIFIED,
            old_id_number=data.get("old_id_number", ""),
            address=data.get("address", ""),
            place_of_origin=data.get("place_of_origin", ""),
            nationality=data.get("nationality", ""),
            issue_date=_day(data.get("issue_date")),
            expiry_date=_day(data.get("expiry_date")),
            birth_year=int(data["birth_year"]) if data.get("birth_year") is not None else None,
            bhyt_card=str(data.get("bhyt_card") or ""),
        )


@dataclasses.dataclass(frozen=True)
class Operator:
    """The staff member signed in at the desk: every result, audit entry and gateway lookup carries
    them (the BHXH gateway wants the name and CCCD number of whoever looks a card up)."""

    name: str
    cccd: str = dataclasses.field(default="", repr=False)
    pin_hash: str = dataclasses.field(default="", repr=False, compare=False)

    @property
    def needs_pin(self) -> bool:
        return bool(self.pin_hash)


# --- the chip's evidence -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChipEvidence:
    """What a chip read proved, without personal data: passive authentication (is the data what the
    issuer signed?) and the chip check (is this the original chip? Chip or Active Authentication),
    each check's outcome, the trust anchor, how the chip was opened and the files it refused.

    ``passive`` is ok / failed / unknown; ``chip`` is ok / failed / unknown / not_supported. ``reasons``
    are plain English, for the technician (the operator sees catalogue texts)."""

    passive: Status
    chip: Status
    access_method: str = ""
    passive_checks: Mapping[str, Status] = dataclasses.field(default_factory=dict)
    chip_authentication: Status = Status.NOT_SUPPORTED
    active_authentication: Status = Status.NOT_SUPPORTED
    trust_anchor: str = ""
    skipped_files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return Status.FAILED in (self.passive, self.chip)

    def to_json(self) -> dict[str, Any]:
        return {
            "passive": str(self.passive),
            "chip": str(self.chip),
            "access_method": self.access_method,
            "passive_checks": {name: str(status) for name, status in self.passive_checks.items()},
            "chip_authentication": str(self.chip_authentication),
            "active_authentication": str(self.active_authentication),
            "trust_anchor": self.trust_anchor,
            "skipped_files": dict(self.skipped_files),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChipEvidence:
        return cls(
            passive=Status(data["passive"]),
            chip=Status(data["chip"]),
            access_method=str(data.get("access_method", "")),
            passive_checks={str(k): Status(v) for k, v in dict(data.get("passive_checks") or {}).items()},
            chip_authentication=Status(data.get("chip_authentication", Status.NOT_SUPPORTED)),
            active_authentication=Status(data.get("active_authentication", Status.NOT_SUPPORTED)),
            trust_anchor=str(data.get("trust_anchor", "")),
            skipped_files={str(k): str(v) for k, v in dict(data.get("skipped_files") or {}).items()},
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
        )


# --- backend answers ----------------------------------------------------------------------------------


class CheckKind(enum.StrEnum):
    """Which entitlement was checked: insurance status, a roster seat, a notary record."""

    INSURANCE = "insurance"
    ROSTER = "roster"
    NOTARY = "notary"


class CheckStatus(enum.StrEnum):
    """Every answer a backend check can give (by kind: insurance valid ... config_error; roster
    on_roster / not_on_roster; notary recorded), and ``unavailable`` when nobody could answer.

    Insurance: ``valid_with_warning`` (valid, but papers to check: a card of the army's or the police's
    social insurance, a child who brought no card), ``mismatch`` (the name, date of birth or card code
    given does not match the card), ``config_error`` (the desk's account or staff registration is wrong:
    a technician must act, retrying cannot help)."""

    VALID = "valid"
    VALID_WITH_WARNING = "valid_with_warning"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    NOT_FOUND = "not_found"
    MISMATCH = "mismatch"
    CONFIG_ERROR = "config_error"
    ON_ROSTER = "on_roster"
    NOT_ON_ROSTER = "not_on_roster"
    RECORDED = "recorded"
    UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True)
class BackendCheck:
    """One entitlement answer (insurance status, roster seat, notary record) and where it came from.

    ``reason_key`` / ``next_key`` are catalogue keys an adapter sets when its backend answers more
    finely than the status (the BHXH gateway's result codes); empty, the site's policy says them."""

    kind: CheckKind
    status: CheckStatus
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    from_cache: bool = False
    checked_at: datetime | None = None
    reason_key: str = ""
    next_key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CheckKind(self.kind))
        object.__setattr__(self, "status", CheckStatus(self.status))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "status": str(self.status),
            "details": dict(self.details),
            "from_cache": self.from_cache,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "reason_key": self.reason_key,
            "next_key": self.next_key,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackendCheck:
        return cls(
            kind=CheckKind(data["kind"]),
            status=CheckStatus(data["status"]),
            details=dict(data.get("details") or {}),
            from_cache=bool(data.get("from_cache")),
            checked_at=datetime.fromisoformat(data["checked_at"]) if data.get("checked_at") else None,
            reason_key=str(data.get("reason_key") or ""),
            next_key=str(data.get("next_key") or ""),
        )


@dataclasses.dataclass(frozen=True)
class InsuranceQuery:
    """What an insurance lookup is asked with: the card number the gateway calls ``maThe`` (the 12-digit
    CCCD number, or a 15-character BHYT card number), the holder's name and date of birth (or birth
    year), and the staff member doing the lookup."""

    card_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(default="", repr=False)
    date_of_birth: date | None = dataclasses.field(default=None, repr=False)
    birth_year: int | None = dataclasses.field(default=None, repr=False)
    operator: Operator | None = None

    @classmethod
    def of(cls, identity: Identity, operator: Operator | None) -> InsuranceQuery:
        """The query for ``identity``: by its ID number, else (a BHYT card's QR) by its card number."""
        return cls(identity.lookup_number, identity.full_name, identity.date_of_birth, identity.birth_year,
                   operator)

    @property
    def by_card(self) -> bool:
        """Asked by a BHYT card number (15 characters, or the 10-digit social insurance number), not by
        the 12-digit CCCD number."""
        return len(self.card_number.strip()) != 12


# --- exam rosters -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExamSessionInfo:
    session_id: str
    centre: str
    exam_date: date
    licence_class: str
    candidate_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "centre": self.centre,
            "exam_date": self.exam_date.isoformat(),
            "licence_class": self.licence_class,
            "candidate_count": self.candidate_count,
        }


@dataclasses.dataclass(frozen=True)
class RosterEntry:
    candidate_no: str
    id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date = dataclasses.field(repr=False)
    licence_class: str = ""

    def details(self, session_id: str) -> dict[str, Any]:
        """What a roster check shows at the desk (the same shape online and from the stored roster)."""
        return {
            "session_id": session_id,
            "candidate_no": self.candidate_no,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "licence_class": self.licence_class,
        }


@dataclasses.dataclass(frozen=True)
class Roster:
    session: ExamSessionInfo
    candidates: tuple[RosterEntry, ...] = dataclasses.field(repr=False)


# --- the result ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VerificationResult:
    """The whole answer for one citizen at one desk. ``result_id`` is also the sync idempotency key.

    ``evidence`` is set for a chip read only; ``chip_receipt`` is the chip's own receipt (the files as
    read, for offline re-verification: personal data, kept sealed in the store and given out only in
    a receipt)."""

    result_id: str
    source: Source
    identity: Identity
    created_at: datetime
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    evidence: ChipEvidence | None = None
    checks: tuple[BackendCheck, ...] = ()
    site_profile: SiteKind = SiteKind.CLINIC
    operator: str = ""
    chip_receipt: Mapping[str, Any] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "site_profile", SiteKind(self.site_profile))

    @property
    def check(self) -> BackendCheck | None:
        """The entitlement check of this result (a desk asks one backend per result)."""
        return self.checks[0] if self.checks else None

    def to_json(self, *, with_chip_receipt: bool = False) -> dict[str, Any]:
        """The result as JSON. ``authenticity`` is the chip's evidence (empty unless read from a chip);
        the chip receipt is left out unless asked for (the store keeps it, views do not show it)."""
        data: dict[str, Any] = {
            "result_id": self.result_id,
            "source": str(self.source),
            "identity": self.identity.to_json(),
            "created_at": self.created_at.isoformat(),
            "verdict": str(self.verdict),
            "reasons": list(self.reasons),
            "authenticity": self.evidence.to_json() if self.evidence else {},
            "checks": [c.to_json() for c in self.checks],
            "site_profile": str(self.site_profile),
            "operator": self.operator,
        }
        if with_chip_receipt:
            data["chip_receipt"] = dict(self.chip_receipt) if self.chip_receipt is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerificationResult:
        """The inverse of :meth:`to_json`; KeyError / TypeError / ValueError on a wrong shape."""
        authenticity = data.get("authenticity") or {}
        # Results stored before the chip receipt had its own field carried it inside "authenticity".
        receipt = data.get("chip_receipt", authenticity.get("receipt"))
        return cls(
            result_id=str(data["result_id"]),
            source=Source(data["source"]),
            identity=Identity.from_json(data["identity"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            verdict=Verdict(data["verdict"]),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            evidence=ChipEvidence.from_json(authenticity) if "passive" in authenticity else None,
            checks=tuple(BackendCheck.from_json(c) for c in data.get("checks", ())),
            site_profile=SiteKind(data.get("site_profile") or SiteKind.CLINIC),
            operator=str(data.get("operator", "")),
            chip_receipt=dict(receipt) if isinstance(receipt, Mapping) else None,
        )


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _day_text(value: date | None) -> str | None:
    return value.isoformat() if value else None
