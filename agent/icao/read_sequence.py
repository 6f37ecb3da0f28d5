"""The whole read of a CCCD chip (ICAO Doc 9303-11 §4 access control, §6.2 Chip Authentication,
§6.1 Active Authentication, §5.1 passive authentication; Doc 9303-10 for the files): open a secure
channel, read EF.COM and EF.SOD, then every data group the SOD lists that may be read (never DG3 or
DG4, which need Extended Access Control), run Chip Authentication with the DG14 key, Active
Authentication with the DG15 key, and passive authentication against the trust store.

DG13 (who the holder is) is read right after EF.COM, before EF.SOD and Chip Authentication, and DG1
before the face (DG2, the bulk of a read); ``on_file`` is told of each file as soon as it is in, so that
a desk can start the entitlement lookup and show who it is while the face and the checks are still to
come (nothing read is trusted before passive authentication: the verdict still waits for it).

Before access control the card's EF.ATR/INFO is read (ISO/IEC 7816-4 §12.7.1: how large a command and
a response may be, whether it takes short EF identifiers), and every file is then read in chunks of that
size, by its short EF identifier where card and reader take it (agent.icao.files).

A transfer that the reader or the PC/SC stack fails under secure messaging
(:class:`agent.errors.TransferError`: a receive buffer too small, a reader error mid-response) leaves
nobody knowing whether the chip counted the command, so the send sequence counter is no longer trusted:
the session is opened again with the access method that worked (and Chip Authentication run again when
its keys were in use), and the file is read on from where it stopped, in the smaller chunks the reader's
:class:`~agent.icao.files.ReadLimits` now allows. A command is never repeated under a guessed counter;
at most :data:`MAX_TRANSFER_RECOVERIES` sessions are opened again per read.

Pure: randomness (``rng``), the monotonic clock (``clock``) and the reading time (``at``) are
parameters. Card refusals of single files are recorded and the read goes on; a card removed or a
broken secure channel ends the read with its typed error, so that no partial result can ever look
verified.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from agent.errors import ApduError, AuthenticationFailedError, DocumentError, SecureMessagingError, TransferError
from agent.icao import access
from agent.icao.active_auth import ActiveAuthResult, perform_active_authentication
from agent.icao.chip_auth import perform_chip_authentication
from agent.icao.crypto import CipherSuite
from agent.icao.files import (
    FILE_EF_ATR_INFO,
    UNKNOWN_CARD,
    CancelCheck,
    CardInfo,
    ReadLimits,
    read_card_info,
    read_ef,
)
from agent.icao.keys import CanKey, MrzKey
from agent.icao.lds.document import ChipDocument, ReadStep
from agent.icao.lds_registry import (
    DG1,
    DG2,
    DG3,
    DG4,
    DG13,
    DG14,
    DG15,
    EF_CARD_ACCESS,
    EF_COM,
    EF_SOD,
    LdsFile,
    data_group,
)
from agent.icao.passive_auth import PassiveAuthResult, passive_authentication
from agent.icao.secure_messaging import SecureChannel, SecureMessaging
from agent.icao.security_infos import SecurityInfos
from agent.icao.transport import Send
from agent.icao.trust import TrustStore
from agent.models import Outcome, Status

# DG3 (fingerprints) and DG4 (iris) answer 6982 without Extended Access Control: never ask.
EAC_PROTECTED_GROUPS = frozenset({DG3, DG4})
# What a CCCD holds (docs/reference/card.md "Files"), used when neither EF.SOD nor EF.COM says what to read.
CCCD_DATA_GROUPS = (DG1, DG2, DG13, DG14, DG15)
# A card that cannot check a command's MAC answers these in plain (Doc 9303-11 §9.8.6.2).
SM_FAILURE_SWS = frozenset({0x6987, 0x6988})

# Sessions opened again after failed transfers, per read: enough to step a reader's limit down from 2 KB
# responses to short ones; a link that keeps failing after that is not a question of sizes.
MAX_TRANSFER_RECOVERIES = 3

# Read first: who the holder is, so that the desk's lookup can start while the face is still coming.
IDENTITY_GROUPS = (DG1, DG13)

FileProgress = Callable[[str, int, int], None]
FileRead = Callable[[str, ChipDocument], None]
"""``on_file(name, document)``: the file ``name`` is in ``document`` (read and parsed, not yet checked)."""


@dataclasses.dataclass(frozen=True)
class ChipAuthOutcome:
    """Chip Authentication's outcome and, when it ran, the protocol used (for the evidence)."""

    outcome: Outcome
    protocol_oid: str = ""


