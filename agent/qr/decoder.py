"""QR decoding of camera frames (ISO/IEC 18004): the zxing-cpp and zbar adapters (this module is the
only home of pyzbar and of zxingcpp) and the agent's cascade of decoding passes.

Text is always the symbol's raw bytes decoded as UTF-8 by us, never a decoder's guess: the printed
CCCD code carries UTF-8 in byte mode with no ECI header, and zbar in its default mode guesses
Shift-JIS or Latin-1 for short strings and garbles Vietnamese ("Lê", "Nữ"). So zbar runs with
ZBAR_CFG_BINARY (= 4, which pyzbar 0.1.9 does not name; set through ``pyzbar.wrapper``), and
zxing-cpp's ``bytes`` are used rather than its ``text``. Only bytes that are not UTF-8 (a foreign code
with an ECI header, say) fall back to the decoder's own transcoding, marked ``exact_bytes=False``.

The cascade was chosen by ``benchmarks/qr.py`` (numbers in benchmarks/results/qr.json, one core).
zxing-cpp on the full frame read 100 % of the "normal" tier at every size and 83-89 % of the "hard"
one, in a median 0.9 / 1.7 / 3.6 ms at 640x480 / 1280x720 / 1920x1080; zbar (binary mode) read
97-99 % and 59-63 % in 7 / 20 / 46 ms, OpenCV's QRCodeDetector 78-84 % and 38-49 % in 12-72 ms, its
Aruco variant 99 % and 61-70 % in 11-60 ms. So zxing-cpp is the first pass at every size, and no
downscaled fast pass is needed: it already stays far under 33 ms at 1080p (zbar on a 2x2-averaged
frame was faster than zbar but lost a quarter of the normal codes). Each later pass recovers a class
of "hard" frames the first one misses and costs little when it fails: a 3x3 box filter (sensor noise
in low light), an unsharp mask built on that box filter (defocus, motion blur), and a 2x upscale of
the regions where zxing-cpp located a code it could not read (small codes). A whole-frame 2x upscale
recovered nothing more and cost 6 ms per empty 640x480 frame, so it is not in the cascade. Neither
zbar nor either OpenCV detector read any of the 27 "hard" frames the zxing-cpp passes missed, so zbar
is not in the default cascade either (and OpenCV is no fallback at all): the same passes run on zbar
when zxing-cpp is not installed, and ``create_decoder(with_zbar=True)`` adds it as a last pass.

A cheap fixed-focus webcam at arm's length (about 3 px per module, lens blur sigma 0.9-1.6 px, noise
sigma about 9; the corpus's "fixed-focus" tier) defeats all of those passes: they read 43 % of
such frames, zxing-cpp alone 17 %, zbar 3 %. So the second pass, right after the first, is the
deblurring pass of agent.qr.enhance: the boxes where zxing-cpp located a code plus the code-like
regions found by their texture, each Wiener-deconvolved and enlarged 2x, read by the same decoder. It
reads 91 % of the fixed-focus frames, costs about 2 ms on a frame with nothing in it (the region
search) and nothing on the frames the first pass reads. When no pass reads a frame, the report says
where a code may be (``DecodeReport.regions``) and :meth:`QrDecoder.decode_region` reads the mean of
a stack of those regions for the scanner (agent.qr.scanner). Every text still comes out of a
decoder's own error correction. Resizing and filtering use numpy and Pillow: cv2 stays in
agent.qr.camera.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from ctypes import c_void_p, string_at
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from agent.errors import QrDecodeError
from agent.qr.enhance import DEBLURS, STACK_DEBLURS, Box, Deblur, box_of, enhance_region, overlaps, propose_regions

log = logging.getLogger(__name__)

GrayImage = npt.NDArray[np.uint8]
Point = tuple[float, float]
Polygon = tuple[Point, ...]

# zbar constants (zbar.h): the symbology, the image format and the config switches.
ZBAR_NONE = 0
ZBAR_QRCODE = 64
ZBAR_CFG_ENABLE = 0
ZBAR_CFG_BINARY = 4
ZBAR_FOURCC_Y800 = 0x30303859  # "Y800": 8-bit grey, one byte per pixel

ROI_MARGIN = 0.3  # a located code's box grows by this fraction of its size on each side
ROI_MAX_REGIONS = 2


@dataclasses.dataclass(frozen=True)
class DecodedQr:
    """One decoded symbol. ``text`` is ``raw`` as UTF-8 when ``exact_bytes``; ``stage`` names the pass."""

    raw: bytes = dataclasses.field(repr=False)
    text: str = dataclasses.field(repr=False)
    decoder: str
    stage: str = ""
    polygon: Polygon = ()
    exact_bytes: bool = True


class SymbolDecoder(Protocol):
    """A QR decoder of one library: grey image in, symbols out (empty when nothing is found).

    A decoder that can locate codes it fails to read appends their polygons to ``failures``.
    """

    name: str

    def decode(self, gray: GrayImage, failures: list[Polygon] | None = None) -> list[DecodedQr]: ...


def text_from_bytes(raw: bytes, transcoded: str | None = None) -> tuple[str, bool]:
    """The symbol's text: ``raw`` as UTF-8, else the decoder's own ``transcoded`` text (inexact)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        if transcoded is not None:
            return transcoded, False
        return raw.decode("latin-1"), False


