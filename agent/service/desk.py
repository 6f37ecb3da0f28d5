"""The verification service of one desk, as the reader loop, the local API and the command line see it:
the three ways in (a chip tap, the text of a QR code, a typed number), each turned into a
:class:`agent.service.pipeline.Submission` for the one pipeline, plus what the desk shows (reader
state, latest result, history) and the receipts it hands out.

Its parts: the key for the next tap (:mod:`.keys`), the pipeline (:mod:`.pipeline`), the desk's state
(:mod:`.state`) and the history (:mod:`.history`). A chip read that fails (card moved, wrong key) is
not a result: the desk is told what to do next, and the failure is audited. A forged or copied card is
a result: rejected, recorded, nothing sent to the backend. Nothing here talks to a device, a camera or
the network: the wiring (:mod:`agent.wiring`) hands in the chip reader, the backends and the store.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from agent import audit as audit_module
from agent.audit import AuditLog
from agent.bhyt_number import is_bhyt_number
from agent.errors import (
    AgentError,
    BackendError,
    IdentityDetailsMissingError,
    InvalidInputError,
    OperatorSignInError,
    QrFormatError,
    StoreError,
    UnknownQrCodeError,
)
from agent.icao.keys import MrzKey
from agent.id_number import can_from_id
from agent.models import CheckKind, Identity, Operator, SiteKind, Source, VerificationResult
from agent.ports import CardConnection, ChipKeys, ChipReader
from agent.privacy import mask_id
from agent.qr import wedge
from agent.qr.payload import BhytQr, CccdQr, QrKind, UnknownQr, VneidQr, classify, parse_payload
from agent.receipt import ReceiptKey, build_receipt
from agent.service import identity_check
from agent.service.entitlement import Entitlement
from agent.service.history import History
from agent.service.hub import Hub
from agent.service.keys import KEY_TTL_S, ORIGIN_MANUAL, ORIGIN_QR, AccessHint, KeyHints
from agent.service.lookahead import Lookahead
from agent.service.operators import SignIn
from agent.service.pipeline import Pipeline, Submission, new_result_id, utc_now
from agent.service.policy import SitePolicy
from agent.service.state import (
    PREVIEW_FACE,
    PREVIEW_IDENTITY,
    READER_ARMED,
    READER_ERROR,
    READER_IDLE,
    READER_NEEDS_KEY,
    READER_READING,
    DeskEvent,
    DeskResult,
    DeskState,
    Preview,
    ReaderState,
)
from agent.service.verdict import REASON_BHYT_NOT_IDENTITY, REASON_NAME_UNRELIABLE, REASON_QR_CHIP_MISMATCH
from sync.store import Store

log = logging.getLogger(__name__)

CMND9 = re.compile(r"^[0-9]{9}$")
MAX_TEXT = 4096
PROGRESS_EVERY_S = 0.1
VIA_KEYBOARD = "keyboard"  # a keyboard-wedge scanner typed it into the desk page


class DeskService:
    def __init__(
        self,
        *,
        store: Store,
        entitlement: Entitlement,
        policy: SitePolicy,
        audit: AuditLog,
        chip_reader: ChipReader | None = None,
        hub: Hub[DeskEvent] | None = None,
        receipt_key: ReceiptKey | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = new_result_id,
        key_ttl_s: float = KEY_TTL_S,
        on_recorded: Callable[[VerificationResult], None] | None = None,
        operators: Sequence[Operator] = (),
    ) -> None:
        self.store = store
        self.entitlement = entitlement
        self.policy = policy
        self.audit = audit
        self.hub: Hub[DeskEvent] = hub or Hub()
        self.chip_reader = chip_reader
        self.receipt_key = receipt_key
        self._clock = clock
        self._monotonic = monotonic
        self._new_id = new_id
        self.keys = KeyHints(ttl_s=key_ttl_s, monotonic=monotonic)
        self.sign_in = SignIn(operators, fallback=Operator(audit.operator), monotonic=monotonic)
        self.state = DeskState(self.hub, monotonic=monotonic)
        self._history = History(store, self.state)
        self.lookahead = Lookahead(policy, entitlement, clock=clock, monotonic=monotonic)
        self.pipeline = Pipeline(store=store, entitlement=entitlement, policy=policy, audit=audit, state=self.state,
                                 clock=clock, new_id=new_id, on_recorded=on_recorded, lookahead=self.lookahead)

    @property
    def profile(self) -> SiteKind:
        return self.policy.kind

    @property
    def reader_state(self) -> ReaderState:
        return self.state.reader

    # --- the key for the next tap -----------------------------------------------------------------

    def expect_card(self, id_number: str, *, mrz: MrzKey | None = None, origin: str = ORIGIN_MANUAL,
                    identity: Identity | None = None, entered: Mapping[str, str] | None = None) -> AccessHint:
        """Remember the key of the card about to be tapped (only a 12-digit ID number yields a CAN)."""
        if not identity_check.ID12.fullmatch(id_number):
            raise InvalidInputError("a chip opens with the 12-digit ID number", field="id_number")
        keys = ChipKeys(id_number=id_number, can=can_from_id(id_number), mrz=mrz)
        hint = self.keys.expect(keys, origin=origin, identity=identity, entered=entered)
        self._show_armed(hint)
        return hint

    def current_hint(self) -> AccessHint | None:
        return self.keys.current()

    # --- the three ways in ------------------------------------------------------------------------

    def verify_manual(self, id_number: str, entered: Mapping[str, Any] | None = None) -> DeskResult:
        """A number typed by the operator: the 12-digit ID, the 9-digit CMND of someone without a chip
        card, or the number on a BHYT card (15 characters, or the 10-digit social insurance number the 2021
        card prints) whose code will not scan. At a notary office the other typed fields are kept to compare
        with the chip on the next tap."""
        operator = self.sign_in.required()
        number = (id_number or "").strip().replace(" ", "")
        bhyt_card = is_bhyt_number(number.upper())
        if not (identity_check.ID12.fullmatch(number) or CMND9.fullmatch(number) or bhyt_card):
            raise InvalidInputError(
                f"expected 12 digits (ID number), 9 digits (old CMND) or a BHYT card number (15 characters, or "
                f"the 10-digit social insurance number), got {len(number)} characters", field="id_number")
        fields = identity_check.entered_fields(entered or {})
        typed = identity_check.entered_identity(number, fields)
        if bhyt_card:
            return self._verify_typed_bhyt(number.upper(), typed, operator)
        if identity_check.ID12.fullmatch(number):
            # Only the name, birth date and sex of a typed identity count before a chip is read; the
            # rest a notary typed waits for the chip, to be compared with it.
            identity = Identity(id_number=number, full_name=typed.full_name, date_of_birth=typed.date_of_birth,
                                sex=typed.sex, birth_year=typed.birth_year)
            self.expect_card(number, origin=ORIGIN_MANUAL, entered=fields)
            self.lookahead.start(identity, operator, fresh=True)  # the card tapped next takes the same answer
            try:
                return self._verify(Submission(identity, Source.MANUAL, operator,
                                               problems=identity_check.id_problems(identity)))
            except IdentityDetailsMissingError:
                # The lookup needs a name and a birth date that a number alone lacks (the BHXH gateway):
                # the operator is asked for them, and meanwhile the answer for who this card said it was
                # at an earlier visit is asked ahead for the card tapped next.
                earlier = self._earlier_chip_identity(number)
                if earlier is not None:
                    self.lookahead.start(earlier, operator)
                raise
        identity = Identity(id_number=number, old_id_number=number, full_name=typed.full_name,
                            date_of_birth=typed.date_of_birth, birth_year=typed.birth_year)
        return self._verify(Submission(identity, Source.MANUAL, operator, old_id_only=True))

    def _verify_typed_bhyt(self, card_number: str, typed: Identity, operator: Operator | None) -> DeskResult:
        """A BHYT card number typed from the card: as its QR code would be (:meth:`_verify_bhyt`), with the
        name and birth date the operator typed, which the gateway needs (asked for when missing)."""
        identity = Identity(id_number="", bhyt_card=card_number, full_name=typed.full_name,
                            date_of_birth=typed.date_of_birth, birth_year=typed.birth_year, sex=typed.sex)
        log.info("BHYT card number typed: card %s", mask_id(card_number))
        if self.policy.check_kind is not CheckKind.INSURANCE:
            return self._verify(Submission(identity, Source.MANUAL, operator, skip_entitlement=True,
                                           problems=(REASON_BHYT_NOT_IDENTITY,)))
        return self._verify(Submission(identity, Source.MANUAL, operator))

    def _earlier_chip_identity(self, id_number: str) -> Identity | None:
        """The identity this card's chip gave at the latest earlier visit whose checks did not fail, with a
        name; None if there is none (never seen, or its personal part purged). Only a lookup is started
        with it: at the tap the answer is taken only for the identity the chip then gives, so an earlier
        identity that no longer matches costs one lookup, never a wrong answer."""
        try:
            earlier = self.store.results.for_person(id_number)
        except StoreError as error:
            log.info("no earlier visit to look ahead from: %s", type(error).__name__)
            return None
        for result in reversed(earlier):
            evidence = result.evidence
            if result.source is Source.CHIP and evidence is not None and not evidence.failed \
                    and result.identity.id_number == id_number and result.identity.full_name:
                return result.identity
        return None

    def verify_qr_text(self, text: str, *, via: str = "api") -> DeskResult:
        """The text of a QR code (the card's printed code, a VNeID code or a BHYT card's code) from the
        webcam, a scanner or the site's software. What a keyboard-wedge scanner typed (``via="keyboard"``)
        and a serial frame that was not clean UTF-8 are first repaired (:mod:`agent.qr.wedge`); a name that
        could not be recovered is kept out of the verdict's trust ("tap the chip for the exact name")."""
        operator = self.sign_in.required()
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("the QR text is empty", field="text")
        if len(text) > MAX_TEXT:
            raise InvalidInputError(f"the QR text is longer than {MAX_TEXT} characters", field="text")
        name_exact = True
        if via == VIA_KEYBOARD or "\ufffd" in text:
            repaired = wedge.repair(text)
            text, name_exact = repaired.text, repaired.name_exact
            if repaired.repairs:
                log.info("QR code from the %s repaired: %s", via, ", ".join(repaired.repairs))
        try:
            payload = parse_payload(text, exact=name_exact)
        except QrFormatError as error:
            what = "BHYT card" if classify(text) is QrKind.BHYT else "CCCD"
            raise InvalidInputError(f"not a valid {what} QR code ({error.message})", field="text") from error
        if isinstance(payload, UnknownQr):
            raise UnknownQrCodeError("neither a CCCD, a VNeID nor a BHYT card QR code", field="text")
        problems: tuple[str, ...] = () if name_exact else (REASON_NAME_UNRELIABLE,)
        if isinstance(payload, BhytQr):
            return self._verify_bhyt(payload, operator, via=via, problems=problems)
        if isinstance(payload, VneidQr):
            # The VNeID code is an opaque token only its backend can check (docs/reference/qr.md
            # "VNeID"); no backend offers that here, so the desk says so rather than guessing.
            return self._verify(Submission(Identity(id_number=""), Source.VNEID, operator, skip_entitlement=True))
        assert isinstance(payload, CccdQr)
        identity = payload.to_identity()
        keys = identity_check.chip_keys_for(identity)
        self._show_armed(self.keys.expect(keys, origin=ORIGIN_QR, identity=identity))
        log.info("QR code read (%s): ID %s", via, mask_id(identity.id_number))
        self.lookahead.start(identity, operator, fresh=True)  # the card tapped next takes the same answer
        return self._verify(Submission(identity, Source.QR, operator,
                                       problems=problems + identity_check.id_problems(identity)))

    def _verify_bhyt(self, payload: BhytQr, operator: Operator | None, *, via: str,
                     problems: tuple[str, ...]) -> DeskResult:
        """A BHYT card's code: the patient brought no CCCD. A clinic looks the card up by its number (the
        gateway's ``maThe``) with the name and birth date it carries; it opens no chip and proves no
        identity, so elsewhere it is "cannot check: tap the chip card"."""
        identity = payload.to_identity()
        log.info("BHYT card QR code read (%s): card %s", via, mask_id(payload.card_number))
        if self.policy.check_kind is not CheckKind.INSURANCE:
            return self._verify(Submission(identity, Source.BHYT_QR, operator, skip_entitlement=True,
                                           problems=(REASON_BHYT_NOT_IDENTITY, *problems)))
        return self._verify(Submission(identity, Source.BHYT_QR, operator, problems=problems))

    def verify_chip(self, connection: CardConnection, *, reader: str = "",
                    cancel: threading.Event | None = None) -> DeskResult | None:
        """Read the card on ``connection`` with the key of the last QR / typed number and verify it.
        Returns None when there is no key or the read failed (the desk has been told what to do);
        OperatorRequiredError before anything is read when nobody is signed in."""
        operator = self.sign_in.required()
        hint = self.keys.current()
        if hint is None:
            self.state.set_reader(ReaderState(READER_NEEDS_KEY, "reader.needs_key", next_key="next.enter_id"))
            self.audit.append(audit_module.ACTION_READ_FAILED, {"reader": reader, "error": "no_access_key"})
            return None
        if self.chip_reader is None:
            raise AgentError("no chip reader is configured")
        transaction_id = self._new_id()
        self.state.set_reader(ReaderState(READER_READING, "reader.reading", fraction=0.0))
        early: list[Identity] = []

        def identity_known(identity: Identity) -> None:
            # DG13 is in: the lookup starts now, while the face and the checks are still to come.
            early.append(identity)
            self.lookahead.start(identity, operator)
            self.state.preview(Preview(transaction_id, identity, PREVIEW_IDENTITY))

        def face_known(face: bytes) -> None:
            if early:
                self.state.preview(Preview(transaction_id, early[0], PREVIEW_FACE, face))

        try:
            chip = self.chip_reader.read(connection, hint.keys, transaction_id=transaction_id,
                                         progress=self._progress(), cancel=cancel.is_set if cancel else None,
                                         on_identity=identity_known, on_face=face_known)
        except AgentError as error:
            self.report_read_error(error, reader=reader)
            return None
        self.keys.used(hint)
        problems = identity_check.id_problems(chip.identity)
        if hint.identity is not None and identity_check.different_people(hint.identity, chip.identity):
            problems = (REASON_QR_CHIP_MISMATCH, *problems)
        return self._verify(Submission(
            chip.identity, Source.CHIP, operator, evidence=chip.evidence, chip_receipt=chip.receipt, problems=problems,
            entered=hint.entered, face=chip.face_image, stats=chip.stats, result_id=transaction_id))

    def report_read_error(self, error: AgentError, *, reader: str = "") -> None:
        """A tap that gave no result: tell the desk what to do, keep a trace without personal data."""
        log.info("card read failed on %r: %s: %s", reader, type(error).__name__, error.message)
        self.state.set_reader(ReaderState(READER_ERROR, error.message_key, error=type(error).__name__,
                                          retryable=error.retryable))
        self.audit.append(audit_module.ACTION_READ_FAILED,
                          {"reader": reader, "error": type(error).__name__, "message_key": error.message_key})

    def _verify(self, submission: Submission) -> DeskResult:
        desk = self.pipeline.verify(submission)
        hint = self.keys.current()
        if hint is not None:
            self._show_armed(hint)
        else:
            self.state.set_reader(ReaderState(READER_IDLE, "reader.idle"))
        return desk

    # --- who is at the desk -----------------------------------------------------------------------

    def sign_in_operator(self, number: int, pin: str = "") -> Operator:
        """Operator ``number`` (as listed) signs in, with their PIN if they have one; both outcomes audited."""
        try:
            operator = self.sign_in.sign_in(number, pin)
        except OperatorSignInError as error:
            self.audit.append(audit_module.ACTION_SIGN_IN_FAILED, {"number": number, "problem": error.message})
            raise
        self.audit.append(audit_module.ACTION_SIGNED_IN, {"number": number}, operator=operator.name)
        return operator

    def sign_out_operator(self) -> None:
        operator = self.sign_in.current
        self.sign_in.sign_out()
        if operator is not None and self.sign_in.listed and not self.sign_in.automatic:
            self.audit.append(audit_module.ACTION_SIGNED_OUT, {}, operator=operator.name)

    # --- what the API reads -----------------------------------------------------------------------

    def latest(self) -> DeskResult | None:
        return self._history.latest()

    def get(self, result_id: str) -> DeskResult | None:
        return self._history.get(result_id)

    def history(self, *, page: int = 1, size: int = 20) -> tuple[list[DeskResult], int]:
        return self._history.page(page=page, size=size)

    def checkins(self, *, page: int = 1, size: int = 50) -> tuple[list[dict[str, Any]], int]:
        """The check-ins (or records) of one page of results, newest first, as their events carry them,
        and how many results there are: the way a site's HIS reads them when no webhook is configured.
        A result with no backend check (a forged card, a VNeID token, an old CMND) has none."""
        found, total = self._history.page(page=page, size=size)
        payloads = (self.policy.payload(desk.result, site_id=self.audit.site_id) for desk in found)
        return [p for p in payloads if p is not None], total

    def receipt(self, result_id: str) -> dict[str, Any] | None:
        """The signed verification receipt of one result (the notary keeps it); its viewing is audited."""
        desk = self.get(result_id)
        if desk is None:
            return None
        if self.receipt_key is None:
            raise AgentError("no receipt key is configured")
        self.audit.append(audit_module.ACTION_RECEIPT_VIEWED, {"result_id": result_id})
        return build_receipt(site_id=self.audit.site_id, issued_at=desk.result.created_at, key=self.receipt_key,
                             result=desk.result, chip=desk.result.chip_receipt)

    def prefetch_roster(self) -> bool:
        """At a desk whose policy keeps a roster ahead, keep the session's roster in the store so that
        check-in works offline from the start (best effort: False when no roster could be kept now)."""
        if not self.policy.prefetches_roster:
            return False
        try:
            roster = self.entitlement.prefetch_roster(self.policy.exam_session_id)
        except (BackendError, StoreError) as error:
            log.info("exam roster not downloaded now: %s", type(error).__name__)
            return False
        if roster is None:
            log.info("exam roster not downloaded now: no exam session known")
            return False
        log.info("exam roster %s kept for offline check-in (%d candidates)", roster.session_id, len(roster.entries))
        return True

    # --- the desk's state -------------------------------------------------------------------------

    def _show_armed(self, hint: AccessHint) -> None:
        self.state.set_reader(ReaderState(READER_ARMED, "reader.armed", id_masked=mask_id(hint.id_number)))

    def _progress(self) -> Callable[[str, int, int], None]:
        last = [0.0]

        def progress(file: str, done: int, total: int) -> None:
            # Reported per chunk of every file; DG2 (the face) dominates a read.
            if total <= 0:
                return
            fraction = max(0.0, min(1.0, done / total))
            now = self._monotonic()
            if now - last[0] < PROGRESS_EVERY_S and fraction < 1.0:
                return
            last[0] = now
            self.state.set_reader(ReaderState(READER_READING, "reader.reading", fraction=round(fraction, 3), file=file))

        return progress
