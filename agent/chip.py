"""Reading a CCCD chip for the desk: runs the pure read sequence (agent.icao.read_sequence) over a
transport, counts what crossed the link, and turns the reading into what the operator, the API and
the store need (:class:`agent.ports.ChipRead`): the identity (DG13 with its Vietnamese diacritics, else
the MRZ), the typed evidence with plain reasons, a displayable face, statistics and the chip receipt.

:func:`read_chip` reads over any :class:`agent.icao.transport.Transport` (PC/SC through agent.nfc, or
the in-process simulator in tests); :class:`ConfiguredChipReader` is the desk's
:class:`agent.ports.ChipReader`: the settings and the trust store bound, and what each reader has shown
it can take (extended length, the largest chunk) remembered under its name, so a step-down is learned
once. The clock and randomness come from here, the application layer.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.errors import AgentError, DocumentError
from agent.faces import face_to_displayable
from agent.icao.active_auth import challenge_for_transaction
from agent.icao.apdu import ResponseApdu
from agent.icao.files import CancelCheck, ReadLimits
from agent.icao.keys import CanKey, MrzKey
from agent.icao.lds.document import ChipDocument
from agent.icao.lds_registry import DG1, DG2, DG13
from agent.icao.read_sequence import ChipReading, FileProgress, read_document
from agent.icao.transport import ApduTraceRecord, Transport, build_send
from agent.icao.trust import TrustStore
from agent.id_number import can_from_id
from agent.models import ChipEvidence, Identity, Outcome, Sex, Status
from agent.nfc.pcsc import ReaderMemory
from agent.ports import CardConnection, ChipKeys, ChipRead, ReadStats
from agent.receipt import build_chip_receipt
from agent.settings import Settings

log = logging.getLogger(__name__)


class CountingTransport:
    """Counts APDUs and bytes in both directions over another transport (what the link carried)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.apdus = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def transmit(self, apdu: bytes) -> ResponseApdu:
        response = self.inner.transmit(apdu)
        self.apdus += 1
        self.bytes_sent += len(apdu)
        self.bytes_received += len(response.data) + 2
        return response

    def close(self) -> None:
        self.inner.close()


def read_chip(
    transport: Transport,
    *,
    settings: Settings,
    trust_store: TrustStore,
    transaction_id: str,
    id_number: str | None = None,
    can: str | None = None,
    mrz: MrzKey | None = None,
    limits: ReadLimits | None = None,
    progress: FileProgress | None = None,
    cancel: CancelCheck | None = None,
    link_estimate: Callable[[], float | None] | None = None,
    at: datetime | None = None,
    on_identity: Callable[[Identity], None] | None = None,
    on_face: Callable[[bytes], None] | None = None,
) -> ChipRead:
    """Open, read and check the chip on ``transport``. Raises the typed errors of the read (card
    removed, wrong key, ...); a finished read always returns, whatever its outcomes.

    ``on_identity`` is called with DG13's identity as soon as DG13 is in, ``on_face`` with the face as
    the page shows it as soon as DG2 is: neither is checked yet (the evidence of the returned read says
    whether they are genuine)."""
    if can is None and id_number is not None:
        can = can_from_id(id_number)
    can_key = CanKey(can) if can else None
    counting = CountingTransport(transport)
    trace = _trace if settings.log.apdu_trace else None
    estimate_before = link_estimate() if link_estimate else None
    started = time.perf_counter()
    # This thread's CPU only: a simulated card served from another thread of this process (vpcd
    # bridge), or the agent's other threads (API, sync), must not count as the read's cost.
    cpu_started = time.thread_time()
    read_at = at or datetime.now(UTC)
    if limits is None:
        limits = ReadLimits.from_setting(settings.reader.extended_length)
    early = _EarlyFiles(on_identity, on_face)
    reading = read_document(
        build_send(counting, trace=trace),
        can=can_key,
        mrz=mrz,
        trust=trust_store,
        at=read_at,
        aa_challenge=challenge_for_transaction(transaction_id),
        order=settings.reader.access_order,
        limits=limits,
        rng=os.urandom,
        progress=progress,
        cancel=cancel,
        on_file=early.file_read,
    )
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    cpu_ms = (time.thread_time() - cpu_started) * 1000.0
    identity = identity_from_document(reading.document)
    face, mime = early.face if early.face is not None else _face(reading.document)
    # The estimate source is a running total (e.g. of a simulated card read more than once): this read's share.
    estimate_after = link_estimate() if link_estimate else None
    estimate = estimate_after - (estimate_before or 0.0) if estimate_after is not None else None
    stats = ReadStats(apdus=counting.apdus, bytes_sent=counting.bytes_sent, bytes_received=counting.bytes_received,
                      elapsed_ms=elapsed_ms, cpu_ms=cpu_ms, link_estimate_ms=estimate)
    log.info(
        "chip read: %s, %d APDUs, %d bytes, %.0f ms, passive=%s chip=%s",
        reading.access_method, counting.apdus, counting.bytes_sent + counting.bytes_received, elapsed_ms,
        reading.passive_outcome.status, reading.chip_outcome.status,
    )  # fmt: skip
    return ChipRead(
        identity=identity,
        evidence=evidence_of(reading),
        stats=stats,
        face_image=face,
        face_mime_type=mime,
        receipt=build_chip_receipt(reading, transaction_id=transaction_id, read_at=read_at),
        reading=reading,
    )


