"""What differs between the kinds of desk, one small policy object per kind (docs/architecture.md
"Where to change what"): which backend a verification asks, how each of its answers weighs in the
verdict and what the operator does next, whether a typed or scanned identity is enough on its own,
what is compared with the chip, whether a candidate checks in once per session, whether a roster is
kept ahead, and the event the site's backend receives.

A new kind of desk is a :class:`agent.models.SiteKind` member, one subclass here and one settings file
``agent/config/<kind>.toml``. The verdict rules that hold at every desk are in :mod:`agent.service.verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from agent.errors import ConfigError
from agent.models import BackendCheck, CheckKind, CheckStatus, Identity, Operator, SiteKind, Verdict, VerificationResult
from agent.service.entitlement import Assessment, Entitlement
from sync.store import OutboundEvent, Store

DESTINATION_INSURANCE = "insurance"
DESTINATION_LICENSING = "licensing"
DESTINATION_HIS = "his"  # the site's hospital information system, through its webhook
STEP_BACKEND_DOWN = "next.backend_down"
CLASS_DESTINATION = "class"  # policy_for(): the kind's own destination


class SitePolicy:
    """The behaviour of one kind of desk. Subclasses set the class attributes and :meth:`assess`."""

    kind: ClassVar[SiteKind]
    check_kind: ClassVar[CheckKind]
    # A notary must see that a QR, a typed number or a chip without clone check proves little; a
    # clinic or an exam room need not be stopped by it.
    identity_must_be_proven: ClassVar[bool] = False
    compares_entered: ClassVar[bool] = False  # typed fields shown beside the chip's, differences flagged
    one_check_in_per_session: ClassVar[bool] = False
    prefetches_roster: ClassVar[bool] = False
    # How each answer of the backend weighs (answers not listed: "cannot check now"), and what to do next
    # when it is not a plain yes (answers not listed: the backend is down, try later).
    verdicts: ClassVar[Mapping[CheckStatus, Verdict]]
    next_steps: ClassVar[Mapping[CheckStatus, str]] = MappingProxyType({})
    destination: ClassVar[str]
    event_type: ClassVar[str]

    def __init__(self, *, exam_session_id: str = "", destination: str | None = CLASS_DESTINATION) -> None:
        self.exam_session_id = exam_session_id or None
        # Where the event goes: the kind's own backend, another (the HIS webhook), or nowhere (None: the
        # result is kept at the desk and readable through the API, nothing is sent).
        self.event_destination = type(self).destination if destination == CLASS_DESTINATION else destination

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def assess(self, entitlement: Entitlement, identity: Identity, operator: Operator | None, *,
               at: datetime) -> Assessment:
        raise NotImplementedError

    def check_verdict(self, check: BackendCheck) -> tuple[Verdict, str, str]:
        """(verdict, reason key, next-step key) of one backend answer; a backend that answered more
        finely than the status (the BHXH gateway's result codes) gives its own reason and next step."""
        if check.kind is not self.check_kind:
            raise ValueError(f"a {self.kind} desk weighs {self.check_kind} checks, not {check.kind}")
        known = check.status in self.verdicts
        verdict = self.verdicts.get(check.status, Verdict.CANNOT_CHECK)
        status = check.status if known else CheckStatus.UNAVAILABLE
        reason = check.reason_key or f"check.{check.kind}.{status}"
        return verdict, reason, check.next_key or self.next_steps.get(check.status, STEP_BACKEND_DOWN)

    def checked_in_before(self, store: Store, identity: Identity, check: BackendCheck, now: datetime) -> bool:
        """Whether this person already checked in to the same session today (only asked when
        :attr:`one_check_in_per_session`)."""
        return False

    def event(self, result: VerificationResult, *, site_id: str) -> OutboundEvent | None:
        """The event the site's backend receives for ``result`` (None when no backend was asked, or the
        events of this desk go nowhere), built from the final decision; its ``event_id`` is the result's
        id, the backend's idempotency key."""
        payload = self.payload(result, site_id=site_id)
        if payload is None or self.event_destination is None:
            return None
        return OutboundEvent(result.result_id, self.event_destination, payload)

    def payload(self, result: VerificationResult, *, site_id: str) -> dict[str, Any] | None:
        """The check-in (or record) of ``result`` as its event carries it; None without a backend check."""
        check = result.check
        if check is None:
            return None
        payload: dict[str, Any] = {
            "event_id": result.result_id,
            "type": self.event_type,
            "occurred_at": result.created_at.isoformat(),
            "site_id": site_id,
            "operator": result.operator,
            "id_number": result.identity.id_number,
            "verdict": str(result.verdict),
            "check_status": str(check.status),
            "from_cache": check.from_cache,
        }
        payload.update({k: v for k, v in self.event_fields(result.identity, check).items() if v is not None})
        return payload

    def event_fields(self, identity: Identity, check: BackendCheck) -> Mapping[str, Any]:
        return {}


class ClinicPolicy(SitePolicy):
    """Clinic reception: the patient's health-insurance (BHYT) status; a tap or a scan is a check-in."""

    kind = SiteKind.CLINIC
    check_kind = CheckKind.INSURANCE
    verdicts = MappingProxyType({
        CheckStatus.VALID: Verdict.VERIFIED,
        CheckStatus.VALID_WITH_WARNING: Verdict.WARNING,
        CheckStatus.EXPIRED: Verdict.WARNING,
        CheckStatus.SUSPENDED: Verdict.WARNING,
        CheckStatus.NOT_FOUND: Verdict.WARNING,
        CheckStatus.MISMATCH: Verdict.WARNING,
    })
    next_steps = MappingProxyType({
        CheckStatus.VALID_WITH_WARNING: "next.bhyt_check_papers",
        CheckStatus.EXPIRED: "next.insurance_expired",
        CheckStatus.SUSPENDED: "next.insurance_expired",
        CheckStatus.NOT_FOUND: "next.insurance_not_found",
        CheckStatus.MISMATCH: "next.insurance_mismatch",
        CheckStatus.CONFIG_ERROR: "next.call_technician",
    })
    destination = DESTINATION_INSURANCE
    event_type = "insurance_checkin"

    def assess(self, entitlement: Entitlement, identity: Identity, operator: Operator | None, *,
               at: datetime) -> Assessment:
        return entitlement.insurance(identity, operator)

    def event_fields(self, identity: Identity, check: BackendCheck) -> Mapping[str, Any]:
        return {"card_number": check.details.get("card_number") or identity.bhyt_card or None,
                "facility_code": check.details.get("facility_code")}


class NotaryPolicy(SitePolicy):
    """Notary office: identity and authenticity, the chip beside what the notary typed, a record kept."""

    kind = SiteKind.NOTARY
    check_kind = CheckKind.NOTARY
    identity_must_be_proven = True
    compares_entered = True
    verdicts = MappingProxyType({CheckStatus.RECORDED: Verdict.VERIFIED})
    destination = DESTINATION_LICENSING
    event_type = "notary_record"

    def assess(self, entitlement: Entitlement, identity: Identity, operator: Operator | None, *,
               at: datetime) -> Assessment:
        return Assessment(BackendCheck(CheckKind.NOTARY, CheckStatus.RECORDED, {}, checked_at=at))

    def event_fields(self, identity: Identity, check: BackendCheck) -> Mapping[str, Any]:
        return {"full_name": identity.full_name,
                "date_of_birth": identity.date_of_birth.isoformat() if identity.date_of_birth else None}


class ExamPolicy(SitePolicy):
    """Driving-test centre / exam room: each candidate against the session roster, held offline."""

    kind = SiteKind.EXAM
    check_kind = CheckKind.ROSTER
    one_check_in_per_session = True
    prefetches_roster = True
    verdicts = MappingProxyType({CheckStatus.ON_ROSTER: Verdict.VERIFIED, CheckStatus.NOT_ON_ROSTER: Verdict.REJECTED})
    next_steps = MappingProxyType({CheckStatus.NOT_ON_ROSTER: "next.not_on_roster"})
    destination = DESTINATION_LICENSING
    event_type = "candidate_checkin"

    def assess(self, entitlement: Entitlement, identity: Identity, operator: Operator | None, *,
               at: datetime) -> Assessment:
        return entitlement.roster_seat(identity.id_number, self.exam_session_id, at)

    def checked_in_before(self, store: Store, identity: Identity, check: BackendCheck, now: datetime) -> bool:
        if check.status is not CheckStatus.ON_ROSTER:
            return False
        session = check.details.get("session_id")
        today = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        for earlier in store.results.for_person(identity.id_number, since=today):
            if earlier.site_profile is not SiteKind.EXAM or earlier.verdict not in (Verdict.VERIFIED, Verdict.WARNING):
                continue
            if any(c.kind is CheckKind.ROSTER and c.status is CheckStatus.ON_ROSTER
                   and c.details.get("session_id") == session for c in earlier.checks):
                return True
        return False

    def event_fields(self, identity: Identity, check: BackendCheck) -> Mapping[str, Any]:
        return {"session_id": check.details.get("session_id", ""), "candidate_no": check.details.get("candidate_no")}


POLICIES: Mapping[SiteKind, type[SitePolicy]] = {p.kind: p for p in (ClinicPolicy, NotaryPolicy, ExamPolicy)}


def policy_for(kind: SiteKind | str, *, exam_session_id: str = "",
               destination: str | None = CLASS_DESTINATION) -> SitePolicy:
    """The policy of a kind of desk (ConfigError for a kind no policy knows); ``destination`` overrides
    where its events go (None: nowhere, the results stay at the desk)."""
    try:
        policy = POLICIES[SiteKind(kind)]
    except (ValueError, KeyError):
        raise ConfigError(f"must be one of {', '.join(POLICIES)}", key="site.profile") from None
    return policy(exam_session_id=exam_session_id, destination=destination)