# --- the library adapters -----------------------------------------------------------------------


class ZbarDecoder:
    """zbar through pyzbar's ctypes wrapper, QR only, in binary mode (raw bytes out).

    ``wrapper`` is the ``pyzbar.wrapper`` module (or a fake with the same functions). One scanner is
    kept for the decoder's life; it is not thread-safe, so use one ZbarDecoder per thread.
    """

    name = "zbar"

    def __init__(self, wrapper: Any) -> None:
        self._zbar = wrapper
        scanner = wrapper.zbar_image_scanner_create()
        if not scanner:
            raise QrDecodeError("zbar could not create an image scanner")
        self._scanner = scanner
        wrapper.zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        wrapper.zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
        if wrapper.zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1) != 0:
            # Without binary mode Vietnamese text comes back garbled: refuse rather than mislead.
            self.close()
            raise QrDecodeError("this zbar has no binary mode (ZBAR_CFG_BINARY); zbar 0.23 or later is needed")

    def decode(self, gray: GrayImage, failures: list[Polygon] | None = None) -> list[DecodedQr]:
        if self._scanner is None:
            raise QrDecodeError("zbar decoder is closed")
        zbar = self._zbar
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        height, width = gray.shape
        image = zbar.zbar_image_create()
        if not image:
            raise QrDecodeError("zbar could not create an image")
        try:
            zbar.zbar_image_set_format(image, ZBAR_FOURCC_Y800)
            zbar.zbar_image_set_size(image, width, height)
            zbar.zbar_image_set_data(image, gray.ctypes.data_as(c_void_p), gray.nbytes, None)
            if zbar.zbar_scan_image(self._scanner, image) < 0:
                raise QrDecodeError("zbar refused the image format")
            found = []
            symbol = zbar.zbar_image_first_symbol(image)
            while symbol:
                raw = string_at(zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol))
                polygon = tuple(
                    (float(zbar.zbar_symbol_get_loc_x(symbol, i)), float(zbar.zbar_symbol_get_loc_y(symbol, i)))
                    for i in range(zbar.zbar_symbol_get_loc_size(symbol))
                )
                text, exact = text_from_bytes(raw)
                found.append(DecodedQr(raw=raw, text=text, decoder=self.name, polygon=polygon, exact_bytes=exact))
                symbol = zbar.zbar_symbol_next(symbol)
            return found
        finally:
            zbar.zbar_image_destroy(image)

    def close(self) -> None:
        if self._scanner:
            self._zbar.zbar_image_scanner_destroy(self._scanner)
        self._scanner = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 - at interpreter exit the wrapper may be gone already
            pass


class ZxingDecoder:
    """zxing-cpp, QR only. ``library`` is the ``zxingcpp`` module (or a fake with ``read_barcodes``).

    zxing-cpp's own searches stay on: rotations, inverted codes (a phone in dark mode), and its
    downscaled pyramid (tried only when the full-resolution search fails). With ``failures`` it also
    reports where it located a code it could not read, which the region pass then enlarges.
    """

    name = "zxing"

    def __init__(self, library: Any) -> None:
        self._zxing = library
        self._formats = library.BarcodeFormat.QRCode

    def decode(self, gray: GrayImage, failures: list[Polygon] | None = None) -> list[DecodedQr]:
        barcodes = self._zxing.read_barcodes(
            np.ascontiguousarray(gray, dtype=np.uint8), formats=self._formats, return_errors=failures is not None
        )
        found = []
        for barcode in barcodes:
            position = barcode.position
            corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
            polygon = tuple((float(p.x), float(p.y)) for p in corners)
            if not barcode.valid:
                if failures is not None:
                    failures.append(polygon)
                continue
            raw = bytes(barcode.bytes)
            text, exact = text_from_bytes(raw, barcode.text)
            found.append(DecodedQr(raw=raw, text=text, decoder=self.name, polygon=polygon, exact_bytes=exact))
        return found


