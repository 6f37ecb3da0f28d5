"""The one verification pipeline (docs/architecture.md "Data flow"): every way in (a chip tap, a QR
code, a typed number, ``python -m agent verify``) hands a :class:`Submission` to
:meth:`Pipeline.verify`, which runs, in order:

identity and evidence (the submission) -> entitlement, as the desk's policy asks (skipped for a forged
card, a VNeID token, an old CMND; the answer started ahead, while the card was still reading, when there
is one: :mod:`agent.service.lookahead`) -> one check-in per candidate and session (exam) -> what a notary
typed beside the chip -> the verdict and its reasons (:func:`agent.service.verdict.decide`, the one
place) -> the backend's event, built once from the decision -> the result, its event, the fresh
backend answers and a roster downloaded on the way, recorded in one transaction -> an audit entry ->
the result shown on the desk and published to the site's software.

So the same input gives the same result, reasons and audit entry whichever way it came in.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from agent import audit as audit_module
from agent.audit import AuditLog
from agent.errors import IdentityDetailsMissingError
from agent.models import (
    BackendCheck,
    Badge,
    CheckStatus,
    ChipEvidence,
    Identity,
    Operator,
    Source,
    VerificationResult,
)
from agent.ports import ReadStats
from agent.service import identity_check, verdict
from agent.service.entitlement import Assessment, Entitlement
from agent.service.lookahead import Lookahead
from agent.service.policy import SitePolicy
from agent.service.state import DeskResult, DeskState
from sync.store import OutboundEvent, Store


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_result_id() -> str:
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Submission:
    """One identity to verify and what is known about it.

    ``evidence`` and ``chip_receipt`` come with a chip read; ``problems`` are reason keys found while
    putting the identity together (an ID number that does not fit, a QR of someone else); ``entered``
    is what a notary typed (compared with the chip); ``old_id_only`` marks a 9-digit CMND (no backend
    knows it); ``skip_entitlement`` an identity no backend can look up (a VNeID token); ``operator`` the
    staff member signed in (None: the settings' operator name, at a desk with no operators file)."""

    identity: Identity
    source: Source
    operator: Operator | None = None
    evidence: ChipEvidence | None = None
    chip_receipt: Mapping[str, Any] | None = dataclasses.field(default=None, repr=False)
    problems: tuple[str, ...] = ()
    entered: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    face: bytes | None = dataclasses.field(default=None, repr=False)
    stats: ReadStats | None = None
    result_id: str | None = None
    old_id_only: bool = False
    skip_entitlement: bool = False


class Pipeline:
    def __init__(
        self,
        *,
        store: Store,
        entitlement: Entitlement,
        policy: SitePolicy,
        audit: AuditLog,
        state: DeskState,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_result_id,
        on_recorded: Callable[[VerificationResult], None] | None = None,
        lookahead: Lookahead | None = None,
    ) -> None:
        self.store = store
        self.entitlement = entitlement
        self.policy = policy
        self.audit = audit
        self.state = state
        self._clock = clock
        self._new_id = new_id
        self.on_recorded = on_recorded
        self.lookahead = lookahead
        self._lock = threading.Lock()  # one verification at a time: "already checked in" reads the store

    def verify(self, submission: Submission) -> DeskResult:
        """Decide, record, audit and show; StoreError if the result could not be kept (then nothing
        was recorded and nothing is shown)."""
        with self._lock:
            desk, events = self._verify(submission)
        self.state.show(desk)
        if self.on_recorded is not None and events:
            self.on_recorded(desk.result)  # e.g. wake the syncer: the backend may be reachable right now
        return desk

    def _assess(self, submission: Submission, at: datetime) -> Assessment:
        try:
            return self.policy.assess(self.entitlement, submission.identity, submission.operator, at=at)
        except IdentityDetailsMissingError as error:
            if submission.source is Source.MANUAL:
                raise  # the operator types what is missing
            # A card that does not give what the lookup needs (a document with no birth date): its chip
            # evidence still counts, the entitlement cannot be checked here.
            kind = self.policy.check_kind
            return Assessment(BackendCheck(
                kind, CheckStatus.UNAVAILABLE, {"error": type(error).__name__, "field": error.field or ""},
                reason_key=f"check.{kind}.details_missing", next_key="next.type_identity_details"))

    def _verify(self, submission: Submission) -> tuple[DeskResult, tuple[OutboundEvent, ...]]:
        policy = self.policy
        identity = submission.identity
        operator_name = submission.operator.name if submission.operator else self.audit.operator
        result_id = submission.result_id or self._new_id()
        created_at = self._clock()
        badge = verdict.authenticity_badge(submission.source, submission.evidence)
        assessment: Assessment | None = None
        check: BackendCheck | None = None
        already = False
        if not (submission.skip_entitlement or submission.old_id_only or badge is Badge.FAILED):
            if self.lookahead is not None:
                # The answer for a QR code or a typed number serves the card tapped after it too.
                assessment = self.lookahead.take(identity, submission.operator,
                                                 keep=submission.source in (Source.QR, Source.MANUAL))
            if assessment is None:
                assessment = self._assess(submission, created_at)
            check = assessment.check
            self.state.note_backend(check)
            if policy.one_check_in_per_session:
                already = policy.checked_in_before(self.store, identity, check, created_at)
        differences = 0
        if policy.compares_entered and submission.entered and check is not None:
            comparison = identity_check.entered_comparison(submission.entered, identity)
            differences = sum(1 for row in comparison if not row["same"])
            check = dataclasses.replace(check, details={**check.details, "comparison": comparison})
        decision = verdict.decide(verdict.Facts(
            source=submission.source, policy=policy, evidence=submission.evidence, check=check,
            problems=submission.problems, differences=differences, already_checked_in=already,
            old_id_only=submission.old_id_only))
        result = VerificationResult(
            result_id=result_id, source=submission.source, identity=identity, created_at=created_at,
            verdict=decision.verdict, reasons=decision.reasons, evidence=submission.evidence,
            checks=(check,) if check is not None else (), site_profile=policy.kind,
            operator=operator_name, chip_receipt=submission.chip_receipt,
        )
        event = None if already else policy.event(result, site_id=self.audit.site_id)  # one check-in per session
        events = (event,) if event is not None else ()
        self.store.record(result, events, cache=assessment.cache if assessment else (),
                          roster=assessment.roster if assessment else None)
        evidence = submission.evidence
        self.audit.append(audit_module.ACTION_VERIFICATION, {
            "result_id": result_id,
            "source": str(submission.source),
            "profile": str(policy.kind),
            "verdict": str(decision.verdict),
            "reasons": list(decision.reasons),
            "authenticity": {"passive": str(evidence.passive) if evidence else None,
                             "chip": str(evidence.chip) if evidence else None, "badge": str(decision.badge)},
            "check": ({"kind": str(check.kind), "status": str(check.status), "from_cache": check.from_cache}
                      if check else None),
            "queued": len(events),
            **audit_module.person_fields(self.audit.keys, identity.lookup_number),
        }, operator=operator_name)
        return DeskResult(result, decision.next_steps, decision.badge, submission.face, submission.stats), events
