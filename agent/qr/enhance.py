"""Image processing for QR codes a fixed-focus webcam blurs: where in a frame a code probably is, and a
deblurred, enlarged view of that region for the decoders (numpy and Pillow only; cv2 stays in
agent.qr.camera).

A cheap fixed-focus webcam at arm's length gives about 3 px per module and a lens blur of Gaussian
sigma 1-1.6 px, under sensor noise of sigma about 9 grey levels (simulators.camera.corpus, tier
"fixed-focus"). zxing-cpp then fails twice: its finder-pattern search does not even locate most such
codes, and where it does, its one-pixel-per-module sampling of a noisy, soft image misreads too many
modules for the error correction. So:

- :func:`propose_regions` finds code-like regions itself: the energy of a band-pass of the half-size
  frame (periods of about 3-12 px, where the modules are and pixel noise is not), in 16 px blocks; a
  code is a compact patch of blocks well above the frame's median energy. An erosion drops the thin
  patches of printed lines and edges. About 2 ms at 1280x720.
- :func:`deblur` is a Wiener deconvolution of a Gaussian blur, band-limited by a Gaussian low-pass,
  computed with one FFT of the region: it undoes most of the lens blur without amplifying the noise
  past the point where the binarizer breaks. :func:`enhance_region` then doubles the region's size
  (bicubic), so each module is about 6 px and the decoder's centre sample is a local average.
  About 3 ms for a 300x300 px region.

The parameters were chosen on 300 frames of the fixed-focus tier (seed 2024): with the region known,
one deconvolution (sigma 1.4, noise-to-signal 0.03, low-pass 0.4, at the frame's scale) read 85 % of
them, a second one tuned to stronger blur added 2-3 %; the unsharp masks tried instead (at 2x) read
at most 79 %. The mean of a stack of frames has less noise, so its deconvolutions (STACK_DEBLURS)
dare more. A region is never trusted for its text: the decoder's own error correction decides, as
for any frame.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from PIL import Image

GrayImage = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels, x1 and y1 exclusive

ENERGY_BLOCK = 8  # half-size pixels per block side: 16 frame pixels
PROPOSAL_FACTOR = 8.0  # a block is code-like when its energy exceeds this many times the frame's median
PROPOSAL_MIN_BLOCKS = 4  # after the erosion
PROPOSAL_MAX_ASPECT = 2.5
PROPOSAL_MARGIN_BLOCKS = 2  # one for the erosion, one of quiet zone and blur
PROPOSAL_MAX_FILL = 0.4  # when more of the frame than this looks code-like, the threshold is raised


@dataclasses.dataclass(frozen=True)
class Deblur:
    """A Wiener deconvolution of a Gaussian blur of ``sigma`` px, then a Gaussian low-pass of ``lowpass`` px."""

    sigma: float
    nsr: float
    lowpass: float


# The deconvolutions tried on a region of one frame, in order: the second one is for the strongest blur.
DEBLURS = (Deblur(1.4, 0.03, 0.4), Deblur(1.8, 0.01, 0.4))
# The ones tried in turn on the mean of a stack of frames, whose lower noise lets them restore more.
STACK_DEBLURS = (Deblur(1.6, 0.01, 0.4), Deblur(1.8, 0.003, 0.7), Deblur(1.4, 0.003, 0.7))


# --- helpers -------------------------------------------------------------------------------------


def _box3(gray: GrayImage) -> GrayImage:
    """A 3x3 mean, edges repeated (in place on one uint16 copy: cheaper than padding)."""
    a = gray.astype(np.uint16)
    rows = a.copy()
    rows[:, 1:] += a[:, :-1]
    rows[:, :-1] += a[:, 1:]
    rows[:, 0] += a[:, 0]
    rows[:, -1] += a[:, -1]
    total = rows.copy()
    total[1:] += rows[:-1]
    total[:-1] += rows[1:]
    total[0] += rows[0]
    total[-1] += rows[-1]
    return np.asarray((total + 4) // 9, dtype=np.uint8)


def _half(gray: GrayImage) -> GrayImage:
    height, width = gray.shape
    block = gray[: height // 2 * 2, : width // 2 * 2].astype(np.uint16)
    total = block[0::2, 0::2] + block[1::2, 0::2] + block[0::2, 1::2] + block[1::2, 1::2]
    return ((total + 2) >> 2).astype(np.uint8)


def block_energy(gray: GrayImage) -> FloatImage:
    """Mean squared band-pass response per block of ENERGY_BLOCK half-size pixels (16 frame pixels)."""
    half = _half(gray)
    smooth = _box3(half)
    background = _box3(_box3(smooth))
    band = smooth.astype(np.int16) - background.astype(np.int16)
    energy = np.square(band, dtype=np.int32)
    b = ENERGY_BLOCK
    rows, cols = energy.shape[0] // b, energy.shape[1] // b
    if rows == 0 or cols == 0:
        return np.zeros((0, 0), np.float32)
    strips = energy[: rows * b, : cols * b].reshape(rows, b, cols * b).sum(axis=1)
    return np.asarray(strips.reshape(rows, cols, b).sum(axis=2) / (b * b), dtype=np.float32)


def _erode(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    padded = np.pad(mask, 1, constant_values=False)
    height, width = mask.shape
    out = np.ones_like(mask)
    for dy in range(3):
        for dx in range(3):
            out &= padded[dy : dy + height, dx : dx + width]
    return out


def _components(mask: npt.NDArray[np.bool_]) -> list[list[tuple[int, int]]]:
    """The 4-connected components of a small mask (a few hundred cells at most), as lists of cells."""
    todo = {(int(y), int(x)) for y, x in zip(*np.nonzero(mask), strict=True)}
    found = []
    while todo:
        seed = todo.pop()
        cells, stack = [seed], [seed]
        while stack:
            y, x = stack.pop()
            for cell in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if cell in todo:
                    todo.remove(cell)
                    cells.append(cell)
                    stack.append(cell)
        found.append(cells)
    return found


def propose_regions(gray: GrayImage, *, limit: int = 2) -> list[Box]:
    """Up to ``limit`` boxes where a QR code probably is, the most textured first (see module doc)."""
    energy = block_energy(gray)
    if energy.size == 0:
        return []
    floor = float(np.median(energy)) + 1e-3
    threshold = PROPOSAL_FACTOR * floor
    if float((energy > threshold).mean()) > PROPOSAL_MAX_FILL:  # a busy scene: keep only its densest part
        threshold = float(np.quantile(energy, 1 - PROPOSAL_MAX_FILL))
    core = _erode(energy > threshold)
    scale = 2 * ENERGY_BLOCK
    height, width = gray.shape
    m = PROPOSAL_MARGIN_BLOCKS
    found: list[tuple[float, Box]] = []
    for cells in _components(core):
        if len(cells) < PROPOSAL_MIN_BLOCKS:
            continue
        ys = [c[0] for c in cells]
        xs = [c[1] for c in cells]
        rows, cols = max(ys) - min(ys) + 1, max(xs) - min(xs) + 1
        if max(rows, cols) > PROPOSAL_MAX_ASPECT * min(rows, cols):
            continue
        box = (
            max(0, (min(xs) - m) * scale),
            max(0, (min(ys) - m) * scale),
            min(width, (max(xs) + m + 1) * scale),
            min(height, (max(ys) + m + 1) * scale),
        )
        found.append((float(energy[ys, xs].sum()), box))
    found.sort(key=lambda item: -item[0])
    return [box for _score, box in found[:limit]]


def box_of(polygon: tuple[tuple[float, float], ...], width: int, height: int, *, margin: float = 0.25) -> Box | None:
    """The box around a located code's corners, grown by ``margin`` of its size on each side."""
    if len(polygon) < 3:
        return None
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    grow = margin * max(max(xs) - min(xs), max(ys) - min(ys), 16.0)
    box = (
        max(0, int(min(xs) - grow)),
        max(0, int(min(ys) - grow)),
        min(width, int(max(xs) + grow) + 1),
        min(height, int(max(ys) + grow) + 1),
    )
    return box if box[2] - box[0] >= 16 and box[3] - box[1] >= 16 else None