def create_zbar_decoder() -> ZbarDecoder:
    """The real zbar adapter (imports pyzbar only when called: importing this module loads nothing)."""
    try:
        from pyzbar import wrapper
    except ImportError as exc:  # pyzbar missing, or libzbar0 not installed
        raise QrDecodeError("zbar is not available: install libzbar0 and pyzbar") from exc
    return ZbarDecoder(wrapper)


def create_zxing_decoder() -> ZxingDecoder:
    """The real zxing-cpp adapter."""
    try:
        import zxingcpp
    except ImportError as exc:
        raise QrDecodeError("zxing-cpp is not available: install the zxing-cpp package") from exc
    return ZxingDecoder(zxingcpp)


# --- image helpers (numpy and Pillow; no cv2 here) ----------------------------------------------


def to_gray(frame: npt.NDArray[Any]) -> GrayImage:
    """A 2-D uint8 grey image from a grey or BGR(A) frame (ITU-R BT.601 luma weights)."""
    if frame.ndim == 2:
        return np.asarray(frame, dtype=np.uint8)
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        weights = np.array([29, 150, 77], dtype=np.uint32)  # B, G, R, scaled by 256
        luma = (frame[:, :, :3].astype(np.uint32) @ weights + 128) >> 8
        return luma.astype(np.uint8)
    raise QrDecodeError(f"expected a grey or BGR image, got shape {frame.shape}")


