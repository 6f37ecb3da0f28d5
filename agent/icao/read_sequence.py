"""The whole read of a CCCD chip (ICAO Doc 9303-11 §4 access control, §6.2 Chip Authentication,
§6.1 Active Authentication, §5.1 passive authentication; Doc 9303-10 for the files): open a secure
channel, read EF.COM and EF.SOD, then every data group the SOD lists that may be read (never DG3 or
DG4, which need Extended Access Control), run Chip Authentication with the DG14 key, Active
Authentication with the DG15 key, and passive authentication against the trust store.

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

from agent.errors import ApduError, AuthenticationFailedError, SecureMessagingError
from agent.icao import access
from agent.icao.active_auth import ActiveAuthResult, perform_active_authentication
from agent.icao.chip_auth import perform_chip_authentication
from agent.icao.crypto import CipherSuite
from agent.icao.files import CancelCheck, ReadLimits, fid_of_dg, read_ef
from agent.icao.keys import CanKey, MrzKey
from agent.icao.lds.document import FID_COM, FID_SOD, FILE_COM, FILE_SOD, ChipDocument, ReadStep
from agent.icao.passive_auth import PassiveAuthResult, passive_authentication
from agent.icao.secure_messaging import SecureChannel, SecureMessaging
from agent.icao.transport import Send
from agent.icao.trust import TrustStore
from agent.models import Outcome, Status

# DG3 (fingerprints) and DG4 (iris) answer 6982 without Extended Access Control: never ask.
EAC_PROTECTED_GROUPS = frozenset({3, 4})
# What a CCCD holds (reference/CCCD.md), used when neither EF.SOD nor EF.COM says what to read.
CCCD_DATA_GROUPS = (1, 2, 13, 14, 15)

FileProgress = Callable[[str, int, int], None]


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
    chip_authentication: bool = True,
    active_authentication: bool = True,
) -> ChipReading:
    """Read and check a CCCD over ``send`` (the plain processor chain of a freshly reset card)."""
    limits = limits if limits is not None else ReadLimits()
    document = ChipDocument()

    def step(name: str, started: float, *, sw: int | None = None, length: int = 0, note: str = "") -> None:
        document.log(ReadStep(name, sw, length, (clock() - started) * 1000.0, note))

    started = clock()
    opened = access.open_secure_channel(send, can=can, mrz=mrz, order=order, rng=rng, clock=clock, limits=limits)
    step(f"access control ({opened.method})", started, note="; ".join(str(a) for a in opened.attempts))
    if opened.card_access is not None:
        document.add_file("EF.CardAccess", opened.card_access)
    secure: Send = opened.send
    suite: CipherSuite = opened.channel.suite
    skipped: dict[str, str] = {}

    def read_file(fid: int, name: str) -> bytes | None:
        began = clock()
        try:
            data = read_ef(
                secure,
                fid,
                limits=limits,
                suite=suite,
                cancel=cancel,
                progress=(lambda done, total: progress(name, done, total)) if progress else None,
            )
        except ApduError as exc:  # 6982, 6A82 and other refusals of one file: note it and go on
            skipped[name] = f"SW {exc.sw:04X}"
            step(f"read {name}", began, sw=exc.sw, note=type(exc).__name__)
            return None
        step(f"read {name}", began, sw=0x9000, length=len(data))
        problem = document.add_file(name, data)
        if problem is not None:
            document.steps[-1] = dataclasses.replace(document.steps[-1], note=f"malformed: {problem.message}")
        return data

    read_file(FID_COM, FILE_COM)
    read_file(FID_SOD, FILE_SOD)
    for number in _groups_to_read(document):
        read_file(fid_of_dg(number), f"DG{number}")

    chip_auth = ChipAuthOutcome(Outcome.not_supported("no DG14 Chip Authentication key"))
    if chip_authentication and document.dg14 is not None and document.dg14.chip_authentication_keys:
        began = clock()
        chip_auth, new_channel = _chip_authentication(send, secure, document, limits, rng)
        step("chip authentication", began, note=str(chip_auth.outcome.status))
        if new_channel is not None:
            secure, suite = SecureChannel(send, new_channel), new_channel.suite
        elif chip_auth.outcome.status is Status.FAILED:
            # The failed key switch broke the channel: open it again so that AA can still run.
            began = clock()
            reopened = access.open_secure_channel(
                send, can=can, mrz=mrz, order=(opened.method,), rng=rng, clock=clock, limits=limits
            )
            secure, suite = reopened.send, reopened.channel.suite
            step(f"access control again ({reopened.method})", began)
    elif "DG14" in document.problems:
        chip_auth = ChipAuthOutcome(Outcome.failed(f"DG14 is malformed: {document.problems['DG14'].message}"))

    active: ActiveAuthResult | None = None
    if active_authentication and document.dg15 is not None:
        began = clock()
        algorithm = document.dg14.active_authentication[0].signature_algorithm_oid if (
            document.dg14 is not None and document.dg14.active_authentication
        ) else None
        active = perform_active_authentication(
            secure, document.dg15.public_key_der, aa_challenge, signature_algorithm_oid=algorithm
        )
        step("active authentication", began, note=str(active.outcome.status))
    elif active_authentication and "DG15" in document.problems:
        active = ActiveAuthResult(Outcome.failed("DG15 is malformed"), aa_challenge, b"")

    began = clock()
    passive, passive_outcome = _passive(document, trust, at)
    step("passive authentication", began, note=str(passive_outcome.status))
    return ChipReading(
        document=document,
        access_method=opened.method,
        access_attempts=tuple(str(a) for a in opened.attempts),
        chip_auth=chip_auth,
        active_auth=active,
        passive=passive,
        passive_outcome=passive_outcome,
        skipped=skipped,
    )


def _groups_to_read(document: ChipDocument) -> list[int]:
    if document.sod is not None:
        listed = list(document.sod.data_groups)
    elif document.com is not None:
        listed = list(document.com.data_groups)
    else:
        listed = list(CCCD_DATA_GROUPS)
    return [number for number in sorted(set(listed)) if number not in EAC_PROTECTED_GROUPS]


def _chip_authentication(
    plain: Send, secure: Send, document: ChipDocument, limits: ReadLimits, rng: Callable[[int], bytes]
) -> tuple[ChipAuthOutcome, SecureMessaging | None]:
    """Run CA over the current channel ``secure`` and prove the new keys by reading EF.COM again
    through a new channel over the plain chain ``plain``."""
    assert document.dg14 is not None
    infos = document.dg14
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
    channel = SecureMessaging(result.suite, result.k_enc, result.k_mac, 0)
    proof = SecureChannel(plain, channel)
    try:
        again = read_ef(proof, FID_COM, limits=limits, suite=result.suite)
    except (SecureMessagingError, ApduError) as exc:
        reason = "the chip could not continue with the Chip Authentication keys: it does not hold the DG14 key"
        return ChipAuthOutcome(Outcome.failed(f"{reason} ({type(exc).__name__})"), protocol), None
    if document.files.get(FILE_COM) not in (None, again):
        return ChipAuthOutcome(Outcome.failed("EF.COM read after Chip Authentication differs"), protocol), None
    return ChipAuthOutcome(Outcome.ok(), protocol), channel


def _passive(document: ChipDocument, trust: TrustStore, at: datetime) -> tuple[PassiveAuthResult | None, Outcome]:
    if document.sod is None:
        if FILE_SOD in document.problems:
            return None, Outcome.failed(f"EF.SOD is malformed: {document.problems[FILE_SOD].message}")
        return None, Outcome.failed("EF.SOD could not be read")
    result = passive_authentication(document.sod, document.data_groups, trust, at=at)
    return result, result.overall
