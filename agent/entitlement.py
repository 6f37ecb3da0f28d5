"""The entitlement check of one identity at one desk: ask the site's backend (insurance status at a
clinic, the session roster at an exam centre; a notary office keeps a record), fall back to what the
store knows when the backend cannot answer (FIELD.md: "valid / expired / not found / cannot check
now"), and build the event the backend is to receive.

:meth:`Entitlement.assess` answers and writes nothing: the :class:`Assessment` carries what is to be
recorded (the event, fresh answers for the cache, a roster downloaded on the way), so the desk
service can weigh it with the chip's evidence and record its own final result.
:meth:`Entitlement.check` is the whole step for the command line: assess, then record the result
with all of that in one transaction. An answer from the store is marked ``from_cache`` with the time
it was checked; a person never seen before while the backend is down gets "cannot check now". The
event is always queued: the syncer delivers it exactly once when the backend is back. ``build_*`` at
the end wire the real adapters from the settings (the composition root of ``verify`` and ``sync``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.checks.licensing import ExamSessionInfo, Roster
from agent.errors import BackendError, ConfigError
from agent.models import BackendCheck, Identity, Source, Verdict, VerificationResult
from agent.settings import PROFILES, Settings
from sync.store import OutboundEvent, RosterCopy, Store
from sync.syncer import Syncer

INSURANCE_VERDICTS = {
    "valid": Verdict.VERIFIED,
    "expired": Verdict.WARNING,
    "suspended": Verdict.WARNING,
    "not_found": Verdict.WARNING,
}
ROSTER_VERDICTS = {"on_roster": Verdict.VERIFIED, "not_on_roster": Verdict.REJECTED}
STATUS_UNAVAILABLE = "unavailable"


class InsuranceLookup(Protocol):
    def lookup(self, id_number: str) -> BackendCheck: ...


class RosterService(Protocol):
    def sessions(self) -> list[ExamSessionInfo]: ...

    def roster(self, session_id: str) -> Roster: ...

    def candidate(self, session_id: str, id_number: str) -> BackendCheck: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Assessment:
    """The entitlement's answer for one identity, nothing written yet.

    ``verdict`` and ``reasons`` are those of the entitlement alone; ``events`` (idempotency key
    ``result_id``) are to be queued with the result, ``cache`` holds the fresh backend answers to keep
    for offline checks and ``roster`` a roster downloaded on the way (see :meth:`sync.store.Store.record`).
    """

    result_id: str
    created_at: datetime
    check: BackendCheck
    reasons: tuple[str, ...]
    verdict: Verdict
    events: tuple[OutboundEvent, ...] = ()
    cache: tuple[tuple[str, BackendCheck], ...] = dataclasses.field(default=(), repr=False)
    roster: RosterCopy | None = None


@dataclasses.dataclass
class Entitlement:
    store: Store
    insurance: InsuranceLookup
    licensing: RosterService
    site_id: str = ""
    operator: str = ""
    cache_ttl_s: float = 86400.0
    now: Callable[[], datetime] = _utc_now
    new_id: Callable[[], str] = _new_id

    def check(self, identity: Identity, profile: str, *, source: Source = Source.MANUAL,
              session_id: str | None = None) -> VerificationResult:
        """Assess, then record the result with its event, cache entries and roster in one transaction;
        returns the recorded result (StoreError if it could not be kept)."""
        assessment = self.assess(identity, profile, session_id=session_id)
        result = VerificationResult(
            result_id=assessment.result_id,
            source=source,
            identity=identity,
            created_at=assessment.created_at,
            verdict=assessment.verdict,
            reasons=assessment.reasons,
            checks=(assessment.check,),
            site_profile=profile,
            operator=self.operator,
        )
        self.store.record(result, assessment.events, cache=assessment.cache, roster=assessment.roster)
        return result

    def assess(self, identity: Identity, profile: str, *, session_id: str | None = None,
               result_id: str | None = None, at: datetime | None = None) -> Assessment:
        """The answer for ``identity`` at a site of ``profile``, reading the store but writing nothing.

        ``result_id`` (the event's idempotency key) and ``at`` (the time of the check) default to a new
        id and now; the caller passes them when the result it records has its own (a chip read's).
        """
        if profile not in PROFILES:
            raise ConfigError(f"must be one of {', '.join(PROFILES)}", key="site.profile")
        result_id = result_id or self.new_id()
        created_at = at or self.now()
        fresh: list[tuple[str, BackendCheck]] = []
        roster: RosterCopy | None = None
        if profile == "clinic":
            check, reasons = self._insurance(identity.id_number, fresh)
            verdict = INSURANCE_VERDICTS.get(check.status, Verdict.CANNOT_CHECK)
            event = self._event(result_id, created_at, "insurance", "insurance_checkin", identity, verdict, check, {
                "card_number": check.details.get("card_number"),
                "facility_code": check.details.get("facility_code"),
            })
        elif profile == "exam":
            check, reasons, roster = self._roster(identity.id_number, session_id, created_at)
            verdict = ROSTER_VERDICTS.get(check.status, Verdict.CANNOT_CHECK)
            event = self._event(result_id, created_at, "licensing", "candidate_checkin", identity, verdict, check, {
                "session_id": check.details.get("session_id", ""),
                "candidate_no": check.details.get("candidate_no"),
            })
        else:
            check = BackendCheck("notary", "recorded", {}, checked_at=created_at)
            reasons = ("identity-verification record queued for the licensing service",)
            verdict = Verdict.VERIFIED
            event = self._event(result_id, created_at, "licensing", "notary_record", identity, verdict, check, {
                "full_name": identity.full_name,
                "date_of_birth": identity.date_of_birth.isoformat() if identity.date_of_birth else None,
            })
        return Assessment(result_id, created_at, check, reasons, verdict, (event,), tuple(fresh), roster)

    def prefetch_roster(self, session_id: str | None = None) -> RosterCopy | None:
        """Download the roster of ``session_id`` (default: the session the checks would use) and keep
        it in the store, so check-in works offline from the start. None when no session is known;
        BackendError if the backend cannot give it, StoreError if it cannot be kept."""
        now = self.now()
        session_id = session_id or self._current_session(now)
        if session_id is None:
            return None
        roster = self._download_roster(session_id, now)
        self.store.save_roster(roster.session_id, roster.info, roster.entries, downloaded_at=roster.downloaded_at)
        return roster

    def _insurance(self, id_number: str, fresh: list[tuple[str, BackendCheck]]) -> tuple[BackendCheck, tuple[str, ...]]:
        try:
            check = self.insurance.lookup(id_number)
        except BackendError as error:
            cached = self.store.cache_get("insurance", id_number, max_age_s=self.cache_ttl_s)
            if cached is not None:
                return cached, (f"insurance: {cached.status}", f"answered from cache: {type(error).__name__}")
            unavailable = BackendCheck("insurance", STATUS_UNAVAILABLE, {"error": type(error).__name__})
            return unavailable, (f"insurance: cannot check now ({type(error).__name__})",)
        fresh.append((id_number, check))
        return check, (f"insurance: {check.status}",)

    def _roster(self, id_number: str, session_id: str | None,
                now: datetime) -> tuple[BackendCheck, tuple[str, ...], RosterCopy | None]:
        session_id = session_id or self._current_session(now)
        if session_id is None:
            return (BackendCheck("roster", STATUS_UNAVAILABLE, {"session_id": ""}),
                    ("roster: no exam session known (none downloaded, backend unreachable)",), None)
        downloaded = self._refreshed_roster(session_id, now)
        try:
            check = self.licensing.candidate(session_id, id_number)
            return check, (f"roster: {check.status}",), downloaded
        except BackendError as error:
            failure = type(error).__name__
        # Offline: the roster just downloaded (not written yet) or the one kept in the store.
        entry: dict[str, Any] | None
        if downloaded is not None:
            known_at: datetime | None = downloaded.downloaded_at
            entry = next((dict(details) for number, details in downloaded.entries if number == id_number), None)
        else:
            stored = self.store.roster_info(session_id)
            if stored is None:
                return (BackendCheck("roster", STATUS_UNAVAILABLE, {"session_id": session_id, "error": failure}),
                        (f"roster: cannot check now ({failure})",), None)
            known_at = stored.downloaded_at
            entry = self.store.roster_entry(session_id, id_number)
        status = "on_roster" if entry else "not_on_roster"
        details = entry or {"session_id": session_id}
        return (BackendCheck("roster", status, details, from_cache=True, checked_at=known_at),
                (f"roster: {status}", f"answered from the downloaded roster: {failure}"), downloaded)

    def _current_session(self, now: datetime) -> str | None:
        """Today's session (else the next one, else the last one) from the backend; offline, the last
        roster downloaded. "Today" is the desk's local day, as for the exam timetable."""
        try:
            sessions = self.licensing.sessions()
        except BackendError:
            stored = self.store.roster_info()
            return stored.session_id if stored else None
        today = now.astimezone().date()
        upcoming = sorted((s for s in sessions if s.exam_date >= today), key=lambda s: s.exam_date)
        chosen = upcoming[0] if upcoming else max(sessions, key=lambda s: s.exam_date, default=None)
        return chosen.session_id if chosen else None

    def _refreshed_roster(self, session_id: str, now: datetime) -> RosterCopy | None:
        """A new copy of the whole roster for offline checks when the stored one is missing or older
        than the cache TTL (best effort: online checks go on without it)."""
        stored = self.store.roster_info(session_id)
        if stored is not None and (now - stored.downloaded_at).total_seconds() < self.cache_ttl_s:
            return None
        try:
            return self._download_roster(session_id, now)
        except BackendError:
            return None

    def _download_roster(self, session_id: str, now: datetime) -> RosterCopy:
        roster = self.licensing.roster(session_id)
        return RosterCopy(session_id, roster.session.to_json(),
                          tuple((c.id_number, c.details(session_id)) for c in roster.candidates), downloaded_at=now)

    def _event(self, result_id: str, created_at: datetime, destination: str, kind: str, identity: Identity,
               verdict: Verdict, check: BackendCheck, extra: dict[str, Any]) -> OutboundEvent:
        payload: dict[str, Any] = {
            "event_id": result_id,
            "type": kind,
            "occurred_at": created_at.isoformat(),
            "site_id": self.site_id,
            "operator": self.operator,
            "id_number": identity.id_number,
            "verdict": str(verdict),
            "check_status": check.status,
            "from_cache": check.from_cache,
        }
        payload.update({k: v for k, v in extra.items() if v is not None})
        return OutboundEvent(result_id, destination, payload)


# --- wiring: the real adapters, from the settings --------------------------------------------------


def open_store(settings: Settings) -> Store:
    from sync.keys import KeyFile

    return Store.open(settings.store_path(), KeyFile(settings.store_key_path()),
                      busy_timeout_s=settings.store.busy_timeout_s)


@dataclasses.dataclass
class Backends:
    insurance: Any
    licensing: Any
    uploader: Any


def build_backends(settings: Settings, session: Any = None) -> Backends:
    """The backend clients sharing one requests session, each with its own circuit breaker."""
    from agent.checks.breaker import CircuitBreaker
    from agent.checks.http import BackendHttp, new_session
    from agent.checks.insurance import InsuranceClient
    from agent.checks.licensing import LicensingClient
    from agent.checks.uploader import BackendUploader

    b = settings.backends
    http_session = session or new_session()

    def http(name: str, url: str) -> BackendHttp:
        if not url:
            raise ConfigError("is empty: no backend to ask", key=f"backends.{name}_url")
        return BackendHttp(
            http_session, url, name=name, token=b.token, connect_timeout_s=b.connect_timeout_s,
            read_timeout_s=b.read_timeout_s, retries=b.retries,
            breaker=CircuitBreaker(failures=b.breaker_failures, reset_s=b.breaker_reset_s),
        )

    insurance = InsuranceClient(http("insurance", b.insurance_url))
    licensing = LicensingClient(http("licensing", b.licensing_url))
    return Backends(insurance, licensing, BackendUploader(insurance, licensing))


def build_entitlement(settings: Settings, store: Store, backends: Backends) -> Entitlement:
    return Entitlement(store, backends.insurance, backends.licensing, site_id=settings.site.site_id,
                       operator=settings.site.operator, cache_ttl_s=settings.backends.cache_ttl_s)


def build_syncer(settings: Settings, store: Store, backends: Backends) -> Syncer:
    return Syncer(store, backends.uploader, batch_size=settings.sync.batch_size)