def downscale2(gray: GrayImage) -> GrayImage:
    """Half size by averaging each 2x2 block."""
    height, width = gray.shape
    block = gray[: height // 2 * 2, : width // 2 * 2].astype(np.uint16)
    total = block[0::2, 0::2] + block[1::2, 0::2] + block[0::2, 1::2] + block[1::2, 1::2]
    return ((total + 2) >> 2).astype(np.uint8)


def box_blur(gray: GrayImage) -> GrayImage:
    """A separable 3x3 mean (edges repeated): low-light sensor noise breaks the binarizer otherwise."""
    padded = np.pad(gray, 1, mode="edge").astype(np.uint16)
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    total = rows[:-2] + rows[1:-1] + rows[2:]
    return np.asarray((total + 4) // 9, dtype=np.uint8)


def sharpen(gray: GrayImage, blurred: GrayImage | None = None) -> GrayImage:
    """An unsharp mask over the 3x3 mean (gain 1.5): restores module edges softened by blur."""
    low = box_blur(gray) if blurred is None else blurred
    signed = gray.astype(np.int16)
    return np.asarray(np.clip(signed + ((signed - low.astype(np.int16)) * 3) // 2, 0, 255), dtype=np.uint8)


def upscale2(gray: GrayImage) -> GrayImage:
    """Double size (bicubic): gives the finder-pattern search more than 2 px per module."""
    height, width = gray.shape
    return np.asarray(Image.fromarray(gray).resize((width * 2, height * 2), Image.Resampling.BICUBIC), np.uint8)


class FrameViews:
    """Lazily computed, cached versions of one grey frame, shared by the passes, and the regions where
    the passes think a code is (``candidates``, for the scanner's multi-frame stacking)."""

    def __init__(self, gray: GrayImage) -> None:
        self.gray = gray
        self._cache: dict[str, GrayImage] = {"frame": gray}
        self.candidates: list[Box] = []

    def get(self, view: str) -> GrayImage:
        if view not in self._cache:
            if view == "denoised":
                self._cache[view] = box_blur(self.gray)
            elif view == "sharpened":
                self._cache[view] = sharpen(self.gray, self.get("denoised"))
            elif view == "upscaled":
                self._cache[view] = upscale2(self.gray)
            elif view == "half":
                self._cache[view] = downscale2(self.gray)
            else:
                raise ValueError(f"unknown view {view!r}")
        return self._cache[view]


VIEW_SCALE = {"frame": 1.0, "denoised": 1.0, "sharpened": 1.0, "upscaled": 0.5, "half": 2.0}


# --- the cascade ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stage:
    """One pass: a decoder over one view of the frame, on frames of some widths.

    ``regions`` makes it a region pass: instead of the whole view it decodes, 2x upscaled, the boxes
    around codes that earlier passes located but could not read. ``locate`` asks the decoder for those
    boxes. ``deblurs`` makes it a deblurring pass (agent.qr.enhance): the located boxes and the
    code-like regions it finds itself, each deconvolved with each of ``deblurs`` in turn and enlarged.
    ``min_width`` / ``max_width`` restrict the pass to frames wider than / at most so wide.
    """

    name: str
    decoder: SymbolDecoder
    view: str = "frame"
    regions: bool = False
    locate: bool = False
    min_width: int = 0
    max_width: int = 0
    deblurs: tuple[Deblur, ...] = ()
    max_regions: int = 2

    def applies_to(self, width: int) -> bool:
        return (not self.min_width or width > self.min_width) and (not self.max_width or width <= self.max_width)

    def run(self, views: FrameViews, located: list[Polygon]) -> list[DecodedQr]:
        if self.regions:
            return self._run_regions(views.gray, located)
        if self.deblurs:
            return self._run_deblurred(views, located)
        scale = VIEW_SCALE[self.view]
        found_here: list[Polygon] = []
        symbols = self.decoder.decode(views.get(self.view), found_here if self.locate else None)
        located.extend(_scaled(polygon, scale) for polygon in found_here)
        return [dataclasses.replace(s, polygon=_scaled(s.polygon, scale)) for s in symbols]

    def _run_regions(self, gray: GrayImage, located: list[Polygon]) -> list[DecodedQr]:
        height, width = gray.shape
        for x0, y0, x1, y1 in _regions(located, width, height)[:ROI_MAX_REGIONS]:
            crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
            symbols = self.decoder.decode(upscale2(crop))
            if symbols:
                return [
                    dataclasses.replace(s, polygon=tuple((x0 + x / 2, y0 + y / 2) for x, y in s.polygon))
                    for s in symbols
                ]
        return []


    def _run_deblurred(self, views: FrameViews, located: list[Polygon]) -> list[DecodedQr]:
        gray = views.gray
        height, width = gray.shape
        candidates = [*(box_of(p, width, height) for p in located), *propose_regions(gray, limit=self.max_regions)]
        boxes = _distinct([], candidates)[: self.max_regions]
        views.candidates.extend(boxes)
        for rank, box in enumerate(boxes):
            x0, y0, x1, y1 = box
            region = gray[y0:y1, x0:x1]
            # Measured: the later deconvolutions pay off on the most likely region only.
            for params in self.deblurs if rank == 0 else self.deblurs[:1]:
                symbols = self.decoder.decode(enhance_region(region, params))
                if symbols:
                    return [_from_enlarged(s, box) for s in symbols]
        return []


def _distinct(first: Sequence[Box], more: Sequence[Box | None]) -> list[Box]:
    """``first``, then each box of ``more`` that overlaps none already kept (in order: the most likely first)."""
    kept = list(first)
    for box in more:
        if box is not None and not any(overlaps(box, other) for other in kept):
            kept.append(box)
    return kept


def _from_enlarged(symbol: DecodedQr, box: Box) -> DecodedQr:
    """A symbol found in a 2x enlarged region, back in frame coordinates."""
    x0, y0 = box[0], box[1]
    return dataclasses.replace(symbol, polygon=tuple((x0 + x / 2, y0 + y / 2) for x, y in symbol.polygon))


def _scaled(polygon: Polygon, scale: float) -> Polygon:
    return polygon if scale == 1.0 else tuple((x * scale, y * scale) for x, y in polygon)


def _regions(located: list[Polygon], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around the located codes, grown by ROI_MARGIN, merged when they overlap."""
    boxes: list[tuple[int, int, int, int]] = []
    for polygon in located:
        if not polygon:
            continue
        xs = [p[0] for p in polygon]
        ys = [p[1] for p in polygon]
        grow = ROI_MARGIN * max(max(xs) - min(xs), max(ys) - min(ys), 8.0)
        box = (
            max(0, int(min(xs) - grow)),
            max(0, int(min(ys) - grow)),
            min(width, int(max(xs) + grow) + 1),
            min(height, int(max(ys) + grow) + 1),
        )
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:
            continue
        for i, other in enumerate(boxes):
            if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                boxes[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                break
        else:
            boxes.append(box)
    return boxes


@dataclasses.dataclass(frozen=True)
class DecodeReport:
    """What one frame gave: the symbols, the pass that found them and the time spent (ms).

    When nothing was read, ``regions`` holds the boxes where a pass located a code or found a
    code-like region (the most likely first), for the scanner to stack over the next frames.
    """

    symbols: tuple[DecodedQr, ...]
    stage: str
    elapsed_ms: float
    stages_tried: int
    regions: tuple[Box, ...] = ()


class QrDecoder:
    """Runs the passes in order and stops at the first that finds a symbol."""

    def __init__(self, stages: Sequence[Stage], *, clock: Callable[[], float] = time.perf_counter) -> None:
        if not stages:
            raise ValueError("a QrDecoder needs at least one stage")
        self.stages = tuple(stages)
        self._clock = clock

    def decode(self, frame: npt.NDArray[Any], *, quick: bool = False) -> DecodeReport:
        """Decode one frame; ``quick`` runs only the first pass (for frames the scanner thinks empty)."""
        started = self._clock()
        gray = to_gray(frame)
        if gray.size == 0:
            raise QrDecodeError("empty image")
        views = FrameViews(gray)
        located: list[Polygon] = []
        width = gray.shape[1]
        tried = 0
        for stage in self.stages[:1] if quick else self.stages:
            if not stage.applies_to(width):
                continue
            tried += 1
            symbols = stage.run(views, located)
            if symbols:
                return DecodeReport(_unique(symbols, stage.name), stage.name, (self._clock() - started) * 1000, tried)
        regions = _distinct(views.candidates, [box_of(p, width, gray.shape[0]) for p in located])
        return DecodeReport((), "", (self._clock() - started) * 1000, tried, tuple(regions))

    def decode_region(self, region: npt.NDArray[Any], box: Box, *, frames: int = 1, attempt: int = 0) -> DecodeReport:
        """Decode a region of a frame (``box``), or the mean of ``frames`` aligned copies of it: deblurred
        with the ``attempt``-th deconvolution (cycling; STACK_DEBLURS for a mean of several frames),
        enlarged, read by the deblurring pass's decoder (the first pass's when there is none)."""
        started = self._clock()
        stage = next((s for s in self.stages if s.deblurs), None)
        decoder = stage.decoder if stage is not None else self.stages[0].decoder
        deblurs = STACK_DEBLURS if frames > 1 else stage.deblurs if stage is not None else DEBLURS
        name = f"{decoder.name}-stacked" if frames > 1 else f"{decoder.name}-deblurred"
        symbols = decoder.decode(enhance_region(region, deblurs[attempt % len(deblurs)]))
        found = _unique([_from_enlarged(s, box) for s in symbols], name) if symbols else ()
        return DecodeReport(found, name if found else "", (self._clock() - started) * 1000, 1)

    def decode_one(self, frame: npt.NDArray[Any]) -> DecodedQr:
        """The first symbol of the frame, or QrDecodeError when there is none."""
        report = self.decode(frame)
        if not report.symbols:
            raise QrDecodeError("no QR code found in the image")
        return report.symbols[0]


def _unique(symbols: Sequence[DecodedQr], stage: str) -> tuple[DecodedQr, ...]:
    """The symbols, each distinct payload once (first occurrence kept), named after their pass."""
    unique = {s.raw: dataclasses.replace(s, stage=stage) for s in reversed(symbols)}
    return tuple(reversed(list(unique.values())))


def default_stages(zxing: SymbolDecoder | None, zbar: SymbolDecoder | None = None) -> list[Stage]:
    """The measured cascade (module docstring). With no zxing-cpp, the same passes run on zbar."""
    primary = zxing or zbar
    if primary is None:
        raise QrDecodeError("no QR decoder is available: install zxing-cpp (or libzbar0 and pyzbar)")
    stages = [
        Stage(f"{primary.name}", primary, locate=True),
        Stage(f"{primary.name}-deblurred", primary, deblurs=DEBLURS),
        Stage(f"{primary.name}-denoised", primary, view="denoised", locate=True),
        Stage(f"{primary.name}-sharpened", primary, view="sharpened"),
        Stage(f"{primary.name}-regions", primary, regions=True),
    ]
    if zbar is not None and zbar is not primary:
        stages.append(Stage("zbar", zbar))
    return stages


def create_decoder(*, with_zbar: bool = False, prefer: str = "zxing") -> QrDecoder:
    """The agent's decoder with the real libraries; zbar is used when zxing-cpp is missing.

    ``prefer="zbar"`` builds the same cascade on zbar (for comparison, and for desks where zxing-cpp
    cannot be installed); ``with_zbar`` adds a final zbar pass to the zxing-cpp cascade.
    """
    zxing: ZxingDecoder | None = None
    if prefer != "zbar":
        try:
            zxing = create_zxing_decoder()
        except QrDecodeError:
            log.warning("zxing-cpp is not available; decoding QR codes with zbar only")
    zbar = create_zbar_decoder() if (with_zbar or zxing is None) else None
    return QrDecoder(default_stages(zxing, zbar))