@dataclasses.dataclass
class ChipReading:
    """Everything one read produced: the document (raw files, parsed views, step log), how the chip
    was opened, and the three authenticity checks."""

    document: ChipDocument
    access_method: str
    access_attempts: tuple[str, ...]
    chip_auth: ChipAuthOutcome
    active_auth: ActiveAuthResult | None
    passive: PassiveAuthResult | None
    passive_outcome: Outcome
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def chip_outcome(self) -> Outcome:
        """Anti-cloning, from CA and AA together: any failure fails; any success is ok; else not
        supported (a card with neither DG14 nor DG15)."""
        outcomes = [self.chip_auth.outcome]
        if self.active_auth is not None:
            outcomes.append(self.active_auth.outcome)
        failed = [o.reason for o in outcomes if o.status is Status.FAILED]
        if failed:
            return Outcome.failed("; ".join(failed))
        if any(o.status is Status.OK for o in outcomes):
            return Outcome.ok()
        unknown = [o.reason for o in outcomes if o.status is Status.UNKNOWN]
        if unknown:
            return Outcome.unknown("; ".join(unknown))
        return Outcome.not_supported("the chip offers neither Chip nor Active Authentication")

    def evidence(self) -> dict[str, Any]:
        """The non-personal part of a receipt: outcomes, algorithms, the AA challenge/signature."""
        return {
            "access_method": self.access_method,
            "access_attempts": list(self.access_attempts),
            "chip_authentication": {
                "status": str(self.chip_auth.outcome.status),
                "reason": self.chip_auth.outcome.reason,
                "protocol": self.chip_auth.protocol_oid,
            },
            "active_authentication": None
            if self.active_auth is None
            else {
                "status": str(self.active_auth.outcome.status),
                "reason": self.active_auth.outcome.reason,
                "challenge": self.active_auth.challenge.hex(),
                "signature": self.active_auth.signature.hex(),
            },
            "passive_authentication": self.passive.to_json()
            if self.passive
            else {"overall": {"status": str(self.passive_outcome.status), "reason": self.passive_outcome.reason}},
            "skipped": dict(self.skipped),
        }


