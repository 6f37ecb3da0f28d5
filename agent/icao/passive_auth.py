"""Passive authentication (Doc 9303-11 §5.1, Doc 9303-12 §7): proves that the data groups read are
the ones the issuing State signed, by checking EF.SOD's signature, the Document Signer certificate's
chain to a trusted CSCA, its validity at the time of reading and its revocation, and each data group
read against its hash in the SOD.

Every check is an :class:`agent.models.Outcome`; nothing here raises for a verification failure
(only :func:`agent.icao.lds.sod.parse_sod` raises, for an unreadable SOD). The rules:

- The signer is the certificate the SOD's SignerIdentifier names, else the one embedded certificate
  whose key verifies the signature (:meth:`agent.icao.signed_data.SignedContent.find_signer`), and the
  result's ``notes`` say so: a genuine document whose signer verifies and chains is never ``failed``.
- No trusted CSCA for the signer is ``unknown("unknown trust anchor")``: never ``ok``, never ``failed``.
- An algorithm, curve or hash we cannot verify is ``unknown`` with the algorithm named: we cannot say
  the document is forged, and ``unknown`` is never accepted as ``ok`` either.
- Revocation is ``unknown`` when no CRL of the issuing CSCA is loaded or the newest one is out of date.
- A data group listed in the SOD but not read is not a failure; one read but not listed is.
- The overall outcome is derived in one place, :func:`overall_outcome`: any failed -> failed, else any
  unknown -> unknown, else ok.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.icao import pki, signed_data
from agent.icao.lds.sod import SecurityObject, parse_sod
from agent.icao.trust import RevocationList, TrustStore
from agent.models import Outcome, Status

UNKNOWN_TRUST_ANCHOR = "unknown trust anchor"


@dataclasses.dataclass(frozen=True)
class PassiveAuthResult:
    """One outcome per check of passive authentication, and the overall outcome derived from them."""

    sod_signature: Outcome
    message_digest: Outcome
    certificate_chain: Outcome
    signer_validity: Outcome
    revocation: Outcome
    data_groups: Mapping[int, Outcome]
    at: datetime
    hash_algorithm: str = ""
    signature_algorithm: str = ""
    signer: str = ""  # the Document Signer's subject DN (an authority, not a person)
    trust_anchor: str = ""  # the CSCA's subject DN, when one verified the signer
    # What was accepted that a strict reader would refuse (a legacy eContentType, a signer found by its
    # signature rather than its identifier): said, never hidden, and never a doubt about the document.
    notes: tuple[str, ...] = ()

    def checks(self) -> list[tuple[str, Outcome]]:
        """Every check by name, in a stable order (the names are used in receipts and the API)."""
        named = [
            ("sod_signature", self.sod_signature),
            ("message_digest", self.message_digest),
            ("certificate_chain", self.certificate_chain),
            ("signer_validity", self.signer_validity),
            ("revocation", self.revocation),
        ]
        if self.data_groups:
            named += [(f"dg{number}_hash", self.data_groups[number]) for number in sorted(self.data_groups)]
        else:
            named.append(("data_groups", Outcome.unknown("no data group was read")))
        return named

    @property
    def overall(self) -> Outcome:
        return overall_outcome(self.checks())[0]

    @property
    def reasons(self) -> tuple[str, ...]:
        return overall_outcome(self.checks())[1]

    def to_json(self) -> dict[str, Any]:
        overall, reasons = overall_outcome(self.checks())
        return {
            "overall": {"status": str(overall.status), "reason": overall.reason},
            "reasons": list(reasons),
            "checks": {name: {"status": str(o.status), "reason": o.reason} for name, o in self.checks()},
            "at": self.at.isoformat(),
            "hash_algorithm": self.hash_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "signer": self.signer,
            "trust_anchor": self.trust_anchor,
            "notes": list(self.notes),
        }


def overall_outcome(checks: list[tuple[str, Outcome]]) -> tuple[Outcome, tuple[str, ...]]:
    """The single place where check outcomes become one verdict with its reasons.

    Any failed -> failed; else any unknown -> unknown; else ok. A check that was not performed
    (not_supported, e.g. revocation without a CRL) does not decide. The reasons are "name: reason"
    of every check that decided it.
    """
    failed = [f"{name}: {outcome.reason}" for name, outcome in checks if outcome.status is Status.FAILED]
    if failed:
        return Outcome.failed("; ".join(failed)), tuple(failed)
    undecided = [f"{name}: {outcome.reason}" for name, outcome in checks if outcome.status is Status.UNKNOWN]
    if undecided:
        return Outcome.unknown("; ".join(undecided)), tuple(undecided)
    return Outcome.ok(), ()


def passive_authentication(
    sod: SecurityObject | bytes,
    data_groups: Mapping[int, bytes],
    trust: TrustStore,
    *,
    at: datetime,
) -> PassiveAuthResult:
    """Run every check of passive authentication at the reading time ``at``.

    ``data_groups`` maps each data group number read to the whole file as read (tag included): that
    is what the SOD hashes. ``sod`` may be the raw EF.SOD, which is then parsed (DocumentError if it
    cannot be).
    """
    security_object = sod if isinstance(sod, SecurityObject) else parse_sod(sod)
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    signed = security_object.signed
    match = signed.find_signer()
    signer = match.certificate
    notes = [*security_object.notes, *([match.note] if match.note else [])]

    if signer is None:
        reason = (
            "the SOD carries no certificate matching its signer, and none of its certificates verifies its signature"
            if security_object.certificates
            else "the Document Signer certificate is not included in the SOD"
        )
        failing = bool(security_object.certificates)
        sod_signature = Outcome.failed(reason) if failing else Outcome.unknown(reason)
        chain = validity = revocation = Outcome.unknown("no Document Signer certificate")
        anchor: pki.Certificate | None = None
    else:
        sod_signature = signed_data.check_signature(signed, signer)
        chain, anchor = check_chain(signer, trust, moment)
        validity = check_validity(signer, moment)
        revocation = check_revocation(signer, anchor, trust, moment)

    return PassiveAuthResult(
        sod_signature=sod_signature,
        message_digest=signed_data.check_message_digest(signed),
        certificate_chain=chain,
        signer_validity=validity,
        revocation=revocation,
        data_groups=check_data_groups(security_object, data_groups),
        at=moment,
        hash_algorithm=security_object.hash_name,
        signature_algorithm=security_object.signer.signature_scheme.name,
        signer=signer.subject.text if signer else "",
        trust_anchor=anchor.subject.text if anchor else "",
        notes=tuple(notes),
    )


def check_chain(
    signer: pki.Certificate, trust: TrustStore, at: datetime
) -> tuple[Outcome, pki.Certificate | None]:
    """The Document Signer certificate against the trusted CSCAs; returns the anchor that verified it."""
    candidates = trust.issuers_of(signer)
    if not candidates:
        detail = (
            "a CSCA with this name is trusted, but not with the signer's authority key identifier"
            if trust.has_subject(signer.issuer)
            else f"no trusted CSCA named {signer.issuer.text}"
        )
        return Outcome.unknown(f"{UNKNOWN_TRUST_ANCHOR} ({detail})"), None
    outcomes = [(candidate, signer.verify_issued_by(candidate.public_key)) for candidate in candidates]
    verified = [(candidate, outcome) for candidate, outcome in outcomes if outcome.is_ok]
    if verified:
        # Several keys may verify after a re-issue of the same CSCA key; prefer one valid now.
        verified.sort(key=lambda item: not item[0].valid_at(at))
        anchor = verified[0][0]
        if not anchor.valid_at(at):
            return Outcome.failed(f"the CSCA {anchor.subject.text} is not valid at the time of reading"), anchor
        return Outcome.ok(f"issued by {anchor.subject.text}"), anchor
    for _candidate, outcome in outcomes:
        if outcome.status is Status.FAILED:
            return Outcome.failed(f"the trusted CSCA does not verify the signer certificate: {outcome.reason}"), None
    return outcomes[0][1], None


def check_validity(signer: pki.Certificate, at: datetime) -> Outcome:
    if at < signer.not_before:
        return Outcome.failed(f"the Document Signer certificate is valid only from {signer.not_before:%Y-%m-%d}")
    if at > signer.not_after:
        return Outcome.failed(f"the Document Signer certificate expired on {signer.not_after:%Y-%m-%d}")
    return Outcome.ok(f"valid until {signer.not_after:%Y-%m-%d}")


def check_revocation(
    signer: pki.Certificate, anchor: pki.Certificate | None, trust: TrustStore, at: datetime
) -> Outcome:
    """Is the signer's serial on a CRL of its CSCA whose signature verifies?"""
    if anchor is None:
        return Outcome.unknown("no trusted CSCA to check a CRL against")
    published = trust.crls_of(anchor.subject)
    if not published:
        # Not a doubt about this document: revocation simply was not checked (Vietnam publishes no
        # CRL today). Reported per check, but it does not turn a verified document into "unknown".
        return Outcome.not_supported("no CRL of the issuing CSCA is loaded: revocation not checked")
    issuer_keys = [c.public_key for c in trust.issuers_of(signer)] or [anchor.public_key]
    verified: list[RevocationList] = []
    for revocation_list in published:
        if any(revocation_list.verify_issued_by(key).is_ok for key in issuer_keys):
            verified.append(revocation_list)
    if not verified:
        return Outcome.unknown("the CRL of the issuing CSCA does not verify")
    for revocation_list in verified:
        if signer.serial_number in revocation_list.revoked:
            when = revocation_list.revoked[signer.serial_number]
            suffix = f" on {when:%Y-%m-%d}" if when else ""
            return Outcome.failed(f"the Document Signer certificate is revoked{suffix}")
    newest = max(verified, key=lambda item: item.this_update)
    if newest.outdated_at(at) and newest.next_update is not None:
        return Outcome.unknown(f"the newest CRL was due for renewal on {newest.next_update:%Y-%m-%d}")
    return Outcome.ok(f"not on the CRL of {newest.this_update:%Y-%m-%d}")


def check_data_groups(security_object: SecurityObject, data_groups: Mapping[int, bytes]) -> dict[int, Outcome]:
    """Each data group read against its hash in the SOD."""
    results: dict[int, Outcome] = {}
    algorithm = security_object.hash_algorithm
    supported = pki.is_supported_hash(algorithm)
    for number in sorted(data_groups):
        expected = security_object.data_group_hashes.get(number)
        if expected is None:
            results[number] = Outcome.failed(f"DG{number} was read but the SOD has no hash for it")
        elif not supported:
            results[number] = Outcome.unknown(f"unsupported hash algorithm {algorithm}")
        elif hmac.compare_digest(pki.digest(algorithm, bytes(data_groups[number])), expected):
            results[number] = Outcome.ok(security_object.hash_name)
        else:
            results[number] = Outcome.failed(f"DG{number} does not match its hash in the SOD")
    return results
