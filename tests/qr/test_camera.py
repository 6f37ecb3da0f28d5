"""The camera adapter: a video file written with cv2.VideoWriter plays the webcam; a missing device,
file or stream gives a CameraUnavailableError that says what to check; a live camera that stops
delivering frames fails cleanly; single images come from files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from agent.errors import CameraUnavailableError
from agent.qr.camera import OpenCvCamera, describe_source, open_camera, parse_source, read_image
from agent.qr.decoder import create_decoder
from agent.qr.scanner import QrScanner
from simulators.camera.corpus import make_frame
from simulators.camera.files import card_video, read_images, read_video, write_video


@pytest.fixture(scope="module")
def card_avi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str | None]]:
    frames, texts = card_video(seed=5, script=[("empty", 10), ("card:2", 20), ("empty", 5)])
    path = tmp_path_factory.mktemp("video") / "card.avi"
    assert write_video(path, frames, fps=30) == 35
    return path, texts


def test_a_video_file_plays_the_camera_in_grey(card_avi: tuple[Path, list[str | None]]) -> None:
    path, _ = card_avi
    with open_camera(str(path)) as camera:
        assert not camera.live
        assert camera.size == (640, 480)
        assert camera.fps == pytest.approx(30, abs=0.5)
        frames = []
        while (frame := camera.read()) is not None:
            frames.append(frame)
    assert len(frames) == 35
    assert all(f.shape == (480, 640) and f.dtype == np.uint8 for f in frames)


def test_the_scanner_finds_the_card_in_the_video(card_avi: tuple[Path, list[str | None]]) -> None:
    path, texts = card_avi
    camera = open_camera(path.as_posix())
    try:
        event = QrScanner(camera, create_decoder(), timeout_s=30).scan_once()
    finally:
        camera.close()
    assert event.symbol.text == texts[10]
    assert event.frame_index == 10


def test_missing_device_says_what_to_check() -> None:
    with pytest.raises(CameraUnavailableError) as caught:
        open_camera(97)
    message = str(caught.value)
    assert "camera 97" in message and "plugged in" in message and "other program" in message


def test_missing_file_and_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailableError, match="not found"):
        open_camera(str(tmp_path / "nothing.avi"))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CameraUnavailableError, match="cannot be decoded"):
        open_camera(str(junk))


def test_stream_errors_never_show_the_password() -> None:
    url = "rtsp://admin:s3cret@192.0.2.10:554/stream1"
    assert describe_source(url) == "stream rtsp://192.0.2.10:554"
    with pytest.raises(CameraUnavailableError) as caught:
        open_camera(url, capture_factory=lambda source: FakeCapture(opened=False))
    assert "s3cret" not in str(caught.value) and "admin" not in str(caught.value)
    assert "network" in str(caught.value)


def test_a_device_is_asked_for_size_rate_and_mjpg() -> None:
    capture = FakeCapture(frames=[np.zeros((720, 1280, 3), np.uint8)])
    camera = open_camera("2", width=1280, height=720, fps=15, capture_factory=lambda source: capture)
    assert camera.live and camera.description == "camera 2"
    assert capture.properties[cv2.CAP_PROP_FRAME_WIDTH] == 1280
    assert capture.properties[cv2.CAP_PROP_FRAME_HEIGHT] == 720
    assert capture.properties[cv2.CAP_PROP_FPS] == 15
    assert capture.properties[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter.fourcc(*"MJPG")
    frame = camera.read()
    assert frame is not None and frame.shape == (720, 1280)
    camera.close()
    assert capture.released


def test_a_live_camera_that_stops_delivering_frames_raises() -> None:
    pauses: list[float] = []
    camera = OpenCvCamera(FakeCapture(frames=[]), description="camera 0", live=True, max_failures=5,
                          sleep=pauses.append)
    with pytest.raises(CameraUnavailableError, match="stopped delivering"):
        camera.read()
    assert len(pauses) == 4


def test_a_live_camera_recovers_from_a_dropped_frame() -> None:
    capture = FakeCapture(frames=[None, np.zeros((4, 4, 4), np.uint8)])
    camera = OpenCvCamera(capture, description="camera 0", live=True, sleep=lambda _s: None)
    frame = camera.read()
    assert frame is not None and frame.shape == (4, 4)  # BGRA is converted too


def test_an_opencv_error_while_reading_is_typed() -> None:
    class Broken(FakeCapture):
        def read(self) -> tuple[bool, Any]:
            raise cv2.error("device gone")

    with pytest.raises(CameraUnavailableError):
        OpenCvCamera(Broken(), description="camera 0", live=True).read()


def test_an_opencv_error_while_opening_is_typed() -> None:
    def explode(source: Any) -> Any:
        raise cv2.error("backend failure")

    with pytest.raises(CameraUnavailableError):
        open_camera(0, capture_factory=explode)


def test_parse_source() -> None:
    assert parse_source("0") == 0
    assert parse_source(" 3 ") == 3
    assert parse_source(1) == 1
    assert parse_source("http://cam.local/video") == "http://cam.local/video"
    assert parse_source("clip.avi") == "clip.avi"


def test_read_image(tmp_path: Path) -> None:
    frame = make_frame(seed=1, tier="normal", size=(640, 480), index=0)
    path = tmp_path / "ảnh thẻ.png"  # a Vietnamese file name
    cv2.imencode(".png", frame.image)[1].tofile(path)
    image = read_image(path)
    assert image.shape == (480, 640) and image.dtype == np.uint8
    assert create_decoder().decode_one(image).text == frame.text
    with pytest.raises(CameraUnavailableError, match="not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(CameraUnavailableError, match="cannot be decoded"):
        read_image(tmp_path / "bad.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(CameraUnavailableError):
        read_image(tmp_path / "empty.png")


def test_simulator_file_helpers(tmp_path: Path, card_avi: tuple[Path, list[str | None]]) -> None:
    path, _ = card_avi
    assert sum(1 for _ in read_video(path)) == 35
    frame = make_frame(seed=1, tier="empty", size=(640, 480), index=0)
    cv2.imwrite(str(tmp_path / "a.png"), frame.image)
    assert next(read_images([tmp_path / "a.png"])).shape == (480, 640, 3)
    with pytest.raises(OSError):
        next(read_images([tmp_path / "missing.png"]))
    with pytest.raises(ValueError):
        card_video(seed=1, script=[("nonsense", 1)])


class FakeCapture:
    def __init__(self, *, opened: bool = True, frames: list[Any] | None = None) -> None:
        self.opened = opened
        self.frames = list(frames or [])
        self.properties: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.properties[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.properties.get(prop, 0.0)

    def read(self) -> tuple[bool, Any]:
        if not self.frames:
            return False, None
        frame = self.frames.pop(0)
        return frame is not None, frame

    def release(self) -> None:
        self.released = True
