"""Client of the licensing service: driving-test / exam sessions and their rosters (a whole roster is
downloaded for offline use; one candidate can be looked up by ID number), candidate check-ins and
notary identity-verification records (docs/reference/field.md "Driving-test centres and exam rooms",
"Notary offices").

A candidate lookup becomes an :class:`agent.models.BackendCheck` of kind ``roster`` with status
on_roster / not_on_roster. Everything the service answers is validated first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agent.checks import validate as v
from agent.checks.events import EventReceipt, send_batch
from agent.checks.http import BackendHttp
from agent.errors import BackendRejectedError, BackendResponseError
from agent.models import BackendCheck, CheckKind, CheckStatus, ExamSessionInfo, Roster, RosterEntry

ROSTER_STATUSES = frozenset({CheckStatus.ON_ROSTER, CheckStatus.NOT_ON_ROSTER})
SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class LicensingClient:
    def __init__(self, http: BackendHttp, *, now: Callable[[], datetime] | None = None) -> None:
        self.http = http
        self._now = now or (lambda: datetime.now(UTC))

    def sessions(self) -> list[ExamSessionInfo]:
        data = self.http.get("/v1/sessions", what="exam session list")
        items = v.field(data, "sessions", "exam session list")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BackendResponseError("exam session list: 'sessions' is not a list of objects")
        return [_session(i, "exam session list") for i in items]

    def roster(self, session_id: str) -> Roster:
        what = "roster download"
        data = self.http.get(f"/v1/sessions/{_checked(session_id)}/roster", what=what)
        session = _session(data, what)
        if session.session_id != session_id:
            raise BackendResponseError(f"{what}: the roster is for another session")
        items = v.field(data, "candidates", what)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BackendResponseError(f"{what}: 'candidates' is not a list of objects")
        entries = tuple(
            RosterEntry(
                candidate_no=v.text(i, "candidate_no", what),
                id_number=v.text(i, "id_number", what, pattern=v.ID_NUMBER),
                full_name=v.text(i, "full_name", what),
                date_of_birth=v.day(i, "date_of_birth", what),
                licence_class=v.text(i, "licence_class", what, allow_empty=True),
            )
            for i in items
        )
        if len(entries) != session.candidate_count:
            raise BackendResponseError(f"{what}: {len(entries)} candidates, the session says {session.candidate_count}")
        if len({e.id_number for e in entries}) != len(entries):
            raise BackendResponseError(f"{what}: an ID number appears twice on the roster")
        return Roster(session, entries)

    def candidate(self, session_id: str, id_number: str) -> BackendCheck:
        what = "candidate lookup"
        data = self.http.post(f"/v1/sessions/{_checked(session_id)}/candidates/search", {"id_number": id_number},
                              what=what, idempotent=True)
        v.same_id(data, id_number, what)
        status = CheckStatus(v.choice(data, "status", what, ROSTER_STATUSES))
        details: dict[str, Any] = {"session_id": session_id}
        if status is CheckStatus.ON_ROSTER:
            details = RosterEntry(
                candidate_no=v.text(data, "candidate_no", what),
                id_number=id_number,
                full_name=v.text(data, "full_name", what),
                date_of_birth=v.day(data, "date_of_birth", what),
                licence_class=v.text(data, "licence_class", what, allow_empty=True),
            ).details(session_id)
        return BackendCheck(CheckKind.ROSTER, status, details, checked_at=self._now())

    def send_events(self, events: Sequence[dict[str, Any]]) -> dict[str, EventReceipt]:
        """Upload candidate check-ins and notary records (each with its own ``event_id``)."""
        return send_batch(self.http, events, what="licensing event upload")


def _checked(session_id: str) -> str:
    if not SESSION_ID.match(session_id):
        raise BackendRejectedError("the exam session id is not valid (letters, digits, - _ . only)")
    return session_id


def _session(data: dict[str, Any], what: str) -> ExamSessionInfo:
    return ExamSessionInfo(
        session_id=v.text(data, "session_id", what, pattern=SESSION_ID),
        centre=v.text(data, "centre", what),
        exam_date=v.day(data, "exam_date", what),
        licence_class=v.text(data, "licence_class", what, allow_empty=True),
        candidate_count=v.integer(data, "candidate_count", what, low=0, high=100_000),
    )
