"""The seams between the agent's layers, in one place (docs/architecture.md "Layers"): what the
verification service needs from the outside world and what the adapters (agent.nfc, agent.qr,
agent.checks, the simulated devices of agent.wiring) provide.

- a **card source**: card events (one :class:`CardEvent` type) and a :class:`CardConnection` to the
  card on a reader, which says what the reader can do (:class:`CardConnection.extended_length_possible`,
  a simulated link's time estimate);
- a **chip reader**: opens and checks the chip on a connection with the :class:`ChipKeys` the desk
  holds, and answers a :class:`ChipRead` (identity, typed evidence, the chip receipt, statistics);
- a **QR code source**: the text of each new code seen by a camera or sent by a serial scanner;
- the **insurance lookup** and the **roster service** the entitlement asks;
- the **uploader** the syncer hands queued events to, and the receipts it answers with.

Only protocols and the value types that cross them live here; no adapter is imported. Importing it
has no side effects.
"""

from __future__ import annotations

import dataclasses
import enum
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from agent.icao.keys import MrzKey
from agent.icao.read_sequence import ChipReading, FileProgress
from agent.icao.transport import Transport
from agent.models import BackendCheck, ChipEvidence, ExamSessionInfo, Identity, InsuranceQuery, Roster

CancelCheck = Callable[[], bool]

# --- cards -------------------------------------------------------------------------------------------


class CardEventKind(enum.StrEnum):
    INSERTED = "inserted"
    REMOVED = "removed"
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"
    SERVICE_LOST = "service_lost"
    SERVICE_BACK = "service_back"


@dataclasses.dataclass(frozen=True)
class CardEvent:
    """Something that happened on a reader at ``at`` (``time.monotonic()``); ``atr`` is set for INSERTED."""

    kind: CardEventKind
    reader: str = ""
    atr: bytes | None = None
    at: float = dataclasses.field(default_factory=time.monotonic)


class CardConnection(Transport, Protocol):
    """An open connection to the card on one reader: a Transport, plus what the reader can do."""

    @property
    def reader(self) -> str:
        """The reader's name: what it has shown it can take is remembered under it."""
        ...

    @property
    def extended_length_possible(self) -> bool:
        """False when extended-length APDUs cannot travel through this reader (T=0)."""
        ...

    def link_estimate_ms(self) -> float | None:
        """A simulated card's running estimate of the air time a real reader would need (None for a
        real reader: there the wall clock tells)."""
        ...


@dataclasses.dataclass(frozen=True)
class ReaderListing:
    """The readers a card source sees, for /api/status: ``state`` ok / unavailable / disabled."""

    state: str
    readers: tuple[Mapping[str, Any], ...] = ()
    message_key: str = ""
    simulated: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state, "readers": [dict(r) for r in self.readers]}
        if self.message_key:
            data["message_key"] = self.message_key
        if self.simulated:
            data["simulated"] = True
        return data


class CardSource(Protocol):
    """Card readers: their events on ``events`` (after :meth:`start`) and a connection per tap."""

    @property
    def events(self) -> queue.Queue[CardEvent]: ...

    def connect(self, reader: str) -> CardConnection: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def listing(self) -> ReaderListing: ...


# --- the chip ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChipKeys:
    """What opens one chip: the 12-digit ID number (its last 6 digits are the CAN), a CAN, and/or the
    MRZ key for BAC. Never printed."""

    id_number: str | None = dataclasses.field(default=None, repr=False)
    can: str | None = dataclasses.field(default=None, repr=False)
    mrz: MrzKey | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class ReadStats:
    """What one chip read cost: APDUs and bytes over the link, wall and CPU time, and for a simulated
    card the modelled time a real reader would need."""

    apdus: int
    bytes_sent: int
    bytes_received: int
    elapsed_ms: float
    cpu_ms: float
    link_estimate_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "apdus": self.apdus,
            "bytes": self.bytes_sent + self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "cpu_ms": round(self.cpu_ms, 1),
            "link_estimate_ms": round(self.link_estimate_ms, 1) if self.link_estimate_ms is not None else None,
        }


@dataclasses.dataclass(frozen=True)
class ChipRead:
    """One finished chip read: who (DG13, else the MRZ), what was proven, the face as the page can show
    it, the chip receipt (the files as read; personal data) and the raw reading for tools."""

    identity: Identity
    evidence: ChipEvidence
    stats: ReadStats
    face_image: bytes | None = dataclasses.field(default=None, repr=False)
    face_mime_type: str | None = None
    receipt: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    reading: ChipReading | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity.to_json(),
            "authenticity": self.evidence.to_json(),
            "access_method": self.evidence.access_method,
            "stats": self.stats.to_json(),
            "face": {"mime_type": self.face_mime_type, "bytes": len(self.face_image)} if self.face_image else None,
        }


class ChipReader(Protocol):
    """Reads and checks the chip on ``connection`` (trust store and settings already bound). Raises the
    typed errors of a read that could not finish (card removed, wrong key ...). ``on_identity`` hears
    the holder's identity as soon as DG13 is in and ``on_face`` the displayable face as soon as DG2 is,
    both before any check: the desk starts its lookup and shows who it is meanwhile."""

    def read(self, connection: CardConnection, keys: ChipKeys, *, transaction_id: str,
             progress: FileProgress | None = None, cancel: CancelCheck | None = None,
             on_identity: Callable[[Identity], None] | None = None,
             on_face: Callable[[bytes], None] | None = None) -> ChipRead: ...


# --- QR codes ----------------------------------------------------------------------------------------

QrCodeSource = Callable[[threading.Event], Iterator[str | None]]
"""``codes(stop)`` yields the text of each new code until ``stop`` is set, and may yield ``None`` to say
the device is open and listening (a serial scanner does, once opened); raises CameraUnavailableError
(ScannerUnavailableError for a serial scanner) when the device cannot be opened or is gone."""


# --- backends ----------------------------------------------------------------------------------------


class InsuranceLookup(Protocol):
    """The health-insurance status of a card now: the BHXH gateway (``bhxh-egw-2024``) or a site-side
    proxy (``mock-v1``). BackendError when it cannot be asked; InvalidInputError naming what the
    backend needs that the query lacks (a name, a date of birth); OperatorRequiredError with nobody
    signed in where the backend wants the operator."""

    def lookup(self, query: InsuranceQuery) -> BackendCheck: ...


class RosterService(Protocol):
    """Exam sessions, their rosters and one candidate's seat (BackendError when it cannot be asked)."""

    def sessions(self) -> list[ExamSessionInfo]: ...

    def roster(self, session_id: str) -> Roster: ...

    def candidate(self, session_id: str, id_number: str) -> BackendCheck: ...


class DeliveryReceipt(Protocol):
    """A backend's answer for one event: ``accepted``, ``duplicate`` or ``rejected`` (with a reason)."""

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...


class Uploader(Protocol):
    """Sends events (JSON objects with an ``event_id``) to one destination; one receipt per event id.
    Raises BackendUnavailableError / BackendResponseError / BackendRejectedError for the whole batch."""

    def upload(self, destination: str, events: Sequence[dict[str, Any]]) -> Mapping[str, DeliveryReceipt]: ...
