"""The entitlement answers of one identity: the insurance status (a clinic) and the seat on the exam
session's roster (an exam centre), from the site's backend, or from what the store knows when the
backend cannot answer (docs/reference/field.md "The desks": "valid / expired / not found / cannot
check now").

Each answer is an :class:`Assessment`: the check, the fresh backend answers to keep for offline use
and a roster downloaded on the way. Nothing is written here: the pipeline
(:mod:`agent.service.pipeline`) weighs the answer with the chip's evidence, decides, and records the
result, the event and these rows in one transaction. An answer from the store is marked
``from_cache`` with the time it was checked; a person never seen before while the backend is down gets
"unavailable" ("cannot check now"). Which answer a desk asks for is its policy's choice
(:mod:`agent.service.policy`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.errors import BackendError
from agent.models import BackendCheck, CheckKind, CheckStatus, Identity, InsuranceQuery, Operator
from agent.ports import InsuranceLookup, RosterService
from sync.store import RosterCopy, Store


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class Assessment:
    """One entitlement answer, nothing written yet: the check, fresh answers for the cache (ID number,
    check) and a roster downloaded on the way (see :meth:`sync.store.Store.record`)."""

    check: BackendCheck
    cache: tuple[tuple[str, BackendCheck], ...] = dataclasses.field(default=(), repr=False)
    roster: RosterCopy | None = None


@dataclasses.dataclass
class Entitlement:
    store: Store
    insurance_lookup: InsuranceLookup
    roster_service: RosterService
    cache_ttl_s: float = 86400.0
    now: Callable[[], datetime] = _utc_now

    def insurance(self, identity: Identity, operator: Operator | None) -> Assessment:
        """The insurance status now, else the cached one (kept ``cache_ttl_s``), else unavailable.
        What the backend says it cannot use (a missing name, nobody signed in) is raised, not cached. A
        BHYT card's code (no CCCD number) is looked up, and its answer kept, by the card number."""
        id_number = identity.lookup_number
        try:
            check = self.insurance_lookup.lookup(InsuranceQuery.of(identity, operator))
        except BackendError as error:
            cached = self.store.cache.get(CheckKind.INSURANCE, id_number, max_age_s=self.cache_ttl_s)
            if cached is not None:
                return Assessment(cached)
            return Assessment(BackendCheck(CheckKind.INSURANCE, CheckStatus.UNAVAILABLE,
                                           {"error": type(error).__name__}))
        if check.status is CheckStatus.UNAVAILABLE:
            # The gateway answered its own "cannot answer now" (a server error code): the last known
            # status, if young enough, is the better answer.
            return Assessment(self.store.cache.get(CheckKind.INSURANCE, id_number, max_age_s=self.cache_ttl_s)
                              or check)
        if check.status is CheckStatus.CONFIG_ERROR:
            return Assessment(check)  # about the desk's account, not the card: nothing to keep for later
        return Assessment(check, cache=((id_number, check),))

    def roster_seat(self, id_number: str, session_id: str | None, now: datetime) -> Assessment:
        """The candidate's seat in ``session_id`` (default: today's session), online or from the roster
        kept offline; a roster is downloaded on the way when the stored one is missing or stale."""
        session_id = session_id or self._current_session(now)
        if session_id is None:
            return Assessment(BackendCheck(CheckKind.ROSTER, CheckStatus.UNAVAILABLE, {"session_id": ""}))
        downloaded = self._refreshed_roster(session_id, now)
        try:
            return Assessment(self.roster_service.candidate(session_id, id_number), roster=downloaded)
        except BackendError as error:
            failure = type(error).__name__
        # Offline: the roster just downloaded (not written yet) or the one kept in the store.
        entry: dict[str, Any] | None
        if downloaded is not None:
            known_at: datetime | None = downloaded.downloaded_at
            entry = next((dict(details) for number, details in downloaded.entries if number == id_number), None)
        else:
            stored = self.store.rosters.info(session_id)
            if stored is None:
                return Assessment(BackendCheck(CheckKind.ROSTER, CheckStatus.UNAVAILABLE,
                                               {"session_id": session_id, "error": failure}))
            known_at = stored.downloaded_at
            entry = self.store.rosters.entry(session_id, id_number)
        status = CheckStatus.ON_ROSTER if entry else CheckStatus.NOT_ON_ROSTER
        check = BackendCheck(CheckKind.ROSTER, status, entry or {"session_id": session_id}, from_cache=True,
                             checked_at=known_at)
        return Assessment(check, roster=downloaded)

    def prefetch_roster(self, session_id: str | None = None) -> RosterCopy | None:
        """Download the roster of ``session_id`` (default: the session a check would use) and keep it in
        the store, so check-in works offline from the start. None when no session is known;
        BackendError if the backend cannot give it, StoreError if it cannot be kept."""
        now = self.now()
        session_id = session_id or self._current_session(now)
        if session_id is None:
            return None
        roster = self._download_roster(session_id, now)
        self.store.rosters.save(roster.session_id, roster.info, roster.entries, downloaded_at=roster.downloaded_at)
        return roster

    def _current_session(self, now: datetime) -> str | None:
        """Today's session (else the next one, else the last one) from the backend; offline, the last
        roster downloaded. "Today" is the desk's local day, as for the exam timetable."""
        try:
            sessions = self.roster_service.sessions()
        except BackendError:
            stored = self.store.rosters.info()
            return stored.session_id if stored else None
        today = now.astimezone().date()
        upcoming = sorted((s for s in sessions if s.exam_date >= today), key=lambda s: s.exam_date)
        chosen = upcoming[0] if upcoming else max(sessions, key=lambda s: s.exam_date, default=None)
        return chosen.session_id if chosen else None

    def _refreshed_roster(self, session_id: str, now: datetime) -> RosterCopy | None:
        """A new copy of the whole roster for offline checks when the stored one is missing or older
        than the cache TTL (best effort: online checks go on without it)."""
        stored = self.store.rosters.info(session_id)
        if stored is not None and (now - stored.downloaded_at).total_seconds() < self.cache_ttl_s:
            return None
        try:
            return self._download_roster(session_id, now)
        except BackendError:
            return None

    def _download_roster(self, session_id: str, now: datetime) -> RosterCopy:
        roster = self.roster_service.roster(session_id)
        return RosterCopy(session_id, roster.session.to_json(),
                          tuple((c.id_number, c.details(session_id)) for c in roster.candidates), downloaded_at=now)
