"""Stacking one region of consecutive frames: a card held still in front of a fixed-focus webcam is
blurred the same way in every frame, but its sensor noise and compression artefacts are fresh each
time, so the mean of N aligned frames has about 1/sqrt(N) of the noise, and the deconvolution of
agent.qr.enhance can then restore more of the blur (numpy only; cv2 stays in agent.qr.camera).

Alignment is by cross-correlation of the region against the first frame of the stack, in the Fourier
domain: both are windowed (Hann), band-limited to the periods where the modules are (a Gaussian
low-pass against pixel noise, a high-pass against uneven light), and the correlation's peak, refined
to a fraction of a pixel by a parabola through its neighbours, gives the shift; the frame's spectrum
is then shifted back by a phase ramp and added to the running sum. A hand's tremor moves a card a
fraction of a pixel per frame; a correlation under MIN_CORRELATION, or a shift of more than
``max_shift`` pixels, means the card moved or left, and the stack refuses the frame (the caller
starts again).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from agent.qr.enhance import Box

GrayImage = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]
Spectrum = npt.NDArray[np.complex64]

MIN_CORRELATION = 0.5  # normalised, of the band-limited regions: below it the scene is not the same
MAX_SHIFT_PX = 8.0
ALIGN_LOWPASS_PX = 1.0  # sigma of the low-pass applied before correlating (pixel noise)
ALIGN_HIGHPASS_PX = 12.0  # sigma of the background removed before correlating (uneven light)


def _hann(shape: tuple[int, int]) -> FloatImage:
    rows = np.hanning(shape[0]).astype(np.float32)
    cols = np.hanning(shape[1]).astype(np.float32)
    return np.asarray(np.outer(rows, cols), dtype=np.float32)


def _band(shape: tuple[int, int]) -> FloatImage:
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    f2 = fx * fx + fy * fy
    low = np.exp(np.float32(-2 * math.pi**2 * ALIGN_LOWPASS_PX**2) * f2)
    high = 1 - np.exp(np.float32(-2 * math.pi**2 * ALIGN_HIGHPASS_PX**2) * f2)
    return np.asarray(low * high, dtype=np.float32)


def _ramp(shape: tuple[int, int], dy: float, dx: float) -> Spectrum:
    """The phase ramp that moves an image by (-dy, -dx) pixels (undoes a shift of (dy, dx))."""
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    return np.asarray(np.exp(2j * math.pi * (fy * dy + fx * dx)), dtype=np.complex64)


def _parabola(before: float, peak: float, after: float) -> float:
    """The offset (-0.5..0.5) of the top of the parabola through three equally spaced values."""
    curvature = before - 2 * peak + after
    if curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))


class RegionStack:
    """The aligned running mean of the region ``box`` over the frames given to :meth:`add`."""

    def __init__(self, gray: GrayImage, box: Box, *, max_shift: float = MAX_SHIFT_PX) -> None:
        x0, y0, x1, y1 = box
        region = np.asarray(gray[y0:y1, x0:x1], dtype=np.float32)
        self.box = box
        self.shape = (int(region.shape[0]), int(region.shape[1]))
        self.max_shift = max_shift
        self._window = _hann(self.shape)
        self._band = _band(self.shape)
        self._reference, self._reference_energy = self._signature(region)
        self._sum: Spectrum = np.fft.rfft2(region).astype(np.complex64)
        self.count = 1
        self.last_shift = (0.0, 0.0)
        self.last_correlation = 1.0

    def _signature(self, region: FloatImage) -> tuple[Spectrum, float]:
        windowed = (region - float(region.mean())) * self._window
        spectrum = np.fft.rfft2(windowed).astype(np.complex64) * self._band
        # Parseval on an rfft2 grid: the columns other than 0 (and the Nyquist one) stand for two.
        power = np.abs(spectrum) ** 2
        energy = 2 * float(power.sum()) - float(power[:, 0].sum())
        if self.shape[1] % 2 == 0:
            energy -= float(power[:, -1].sum())
        return np.asarray(spectrum, dtype=np.complex64), energy / (self.shape[0] * self.shape[1])

    def add(self, gray: GrayImage) -> bool:
        """Align the frame's region to the first one and add it; False (nothing added) when it does not fit."""
        x0, y0, x1, y1 = self.box
        if gray.shape[0] < y1 or gray.shape[1] < x1:
            return False
        region = np.asarray(gray[y0:y1, x0:x1], dtype=np.float32)
        signature, energy = self._signature(region)
        if energy <= 0 or self._reference_energy <= 0:
            return False
        surface = np.fft.irfft2(signature * np.conj(self._reference), s=self.shape)
        surface /= math.sqrt(energy * self._reference_energy)
        iy, ix = np.unravel_index(int(np.argmax(surface)), surface.shape)
        height, width = self.shape
        peak = float(surface[iy, ix])
        dy = iy + _parabola(float(surface[iy - 1, ix]), peak, float(surface[(iy + 1) % height, ix]))
        dx = ix + _parabola(float(surface[iy, ix - 1]), peak, float(surface[iy, (ix + 1) % width]))
        dy = dy - height if dy > height / 2 else dy
        dx = dx - width if dx > width / 2 else dx
        self.last_shift, self.last_correlation = (float(dy), float(dx)), peak
        if peak < MIN_CORRELATION or math.hypot(dy, dx) > self.max_shift:
            return False
        self._sum += np.fft.rfft2(region).astype(np.complex64) * _ramp(self.shape, dy, dx)
        self.count += 1
        return True

    def mean(self) -> FloatImage:
        """The mean of the aligned regions (float, grey levels)."""
        return np.asarray(np.fft.irfft2(self._sum / self.count, s=self.shape), dtype=np.float32)
