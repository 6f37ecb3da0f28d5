"""What the local API hands out for a result, a reader state and a receipt: JSON built from the
service's values, with the operator texts of the catalogue in Vietnamese and English next to the
keys, the ID number masked for display (first 3 + last 2 digits) beside the full identity that the
site's own software needs, and the face as a data URL (it exists in memory only).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from agent import messages
from agent.models import VerificationResult
from agent.privacy import mask_id
from agent.service.desk import DeskResult

RECEIPT_VERSION = 1
# The reasons that explain the authenticity badge, most telling first.
BADGE_REASONS = ("reason.passive_failed", "reason.clone", "reason.trust_unknown", "reason.no_clone_check",
                 "reason.genuine", "reason.qr_not_signed", "reason.vneid_unverified", "reason.typed")


def texts(key: str, **params: Any) -> dict[str, str]:
    return {"key": key, "vi": messages.text(key, "vi", **params), "en": messages.text(key, "en", **params)}


def image_mime(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    return "application/octet-stream"


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def result_view(desk: DeskResult) -> dict[str, Any]:
    """The full view of one result, as /api/results/latest and the stream give it."""
    result = desk.result
    data = result.to_json()
    authenticity = {k: v for k, v in result.authenticity.items() if k != "receipt"}
    data["authenticity"] = authenticity
    data["verdict_text"] = texts(f"verdict.{result.verdict}")
    data["reasons"] = [texts(key) for key in result.reasons]
    data["next_steps"] = [texts(key) for key in desk.next_steps]
    data["badge"] = desk.badge
    data["badge_text"] = texts(f"desk.badge.{desk.badge}")
    badge_reason = next((key for key in BADGE_REASONS if key in result.reasons), None)
    data["badge_reason"] = texts(badge_reason) if badge_reason else None
    data["display"] = {
        "id_masked": mask_id(result.identity.id_number),
        "old_id_masked": mask_id(result.identity.old_id_number),
        "full_name": result.identity.full_name,
        "date_of_birth": result.identity.date_of_birth.isoformat() if result.identity.date_of_birth else None,
        "sex": result.identity.sex,
    }
    check = result.checks[0] if result.checks else None
    data["entitlement"] = None if check is None else {
        **check.to_json(),
        "text": texts(f"check.{check.kind}.{check.status}") if f"check.{check.kind}.{check.status}"
        in messages.CATALOGUE else None,
    }
    data["offline"] = bool(check and check.from_cache)
    data["offline_since"] = _stamp(check.checked_at) if check and check.from_cache else None
    data["comparison"] = (check.details.get("comparison") or []) if check else []
    data["has_receipt"] = True
    data["face"] = (f"data:{image_mime(desk.face)};base64,{base64.b64encode(desk.face).decode('ascii')}"
                    if desk.face else None)
    data["stats"] = dict(desk.stats)
    return data


def summary_view(desk: DeskResult) -> dict[str, Any]:
    """One line of the history: no face, no receipt, no full identity."""
    result = desk.result
    check = result.checks[0] if result.checks else None
    return {
        "result_id": result.result_id,
        "created_at": result.created_at.isoformat(),
        "source": str(result.source),
        "site_profile": result.site_profile,
        "operator": result.operator,
        "verdict": str(result.verdict),
        "verdict_text": texts(f"verdict.{result.verdict}"),
        "badge": desk.badge,
        "full_name": result.identity.full_name,
        "id_masked": mask_id(result.identity.id_number),
        "check": None if check is None else {"kind": check.kind, "status": check.status,
                                             "from_cache": check.from_cache},
    }


def reader_view(state: dict[str, Any]) -> dict[str, Any]:
    params = {"id": state["id_masked"]} if "id_masked" in state else {}
    view = {**state, "text": texts(state["message_key"], **params)}
    if state.get("next_key"):
        view["next"] = texts(state["next_key"])
    return view


def receipt_view(result: VerificationResult, *, site_id: str) -> dict[str, Any]:
    """The verification receipt: what was checked, how, and the answer, with a digest over all of it.
    For a chip read it embeds the chip's own receipt (hashes of the files read, the signer, the checks)."""
    body = result.to_json()
    chip_receipt = body["authenticity"].pop("receipt", None)
    receipt = {
        "receipt_version": RECEIPT_VERSION,
        "site_id": site_id,
        "result": body,
        "chip_receipt": chip_receipt,
    }
    canonical = json.dumps(receipt, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    receipt["digest_sha256"] = hashlib.sha256(canonical).hexdigest()
    return receipt