def read_document(
    send: Send,
    *,
    can: CanKey | None = None,
    mrz: MrzKey | None = None,
    trust: TrustStore,
    at: datetime,
    aa_challenge: bytes,
    order: Sequence[str] = access.DEFAULT_ORDER,
    limits: ReadLimits | None = None,
    rng: Callable[[int], bytes] = os.urandom,
    clock: Callable[[], float] = time.perf_counter,
    progress: FileProgress | None = None,
    cancel: CancelCheck | None = None,
    on_file: FileRead | None = None,
    chip_authentication: bool = True,
    active_authentication: bool = True,
) -> ChipReading:
    """Read and check a CCCD over ``send`` (the plain processor chain of a freshly reset card).

    Order: access control, EF.COM, DG13 (when EF.COM lists it), EF.SOD, DG14, Chip Authentication (the
    next file read through the new keys proves them), the other data groups (DG1 first), Active
    Authentication, passive authentication.
    """
    limits = limits if limits is not None else ReadLimits()
    began = clock()
    # Without any key nothing is sent: access control says so before a single APDU.
    card, card_note = _card_info(send, limits) if (can is not None or mrz is not None) else (UNKNOWN_CARD, "")
    card_step = ReadStep(f"read {FILE_EF_ATR_INFO}", None, 0, (clock() - began) * 1000.0, card_note)
    started = clock()
    opened = access.open_secure_channel(send, can=can, mrz=mrz, order=order, rng=rng, clock=clock, limits=limits,
                                        card=card)  # fmt: skip
    session = _Session(send, opened.send, opened.channel.suite, limits, clock, progress, cancel, on_file, card=card)
    session.document.log(card_step)
    session.step(f"access control ({opened.method})", started, note="; ".join(str(a) for a in opened.attempts))
    document = session.document
    if opened.card_access is not None:
        document.add_file(EF_CARD_ACCESS.name, opened.card_access)

    def reopen(reason: str = "") -> None:
        """Open the channel again with the method that worked: after a failed key switch broke it, or a
        failed transfer left its counter unknown (then Chip Authentication runs again if its keys were
        in use, so that the rest of the read stays under them)."""
        began = clock()
        again = access.open_secure_channel(send, can=can, mrz=mrz, order=(opened.method,), rng=rng, clock=clock,
                                           limits=limits, card=card)  # fmt: skip
        session.use(again.send, again.channel.suite)
        session.step(f"access control again ({again.method})", began, note=reason)
        if session.chip_auth_keys and document.dg14 is not None:
            began = clock()
            outcome, channel = _chip_authentication(session.secure, document.dg14, rng)
            if channel is None:
                session.chip_auth_keys = False
                session.chip_auth_again = outcome.outcome
            else:
                session.use(SecureChannel(send, channel), channel.suite)
            session.step("chip authentication again", began, note=str(outcome.outcome.status))

    session.reopen = reopen

    session.read_file(EF_COM)
    # Who the holder is, first of all (EF.COM says whether the card has DG13): the desk's lookup can start
    # while EF.SOD, Chip Authentication and the face are still to come. Passive authentication checks it
    # against EF.SOD like every group; a DG13 the SOD does not list is forgotten, as if never read.
    early = DG13 if document.com is not None and DG13.number in document.com.data_groups else None
    if early is not None:
        session.read_file(early)
    session.read_file(EF_SOD)
    groups = _groups_to_read(document)
    if early is not None and document.sod is not None and early not in groups:
        document.remove_file(early.name)
    if DG14 in groups:
        groups.remove(DG14)
        session.read_file(DG14)

    chip_auth = ChipAuthOutcome(Outcome.not_supported("no DG14 Chip Authentication key"))
    if chip_authentication and document.dg14 is not None and document.dg14.chip_authentication_keys:
        began = clock()
        chip_auth, new_channel = _chip_authentication(session.secure, document.dg14, rng)
        if new_channel is not None:
            chip_auth = _prove_new_keys(session, new_channel, groups, chip_auth)
        session.step("chip authentication", began, note=str(chip_auth.outcome.status))
        if chip_auth.outcome.status is Status.FAILED:
            session.chip_auth_keys = False
            reopen("the Chip Authentication keys broke the channel")
    elif DG14.name in document.problems:
        chip_auth = ChipAuthOutcome(Outcome.failed(f"DG14 is malformed: {document.problems[DG14.name].message}"))

    for group in groups:
        if group.name not in document.files and group.name not in session.skipped:  # the CA proof may have read it
            session.read_file(group)

    active: ActiveAuthResult | None = None
    if active_authentication and document.dg15 is not None:
        began = clock()
        algorithm = document.dg14.active_authentication[0].signature_algorithm_oid if (
            document.dg14 is not None and document.dg14.active_authentication
        ) else None
        active = perform_active_authentication(
            session.secure, document.dg15.public_key_der, aa_challenge, signature_algorithm_oid=algorithm
        )
        session.step("active authentication", began, note=str(active.outcome.status))
    elif active_authentication and DG15.name in document.problems:
        active = ActiveAuthResult(Outcome.failed("DG15 is malformed"), aa_challenge, b"")

    if session.chip_auth_again is not None and not session.chip_auth_again.is_ok:
        # Chip Authentication proved once, then refused when the session had to be opened again
        chip_auth = ChipAuthOutcome(
            Outcome.failed(f"Chip Authentication failed when run again: {session.chip_auth_again.reason}"),
            chip_auth.protocol_oid,
        )
    began = clock()
    passive, passive_outcome = _passive(document, trust, at)
    session.step("passive authentication", began, note=str(passive_outcome.status))
    return ChipReading(
        document=document,
        access_method=opened.method,
        access_attempts=tuple(str(a) for a in opened.attempts),
        chip_auth=chip_auth,
        active_auth=active,
        passive=passive,
        passive_outcome=passive_outcome,
        skipped=session.skipped,
    )


