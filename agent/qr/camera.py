"""Frames for the QR scanner from a webcam (device index), a network stream (URL) or a video file,
and single images from files: the agent's only home of OpenCV (cv2).

Every frame leaves this module as a 2-D uint8 grey image, since every decoder wants grey and the
conversion is cheapest here. :class:`OpenCvCamera` wraps a ``cv2.VideoCapture`` (or any object with
``read`` / ``isOpened`` / ``set`` / ``release``) given to its constructor, so tests can hand in a
fake; :func:`open_camera` builds the real one from the ``[qr]`` settings and says what to check when
it cannot. With no webcam, ``cv2.VideoCapture(0).isOpened()`` is simply False (docs/reference/qr.md "Cameras").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import cv2
import numpy as np
import numpy.typing as npt

from agent.errors import CameraUnavailableError

log = logging.getLogger(__name__)

GrayImage = npt.NDArray[np.uint8]

MAX_READ_FAILURES = 30  # a live camera that fails this many reads in a row has gone (about 1 s at 30 fps)
RETRY_PAUSE_S = 0.03


class FrameSource(Protocol):
    """Where the scanner gets frames: ``read`` gives a grey frame, or None at the end of a file."""

    def read(self) -> GrayImage | None: ...

    def close(self) -> None: ...


def describe_source(source: int | str) -> str:
    """A printable name for a source; a stream URL loses its user name and password."""
    if isinstance(source, int):
        return f"camera {source}"
    if "://" in source:
        parts = urlsplit(source)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"stream {parts.scheme}://{host}{port}"
    return f"video file {source}"


def parse_source(text: str | int) -> int | str:
    """``"0"`` -> device 0; a URL or a path stays a string."""
    if isinstance(text, int):
        return text
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


class OpenCvCamera:
    """Grey frames from a ``cv2.VideoCapture``.

    ``live`` sources (devices, streams) retry a failed read up to ``max_failures`` times before
    raising CameraUnavailableError; a file's failed read is its end (``read`` returns None).
    """

    def __init__(
        self,
        capture: Any,
        *,
        description: str,
        live: bool,
        max_failures: int = MAX_READ_FAILURES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._capture = capture
        self.description = description
        self.live = live
        self._max_failures = max_failures
        self._sleep = sleep
        self.frames_read = 0

    def read(self) -> GrayImage | None:
        failures = 0
        while True:
            try:
                ok, frame = self._capture.read()
            except cv2.error as exc:
                raise CameraUnavailableError(f"{self.description}: reading a frame failed") from exc
            if ok and frame is not None and frame.size:
                self.frames_read += 1
                return _gray(frame)
            if not self.live:
                return None
            failures += 1
            if failures >= self._max_failures:
                raise CameraUnavailableError(
                    f"{self.description} stopped delivering frames: check the USB cable, that no other "
                    "program took the camera, and the stream's network",
                )
            self._sleep(RETRY_PAUSE_S)

    @property
    def size(self) -> tuple[int, int]:
        """The (width, height) the capture reports (0 when unknown)."""
        return (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )

    @property
    def fps(self) -> float:
        return float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> OpenCvCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_camera(
    source: int | str,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    capture_factory: Callable[..., Any] | None = None,
) -> OpenCvCamera:
    """Open a device index, a stream URL or a video file; CameraUnavailableError says what to check.

    Devices are asked for MJPG at the given size and rate: most USB webcams deliver 1280x720 at
    30 fps only compressed. A one-frame buffer keeps the scanner on the newest frame. A camera may
    ignore any of these requests; the frames then come at whatever it offers.
    """
    source = parse_source(source)
    description = describe_source(source)
    factory = capture_factory or cv2.VideoCapture
    if isinstance(source, str) and "://" not in source:
        if not Path(source).is_file():
            raise CameraUnavailableError(f"{description} not found: check the path")
    if factory is cv2.VideoCapture:
        # OpenCV prints a WARN line per backend it tries on a missing device; our error says it better.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        capture = factory(source)
    except cv2.error as exc:
        raise CameraUnavailableError(f"{description} cannot be opened") from exc
    if not capture.isOpened():
        capture.release()
        raise CameraUnavailableError(_what_to_check(source, description))
    live = not (isinstance(source, str) and "://" not in source)
    if isinstance(source, int):
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_FPS, fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    camera = OpenCvCamera(capture, description=description, live=live)
    log.info("opened %s at %dx%d", description, *camera.size)
    return camera


def _what_to_check(source: int | str, description: str) -> str:
    if isinstance(source, int):
        return (
            f"{description} cannot be opened: check that a webcam is plugged in (try another USB port), that "
            "no other program (a video call, a browser tab) is using it, that this user may use it (Windows: "
            "Settings > Privacy > Camera; Linux: the 'video' group), and the [qr] camera setting "
            "(0 is the first camera)"
        )
    if "://" in source:
        return f"{description} cannot be opened: check the address, the network and the stream's login"
    return f"{description} cannot be decoded: check that it is a video file OpenCV's FFmpeg can read"


def read_image(path: str | Path) -> GrayImage:
    """A grey image from a file (PNG, JPEG, BMP, ...); CameraUnavailableError if it cannot be read."""
    file = Path(path)
    if not file.is_file():
        raise CameraUnavailableError(f"image file {file} not found: check the path")
    # imdecode of the bytes rather than imread(path): imread cannot open non-ASCII paths on Windows.
    data = np.fromfile(file, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if image is None:
        raise CameraUnavailableError(f"image file {file} cannot be decoded: check that it is a PNG or JPEG image")
    return np.asarray(image, dtype=np.uint8)


def _gray(frame: npt.NDArray[Any]) -> GrayImage:
    if frame.ndim == 2:
        return np.asarray(frame, dtype=np.uint8)
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.asarray(cv2.cvtColor(frame, code), dtype=np.uint8)
