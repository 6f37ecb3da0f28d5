"""Frames to and from files for tests and demos: a video file written with ``cv2.VideoWriter`` plays
the webcam (docs/reference/qr.md "Cameras": with no webcam, files are the camera), image files give
single frames, and :func:`card_video` scripts a scene where a card with its QR code enters, is held,
leaves and comes back, for the scanner's de-duplication."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from simulators.camera.corpus import make_frame

Image = npt.NDArray[np.uint8]

# Motion JPEG in an AVI: OpenCV's bundled FFmpeg writes and reads it everywhere, and, unlike mp4v,
# its per-frame JPEG keeps a QR's edges sharp at a high quality setting.
VIDEO_FOURCC = "MJPG"


def write_video(path: Path, frames: Iterable[Image], *, fps: float = 30.0) -> int:
    """Write BGR (or grey) frames of one size to ``path`` (.avi); returns the number of frames written."""
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        for frame in frames:
            if frame.ndim == 2:
                frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*VIDEO_FOURCC), fps, (width, height))
                if not writer.isOpened():
                    raise OSError(f"cannot write a video to {path}")
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
            writer.write(np.ascontiguousarray(frame))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def read_video(path: Path) -> Iterator[Image]:
    """The BGR frames of a video file."""
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield np.asarray(frame, dtype=np.uint8)
    finally:
        capture.release()


def read_images(paths: Sequence[Path]) -> Iterator[Image]:
    """The BGR frames of image files, in the given order; unreadable files raise OSError."""
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read image {path}")
        yield np.asarray(image, dtype=np.uint8)


def card_video(
    *, seed: int, script: Sequence[tuple[str, int]], size: tuple[int, int] = (640, 480), tier: str = "normal"
) -> tuple[list[Image], list[str | None]]:
    """Frames following ``script``: ("card:N", frames) shows card N, ("empty", frames) an empty scene.

    A card is the same picture while held (small per-frame noise, as a real sensor gives), so the
    scanner must see one card, not one per frame. Returns the frames and, per frame, the text shown.
    """
    rng = np.random.default_rng(seed)
    frames: list[Image] = []
    texts: list[str | None] = []
    for what, count in script:
        if what == "empty":
            base = make_frame(seed=seed, tier="empty", size=size, index=0)
        elif what.startswith("card:"):
            base = make_frame(seed=seed, tier=tier, size=size, index=int(what.split(":", 1)[1]))
        else:
            raise ValueError(f"unknown script step {what!r}")
        for _ in range(count):
            noise = rng.integers(-2, 3, size=base.image.shape, dtype=np.int16)
            frames.append(np.clip(base.image + noise, 0, 255).astype(np.uint8))
            texts.append(base.text)
    return frames, texts