class _ProofFailedError(Exception):
    """The first read through the Chip Authentication keys was not answered under those keys."""


class _Session:
    """The state of one read: the current secure channel, the document being filled, the log."""

    def __init__(
        self,
        plain: Send,
        secure: Send,
        suite: CipherSuite,
        limits: ReadLimits,
        clock: Callable[[], float],
        progress: FileProgress | None,
        cancel: CancelCheck | None,
        on_file: FileRead | None = None,
        *,
        card: CardInfo = UNKNOWN_CARD,
    ) -> None:
        self.plain = plain
        self.secure = secure
        self.suite = suite
        self.limits = limits
        self.clock = clock
        self.progress = progress
        self.cancel = cancel
        self.on_file = on_file
        self.card = card
        self.document = ChipDocument()
        self.skipped: dict[str, str] = {}
        self.reopen: Callable[[str], None] | None = None
        self.recoveries = 0
        self.chip_auth_keys = False  # whether the channel runs under Chip Authentication keys
        self.chip_auth_again: Outcome | None = None  # Chip Authentication refused when run again

    def use(self, secure: Send, suite: CipherSuite) -> None:
        self.secure, self.suite = secure, suite

    def step(self, name: str, started: float, *, sw: int | None = None, length: int = 0, note: str = "") -> None:
        self.document.log(ReadStep(name, sw, length, (self.clock() - started) * 1000.0, note))

    def read_file(self, file: LdsFile, *, proof: bool = False) -> bytes | None:
        """Read one file through the current channel and keep it. A refusal of this one file is
        noted and the read goes on; with ``proof``, an answer not protected under the current keys
        raises _ProofFailedError instead."""
        began = self.clock()
        name = file.name
        try:
            data = self._read_recovering(file)
        except SecureMessagingError:
            if proof:
                raise _ProofFailedError from None
            raise
        except ApduError as exc:  # 6982, 6A82 and other refusals of one file: note it and go on
            if proof and exc.sw in SM_FAILURE_SWS:
                raise _ProofFailedError from None
            self.skipped[name] = f"SW {exc.sw:04X}"
            self.step(f"read {name}", began, sw=exc.sw, note=type(exc).__name__)
            return None
        self.step(f"read {name}", began, sw=0x9000, length=len(data))
        problem = self.document.add_file(name, data)
        if problem is not None:
            self.document.steps[-1] = dataclasses.replace(self.document.steps[-1], note=f"malformed: {problem.message}")
        elif self.on_file is not None:
            self.on_file(name, self.document)
        return data


    def _read_recovering(self, file: LdsFile) -> bytes:
        """Read ``file``; after a failed transfer, open the session again and read on from where the
        file stopped (agent.icao.files lowered the reader's limit), at most MAX_TRANSFER_RECOVERIES
        times per read."""
        name = file.name
        progress = self.progress
        sink = bytearray()
        while True:
            done = bytes(sink)
            try:
                return read_ef(
                    self.secure,
                    file.fid,
                    limits=self.limits,
                    suite=self.suite,
                    cancel=self.cancel,
                    progress=(lambda got, total: progress(name, got, total)) if progress else None,
                    sfi=file.sfi,
                    card=self.card,
                    resume=done,
                    sink=sink,
                )
            except TransferError as exc:
                if self.reopen is None or self.recoveries >= MAX_TRANSFER_RECOVERIES:
                    raise
                self.recoveries += 1
                limit = self.limits.max_response
                self.reopen(f"a transfer failed while reading {name} at byte {len(sink)} ({exc.message}); "
                            f"responses now at most {limit} bytes")  # fmt: skip


