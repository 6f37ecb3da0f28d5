"""The one place where a desk verdict and its reasons are derived from what was learned about a
citizen: how the identity was obtained (chip, QR, typed), whether the chip proved its data genuine
(passive authentication) and itself not a copy (chip / active authentication), whether the data
agree with each other, and what the site's backend said (insurance status, roster seat, notary
record), weighed by the desk's policy (:mod:`agent.service.policy`). Pure: no I/O, no clock.

Reasons are keys of the operator catalogue (:mod:`agent.messages`), so the page, the CLI and the API
show the same words in Vietnamese and English; they never carry personal data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from agent.models import BackendCheck, Badge, CheckKind, ChipEvidence, Source, Status, Verdict
from agent.service.policy import SitePolicy

# The worse verdict wins: a forged card is rejected whatever the backend says, and "cannot check
# now" asks the operator to act, which a mere warning does not.
SEVERITY = {Verdict.VERIFIED: 0, Verdict.WARNING: 1, Verdict.CANNOT_CHECK: 2, Verdict.REJECTED: 3}

REASON_QR_CHIP_MISMATCH = "reason.qr_chip_mismatch"
REASON_NAME_UNRELIABLE = "reason.name_unreliable"  # a scanner's name that could not be recovered exactly
REASON_BHYT_NOT_IDENTITY = "reason.bhyt_not_identity"  # a BHYT card's code where the desk needs an identity
# What to do about a problem found while putting the identity together (default: check the documents).
PROBLEM_STEPS = {REASON_NAME_UNRELIABLE: "next.tap_chip_for_name", REASON_BHYT_NOT_IDENTITY: "next.tap_card"}


@dataclasses.dataclass(frozen=True)
class Facts:
    """Everything the verdict depends on. ``evidence`` is set for a chip read only; ``problems`` are
    reason keys found while putting the identity together."""

    source: Source
    policy: SitePolicy
    evidence: ChipEvidence | None = None
    check: BackendCheck | None = None
    problems: Sequence[str] = ()
    differences: int = 0  # fields where the chip disagrees with what the notary typed
    already_checked_in: bool = False
    old_id_only: bool = False  # a 9-digit CMND: no backend looks people up by it


@dataclasses.dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...]
    next_steps: tuple[str, ...]
    badge: Badge


def authenticity_badge(source: Source, evidence: ChipEvidence | None) -> Badge:
    if source is not Source.CHIP or evidence is None:
        return Badge.NOT_CHECKED
    if evidence.failed:
        return Badge.FAILED
    if evidence.passive is Status.OK:
        return Badge.GENUINE
    return Badge.TRUST_ANCHOR_UNKNOWN


def decide(facts: Facts) -> Decision:
    """The verdict, the reasons (catalogue keys, most important first) and what to do next."""
    parts: list[tuple[Verdict, str, str]] = []  # (verdict, reason key, next-step key or "")
    strict = facts.policy.identity_must_be_proven
    badge = authenticity_badge(facts.source, facts.evidence)
    parts += _authenticity(facts, badge)
    parts += [(_problem_verdict(key), key, PROBLEM_STEPS.get(key, "next.check_documents")) for key in facts.problems]
    if facts.old_id_only:
        parts.append((Verdict.WARNING if strict else Verdict.CANNOT_CHECK, "reason.old_id", "next.ask_new_id"))
    if facts.check is not None:
        parts.append(facts.policy.check_verdict(facts.check))
        if facts.already_checked_in:
            parts.append((Verdict.WARNING, "reason.already_checked_in", "next.already_checked_in"))
        if facts.check.from_cache:
            parts.append((Verdict.VERIFIED, "reason.offline", ""))
    if facts.differences:
        parts.append((Verdict.WARNING, "reason.notary_differences", "next.check_differences"))
    if not parts:
        parts.append((Verdict.CANNOT_CHECK, "reason.nothing_checked", "next.tap_card"))
    verdict = max((p[0] for p in parts), key=SEVERITY.__getitem__)
    # The reasons for the verdict come first, then the rest in the order they were found.
    ordered = sorted(parts, key=lambda p: -SEVERITY[p[0]])
    reasons = tuple(dict.fromkeys(p[1] for p in ordered))
    steps = tuple(dict.fromkeys(p[2] for p in ordered if p[2] and SEVERITY[p[0]] > 0))
    return Decision(verdict, reasons, steps, badge)


def _problem_verdict(key: str) -> Verdict:
    if key == REASON_QR_CHIP_MISMATCH:
        return Verdict.REJECTED
    if key == REASON_BHYT_NOT_IDENTITY:
        return Verdict.CANNOT_CHECK
    return Verdict.WARNING


def _authenticity(facts: Facts, badge: Badge) -> list[tuple[Verdict, str, str]]:
    strict = facts.policy.identity_must_be_proven
    if facts.source is Source.BHYT_QR:
        # The insurance card's code says which card it is, not who holds it: enough for the insurance
        # lookup at a clinic, never a proof of identity.
        if facts.policy.check_kind is not CheckKind.INSURANCE:
            return []  # the desk's problem "reason.bhyt_not_identity" says it
        return [(Verdict.WARNING if strict else Verdict.VERIFIED, "reason.bhyt_qr", "next.tap_card" if strict else "")]
    if facts.source is Source.QR:
        return [(Verdict.WARNING if strict else Verdict.VERIFIED, "reason.qr_not_signed",
                 "next.tap_card" if strict else "")]
    if facts.source is Source.VNEID:
        return [(Verdict.CANNOT_CHECK, "reason.vneid_unverified", "next.tap_card")]
    if facts.source is Source.MANUAL:
        return [(Verdict.WARNING if strict else Verdict.VERIFIED, "reason.typed", "next.tap_card" if strict else "")]
    evidence = facts.evidence
    parts: list[tuple[Verdict, str, str]] = []
    if evidence is not None and evidence.passive is Status.FAILED:
        parts.append((Verdict.REJECTED, "reason.passive_failed", "next.refuse_card"))
    if evidence is not None and evidence.chip is Status.FAILED:
        parts.append((Verdict.REJECTED, "reason.clone", "next.refuse_card"))
    if badge is Badge.TRUST_ANCHOR_UNKNOWN:
        parts.append((Verdict.WARNING, "reason.trust_unknown", "next.load_csca"))
    if evidence is not None and evidence.chip is Status.NOT_SUPPORTED and badge is not Badge.FAILED:
        # Without chip or active authentication a copied chip cannot be told from the original.
        parts.append((Verdict.WARNING if strict else Verdict.VERIFIED, "reason.no_clone_check",
                      "next.check_documents"))
    if badge is Badge.GENUINE:
        parts.append((Verdict.VERIFIED, "reason.genuine", ""))
    return parts
