"""The QR scanning loop: frames from a camera, decoded, turned into one event per code shown.

De-duplication: a code (by its exact bytes) gives an event when it is first seen; while it stays in
view it gives no more, and it gives a new one only after it has been out of sight for
``forget_after_s`` seconds (so a card taken away and shown again is a new check-in). Frames where
a held card fails to decode for a moment do not count as "out of sight" unless the gap is that long.

Low CPU with nothing in view: :class:`ActivityGate` looks at a 1/16-scale block-averaged thumbnail
(well under a millisecond) and chooses, per frame, a full decode (every pass of the cascade), a
quick one (the first pass only, about 1-2 ms at 720p) or none: an unchanged scene is re-checked
fully once per ``recheck_s``; a changing scene gets the quick pass on every frame and the full cascade at
most ``full_fps`` times a second; a blank frame (lens covered) is skipped. While a code is in view
(decoded within ``presence_s``) every frame is decoded fully (the first pass then finds it).
Measured by benchmarks/qr.py on 1280x720 frames with no code, one core: a still scene costs
0.7 ms per frame instead of 11 (decoding every frame), a camera panning about 2.5 ms instead of 7.

Across frames (agent.qr.stack): when a full decode reads nothing but says where a code probably is
(``DecodeReport.regions``: a code zxing-cpp located, or a code-like region), the loop stacks that
region over the next frames, whatever the gate decides for them (a card held still is an "unchanged
scene"): each frame is aligned to the first and added (about 1 ms per region), and the mean is
decoded after 2, 3, 4, 6, 8, 11, 16, 22 and 30 frames, with the deconvolutions taking turns (the
stack's noise shrinks as it grows, so the deconvolution may restore more). While a stack runs, the
whole frame is still decoded fully up to five times a second (a single frame may read where the
stack, or its region, is wrong), and a region such a decode proposes elsewhere gets a stack of its
own (STACK_REGIONS at most). A frame that does not align (the card moved or left) ends the stack;
the next full decode proposes again. A stack that reaches STACK_MAX_FRAMES (1 s at 30 fps) unread is
given up, and its region is not stacked again for ``stack_cooldown_s`` (doubling, up to 30 s, while
nothing is read), so a textured object on the desk that only looks like a code costs little. A code
read from a stack is accepted only when its bytes are UTF-8 and it parses as a CCCD, VNeID or BHYT
payload: no stacked frame ever yields a malformed or unknown text. Measured by benchmarks/qr.py
("steady", frames of a card held still).

A timeout (no new event for ``timeout_s``) raises QrDecodeError; setting ``cancel`` (a
threading.Event) makes the loop raise OperationCancelledError at the next frame.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agent.errors import OperationCancelledError, QrDecodeError, QrFormatError
from agent.qr.decoder import DecodedQr, DecodeReport, to_gray
from agent.qr.enhance import Box, overlaps
from agent.qr.payload import QrKind, QrPayload, classify, parse_payload
from agent.qr.stack import RegionStack

log = logging.getLogger(__name__)

GrayImage = npt.NDArray[np.uint8]

FORGET_AFTER_S = 3.0
PRESENCE_S = 0.5  # a code decoded this recently counts as still in view (for the gate)
STACK_ATTEMPTS = (2, 3, 4, 6, 8, 11, 16, 22, 30)  # stack sizes at which the mean is decoded
STACK_MAX_FRAMES = STACK_ATTEMPTS[-1]
STACK_REGIONS = 2  # regions stacked at once (the most likely first)
STACK_GROW_PX = 32  # a stacked region is wider than the decoder's box: quiet zone, and room for the tremor
STACK_COOLDOWN_S = 2.0
STACK_FULL_INTERVAL_S = 0.2  # while stacking, the whole frame is still decoded fully this often (5 per s)
STACK_MAX_COOLDOWN_S = 30.0


class Camera(Protocol):
    def read(self) -> GrayImage | None: ...


class Decoder(Protocol):
    def decode(self, frame: npt.NDArray[Any], *, quick: bool = False) -> DecodeReport: ...

    def decode_region(
        self, region: npt.NDArray[Any], box: Box, *, frames: int = 1, attempt: int = 0
    ) -> DecodeReport: ...


class Effort(enum.Enum):
    FULL = "full"
    QUICK = "quick"
    SKIP = "skipped"


@dataclasses.dataclass(frozen=True)
class ScanEvent:
    """A code newly in view: the parsed payload, or the format error of a malformed CCCD code."""

    symbol: DecodedQr
    payload: QrPayload | None
    error: QrFormatError | None
    at: float
    frame_index: int

    @property
    def kind(self) -> QrKind:
        return self.payload.kind if self.payload is not None else classify(self.symbol.text)


class ActivityGate:
    """Chooses the decoding effort of each frame from how much the scene changed (see module doc)."""

    def __init__(
        self,
        *,
        change_threshold: float = 4.0,
        min_contrast: float = 3.0,
        recheck_s: float = 1.0,
        full_fps: float = 5.0,
    ) -> None:
        self.change_threshold = change_threshold
        self.min_contrast = min_contrast
        self.recheck_s = recheck_s
        self.full_interval_s = 1.0 / full_fps
        self._reference: npt.NDArray[np.float32] | None = None
        self._last_full_at: float | None = None

    @staticmethod
    def thumbnail(gray: GrayImage) -> npt.NDArray[np.float32]:
        """Every 4th pixel, then 4x4 block means: 1/16 scale, with sensor noise averaged down."""
        sampled = gray[::4, ::4]
        height, width = (sampled.shape[0] // 4) * 4, (sampled.shape[1] // 4) * 4
        if height == 0 or width == 0:
            return sampled.astype(np.float32)
        blocks = sampled[:height, :width].reshape(height // 4, 4, width // 4, 4).astype(np.float32)
        return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)

    def decide(self, gray: GrayImage, now: float, *, code_in_view: bool) -> Effort:
        thumb = self.thumbnail(gray)
        if code_in_view:
            return self._full(thumb, now)
        if float(thumb.std()) < self.min_contrast:
            return Effort.SKIP
        reference = self._reference
        if reference is None or reference.shape != thumb.shape or self._last_full_at is None:
            return self._full(thumb, now)
        # Compare after removing the global brightness shift: auto-exposure is not a scene change.
        difference = thumb - reference
        changed = float(np.abs(difference - difference.mean()).mean()) > self.change_threshold
        since_full = now - self._last_full_at
        if not changed:
            return self._full(thumb, now) if since_full >= self.recheck_s else Effort.SKIP
        if since_full >= self.full_interval_s:
            return self._full(thumb, now)
        return Effort.QUICK

    def _full(self, thumb: npt.NDArray[np.float32], now: float) -> Effort:
        self._reference = thumb
        self._last_full_at = now
        return Effort.FULL


class QrScanner:
    """Turns a camera's frames into ScanEvents (see the module docstring for the rules)."""

    def __init__(
        self,
        camera: Camera,
        decoder: Decoder,
        *,
        timeout_s: float | None = 60.0,
        forget_after_s: float = FORGET_AFTER_S,
        presence_s: float = PRESENCE_S,
        gate: ActivityGate | None = None,
        stacking: bool = True,
        stack_cooldown_s: float = STACK_COOLDOWN_S,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._camera = camera
        self._decoder = decoder
        self.timeout_s = timeout_s
        self.forget_after_s = forget_after_s
        self.presence_s = presence_s
        self._gate = gate
        self.stacking = stacking
        self.stack_cooldown_s = stack_cooldown_s
        self._cancel = cancel or threading.Event()
        self._clock = clock
        self._last_seen: dict[bytes, float] = {}
        self._stacks: list[RegionStack] = []
        self._given_up: list[Box] = []  # regions whose stack was read in vain, until _retry_at
        self._retry_at = 0.0
        self._cooldown = stack_cooldown_s
        self._last_full_at = -math.inf
        self.stats: Counter[str] = Counter()

    def cancel(self) -> None:
        """Ask the loop to stop; it raises OperationCancelledError at the next frame."""
        self._cancel.set()

    def events(self) -> Iterator[ScanEvent]:
        """Events until the camera's stream ends (a file), the timeout passes, or cancellation."""
        waiting_since = self._clock()
        frame_index = -1
        while True:
            if self._cancel.is_set():
                raise OperationCancelledError("QR scan cancelled")
            now = self._clock()
            if self.timeout_s is not None and now - waiting_since > self.timeout_s:
                raise QrDecodeError(f"no new QR code within {self.timeout_s:g} s")
            frame = self._camera.read()
            if frame is None:
                return
            frame_index += 1
            now = self._clock()
            self._forget(now)
            effort = self._effort(frame, now, self._code_in_view(now))
            if self._stacks and effort is not Effort.FULL and now - self._last_full_at >= STACK_FULL_INTERVAL_S:
                effort = Effort.FULL  # a code may be in view: single frames may read where the stack does not
                self.stats["full_while_stacking"] += 1
            if effort is Effort.FULL:
                self._last_full_at = now
            self.stats[effort.value] += 1
            report = None if effort is Effort.SKIP else self._decoder.decode(frame, quick=effort is Effort.QUICK)
            symbols = report.symbols if report is not None else ()
            if self.stacking and not symbols:
                symbols = self._stack(to_gray(frame), report if effort is Effort.FULL else None, now)
            for symbol in symbols:
                is_new = symbol.raw not in self._last_seen
                self._last_seen[symbol.raw] = now
                if is_new:
                    event = self._event(symbol, now, frame_index)
                    waiting_since = now
                    yield event

    def scan_once(self) -> ScanEvent:
        """The first event; QrDecodeError when the stream ends or the timeout passes first."""
        for event in self.events():
            return event
        raise QrDecodeError("no QR code found before the end of the video")

    def _stack(self, frame: GrayImage, report: DecodeReport | None, now: float) -> tuple[DecodedQr, ...]:
        """One frame of the multi-frame stacking (module docstring): what the stacks read, if anything."""
        if self._stacks:
            self._stacks = [stack for stack in self._stacks if stack.add(frame)]
            for stack in self._stacks:
                self.stats["stacked"] += 1
                if stack.count not in STACK_ATTEMPTS:
                    continue
                self.stats["stack_decodes"] += 1
                attempt = STACK_ATTEMPTS.index(stack.count)
                found = self._decoder.decode_region(stack.mean(), stack.box, frames=stack.count, attempt=attempt)
                accepted = tuple(symbol for symbol in found.symbols if _acceptable(symbol))
                self.stats["stack_rejected"] += len(found.symbols) - len(accepted)
                if accepted:
                    self._stacks = []
                    self._given_up = []
                    self._cooldown = self.stack_cooldown_s
                    self.stats["stack_reads"] += 1
                    return accepted
            done = [stack for stack in self._stacks if stack.count >= STACK_MAX_FRAMES]
            if done:
                self._give_up([stack.box for stack in done], now)
                self._stacks = [stack for stack in self._stacks if stack.count < STACK_MAX_FRAMES]
        if report is not None and report.regions and len(self._stacks) < STACK_REGIONS:
            if now >= self._retry_at:
                self._given_up = []
            taken = [stack.box for stack in self._stacks] + self._given_up
            boxes = [box for box in report.regions if not any(overlaps(box, old) for old in taken)]
            height, width = frame.shape
            free = STACK_REGIONS - len(self._stacks)
            self._stacks.extend(RegionStack(frame, _grown(box, width, height)) for box in boxes[:free])
        return ()

    def _give_up(self, boxes: list[Box], now: float) -> None:
        self.stats["stacks_given_up"] += len(boxes)
        self._given_up.extend(boxes)
        self._retry_at = now + self._cooldown
        self._cooldown = min(self._cooldown * 2, STACK_MAX_COOLDOWN_S)

    def _code_in_view(self, now: float) -> bool:
        return any(now - seen <= self.presence_s for seen in self._last_seen.values())

    def _effort(self, frame: GrayImage, now: float, code_in_view: bool) -> Effort:
        if self._gate is None:
            return Effort.FULL
        return self._gate.decide(frame, now, code_in_view=code_in_view)

    def _forget(self, now: float) -> None:
        gone = [raw for raw, seen in self._last_seen.items() if now - seen > self.forget_after_s]
        for raw in gone:
            del self._last_seen[raw]

    def _event(self, symbol: DecodedQr, now: float, frame_index: int) -> ScanEvent:
        payload: QrPayload | None = None
        error: QrFormatError | None = None
        try:
            payload = parse_payload(symbol.text)
        except QrFormatError as exc:
            error = exc
        kind = payload.kind if payload is not None else classify(symbol.text)
        log.info(
            "QR code in view: kind=%s valid=%s pass=%s frame=%d%s",
            kind,
            error is None,
            symbol.stage,
            frame_index,
            f" field={error.field}" if error else "",
        )
        return ScanEvent(symbol=symbol, payload=payload, error=error, at=now, frame_index=frame_index)


def _grown(box: Box, width: int, height: int) -> Box:
    g = STACK_GROW_PX
    return max(0, box[0] - g), max(0, box[1] - g), min(width, box[2] + g), min(height, box[3] + g)


def _acceptable(symbol: DecodedQr) -> bool:
    """A code read from a stack counts only as exact UTF-8 that parses as a known kind of payload."""
    if not symbol.exact_bytes:
        return False
    try:
        payload = parse_payload(symbol.text)
    except QrFormatError:
        return False
    return payload.kind is not QrKind.UNKNOWN
