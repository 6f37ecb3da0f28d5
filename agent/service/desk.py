"""The verification service of one desk: one pipeline for a chip tap, a QR code and a typed number.

identity -> authenticity -> entitlement for the site profile (:meth:`agent.entitlement.Entitlement.assess`,
which answers without writing) -> the verdict and its reasons (:mod:`agent.service.verdict`, the
one place they are derived) -> the result recorded in the store with its event queued for the
backend, the fresh backend answers and any roster downloaded on the way (one transaction), an entry
in the audit log (:mod:`agent.audit`), and the result published to the desk page and the site's
software (:class:`agent.service.hub.Hub`). The history is read back from the store a page at a time.

A chip opens only with a key (the CAN is the last 6 digits of the ID number; CCCD.md). The service
keeps the key of the last identity scanned from a QR code or typed (:meth:`DeskService.expect_card`)
for a few minutes, so the next tap opens the chip with no typing; a tap with no key asks for the QR
or the number. A chip read that fails (card moved, wrong key) is not a result: the desk is told what
to do next, and the failure is audited. A forged or copied card is a result: rejected, recorded,
nothing sent to the backend. Nothing here talks to a device, a camera or the network directly: the
composition root (:mod:`agent.app`) hands in the chip reader, the entitlement and the store.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from agent import audit as audit_module
from agent.audit import AuditLog
from agent.entitlement import Assessment, Entitlement
from agent.errors import AgentError, BackendError, InvalidInputError, MrzFormatError, QrFormatError, StoreError
from agent.icao.cccd import bac_key_from_qr, id_consistency_problems
from agent.icao.keys import MrzKey
from agent.models import BackendCheck, Identity, Source, Verdict, VerificationResult
from agent.privacy import mask_id
from agent.qr.payload import CccdQr, UnknownQr, VneidQr, parse_payload
from agent.service import verdict as verdicts
from agent.service.hub import Hub
from sync.store import OutboundEvent

log = logging.getLogger(__name__)

ID12 = re.compile(r"^[0-9]{12}$")
CMND9 = re.compile(r"^[0-9]{9}$")
KEY_TTL_S = 300.0  # a QR scanned or a number typed opens the next tap for five minutes
RECENT_FACES = 50  # faces are kept in memory only, for the last results shown
MAX_TEXT = 4096
PROGRESS_EVERY_S = 0.1
MAX_HISTORY_PAGE = 100
COMPARED_FIELDS = ("full_name", "date_of_birth", "sex", "old_id_number", "address", "place_of_origin")


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_transaction_id() -> str:
    return str(uuid.uuid4())


class ChipRead(Protocol):
    """What the chip path (agent.chip.read_chip) returns."""

    @property
    def identity(self) -> Identity: ...

    @property
    def authenticity(self) -> dict[str, Any]: ...

    @property
    def access_method(self) -> str: ...

    @property
    def stats(self) -> dict[str, Any]: ...

    @property
    def face_image(self) -> bytes | None: ...

    @property
    def receipt(self) -> dict[str, Any]: ...


class ChipReader(Protocol):
    """agent.chip.read_chip with the settings and the trust store already bound."""

    def __call__(self, transport: Any, *, id_number: str | None = None, can: str | None = None,
                 mrz: MrzKey | None = None, transaction_id: str, progress: Any = None,
                 cancel: Callable[[], bool] | None = None) -> ChipRead: ...


@dataclasses.dataclass(frozen=True)
class AccessHint:
    """The key for the next tap, and where it came from (a QR scan, a typed number, the demo)."""

    id_number: str = dataclasses.field(repr=False)
    mrz: MrzKey | None = dataclasses.field(default=None, repr=False)
    origin: str = "manual"
    identity: Identity | None = dataclasses.field(default=None, repr=False)
    entered: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    expires_at: float = 0.0


@dataclasses.dataclass(frozen=True)
class DeskResult:
    """A recorded result and what the desk shows with it (the face is kept in memory only)."""

    result: VerificationResult
    next_steps: tuple[str, ...] = ()
    badge: str = verdicts.BADGE_NOT_CHECKED
    face: bytes | None = dataclasses.field(default=None, repr=False)
    stats: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def result_id(self) -> str:
        return self.result.result_id


class DeskService:
    def __init__(
        self,
        *,
        store: Any,
        entitlement: Entitlement,
        audit: AuditLog,
        profile: str,
        read_chip: ChipReader | None = None,
        hub: Hub | None = None,
        exam_session_id: str = "",
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = new_transaction_id,
        key_ttl_s: float = KEY_TTL_S,
        on_recorded: Callable[[VerificationResult], None] | None = None,
    ) -> None:
        self.store = store
        self.entitlement = entitlement
        self.audit = audit
        self.profile = profile
        self.hub = hub or Hub()
        self.exam_session_id = exam_session_id or None
        self._read_chip = read_chip
        self._clock = clock
        self._monotonic = monotonic
        self._new_id = new_id
        self.key_ttl_s = key_ttl_s
        self.on_recorded = on_recorded
        self._pipeline = threading.Lock()
        self._state_lock = threading.Lock()
        self._hint: AccessHint | None = None
        self._faces: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._latest: DeskResult | None = None
        self.reader_state: dict[str, Any] = {"state": "idle", "message_key": "reader.idle"}
        self.backend_state = "unknown"
        self.backend_state_at = 0.0  # monotonic time of the last answer (or failure) of a backend

    # --- the key for the next tap -----------------------------------------------------------------

    def expect_card(self, id_number: str, *, mrz: MrzKey | None = None, origin: str = "manual",
                    identity: Identity | None = None, entered: Mapping[str, str] | None = None) -> None:
        """Remember the key of the card about to be tapped (only a 12-digit ID number yields a CAN)."""
        if not ID12.fullmatch(id_number):
            raise InvalidInputError("a chip opens with the 12-digit ID number", field="id_number")
        hint = AccessHint(id_number, mrz, origin, identity, dict(entered or {}), self._monotonic() + self.key_ttl_s)
        with self._state_lock:
            self._hint = hint
        self._set_reader("armed", "reader.armed", id_masked=mask_id(id_number))

    def current_hint(self) -> AccessHint | None:
        with self._state_lock:
            hint = self._hint
            if hint is not None and self._monotonic() > hint.expires_at:
                self._hint = hint = None
            return hint

    # --- the three ways in ------------------------------------------------------------------------

    def verify_manual(self, id_number: str, entered: Mapping[str, Any] | None = None) -> DeskResult:
        """A number typed by the operator: the 12-digit ID, or the 9-digit CMND of someone without a chip
        card. At a notary office the other typed fields are kept to compare with the chip on the next tap."""
        number = (id_number or "").strip().replace(" ", "")
        if not (ID12.fullmatch(number) or CMND9.fullmatch(number)):
            raise InvalidInputError(
                f"expected 12 digits (ID number) or 9 digits (old CMND), got {len(number)} characters",
                field="id_number")
        fields = _entered_fields(entered or {})
        if ID12.fullmatch(number):
            identity = Identity(id_number=number, full_name=fields.get("full_name", ""),
                                date_of_birth=_day_or_none(fields.get("date_of_birth")), sex=fields.get("sex", ""))
            self.expect_card(number, origin="manual", entered=fields)
            return self._complete(identity, Source.MANUAL, problems=self._id_problems(identity))
        identity = Identity(id_number=number, old_id_number=number, full_name=fields.get("full_name", ""),
                            date_of_birth=_day_or_none(fields.get("date_of_birth")))
        return self._complete(identity, Source.MANUAL, old_id_only=True)

    def verify_qr_text(self, text: str, *, via: str = "api") -> DeskResult:
        """The text of a QR code (the card's printed code, or a VNeID code)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("the QR text is empty", field="text")
        if len(text) > MAX_TEXT:
            raise InvalidInputError(f"the QR text is longer than {MAX_TEXT} characters", field="text")
        try:
            payload = parse_payload(text)
        except QrFormatError as error:
            raise InvalidInputError(f"not a valid CCCD QR code ({error.message})", field="text") from error
        if isinstance(payload, UnknownQr):
            raise InvalidInputError("neither a CCCD nor a VNeID QR code", field="text")
        if isinstance(payload, VneidQr):
            # The VNeID code is an opaque token only its backend can check (CCCD.md "VNeID"); no
            # backend offers that here, so the desk says so rather than guessing.
            return self._complete(Identity(id_number=""), Source.VNEID, skip_entitlement=True)
        assert isinstance(payload, CccdQr)
        identity = payload.to_identity()
        self.expect_card(identity.id_number, mrz=_mrz_from_qr(payload), origin="qr", identity=identity)
        log.info("QR code read (%s): ID %s", via, mask_id(identity.id_number))
        return self._complete(identity, Source.QR, problems=self._id_problems(identity))

    def verify_chip(self, transport: Any, *, reader: str = "",
                    cancel: threading.Event | None = None) -> DeskResult | None:
        """Read the card on ``transport`` with the key of the last QR / typed number and verify it.
        Returns None when there is no key or the read failed (the desk has been told what to do)."""
        hint = self.current_hint()
        if hint is None:
            self._set_reader("needs_key", "reader.needs_key", next_key="next.enter_id")
            self._audit(audit_module.ACTION_READ_FAILED, {"reader": reader, "error": "no_access_key"})
            return None
        if self._read_chip is None:
            raise AgentError("no chip reader is configured")
        transaction_id = self._new_id()
        self._set_reader("reading", "reader.reading", fraction=0.0)
        started = self._monotonic()
        try:
            chip = self._read_chip(transport, id_number=hint.id_number, mrz=hint.mrz, transaction_id=transaction_id,
                                   progress=self._progress_callback(), cancel=cancel.is_set if cancel else None)
        except AgentError as error:
            self.report_read_error(error, reader=reader)
            return None
        read_ms = (self._monotonic() - started) * 1000
        with self._state_lock:
            if self._hint is hint:
                self._hint = None  # the key opened its card; the next citizen brings their own
        problems = list(self._id_problems(chip.identity))
        if hint.identity is not None and _different_people(hint.identity, chip.identity):
            problems.insert(0, "reason.qr_chip_mismatch")
        authenticity = dict(chip.authenticity)
        authenticity.update(access_method=chip.access_method, receipt=chip.receipt)
        stats = {**dict(chip.stats), "read_ms": round(read_ms, 1)}
        return self._complete(chip.identity, Source.CHIP, authenticity=authenticity, problems=problems,
                              entered=hint.entered if self.profile == "notary" else None, face=chip.face_image,
                              stats=stats, result_id=transaction_id)

    def report_read_error(self, error: AgentError, *, reader: str = "") -> None:
        """A tap that gave no result: tell the desk what to do, keep a trace without personal data."""
        log.info("card read failed on %r: %s: %s", reader, type(error).__name__, error.message)
        self._set_reader("error", error.message_key, error=type(error).__name__, retryable=error.retryable)
        self._audit(audit_module.ACTION_READ_FAILED,
                    {"reader": reader, "error": type(error).__name__, "message_key": error.message_key})

    # --- the pipeline -----------------------------------------------------------------------------

    def _complete(self, identity: Identity, source: Source, *, authenticity: dict[str, Any] | None = None,
                  problems: Sequence[str] = (), entered: Mapping[str, str] | None = None, face: bytes | None = None,
                  stats: Mapping[str, Any] | None = None, result_id: str | None = None,
                  old_id_only: bool = False, skip_entitlement: bool = False) -> DeskResult:
        with self._pipeline:
            result_id = result_id or self._new_id()
            badge = verdicts.authenticity_badge(source, authenticity)
            check: BackendCheck | None = None
            assessment: Assessment | None = None
            events: Sequence[OutboundEvent] = ()
            created_at = self._clock()
            already = False
            if not (skip_entitlement or old_id_only or badge == verdicts.BADGE_FAILED):
                # The entitlement answers without writing: the verdict also weighs the chip's evidence,
                # and the service records its own final result below.
                assessment = self.entitlement.assess(identity, self.profile, session_id=self.exam_session_id,
                                                     result_id=result_id, at=created_at)
                check, events = assessment.check, assessment.events
                self.backend_state = "offline" if (check.from_cache or check.status == "unavailable") else "online"
                self.backend_state_at = self._monotonic()
                if check.kind == "roster" and check.status == "on_roster":
                    already = self._checked_in_before(identity.id_number, check)
                    if already:
                        events = ()  # one check-in per candidate and session reaches the backend
            comparison: list[dict[str, Any]] = []
            if entered and check is not None and check.kind == "notary":
                comparison = compare_entered(entered, identity)
                check = dataclasses.replace(check, details={**check.details, "comparison": comparison})
            decision = verdicts.decide(verdicts.Facts(
                source=source, profile=self.profile, authenticity=authenticity, check=check, problems=problems,
                differences=sum(1 for c in comparison if not c["same"]), already_checked_in=already,
                old_id_only=old_id_only))
            if authenticity is not None:
                authenticity = {**authenticity, "badge": decision.badge}
            result = VerificationResult(
                result_id=result_id, source=source, identity=identity, created_at=created_at,
                verdict=decision.verdict, reasons=decision.reasons,
                authenticity=authenticity or {"badge": decision.badge},
                checks=(check,) if check is not None else (), site_profile=self.profile,
                operator=self.audit.operator,
            )
            events = [OutboundEvent(e.event_id, e.destination, {**e.payload, "verdict": str(decision.verdict)})
                      for e in events]
            self.store.record(result, events, cache=assessment.cache if assessment else (),
                              roster=assessment.roster if assessment else None)
            self._audit(audit_module.ACTION_VERIFICATION, {
                "result_id": result_id,
                "source": str(source),
                "profile": self.profile,
                "verdict": str(decision.verdict),
                "reasons": list(decision.reasons),
                "authenticity": {k: (authenticity or {}).get(k) for k in ("passive", "chip", "badge")},
                "check": ({"kind": check.kind, "status": check.status, "from_cache": check.from_cache}
                          if check else None),
                "queued": len(events),
                **audit_module.person_fields(self.audit.keys, identity.id_number),
            })
            desk = DeskResult(result, decision.next_steps, decision.badge, face, dict(stats or {}))
            with self._state_lock:
                self._latest = desk
                if face:
                    self._faces[result_id] = face
                    while len(self._faces) > RECENT_FACES:
                        self._faces.popitem(last=False)
        from agent.service.views import result_view  # the view module is presentation only

        hint = self.current_hint()
        if hint is not None:
            self._set_reader("armed", "reader.armed", id_masked=mask_id(hint.id_number))
        else:
            self._set_reader("idle", "reader.idle")
        self.hub.publish("result", result_view(desk))
        if self.on_recorded is not None and events:
            self.on_recorded(result)  # e.g. wake the syncer: the backend may be reachable right now
        return desk

    def _checked_in_before(self, id_number: str, check: BackendCheck) -> bool:
        session = check.details.get("session_id")
        today = self._clock().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        for earlier in self.store.results_for(id_number, since=today):
            if earlier.site_profile != "exam" or earlier.verdict not in (Verdict.VERIFIED, Verdict.WARNING):
                continue
            if any(c.kind == "roster" and c.status == "on_roster" and c.details.get("session_id") == session
                   for c in earlier.checks):
                return True
        return False

    @staticmethod
    def _id_problems(identity: Identity) -> list[str]:
        if not ID12.fullmatch(identity.id_number):
            return []
        try:
            found = id_consistency_problems(identity.id_number, date_of_birth=identity.date_of_birth,
                                            sex=identity.sex or None)
        except MrzFormatError:
            return ["reason.id_inconsistent"]
        # An unknown province code alone is not a reason to doubt a card: new codes appear.
        return ["reason.id_inconsistent"] if any("province" not in p for p in found) else []

    # --- what the API reads -----------------------------------------------------------------------

    def latest(self) -> DeskResult | None:
        with self._state_lock:
            if self._latest is not None:
                return self._latest
        last = self.store.list_results(1, 0)  # after a restart: the newest result kept in the store
        return self._desk_result(last[0]) if last else None

    def get(self, result_id: str) -> DeskResult | None:
        with self._state_lock:
            if self._latest is not None and self._latest.result_id == result_id:
                return self._latest
        result = self.store.get_result(result_id)
        return self._desk_result(result) if result is not None else None

    def history(self, *, page: int = 1, size: int = 20) -> tuple[list[DeskResult], int]:
        """One page of results, newest first, and how many there are in all; results purged by the
        retention period are left out of both. Only the page's results are decrypted."""
        if page < 1:
            raise InvalidInputError("must be 1 or more", field="page")
        if not 1 <= size <= MAX_HISTORY_PAGE:
            raise InvalidInputError(f"must be between 1 and {MAX_HISTORY_PAGE}", field="size")
        found = self.store.list_results(size, (page - 1) * size)
        return [self._desk_result(r) for r in found], self.store.count_results(include_purged=False)

    def _desk_result(self, result: VerificationResult) -> DeskResult:
        """A stored result as the desk shows it again: no next steps, the face while still in memory."""
        with self._state_lock:
            face = self._faces.get(result.result_id)
        badge = str(result.authenticity.get("badge", verdicts.BADGE_NOT_CHECKED))
        return DeskResult(result, (), badge, face)

    def receipt(self, result_id: str) -> dict[str, Any] | None:
        """The verification receipt of one result (the notary keeps it); its viewing is audited."""
        desk = self.get(result_id)
        if desk is None:
            return None
        from agent.service.views import receipt_view

        self._audit(audit_module.ACTION_RECEIPT_VIEWED, {"result_id": result_id})
        return receipt_view(desk.result, site_id=self.audit.site_id)

    def prefetch_roster(self) -> bool:
        """At an exam centre, keep the session's roster in the store so that check-in works offline
        from the start (best effort: False when no roster could be kept now)."""
        if self.profile != "exam":
            return False
        try:
            roster = self.entitlement.prefetch_roster(self.exam_session_id)
        except (BackendError, StoreError) as error:
            log.info("exam roster not downloaded now: %s", type(error).__name__)
            return False
        if roster is None:
            log.info("exam roster not downloaded now: no exam session known")
            return False
        log.info("exam roster %s kept for offline check-in (%d candidates)", roster.session_id, len(roster.entries))
        return True

    # --- the desk's state -------------------------------------------------------------------------

    def _set_reader(self, state: str, message_key: str, **extra: Any) -> None:
        data = {"state": state, "message_key": message_key, **extra}
        with self._state_lock:
            self.reader_state = data
        from agent.service.views import reader_view

        self.hub.publish("reader", reader_view(data))

    def _progress_callback(self) -> Callable[..., None]:
        last = [0.0]

        def progress(*args: Any, **kwargs: Any) -> None:
            # agent.chip reports (file name, bytes done, bytes total) per file; DG2 (the face) dominates.
            fraction = _fraction(args, kwargs)
            now = self._monotonic()
            if fraction is None or (now - last[0] < PROGRESS_EVERY_S and fraction < 1.0):
                return
            last[0] = now
            file = next((a for a in args if isinstance(a, str)), "")
            self._set_reader("reading", "reader.reading", fraction=round(fraction, 3), file=file)

        return progress

    def _audit(self, action: str, data: Mapping[str, Any]) -> None:
        self.audit.append(action, data)


# --- helpers -------------------------------------------------------------------------------------


def _fraction(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> float | None:
    """Progress as a fraction, from whichever of (fraction), (done, total) or keywords the reader uses."""
    values = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
    if "done" in kwargs and "total" in kwargs:
        values = [kwargs["done"], kwargs["total"]]
    elif "fraction" in kwargs:
        values = [kwargs["fraction"]]
    if len(values) >= 2 and values[-1]:
        return max(0.0, min(1.0, float(values[-2]) / float(values[-1])))
    if len(values) == 1 and 0 <= values[0] <= 1:
        return float(values[0])
    return None


def _mrz_from_qr(payload: CccdQr) -> MrzKey | None:
    try:
        return bac_key_from_qr(payload.id_number, payload.date_of_birth, payload.issue_date)
    except (MrzFormatError, ValueError):
        return None


def _day_or_none(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except InvalidInputError:
        return None


def parse_day(value: str) -> date:
    """A date typed as YYYY-MM-DD or DD/MM/YYYY (the Vietnamese way)."""
    text = value.strip()
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})", text)
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        pass
    raise InvalidInputError("expected a date as DD/MM/YYYY or YYYY-MM-DD", field="date_of_birth")


def _entered_fields(entered: Mapping[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in COMPARED_FIELDS:
        value = entered.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str | date):
            raise InvalidInputError("expected text", field=name)
        text = value.isoformat() if isinstance(value, date) else unicodedata.normalize("NFC", value.strip())
        if len(text) > 300:
            raise InvalidInputError("longer than 300 characters", field=name)
        if name == "date_of_birth":
            text = parse_day(text).isoformat()
        fields[name] = text
    return fields


def _normalised(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value or ""))
    return " ".join(text.replace(",", " , ").split()).casefold()


def _sex(value: str) -> str:
    lowered = value.strip().casefold()
    return {"m": "nam", "male": "nam", "f": "nữ", "female": "nữ", "nu": "nữ"}.get(lowered, lowered)


def compare_entered(entered: Mapping[str, str], identity: Identity) -> list[dict[str, Any]]:
    """Each typed field beside the chip's value: differences are flagged, the chip data is not changed."""
    rows = []
    for name, typed in entered.items():
        on_chip = getattr(identity, name, "")
        chip_text = on_chip.isoformat() if isinstance(on_chip, date) else str(on_chip or "")
        if name == "sex":
            same = _sex(typed) == _sex(chip_text)
        else:
            same = _normalised(typed) == _normalised(chip_text)
        rows.append({"field": name, "entered": typed, "chip": chip_text, "same": same})
    return rows


def _different_people(scanned: Identity, read: Identity) -> bool:
    if scanned.id_number and read.id_number and scanned.id_number != read.id_number:
        return True
    return bool(scanned.date_of_birth and read.date_of_birth and scanned.date_of_birth != read.date_of_birth)
