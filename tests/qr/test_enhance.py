"""The fixed-focus helpers: code-like regions found where the code is (and not on a plain scene), the
deconvolution that makes a blurred code readable, and the stack that aligns frames to a fraction of a
pixel, averages their noise away and refuses a frame of another scene."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.qr import enhance
from agent.qr.decoder import create_zxing_decoder
from agent.qr.stack import RegionStack
from simulators.camera.qr_image import render_qr

TEXT = "079052625491||Trần Văn Nam|07071952|Nam|Số 4 Đường Lê Lợi, Sóc Trăng|08032018"


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A reference blur for the tests, by FFT (independent of the code under test's filters)."""
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.rfftfreq(image.shape[1])[None, :]
    transfer = np.exp(-2 * math.pi**2 * sigma**2 * (fx * fx + fy * fy))
    return np.fft.irfft2(np.fft.rfft2(image) * transfer, s=image.shape)


def shifted(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``image`` moved by (dy, dx) pixels (content at x goes to x + dx), circularly."""
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.rfftfreq(image.shape[1])[None, :]
    return np.fft.irfft2(np.fft.rfft2(image) * np.exp(-2j * math.pi * (fy * dy + fx * dx)), s=image.shape)


def scene(*, sigma: float = 1.5, noise: float = 9.0, seed: int = 1, contrast: float = 0.5) -> tuple[np.ndarray, tuple]:
    """A 3 px-per-module code blurred by a fixed-focus lens on a grey 480x640 scene, with sensor noise."""
    rng = np.random.default_rng(seed)
    code = render_qr(TEXT, module_px=3, ec_level="M").astype(np.float64)
    frame = np.full((480, 640), 128.0)
    y, x = 100, 220
    frame[y : y + code.shape[0], x : x + code.shape[1]] = 128 + (code - 128) * contrast
    frame = gaussian_blur(frame, sigma) + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8), (x, y, x + code.shape[1], y + code.shape[0])


def contains(box: tuple, inner: tuple) -> bool:
    return box[0] <= inner[0] and box[1] <= inner[1] and box[2] >= inner[2] and box[3] >= inner[3]


def test_the_region_proposal_covers_the_code_and_nothing_on_a_plain_scene() -> None:
    frame, code_box = scene()
    boxes = enhance.propose_regions(frame)
    assert boxes and contains(boxes[0], code_box)
    plain = np.clip(np.random.default_rng(2).normal(128, 9, (480, 640)), 0, 255).astype(np.uint8)
    assert enhance.propose_regions(plain) == []
    assert enhance.propose_regions(np.zeros((8, 8), np.uint8)) == []


def test_a_long_edge_is_no_code() -> None:
    frame = np.full((480, 640), 60, np.uint8)
    frame[:, 320:] = 200
    frame[200:204, 40:600] = 0  # a printed line
    assert enhance.propose_regions(frame) == []


def test_deconvolution_makes_a_blurred_code_readable() -> None:
    zxing = create_zxing_decoder()
    frame, code_box = scene(sigma=1.5, noise=6.0)
    x0, y0, x1, y1 = code_box
    region = frame[y0 - 24 : y1 + 24, x0 - 24 : x1 + 24]
    assert zxing.decode(region) == [] and zxing.decode(enhance.enlarge(region)) == []
    read = zxing.decode(enhance.enhance_region(region, enhance.DEBLURS[0]))
    assert [s.text for s in read] == [TEXT]


def test_deblur_keeps_a_flat_region_flat_and_the_helpers() -> None:
    flat = np.full((40, 50), 77, np.uint8)
    assert (enhance.deblur(flat, enhance.DEBLURS[0]) == 77).all()
    assert enhance.enlarge(flat).shape == (80, 100)
    assert enhance.box_of(((10.0, 10.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0)), 100, 100) == (0, 0, 61, 61)
    assert enhance.box_of(((1.0, 1.0),), 100, 100) is None
    assert enhance.overlaps((0, 0, 10, 10), (2, 2, 12, 12)) and not enhance.overlaps((0, 0, 10, 10), (8, 8, 20, 20))


def test_the_stack_aligns_sub_pixel_shifts_and_averages_the_noise() -> None:
    rng = np.random.default_rng(3)
    clean, code_box = scene(noise=0.0)
    x0, y0, x1, y1 = code_box
    box = (x0 - 32, y0 - 32, x1 + 32, y1 + 32)
    moves = [(0.0, 0.0), (0.4, -0.3), (0.9, 0.2), (-0.6, 1.3), (1.7, -1.1), (0.2, 0.5), (-1.2, -0.4), (0.6, 0.9)]

    def frame(dy: float, dx: float) -> np.ndarray:
        moved = shifted(clean.astype(np.float64), dy, dx) + rng.normal(0, 9, clean.shape)
        return np.clip(moved, 0, 255).astype(np.uint8)

    stack = RegionStack(frame(*moves[0]), box)
    for dy, dx in moves[1:]:
        assert stack.add(frame(dy, dx))
        assert stack.last_shift == pytest.approx((dy, dx), abs=0.15)
    assert stack.count == len(moves)
    truth = clean[box[1] : box[3], box[0] : box[2]].astype(np.float64)
    one = frame(0.0, 0.0)[box[1] : box[3], box[0] : box[2]].astype(np.float64)
    single_error = np.abs(one - truth)[8:-8, 8:-8].std()
    stacked_error = np.abs(stack.mean() - truth)[8:-8, 8:-8].std()
    assert stacked_error < single_error / 2  # 8 frames: about 1/sqrt(8) of the noise


def test_the_stack_refuses_another_scene_and_a_big_move() -> None:
    frame, code_box = scene(noise=4.0)
    box = (code_box[0] - 32, code_box[1] - 32, code_box[2] + 32, code_box[3] + 32)
    stack = RegionStack(frame, box)
    other, _ = scene(noise=4.0, seed=9)
    other = np.ascontiguousarray(np.rot90(other, 2))  # the code elsewhere, other noise
    assert not stack.add(other) and stack.count == 1
    moved = shifted(frame.astype(np.float64), 15.0, 0.0).clip(0, 255).astype(np.uint8)
    assert not stack.add(moved) and stack.count == 1
    assert not stack.add(np.zeros((10, 10), np.uint8))  # a frame that no longer holds the region