def _card_info(send: Send, limits: ReadLimits) -> tuple[CardInfo, str]:
    """EF.ATR/INFO and a note for the step log; a malformed file is noted and the read goes on with
    what the card did not say (the limits are then found by stepping down, as on a card without it)."""
    try:
        card, raw = read_card_info(send, limits=limits)
    except DocumentError as exc:
        return UNKNOWN_CARD, f"malformed: {exc.message}"
    if raw is None:
        return card, "absent"
    return card, card.describe()


def _groups_to_read(document: ChipDocument) -> list[LdsFile]:
    """The data groups to read, the identity groups first, then in number order: those EF.SOD lists,
    else those EF.COM lists."""
    if document.sod is not None:
        listed = {data_group(number) for number in document.sod.data_groups}
    elif document.com is not None:
        listed = {data_group(number) for number in document.com.data_groups}
    else:
        listed = set(CCCD_DATA_GROUPS)
    return sorted(listed - EAC_PROTECTED_GROUPS, key=lambda group: (group not in IDENTITY_GROUPS, group.fid))


def _chip_authentication(
    secure: Send, infos: SecurityInfos, rng: Callable[[int], bytes]
) -> tuple[ChipAuthOutcome, SecureMessaging | None]:
    """Run CA over the current channel; the new channel's keys are proven by the next read."""
    key = infos.chip_authentication_keys[0]
    protocol = next(
        (info.protocol_oid for info in infos.chip_authentication if info.key_id in (None, key.key_id)),
        None,
    )
    if protocol is None:
        return ChipAuthOutcome(Outcome.unknown("DG14 names no Chip Authentication protocol")), None
    try:
        result = perform_chip_authentication(secure, protocol, key.domain, key.public_key, key_id=key.key_id, rng=rng)
    except ValueError as exc:
        return ChipAuthOutcome(Outcome.unknown(f"unsupported Chip Authentication: {exc}"), protocol), None
    except AuthenticationFailedError as exc:
        return ChipAuthOutcome(Outcome.failed(f"the chip refused Chip Authentication: {exc.message}"), protocol), None
    return ChipAuthOutcome(Outcome.ok(), protocol), SecureMessaging(result.suite, result.k_enc, result.k_mac, 0)


def _prove_new_keys(
    session: _Session, channel: SecureMessaging, groups: list[LdsFile], started: ChipAuthOutcome
) -> ChipAuthOutcome:
    """Switch to the Chip Authentication keys; the first file read through them (the next data group
    due, else EF.COM again) is answered under those keys only by a chip that holds the DG14 key."""
    previous = (session.secure, session.suite)
    session.use(SecureChannel(session.plain, channel), channel.suite)
    session.chip_auth_keys = True
    for file in [*groups, EF_COM]:
        expected = session.document.files.get(file.name) if file is EF_COM else None
        try:
            data = session.read_file(file, proof=True)
        except _ProofFailedError:
            session.chip_auth_keys = False
            session.use(*previous)
            reason = "the chip could not continue with the Chip Authentication keys: it does not hold the DG14 key"
            return ChipAuthOutcome(Outcome.failed(reason), started.protocol_oid)
        if data is None:
            continue  # a refusal in plain words proves nothing: try the next file
        if expected is not None and data != expected:
            differs = Outcome.failed("EF.COM read after Chip Authentication differs")
            return ChipAuthOutcome(differs, started.protocol_oid)
        return started
    return ChipAuthOutcome(Outcome.unknown("no file could be read to prove the Chip Authentication keys"),
                           started.protocol_oid)  # fmt: skip


def _passive(document: ChipDocument, trust: TrustStore, at: datetime) -> tuple[PassiveAuthResult | None, Outcome]:
    if document.sod is None:
        if EF_SOD.name in document.problems:
            return None, Outcome.failed(f"EF.SOD is malformed: {document.problems[EF_SOD.name].message}")
        return None, Outcome.failed("EF.SOD could not be read")
    result = passive_authentication(document.sod, document.data_groups, trust, at=at)
    return result, result.overall
