"""What the mock insurance (BHYT) portal and licensing service answer, apart from HTTP: lookups in
the seeded world, rosters, and the event log that makes every POST idempotent by the id the client
supplies.

An event is accepted once per ``event_id``; the same id with the same content again is a
"duplicate" (answered as success: the client may have lost our first answer), with different content
it is rejected. Every delivery is counted, so tests can tell "sent twice, stored once" from "stored
twice".
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from simulators.backends.data import BENEFIT_RATES, InsuranceCard, World

ID_NUMBER = re.compile(r"^\d{12}$")
CARD_NUMBER = re.compile(r"^(?:[A-Z]{2}[1-5]\d{12}|\d{10})$")  # a BHYT card number, or the social insurance number
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
MAX_BATCH = 1000

# service -> the event types it takes ("his": the mock hospital information system's check-in webhook)
EVENT_TYPES = {
    "insurance": frozenset({"insurance_checkin"}),
    "licensing": frozenset({"candidate_checkin", "notary_record"}),
    "his": frozenset({"insurance_checkin"}),
}


@dataclasses.dataclass
class StoredEvent:
    event_id: str
    service: str
    type: str
    data: dict[str, Any]
    received_at: str
    deliveries: int = 1

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Answer:
    """An HTTP status, a JSON body and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Services:
    """The state behind both mock services; thread-safe."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._events: dict[str, StoredEvent] = {}
        self._order: list[str] = []
        self.deliveries = 0

    # --- insurance ------------------------------------------------------------------------------

    def insurance_card_by_number(self, card_number: str) -> Answer:
        """The card of a BHYT card number (15 characters) or of a 10-digit social insurance number (the
        card number's last 10 characters), as a patient without a CCCD brings it."""
        number = card_number.strip().upper()
        if not CARD_NUMBER.match(number):
            return Answer(400, {"error": "card_number must be a 15-character BHYT card number or 10 digits"})
        card = next((c for c in self.world.cards.values() if number in (c.card_number, c.card_number[5:])), None)
        if card is None:
            return Answer(200, {"card_number": number, "status": "not_found", "checked_at": _now()})
        return self._card_answer(card.id_number, card)

    def insurance_card(self, id_number: str) -> Answer:
        if not ID_NUMBER.match(id_number):
            return Answer(400, {"error": "id_number must be 12 digits"})
        card = self.world.cards.get(id_number)
        checked_at = _now()
        if card is None:
            return Answer(200, {"id_number": id_number, "status": "not_found", "checked_at": checked_at})
        return self._card_answer(id_number, card)

    def _card_answer(self, id_number: str, card: InsuranceCard) -> Answer:
        checked_at = _now()
        return Answer(200, {
            "id_number": id_number,
            "status": card.status_on(self.world.today),
            "card_number": card.card_number,
            "valid_from": card.valid_from.isoformat(),
            "valid_to": card.valid_to.isoformat(),
            "benefit_level": card.benefit_level,
            "benefit_rate": BENEFIT_RATES[card.benefit_level],
            "facility": {"code": card.facility.code, "name": card.facility.name},
            "checked_at": checked_at,
        })

    # --- licensing ------------------------------------------------------------------------------

    def sessions(self) -> Answer:
        return Answer(200, {"sessions": [self._session_summary(s) for s in self.world.sessions]})

    def session(self, session_id: str) -> Answer:
        if session_id not in self.world.sessions:
            return Answer(404, {"error": "unknown session"})
        return Answer(200, self._session_summary(session_id))

    def roster(self, session_id: str) -> Answer:
        session = self.world.sessions.get(session_id)
        if session is None:
            return Answer(404, {"error": "unknown session"})
        body = self._session_summary(session_id)
        body["candidates"] = [
            {
                "candidate_no": c.candidate_no,
                "id_number": c.id_number,
                "full_name": c.full_name,
                "date_of_birth": c.date_of_birth.isoformat(),
                "licence_class": c.licence_class,
            }
            for c in session.candidates
        ]
        return Answer(200, body)

    def candidate(self, session_id: str, id_number: str) -> Answer:
        session = self.world.sessions.get(session_id)
        if session is None:
            return Answer(404, {"error": "unknown session"})
        if not ID_NUMBER.match(id_number):
            return Answer(400, {"error": "id_number must be 12 digits"})
        for c in session.candidates:
            if c.id_number == id_number:
                return Answer(200, {
                    "session_id": session_id,
                    "id_number": id_number,
                    "status": "on_roster",
                    "candidate_no": c.candidate_no,
                    "full_name": c.full_name,
                    "date_of_birth": c.date_of_birth.isoformat(),
                    "licence_class": c.licence_class,
                    "checked_at": _now(),
                })
        return Answer(200, {"session_id": session_id, "id_number": id_number, "status": "not_on_roster",
                            "checked_at": _now()})

    def _session_summary(self, session_id: str) -> dict[str, Any]:
        s = self.world.sessions[session_id]
        return {
            "session_id": s.session_id,
            "centre": s.centre,
            "exam_date": s.exam_date.isoformat(),
            "licence_class": s.licence_class,
            "candidate_count": len(s.candidates),
        }

    # --- events ---------------------------------------------------------------------------------

    def post_one(self, service: str, event: Any, *, implied_type: str,
                 extra: Mapping[str, Any] | None = None) -> Answer:
        """A single-event endpoint: 201 accepted, 200 duplicate, 409 id reused, 400 malformed."""
        if isinstance(event, dict) and extra:
            for key, value in extra.items():
                if event.setdefault(key, value) != value:
                    return Answer(400, {"error": f"{key} does not match the URL"})
        if isinstance(event, dict):
            event.setdefault("type", implied_type)
        result = self._accept(service, event)
        status = {"accepted": 201, "duplicate": 200}.get(result["status"], 409 if result.get("conflict") else 400)
        result.pop("conflict", None)
        return Answer(status, result)

    def post_batch(self, service: str, body: Any) -> Answer:
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return Answer(400, {"error": "expected {\"events\": [...]}"})
        if len(events) > MAX_BATCH:
            return Answer(413, {"error": f"at most {MAX_BATCH} events per batch"})
        results = []
        for event in events:
            result = self._accept(service, event)
            result.pop("conflict", None)
            results.append(result)
        return Answer(200, {"results": results})

    def _accept(self, service: str, event: Any) -> dict[str, Any]:
        if not isinstance(event, dict):
            return {"event_id": None, "status": "rejected", "reason": "an event must be a JSON object"}
        event_id = event.get("event_id")
        problem = _event_problem(service, event, self.world)
        if problem:
            return {"event_id": event_id if isinstance(event_id, str) else None, "status": "rejected",
                    "reason": problem}
        assert isinstance(event_id, str)
        with self._lock:
            self.deliveries += 1
            stored = self._events.get(event_id)
            if stored is None:
                self._events[event_id] = StoredEvent(event_id, service, event["type"], dict(event), _now())
                self._order.append(event_id)
                return {"event_id": event_id, "status": "accepted"}
            stored.deliveries += 1
            if _canonical(stored.data) != _canonical(event) or stored.service != service:
                return {"event_id": event_id, "status": "rejected", "conflict": True,
                        "reason": "event_id already used for different content"}
            return {"event_id": event_id, "status": "duplicate"}

    def events(self, service: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            stored = [self._events[i] for i in self._order]
            return [e.to_json() for e in stored if service in (None, e.service)]

    def clear_events(self) -> None:
        with self._lock:
            self._events.clear()
            self._order.clear()
            self.deliveries = 0

    def samples(self, per_status: int = 5) -> dict[str, Any]:
        """A few ID numbers for each insurance answer and the session ids: for demos and tests."""
        world = self.world
        no_card = sorted(i for i in world.citizens if i not in world.cards)
        insurance = {s: world.ids_with_status(s)[:per_status] for s in ("valid", "expired", "suspended")}
        insurance["not_found"] = no_card[:per_status]
        return {"insurance": insurance, "sessions": sorted(world.sessions)}


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _event_problem(service: str, event: dict[str, Any], world: World) -> str:
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        return "event_id must be 8-64 characters of letters, digits and -_.:"
    kind = event.get("type")
    if kind not in EVENT_TYPES.get(service, frozenset()):
        return f"this service does not take events of type {kind!r}"
    id_number = event.get("id_number")
    card_number = event.get("card_number")
    by_card = kind == "insurance_checkin" and not id_number and isinstance(card_number, str)
    if by_card and not CARD_NUMBER.match(str(card_number)):
        return "card_number must be a 15-character BHYT card number or 10 digits"
    # A check-in of a patient who showed only a BHYT card carries its number instead of an ID number.
    if not by_card and (not isinstance(id_number, str) or not ID_NUMBER.match(id_number)):
        return "id_number must be 12 digits"
    occurred_at = event.get("occurred_at")
    try:
        datetime.fromisoformat(occurred_at) if isinstance(occurred_at, str) else None
    except ValueError:
        occurred_at = None
    if not occurred_at:
        return "occurred_at must be an ISO 8601 date and time"
    if kind == "candidate_checkin" and event.get("session_id") not in world.sessions:
        return "unknown session"
    return ""