def overlaps(a: Box, b: Box) -> bool:
    """True when the two boxes share more than half of the smaller one."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return smaller > 0 and ix * iy > smaller / 2


# --- deblurring ----------------------------------------------------------------------------------


def _squared_frequencies(shape: tuple[int, int]) -> FloatImage:
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    return np.asarray(fx * fx + fy * fy, dtype=np.float32)


def transfer(shape: tuple[int, int], params: Deblur) -> FloatImage:
    """The filter's transfer function on an ``rfft2`` grid of a region of ``shape``."""
    f2 = _squared_frequencies(shape)
    blur = np.exp(np.float32(-2 * math.pi**2 * params.sigma**2) * f2)
    lowpass = np.exp(np.float32(-2 * math.pi**2 * params.lowpass**2) * f2)
    return np.asarray(blur / (blur * blur + np.float32(params.nsr)) * lowpass, dtype=np.float32)


def deblur(region: npt.NDArray[np.float32] | GrayImage, params: Deblur) -> GrayImage:
    """A Wiener deconvolution of ``region`` (see :class:`Deblur`), clipped to grey levels."""
    data = np.asarray(region, dtype=np.float32)
    mean = float(data.mean())
    shape = (int(data.shape[0]), int(data.shape[1]))
    out = np.fft.irfft2(np.fft.rfft2(data - mean) * transfer(shape, params), s=shape)
    return np.asarray(np.clip(out + mean + 0.5, 0, 255), dtype=np.uint8)


def enlarge(gray: GrayImage) -> GrayImage:
    """Double size (bicubic)."""
    height, width = gray.shape
    return np.asarray(Image.fromarray(gray).resize((width * 2, height * 2), Image.Resampling.BICUBIC), np.uint8)


def enhance_region(region: npt.NDArray[np.float32] | GrayImage, params: Deblur) -> GrayImage:
    """The region deblurred and doubled in size, ready for a decoder."""
    return enlarge(deblur(region, params))
