"""Reading a CCCD chip for the desk: runs the pure read sequence (agent.icao.read_sequence) over a
transport, counts what crossed the link, and turns the reading into what the operator, the API and
the store need: the identity (DG13 with its Vietnamese diacritics, else the MRZ), the authenticity
outcomes with plain reasons, a displayable face, statistics and the verification receipt.

The transport is any :class:`agent.icao.transport.Transport` (PC/SC through agent.nfc, or the
in-process simulator in tests). The clock and randomness come from here, the application layer.
"""

from __future__ import annotations

import dataclasses
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
from agent.icao.read_sequence import ChipReading, FileProgress, read_document
from agent.icao.transport import ApduTraceRecord, Transport, build_send
from agent.icao.trust import TrustStore
from agent.models import Identity, Outcome, Status
from agent.receipt import build_receipt
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


@dataclasses.dataclass(frozen=True)
class ChipReadResult:
    """One chip read, ready for the desk. Personal fields are repr=False (in Identity and the receipt)."""

    identity: Identity
    authenticity: dict[str, Any]
    access_method: str
    stats: dict[str, Any]
    face_image: bytes | None = dataclasses.field(default=None, repr=False)
    face_mime_type: str | None = None
    receipt: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    reading: ChipReading | None = dataclasses.field(default=None, repr=False)

    @property
    def passive(self) -> str:
        return str(self.authenticity["passive"])

    @property
    def chip(self) -> str:
        return str(self.authenticity["chip"])

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity.to_json(),
            "authenticity": self.authenticity,
            "access_method": self.access_method,
            "stats": self.stats,
            "face": {"mime_type": self.face_mime_type, "bytes": len(self.face_image)} if self.face_image else None,
        }


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
) -> ChipReadResult:
    """Open, read and check the chip on ``transport``. Raises the typed errors of the read (card
    removed, wrong key, ...); a finished read always returns, whatever its outcomes."""
    if can is None and id_number is not None:
        from agent.icao.cccd import can_from_id

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
    )
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    cpu_ms = (time.thread_time() - cpu_started) * 1000.0
    identity = identity_from_document(reading.document)
    face, mime = _face(reading.document)
    # The estimate source is a running total (e.g. of a simulated card read more than once): this read's share.
    estimate_after = link_estimate() if link_estimate else None
    estimate = estimate_after - (estimate_before or 0.0) if estimate_after is not None else None
    stats = {
        "apdus": counting.apdus,
        "bytes": counting.bytes_sent + counting.bytes_received,
        "bytes_sent": counting.bytes_sent,
        "bytes_received": counting.bytes_received,
        "elapsed_ms": round(elapsed_ms, 1),
        "cpu_ms": round(cpu_ms, 1),
        "link_estimate_ms": round(estimate, 1) if estimate is not None else None,
    }
    log.info(
        "chip read: %s, %d APDUs, %d bytes, %.0f ms, passive=%s chip=%s",
        reading.access_method, counting.apdus, stats["bytes"], elapsed_ms,
        reading.passive_outcome.status, reading.chip_outcome.status,
    )  # fmt: skip
    return ChipReadResult(
        identity=identity,
        authenticity=authenticity_summary(reading),
        access_method=reading.access_method,
        stats=stats,
        face_image=face,
        face_mime_type=mime,
        receipt=build_receipt(reading, transaction_id=transaction_id, read_at=read_at),
        reading=reading,
    )


def authenticity_summary(reading: ChipReading) -> dict[str, Any]:
    """``passive`` ok/failed/unknown, ``chip`` ok/failed/not_supported (unknown folds into
    not_supported only when nothing ran), and the reasons in plain words."""
    passive = reading.passive_outcome
    chip = reading.chip_outcome
    reasons = [*_reasons("passive", passive), *_reasons("chip", chip)]
    problems = reading.document.problems
    reasons += [f"{name}: {error.message}" for name, error in sorted(problems.items())]
    return {
        "passive": str(passive.status),
        "chip": str(chip.status),
        "reasons": reasons,
        "passive_checks": {name: str(o.status) for name, o in reading.passive.checks()} if reading.passive else {},
        "chip_authentication": str(reading.chip_auth.outcome.status),
        "active_authentication": str(reading.active_auth.outcome.status) if reading.active_auth else "not_supported",
        "trust_anchor": reading.passive.trust_anchor if reading.passive else "",
        "skipped_files": dict(reading.skipped),
    }


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
        return Identity(id_number=id_number, full_name=mrz.full_name, sex={"M": "Nam", "F": "Nữ"}.get(mrz.sex, ""))
    raise DocumentError("the chip gave neither DG13 nor DG1: no identity", file="DG1")


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
