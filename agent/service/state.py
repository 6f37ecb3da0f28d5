"""What one desk shows right now, and the values it is shown with: the reader's state (idle, armed
with a key, reading, needs a key, error), whether the backend answered lately, the latest result and
the faces of recent results (kept in memory only: a face is never stored), and while a card is still
reading, who it shows (a preview: the identity as soon as DG13 is in, then the face; not yet checked).
Every change is published on the hub (:mod:`agent.service.hub`) as a typed event; the local API renders
it.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.models import BackendCheck, Badge, CheckStatus, Identity, VerificationResult
from agent.ports import ReadStats
from agent.service.hub import Hub

RECENT_FACES = 50

READER_IDLE = "idle"
READER_ARMED = "armed"
READER_READING = "reading"
READER_NEEDS_KEY = "needs_key"
READER_ERROR = "error"

BACKEND_UNKNOWN = "unknown"
BACKEND_ONLINE = "online"
BACKEND_OFFLINE = "offline"


@dataclasses.dataclass(frozen=True)
class DeskResult:
    """A recorded result and what the desk shows with it (the face is kept in memory only)."""

    result: VerificationResult
    next_steps: tuple[str, ...] = ()
    badge: Badge = Badge.NOT_CHECKED
    face: bytes | None = dataclasses.field(default=None, repr=False)
    stats: ReadStats | None = None

    @property
    def result_id(self) -> str:
        return self.result.result_id


@dataclasses.dataclass(frozen=True)
class ReaderState:
    """The reader as the operator sees it: a state, its catalogue text key, and what goes with it."""

    state: str
    message_key: str
    id_masked: str = ""  # armed: whose card is expected (masked)
    fraction: float | None = None  # reading: how much of the face image is in
    file: str = ""
    next_key: str = ""  # needs_key: what the operator does next
    error: str = ""  # error: the error's class name
    retryable: bool | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state, "message_key": self.message_key}
        optional: dict[str, Any] = {"id_masked": self.id_masked, "fraction": self.fraction, "file": self.file,
                                    "next_key": self.next_key, "error": self.error, "retryable": self.retryable}
        data.update({key: value for key, value in optional.items() if value not in ("", None)})
        return data


PREVIEW_IDENTITY = "identity"  # DG13 is in: who it is
PREVIEW_FACE = "face"  # DG2 is in too: the face; the chip checks and the lookup are still to come


@dataclasses.dataclass(frozen=True)
class Preview:
    """Who the card being read shows, before anything is checked: the page shows it marked as "checking"
    until the verdict (``result_id``) replaces it."""

    result_id: str
    identity: Identity = dataclasses.field(repr=False)
    stage: str = PREVIEW_IDENTITY
    face: bytes | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class PreviewShown:
    """Hub event: the card being read shows who it is (not yet checked)."""

    preview: Preview


@dataclasses.dataclass(frozen=True)
class ResultShown:
    """Hub event: a new result is on the desk."""

    desk: DeskResult


@dataclasses.dataclass(frozen=True)
class ReaderChanged:
    """Hub event: the reader's state changed."""

    state: ReaderState


DeskEvent = ResultShown | ReaderChanged | PreviewShown


class DeskState:
    def __init__(self, hub: Hub[DeskEvent], *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._reader = ReaderState(READER_IDLE, "reader.idle")
        self._latest: DeskResult | None = None
        self._faces: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self.backend = BACKEND_UNKNOWN
        self.backend_at = 0.0  # monotonic time of the last answer (or failure) of a backend

    @property
    def reader(self) -> ReaderState:
        with self._lock:
            return self._reader

    def set_reader(self, state: ReaderState) -> None:
        with self._lock:
            self._reader = state
        self.hub.publish(ReaderChanged(state))

    def preview(self, preview: Preview) -> None:
        """Who the card being read shows, published at once (it is never kept: the result follows)."""
        self.hub.publish(PreviewShown(preview))

    def note_backend(self, check: BackendCheck) -> None:
        """A lookup's answer tells whether the backend is reachable right now."""
        offline = check.from_cache or check.status is CheckStatus.UNAVAILABLE
        self.backend = BACKEND_OFFLINE if offline else BACKEND_ONLINE
        self.backend_at = self._monotonic()

    def show(self, desk: DeskResult) -> None:
        """The result the desk shows now (its face kept for the last RECENT_FACES results)."""
        with self._lock:
            self._latest = desk
            if desk.face:
                self._faces[desk.result_id] = desk.face
                while len(self._faces) > RECENT_FACES:
                    self._faces.popitem(last=False)
        self.hub.publish(ResultShown(desk))

    @property
    def latest(self) -> DeskResult | None:
        with self._lock:
            return self._latest

    def face(self, result_id: str) -> bytes | None:
        with self._lock:
            return self._faces.get(result_id)