class ConfiguredChipReader:
    """The desk's chip reader (:class:`agent.ports.ChipReader`): :func:`read_chip` with the settings and
    the trust store bound, and per reader name the limits it has shown (extended length, the largest
    chunk), so that a step-down is learned once."""

    def __init__(self, settings: Settings, trust_store: TrustStore) -> None:
        self.settings = settings
        self.trust_store = trust_store
        self.memory: ReaderMemory[ReadLimits] = ReaderMemory()

    def limits_for(self, connection: CardConnection) -> ReadLimits:
        def new_limits() -> ReadLimits:
            limits = ReadLimits.from_setting(self.settings.reader.extended_length)
            if not connection.extended_length_possible:
                limits.extended_ok = False  # T=0: no extended-length APDUs through this reader
            return limits

        return self.memory.get_or_create(connection.reader, new_limits)

    def read(self, connection: CardConnection, keys: ChipKeys, *, transaction_id: str,
             progress: FileProgress | None = None, cancel: CancelCheck | None = None,
             on_identity: Callable[[Identity], None] | None = None,
             on_face: Callable[[bytes], None] | None = None) -> ChipRead:
        return read_chip(connection, settings=self.settings, trust_store=self.trust_store,
                         transaction_id=transaction_id, id_number=keys.id_number, can=keys.can, mrz=keys.mrz,
                         limits=self.limits_for(connection), progress=progress, cancel=cancel,
                         link_estimate=connection.link_estimate_ms, on_identity=on_identity, on_face=on_face)


class _EarlyFiles:
    """Tells the desk who and what the card shows as soon as DG13 and DG2 are in; the face decoded here
    is the one the finished read returns (decoded once)."""

    def __init__(self, on_identity: Callable[[Identity], None] | None,
                 on_face: Callable[[bytes], None] | None) -> None:
        self.on_identity = on_identity
        self.on_face = on_face
        self.face: tuple[bytes | None, str | None] | None = None

    def file_read(self, name: str, document: ChipDocument) -> None:
        if name == DG13.name and self.on_identity is not None and document.dg13 is not None:
            self._tell(self.on_identity, document.dg13.to_identity())
        elif name == DG2.name and self.on_face is not None:
            self.face = _face(document)
            if self.face[0] is not None:
                self._tell(self.on_face, self.face[0])

    @staticmethod
    def _tell(listener: Callable[[Any], None], value: Any) -> None:
        # What the desk does with an early file must never break the read itself.
        try:
            listener(value)
        except Exception:
            log.exception("a listener of the chip read failed")


def evidence_of(reading: ChipReading) -> ChipEvidence:
    """The typed evidence of a read: ``passive`` ok/failed/unknown, ``chip`` ok/failed/unknown/
    not_supported, each check, and the reasons in plain words."""
    passive = reading.passive_outcome
    chip = reading.chip_outcome
    reasons = [*_reasons("passive", passive), *_reasons("chip", chip)]
    problems = reading.document.problems
    reasons += [f"{name}: {error.message}" for name, error in sorted(problems.items())]
    return ChipEvidence(
        passive=passive.status,
        chip=chip.status,
        access_method=reading.access_method,
        passive_checks={name: o.status for name, o in reading.passive.checks()} if reading.passive else {},
        chip_authentication=reading.chip_auth.outcome.status,
        active_authentication=reading.active_auth.outcome.status if reading.active_auth else Status.NOT_SUPPORTED,
        trust_anchor=reading.passive.trust_anchor if reading.passive else "",
        skipped_files=dict(reading.skipped),
        reasons=tuple(reasons),
    )


def _reasons(prefix: str, outcome: Outcome) -> list[str]:
    if outcome.status is Status.OK or not outcome.reason:
        return []
    return [f"{prefix}: {part.strip()}" for part in outcome.reason.split(";") if part.strip()]


def identity_from_document(document: ChipDocument) -> Identity:
    """DG13 when the card has it (full Vietnamese name); else DG1's MRZ (ASCII name)."""
    if document.dg13 is not None:
        return document.dg13.to_identity()
    if document.dg1 is not None:
        mrz = document.dg1.mrz
        digits = "".join(ch for ch in mrz.optional_data if ch.isdigit())
        id_number = digits[:12] if len(digits) >= 12 else mrz.document_number
        return Identity(id_number=id_number, full_name=mrz.full_name, sex=Sex.parse(mrz.sex) or Sex.UNSPECIFIED)
    raise DocumentError("the chip gave neither DG13 nor DG1: no identity", file=DG1.name)


def _face(document: ChipDocument) -> tuple[bytes | None, str | None]:
    if document.dg2 is None:
        return None, None
    try:
        image = face_to_displayable(document.dg2.face)
    except AgentError as exc:
        log.warning("face image not displayable: %s", exc.message)
        return None, None
    return image.data, image.mime_type


def _trace(record: ApduTraceRecord) -> None:
    log.debug("APDU %s", record)
