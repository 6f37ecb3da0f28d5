"""Client of the health-insurance (BHYT) portal: the card of a 12-digit ID number, or of a BHYT card
number (15 characters, or the 10-digit social insurance number) when the patient showed only a BHYT
card's QR code, and check-in events (docs/reference/field.md "Hospital and clinic reception").

The answer becomes an :class:`agent.models.BackendCheck` of kind ``insurance`` with status valid /
expired / suspended / not_found and, when there is a card, its number, validity, benefit level and
the registered first-contact facility (code and name). Everything is validated first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agent import bhyt_number
from agent.checks import facilities
from agent.checks import validate as v
from agent.checks.events import EventReceipt, send_batch
from agent.checks.http import BackendHttp
from agent.errors import BackendResponseError, InvalidInputError
from agent.models import BackendCheck, CheckKind, CheckStatus, InsuranceQuery

INSURANCE_STATUSES = frozenset({CheckStatus.VALID, CheckStatus.EXPIRED, CheckStatus.SUSPENDED, CheckStatus.NOT_FOUND})
ANSWERED_CARD = re.compile(rf"^{bhyt_number.CARD_NUMBER.pattern}$")  # a portal answers with the whole number
WHAT_LOOKUP = "insurance card lookup"


class InsuranceClient:
    def __init__(self, http: BackendHttp, *, now: Callable[[], datetime] | None = None) -> None:
        self.http = http
        self._now = now or (lambda: datetime.now(UTC))

    def lookup(self, query: InsuranceQuery) -> BackendCheck:
        """The insurance status of ``query.card_number`` (a 12-digit ID number, or a BHYT card number) now
        (BackendUnavailableError if it cannot be asked)."""
        number = query.card_number.strip().upper()
        if query.by_card and not bhyt_number.is_bhyt_number(number):
            raise InvalidInputError("the portal looks cards up by the 12-digit ID, the 15-character BHYT card "
                                    "number or the 10-digit social insurance number", field="card_number")
        body: dict[str, Any] = {"card_number": number} if query.by_card else {"id_number": query.card_number}
        if query.full_name:
            body["full_name"] = query.full_name
        if query.date_of_birth is not None:
            body["date_of_birth"] = query.date_of_birth.isoformat()
        elif query.birth_year is not None:
            body["birth_year"] = query.birth_year
        if query.operator is not None:
            body["operator"] = {"name": query.operator.name, "cccd": query.operator.cccd}
        data = self.http.post("/v1/cards/search", body, what=WHAT_LOOKUP, idempotent=True)
        if query.by_card:
            return parse_card_by_number(data, number, checked_at=self._now())
        return parse_card(data, query.card_number, checked_at=self._now())

    def send_events(self, events: Sequence[dict[str, Any]]) -> dict[str, EventReceipt]:
        """Upload check-in events (each with its own ``event_id``); one receipt per event."""
        return send_batch(self.http, events, what="insurance check-in upload")


def parse_card_by_number(data: dict[str, Any], number: str, *, checked_at: datetime) -> BackendCheck:
    """The answer to a lookup by card number: about that card (the same 15 characters, or a card whose
    last 10 are the social insurance number asked), else it is someone else's and refused."""
    what = WHAT_LOOKUP
    status = CheckStatus(v.choice(data, "status", what, INSURANCE_STATUSES))
    if status is CheckStatus.NOT_FOUND:
        return BackendCheck(CheckKind.INSURANCE, status, {}, checked_at=checked_at)
    found = v.text(data, "card_number", what, pattern=ANSWERED_CARD)
    if number not in (found, found[5:]):
        raise BackendResponseError(f"{what}: the answer is about a different card")
    return _card_check(data, status, checked_at=checked_at)


def parse_card(data: dict[str, Any], id_number: str, *, checked_at: datetime) -> BackendCheck:
    what = WHAT_LOOKUP
    v.same_id(data, id_number, what)
    status = CheckStatus(v.choice(data, "status", what, INSURANCE_STATUSES))
    if status is CheckStatus.NOT_FOUND:
        return BackendCheck(CheckKind.INSURANCE, status, {}, checked_at=checked_at)
    return _card_check(data, status, checked_at=checked_at)


def _card_check(data: dict[str, Any], status: CheckStatus, *, checked_at: datetime) -> BackendCheck:
    what = WHAT_LOOKUP
    valid_from = v.day(data, "valid_from", what)
    valid_to = v.day(data, "valid_to", what)
    if valid_to < valid_from:
        raise BackendResponseError(f"{what}: the validity ends before it starts")
    facility = v.mapping(data, "facility", what)
    details = {
        "card_number": v.text(data, "card_number", what, pattern=ANSWERED_CARD),
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat(),
        "benefit_level": v.integer(data, "benefit_level", what, low=1, high=5),
        "facility_code": v.text(facility, "code", what, pattern=facilities.CODE),
        "facility_name": v.text(facility, "name", what),
    }
    if "benefit_rate" in data:
        details["benefit_rate"] = v.integer(data, "benefit_rate", what, low=0, high=100)
    return BackendCheck(CheckKind.INSURANCE, status, details, checked_at=checked_at)
