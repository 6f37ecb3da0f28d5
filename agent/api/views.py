"""What the local API hands out for a result and a reader state: JSON built from the service's typed
values (the one place they become JSON for the API), with the operator texts of the catalogue in
Vietnamese and English next to the keys, the ID number masked for display (first 3 + last 2 digits)
beside the full identity that the site's own software needs, and the face as a data URL (it exists in
memory only). Hub events are rendered here too (:func:`event_view`).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from agent import messages
from agent.models import Identity
from agent.privacy import mask_id
from agent.service.operators import SignIn
from agent.service.state import DeskEvent, DeskResult, Preview, PreviewShown, ReaderState, ResultShown

# The reasons that explain the authenticity badge, most telling first.
BADGE_REASONS = ("reason.passive_failed", "reason.clone", "reason.trust_unknown", "reason.no_clone_check",
                 "reason.genuine", "reason.qr_not_signed", "reason.vneid_unverified", "reason.typed",
                 "reason.bhyt_not_identity", "reason.bhyt_qr")


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


def _data_url(image: bytes | None) -> str | None:
    return f"data:{image_mime(image)};base64,{base64.b64encode(image).decode('ascii')}" if image else None


def _display(identity: Identity) -> dict[str, Any]:
    return {
        "id_masked": mask_id(identity.id_number),
        "old_id_masked": mask_id(identity.old_id_number),
        "bhyt_card_masked": mask_id(identity.bhyt_card),
        "full_name": identity.full_name,
        "date_of_birth": identity.date_of_birth.isoformat() if identity.date_of_birth else None,
        "sex": str(identity.sex),
    }


def result_view(desk: DeskResult) -> dict[str, Any]:
    """The full view of one result, as /api/results/latest and the stream give it."""
    result = desk.result
    data = result.to_json()
    data["authenticity"] = {**data["authenticity"], "badge": str(desk.badge)}
    data["verdict_text"] = texts(f"verdict.{result.verdict}")
    data["reasons"] = [texts(key) for key in result.reasons]
    data["next_steps"] = [texts(key) for key in desk.next_steps]
    data["badge"] = str(desk.badge)
    data["badge_text"] = texts(f"desk.badge.{desk.badge}")
    badge_reason = next((key for key in BADGE_REASONS if key in result.reasons), None)
    data["badge_reason"] = texts(badge_reason) if badge_reason else None
    data["display"] = _display(result.identity)
    check = result.check
    data["entitlement"] = None if check is None else {
        **check.to_json(),
        "text": texts(f"check.{check.kind}.{check.status}") if f"check.{check.kind}.{check.status}"
        in messages.CATALOGUE else None,
    }
    data["offline"] = bool(check and check.from_cache)
    data["offline_since"] = _stamp(check.checked_at) if check and check.from_cache else None
    data["comparison"] = (check.details.get("comparison") or []) if check else []
    data["has_receipt"] = True
    data["face"] = _data_url(desk.face)
    data["stats"] = desk.stats.to_json() if desk.stats else {}
    return data


def summary_view(desk: DeskResult) -> dict[str, Any]:
    """One line of the history: no face, no receipt, no full identity."""
    result = desk.result
    check = result.check
    return {
        "result_id": result.result_id,
        "created_at": result.created_at.isoformat(),
        "source": str(result.source),
        "site_profile": str(result.site_profile),
        "operator": result.operator,
        "verdict": str(result.verdict),
        "verdict_text": texts(f"verdict.{result.verdict}"),
        "badge": str(desk.badge),
        "full_name": result.identity.full_name,
        "id_masked": mask_id(result.identity.lookup_number),
        "check": None if check is None else {"kind": str(check.kind), "status": str(check.status),
                                             "from_cache": check.from_cache},
    }


def reader_view(state: ReaderState) -> dict[str, Any]:
    data = state.to_json()
    params = {"id": state.id_masked} if state.id_masked else {}
    view = {**data, "text": texts(state.message_key, **params)}
    if state.next_key:
        view["next"] = texts(state.next_key)
    return view


def preview_view(preview: Preview) -> dict[str, Any]:
    """Who the card being read shows, not yet checked: shown as "checking" until its result comes."""
    return {"result_id": preview.result_id, "stage": preview.stage, "display": _display(preview.identity),
            "face": _data_url(preview.face), "text": texts("desk.checking")}


def event_view(event: DeskEvent) -> tuple[str, dict[str, Any]]:
    """A hub event as the stream sends it: (SSE event name, data)."""
    if isinstance(event, ResultShown):
        return "result", result_view(event.desk)
    if isinstance(event, PreviewShown):
        return "preview", preview_view(event.preview)
    return "reader", reader_view(event.state)


def operators_view(sign_in: SignIn) -> dict[str, Any]:
    """Who may sign in (names, and whether a PIN is asked; never the CCCD numbers) and who is signed in."""
    current = sign_in.current
    listed = [{"number": n, "name": o.name, "pin": o.needs_pin} for n, o in enumerate(sign_in.operators, start=1)]
    signed_in = None
    if current is not None:
        number = next((n for n, o in enumerate(sign_in.operators, start=1) if o == current), None)
        signed_in = {"number": number, "name": current.name}
    return {"operators": listed, "signed_in": signed_in, "automatic": sign_in.automatic, "required": sign_in.listed}
