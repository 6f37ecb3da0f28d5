"""The one place where a desk verdict and its reasons are derived from what was learned about a
citizen: how the identity was obtained (chip, QR, typed), whether the chip proved its data genuine
(passive authentication) and itself not a copy (chip / active authentication), whether the data
agree with each other, and what the site's backend said (insurance status, roster seat, notary
record). Pure: no I/O, no clock.

Reasons are keys of the operator catalogue (:mod:`agent.messages`), so the page, the CLI and the API
show the same words in Vietnamese and English; they never carry personal data. The entitlement
status -> verdict tables are those of :mod:`agent.entitlement`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from agent.entitlement import INSURANCE_VERDICTS, ROSTER_VERDICTS
from agent.models import BackendCheck, Source, Verdict

# Authenticity badges shown on the desk page
BADGE_GENUINE = "genuine"
BADGE_TRUST_UNKNOWN = "trust_anchor_unknown"
BADGE_FAILED = "failed"
BADGE_NOT_CHECKED = "not_checked"

# The worse verdict wins: a forged card is rejected whatever the backend says, and "cannot check
# now" asks the operator to act, which a mere warning does not.
SEVERITY = {Verdict.VERIFIED: 0, Verdict.WARNING: 1, Verdict.CANNOT_CHECK: 2, Verdict.REJECTED: 3}

STATUS_UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True)
class Facts:
    """Everything the verdict depends on. ``authenticity`` is the chip's summary (None unless read
    from a chip); ``problems`` are reason keys found while putting the identity together."""

    source: Source
    profile: str
    authenticity: Mapping[str, Any] | None = None
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
    badge: str


def authenticity_badge(source: Source, authenticity: Mapping[str, Any] | None) -> str:
    if source is not Source.CHIP or not authenticity:
        return BADGE_NOT_CHECKED
    if authenticity.get("passive") == "failed" or authenticity.get("chip") == "failed":
        return BADGE_FAILED
    if authenticity.get("passive") == "ok":
        return BADGE_GENUINE
    return BADGE_TRUST_UNKNOWN


def decide(facts: Facts) -> Decision:
    """The verdict, the reasons (catalogue keys, most important first) and what to do next."""
    parts: list[tuple[Verdict, str, str]] = []  # (verdict, reason key, next-step key or "")
    badge = authenticity_badge(facts.source, facts.authenticity)
    parts += _authenticity(facts, badge)
    parts += [(Verdict.REJECTED if key == "reason.qr_chip_mismatch" else Verdict.WARNING, key,
               "next.check_documents") for key in facts.problems]
    if facts.old_id_only:
        parts.append((Verdict.WARNING if facts.profile == "notary" else Verdict.CANNOT_CHECK, "reason.old_id",
                      "next.ask_new_id"))
    if facts.check is not None:
        parts += _entitlement(facts)
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


def _authenticity(facts: Facts, badge: str) -> list[tuple[Verdict, str, str]]:
    if facts.source is Source.QR:
        step = "next.tap_card" if facts.profile == "notary" else ""
        return [(Verdict.WARNING if facts.profile == "notary" else Verdict.VERIFIED, "reason.qr_not_signed", step)]
    if facts.source is Source.VNEID:
        return [(Verdict.CANNOT_CHECK, "reason.vneid_unverified", "next.tap_card")]
    if facts.source is Source.MANUAL:
        verdict = Verdict.WARNING if facts.profile == "notary" else Verdict.VERIFIED
        return [(verdict, "reason.typed", "next.tap_card" if facts.profile == "notary" else "")]
    authenticity = facts.authenticity or {}
    parts: list[tuple[Verdict, str, str]] = []
    if authenticity.get("passive") == "failed":
        parts.append((Verdict.REJECTED, "reason.passive_failed", "next.refuse_card"))
    if authenticity.get("chip") == "failed":
        parts.append((Verdict.REJECTED, "reason.clone", "next.refuse_card"))
    if badge == BADGE_TRUST_UNKNOWN:
        parts.append((Verdict.WARNING, "reason.trust_unknown", "next.load_csca"))
    if authenticity.get("chip") == "not_supported" and badge != BADGE_FAILED:
        # Without chip or active authentication a copied chip cannot be told from the original:
        # a notary must know, a clinic need not be stopped by it.
        verdict = Verdict.WARNING if facts.profile == "notary" else Verdict.VERIFIED
        parts.append((verdict, "reason.no_clone_check", "next.check_documents"))
    if badge == BADGE_GENUINE:
        parts.append((Verdict.VERIFIED, "reason.genuine", ""))
    return parts


def _entitlement(facts: Facts) -> list[tuple[Verdict, str, str]]:
    check = facts.check
    assert check is not None
    parts: list[tuple[Verdict, str, str]] = []
    if check.kind == "insurance":
        verdict = INSURANCE_VERDICTS.get(check.status, Verdict.CANNOT_CHECK)
        step = {"expired": "next.insurance_expired", "suspended": "next.insurance_expired",
                "not_found": "next.insurance_not_found"}.get(check.status, "next.backend_down")
        parts.append((verdict, f"check.insurance.{_known(check.status, INSURANCE_VERDICTS)}", step))
    elif check.kind == "roster":
        verdict = ROSTER_VERDICTS.get(check.status, Verdict.CANNOT_CHECK)
        step = "next.not_on_roster" if check.status == "not_on_roster" else "next.backend_down"
        parts.append((verdict, f"check.roster.{_known(check.status, ROSTER_VERDICTS)}", step))
        if facts.already_checked_in and check.status == "on_roster":
            parts.append((Verdict.WARNING, "reason.already_checked_in", "next.already_checked_in"))
    elif check.kind == "notary":
        parts.append((Verdict.VERIFIED, "check.notary.recorded", ""))
    if check.from_cache:
        parts.append((Verdict.VERIFIED, "reason.offline", ""))
    return parts


def _known(status: str, table: Mapping[str, Verdict]) -> str:
    return status if status in table else STATUS_UNAVAILABLE
