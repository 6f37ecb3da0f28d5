"""The decoders: exact UTF-8 text (300+ random Vietnamese strings through encode -> image -> decode,
for zbar in binary mode, zxing-cpp and the agent's cascade), the adapters' error paths with fakes,
the cascade's order, and the image helpers."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from agent.errors import QrDecodeError
from agent.qr import decoder as qr_decoder
from agent.qr.decoder import (
    DecodedQr,
    FrameViews,
    Polygon,
    QrDecoder,
    Stage,
    ZbarDecoder,
    ZxingDecoder,
    box_blur,
    create_decoder,
    create_zbar_decoder,
    create_zxing_decoder,
    default_stages,
    downscale2,
    sharpen,
    text_from_bytes,
    to_gray,
    upscale2,
)
from agent.qr.enhance import DEBLURS
from simulators.camera.qr_image import render_qr
from simulators.camera.vietnamese import random_text

ROUND_TRIP_COUNT = 320


@pytest.fixture(scope="module")
def stress_images() -> list[tuple[str, np.ndarray]]:
    rng = random.Random(20240701)
    texts = [random_text(rng) for _ in range(ROUND_TRIP_COUNT)]
    # The classic failures of zbar's charset guess, and the shortest strings, are always in.
    texts[:6] = ["Lê", "Nữ", "Hà", "Đ", "ở", "Nguyễn Thị Ngọc Ánh"]
    return [(text, render_qr(text, module_px=2, ec_level="L")) for text in texts]


@pytest.mark.parametrize("make", [create_zbar_decoder, create_zxing_decoder], ids=["zbar-binary", "zxing-cpp"])
def test_random_vietnamese_strings_round_trip_exactly(make: Any, stress_images: list[tuple[str, np.ndarray]]) -> None:
    decoder = make()
    wrong = []
    for text, image in stress_images:
        symbols = decoder.decode(image)
        exact = len(symbols) == 1 and symbols[0].exact_bytes
        if not exact or symbols[0].text != text or symbols[0].raw != text.encode():
            wrong.append(text)
    assert len(stress_images) >= 300
    assert wrong == []


def test_the_cascade_round_trips_too(stress_images: list[tuple[str, np.ndarray]]) -> None:
    decoder = create_decoder()
    for text, image in stress_images[:100]:
        assert decoder.decode_one(image).text == text


def test_zbar_without_binary_mode_is_refused() -> None:
    class NoBinaryZbar(FakeZbar):
        def zbar_image_scanner_set_config(self, scanner: object, symbol: int, config: int, value: int) -> int:
            return 1 if config == qr_decoder.ZBAR_CFG_BINARY else 0

    wrapper = NoBinaryZbar()
    with pytest.raises(QrDecodeError, match="binary mode"):
        ZbarDecoder(wrapper)
    assert wrapper.destroyed  # the scanner is not leaked


def test_zbar_scanner_creation_failure_is_typed() -> None:
    class NoScanner(FakeZbar):
        def zbar_image_scanner_create(self) -> int:
            return 0

    with pytest.raises(QrDecodeError):
        ZbarDecoder(NoScanner())


def test_zbar_bad_image_is_typed_and_closed_decoder_refuses() -> None:
    class Refuses(FakeZbar):
        def zbar_scan_image(self, scanner: object, image: object) -> int:
            return -1

    decoder = ZbarDecoder(Refuses())
    with pytest.raises(QrDecodeError, match="image format"):
        decoder.decode(np.zeros((10, 10), np.uint8))
    decoder.close()
    with pytest.raises(QrDecodeError, match="closed"):
        decoder.decode(np.zeros((10, 10), np.uint8))


def test_zxing_adapter_keeps_raw_bytes_and_reports_located_failures() -> None:
    latin = "Lê".encode("latin-1", "replace")  # not UTF-8
    library = FakeZxing(
        [FakeBarcode(b"L\xc3\xaa", "garbled"), FakeBarcode(latin, "Lê"), FakeBarcode(b"", "", valid=False)]
    )
    failures: list[Polygon] = []
    symbols = ZxingDecoder(library).decode(np.zeros((5, 5), np.uint8), failures)
    assert [(s.text, s.exact_bytes) for s in symbols] == [("Lê", True), ("Lê", False)]
    assert failures == [((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))]
    assert library.calls[-1]["return_errors"] is True
    ZxingDecoder(library).decode(np.zeros((5, 5), np.uint8))
    assert library.calls[-1]["return_errors"] is False


def test_text_from_bytes() -> None:
    assert text_from_bytes("Nữ".encode()) == ("Nữ", True)
    assert text_from_bytes(b"\xff\xfe", "fallback") == ("fallback", False)
    assert text_from_bytes(b"\xe9") == ("é", False)


def test_cascade_stops_at_the_first_pass_that_finds_and_quick_runs_one() -> None:
    first = ScriptedDecoder("a", [])
    second = ScriptedDecoder("b", [symbol(b"x"), symbol(b"x"), symbol(b"y")])
    third = ScriptedDecoder("c", [symbol(b"z")])
    decoder = QrDecoder([Stage("one", first), Stage("two", second, view="denoised"), Stage("three", third)])
    report = decoder.decode(np.zeros((20, 20), np.uint8))
    assert [s.raw for s in report.symbols] == [b"x", b"y"]  # duplicates within a frame are merged
    assert report.stage == "two" and report.stages_tried == 2
    assert all(s.stage == "two" for s in report.symbols)
    assert third.calls == 0
    quick = decoder.decode(np.zeros((20, 20), np.uint8), quick=True)
    assert quick.symbols == () and quick.stages_tried == 1
    with pytest.raises(QrDecodeError):
        QrDecoder([Stage("one", first)]).decode_one(np.zeros((20, 20), np.uint8))
    with pytest.raises(QrDecodeError):
        decoder.decode(np.zeros((0, 0), np.uint8))
    with pytest.raises(ValueError):
        QrDecoder([])


def test_stage_width_limits_and_coordinates() -> None:
    found = ScriptedDecoder("s", [symbol(b"x", ((10.0, 10.0), (20.0, 10.0)))])
    up = Stage("up", found, view="upscaled", max_width=30)
    assert up.applies_to(30) and not up.applies_to(31)
    assert Stage("big", found, min_width=30).applies_to(31) and not Stage("big", found, min_width=30).applies_to(30)
    report = QrDecoder([up]).decode(np.zeros((20, 20), np.uint8))
    assert report.symbols[0].polygon == ((5.0, 5.0), (10.0, 5.0))  # back in frame coordinates
    assert found.last_shape == (40, 40)


def test_region_pass_enlarges_where_a_code_was_located() -> None:
    locator = ScriptedDecoder("l", [], failures=[((100.0, 50.0), (140.0, 50.0), (140.0, 90.0), (100.0, 90.0))])
    reader = ScriptedDecoder("r", [symbol(b"x", ((0.0, 0.0), (8.0, 8.0)))])
    decoder = QrDecoder([Stage("locate", locator, locate=True), Stage("regions", reader, regions=True)])
    report = decoder.decode(np.zeros((200, 300), np.uint8))
    assert report.stage == "regions"
    # the 40 px box grows by 30% on each side (12 px), then doubles in size
    assert reader.last_shape == (2 * 65, 2 * 65)
    assert report.symbols[0].polygon == ((88.0, 38.0), (92.0, 42.0))


def test_deblurring_pass_reads_the_located_box_then_reports_where_a_code_may_be() -> None:
    located = ((100.0, 50.0), (140.0, 50.0), (140.0, 90.0), (100.0, 90.0))
    locator = ScriptedDecoder("l", [], failures=[located])
    reader = ScriptedDecoder("r", [symbol(b"x", ((0.0, 0.0), (8.0, 8.0)))])
    decoder = QrDecoder([Stage("locate", locator, locate=True), Stage("deblurred", reader, deblurs=DEBLURS)])
    report = decoder.decode(np.zeros((200, 300), np.uint8))
    assert report.stage == "deblurred"
    # the 40 px box grows by 25 % on each side (10 px), then doubles in size
    assert reader.last_shape == (2 * 61, 2 * 61)
    assert report.symbols[0].polygon == ((90.0, 40.0), (94.0, 44.0))
    nothing = ScriptedDecoder("r", [])
    missed = QrDecoder([Stage("locate", locator, locate=True), Stage("deblurred", nothing, deblurs=DEBLURS)])
    report = missed.decode(np.zeros((200, 300), np.uint8))
    assert report.symbols == () and report.regions == ((90, 40, 151, 101),)
    assert nothing.calls == len(DEBLURS)  # every deconvolution on the most likely region
    # a region of a frame, or of a stack of frames, read on its own
    region = missed.decode_region(np.zeros((60, 60), np.float32), (90, 40, 150, 100), frames=4)
    assert region.symbols == () and nothing.last_shape == (120, 120)
    read = decoder.decode_region(np.zeros((60, 60), np.float32), (90, 40, 150, 100), frames=4, attempt=5)
    assert read.stage == "r-stacked" and read.symbols[0].polygon == ((90.0, 40.0), (94.0, 44.0))


def test_the_default_cascade_deblurs_after_the_first_pass() -> None:
    stages = default_stages(ScriptedDecoder("zxing", []))
    assert [s.name for s in stages][:2] == ["zxing", "zxing-deblurred"] and stages[1].deblurs == DEBLURS


def test_region_boxes_are_clipped_merged_and_tiny_ones_dropped() -> None:
    a = ((0.0, 0.0), (40.0, 0.0), (40.0, 40.0), (0.0, 40.0))
    b = ((30.0, 30.0), (70.0, 30.0), (70.0, 70.0), (30.0, 70.0))
    boxes = qr_decoder._regions([a, b, (), ((5.0, 5.0),)], 60, 60)
    assert boxes == [(0, 0, 60, 60)]


def test_default_stages_need_a_decoder_and_fall_back_to_zbar() -> None:
    with pytest.raises(QrDecodeError):
        default_stages(None, None)
    zbar_only = default_stages(None, ScriptedDecoder("zbar", []))
    assert zbar_only[0].name == "zbar" and all(s.decoder.name == "zbar" for s in zbar_only)
    both = default_stages(ScriptedDecoder("zxing", []), ScriptedDecoder("zbar", []))
    assert both[0].name == "zxing" and both[-1].name == "zbar"


def test_create_decoder_uses_zbar_when_zxing_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> ZxingDecoder:
        raise QrDecodeError("zxing-cpp is not available")

    monkeypatch.setattr(qr_decoder, "create_zxing_decoder", missing)
    decoder = create_decoder()
    assert decoder.stages[0].decoder.name == "zbar"
    assert decoder.decode_one(render_qr("Nữ", module_px=3)).text == "Nữ"


def test_image_helpers() -> None:
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    assert downscale2(gray).shape == (3, 4)
    assert downscale2(gray)[0, 0] == 5  # (0 + 1 + 8 + 9) / 4 = 4.5, rounded half up
    flat = np.full((5, 5), 100, np.uint8)
    assert (box_blur(flat) == 100).all() and (sharpen(flat) == 100).all()
    spike = np.zeros((5, 5), np.uint8)
    spike[2, 2] = 90
    assert box_blur(spike)[2, 2] == 10 and box_blur(spike)[0, 0] == 0
    assert sharpen(spike)[2, 2] > 90
    assert upscale2(gray).shape == (12, 16)
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 255  # pure red
    assert to_gray(bgr)[0, 0] == 77  # 0.299 * 255, in 1/256 steps
    with pytest.raises(QrDecodeError):
        to_gray(np.zeros((2, 2, 2), np.uint8))
    views = FrameViews(gray)
    assert views.get("sharpened") is views.get("sharpened")
    with pytest.raises(ValueError):
        views.get("nonsense")


# --- fakes ---------------------------------------------------------------------------------------


def symbol(raw: bytes, polygon: Polygon = ()) -> DecodedQr:
    return DecodedQr(raw=raw, text=raw.decode(), decoder="fake", polygon=polygon)


class ScriptedDecoder:
    def __init__(self, name: str, result: list[DecodedQr], failures: list[Polygon] | None = None) -> None:
        self.name = name
        self.result = result
        self.failures = failures or []
        self.calls = 0
        self.last_shape: tuple[int, ...] = ()

    def decode(self, gray: np.ndarray, failures: list[Polygon] | None = None) -> list[DecodedQr]:
        self.calls += 1
        self.last_shape = gray.shape
        if failures is not None:
            failures.extend(self.failures)
        return list(self.result)


class FakeZbar:
    def __init__(self) -> None:
        self.destroyed = False

    def zbar_image_scanner_create(self) -> int:
        return 1

    def zbar_image_scanner_set_config(self, scanner: object, symbol: int, config: int, value: int) -> int:
        return 0

    def zbar_image_scanner_destroy(self, scanner: object) -> None:
        self.destroyed = True

    def zbar_image_create(self) -> int:
        return 1

    def zbar_image_set_format(self, *args: object) -> None: ...

    def zbar_image_set_size(self, *args: object) -> None: ...

    def zbar_image_set_data(self, *args: object) -> None: ...

    def zbar_scan_image(self, scanner: object, image: object) -> int:
        return 0

    def zbar_image_first_symbol(self, image: object) -> None:
        return None

    def zbar_image_destroy(self, image: object) -> None: ...


class FakePoint:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class FakePosition:
    top_left = FakePoint(0, 0)
    top_right = FakePoint(10, 0)
    bottom_right = FakePoint(10, 10)
    bottom_left = FakePoint(0, 10)


class FakeBarcode:
    def __init__(self, raw: bytes, text: str, *, valid: bool = True) -> None:
        self.bytes = raw
        self.text = text
        self.valid = valid
        self.position = FakePosition()


class FakeZxing:
    class BarcodeFormat:
        QRCode = "QRCode"

    def __init__(self, barcodes: list[FakeBarcode]) -> None:
        self.barcodes = barcodes
        self.calls: list[dict[str, Any]] = []

    def read_barcodes(self, image: np.ndarray, **options: Any) -> list[FakeBarcode]:
        self.calls.append(options)
        return [b for b in self.barcodes if b.valid or options.get("return_errors")]
