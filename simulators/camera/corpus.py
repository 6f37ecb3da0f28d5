"""The seeded QR corpus: webcam-like frames of a CCCD card (or a phone screen) showing the card's QR
code, in two tiers, at 640x480 and 1280x720, plus frames with no code at all, plus a "fixed-focus"
tier and steady-card streams.

"normal" is a card held reasonably in front of a webcam: moderate in-plane rotation and tilt,
3-6.5 px per module, slight defocus, sensor noise, uneven light, MJPEG compression. "hard" adds, per
frame, one strong effect (perspective, strong or motion blur, glare, low light, low contrast, a small
code, a phone screen showing the code) and, one time in three, a second milder one. Every frame
records its effects so that a benchmark can say which of them a decoder fails on.

"fixed-focus" models a cheap fixed-focus webcam (1280x720) looking at a card held at arm's length,
where every degradation is present at once at a level drawn per frame: about 3 px per module
(2.6-3.4), a lens blur of Gaussian sigma 0.9-1.6 px (the whole optical path, warp included),
contrast kept 0.45-1.0, a glare spot on the code in a third of the frames, a tilt of 0-30 degrees,
sensor noise sigma 7.5-10.5 and MJPEG at quality 70-90. Each frame records its
:class:`FixedFocusConditions`. :func:`steady_card` gives the frames a camera at 30 fps sees of one
such card held still: the same scene, a hand tremor of a fraction of a pixel per frame, fresh sensor
noise and compression in each frame; its first frame is the tier's single frame of the same index.

A frame is a pure function of (seed, tier, size, index) (and, in a stream, its position): the same
arguments always give the same pixels.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from simulators.camera.qr_image import QUIET_ZONE, qr_matrix
from simulators.camera.vietnamese import cccd_payload, random_person

TIERS = ("normal", "hard", "empty", "fixed-focus")
FIXED_FOCUS = "fixed-focus"
FIXED_FOCUS_SIZE = (1280, 720)
SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
HARD_EFFECTS = ("perspective", "blur", "motion_blur", "glare", "low_light", "low_contrast", "small", "phone")
SOURCE_MODULE_PX = 4  # the object (card or phone) is drawn at 4 px per module, then warped down

Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]


@dataclasses.dataclass(frozen=True)
class CorpusFrame:
    """One frame: BGR pixels, the exact text of the code in it (None for an empty frame)."""

    image: Image = dataclasses.field(repr=False)
    text: str | None = dataclasses.field(repr=False)
    tier: str
    size: tuple[int, int]
    index: int
    effects: tuple[str, ...] = ()
    module_px: float = 0.0
    conditions: FixedFocusConditions | None = None

    @property
    def name(self) -> str:
        return f"{self.tier}-{self.size[0]}x{self.size[1]}-{self.index:04d}"


@dataclasses.dataclass(frozen=True)
class FixedFocusConditions:
    """The degradations of one fixed-focus frame (see the module docstring for their ranges)."""

    module_px: float  # at the code's centre
    blur_sigma: float  # px, the whole optical path
    contrast: float  # fraction of the scene's contrast kept (1.0: none lost)
    tilt_deg: float  # out-of-plane tilt of the card (perspective)
    roll_deg: float  # in-plane rotation
    glare: float  # peak brightness the glare spot adds (0: no glare)
    noise_sigma: float  # sensor noise, grey levels
    jpeg_quality: int

    def to_json(self) -> dict[str, float]:
        return {field.name: round(float(getattr(self, field.name)), 2) for field in dataclasses.fields(self)}


def generate(
    *, seed: int, tiers: Sequence[str] = TIERS, sizes: Sequence[tuple[int, int]] = SIZES, count: int = 100
) -> Iterator[CorpusFrame]:
    """``count`` frames for each tier and size, in a reproducible order."""
    for tier in tiers:
        for size in sizes:
            for index in range(count):
                yield make_frame(seed=seed, tier=tier, size=size, index=index)


def make_frame(*, seed: int, tier: str, size: tuple[int, int], index: int) -> CorpusFrame:
    """One frame, from its coordinates in the corpus alone."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    rng = random.Random(f"{seed}/{tier}/{size[0]}x{size[1]}/{index}")
    np_rng = np.random.default_rng(rng.getrandbits(64))
    width, height = size
    background = _background(rng, np_rng, width, height)
    if tier == "empty":
        return _empty_frame(rng, np_rng, background, size, index)
    if tier == FIXED_FOCUS:
        return _FixedFocusScene(rng, np_rng, background, size).frame(np_rng, index=index)
    text = cccd_payload(random_person(rng))
    effects: list[str] = []
    if tier == "hard":
        effects.append(rng.choice(HARD_EFFECTS))
        if rng.random() < 1 / 3:
            second = rng.choice([e for e in HARD_EFFECTS if e not in effects and e != "phone"])
            effects.append(second + ":mild")
    image, module_px = _scene(rng, np_rng, background, text, effects)
    return CorpusFrame(
        image=image, text=text, tier=tier, size=size, index=index, effects=tuple(effects), module_px=module_px
    )


# --- the scene -----------------------------------------------------------------------------------


def _strength(effects: list[str], name: str) -> float:
    """1.0 when ``name`` is the frame's main hard effect, 0.5 when mild, 0.0 when absent."""
    if name in effects:
        return 1.0
    if f"{name}:mild" in effects:
        return 0.5
    return 0.0


def _scene(
    rng: random.Random, np_rng: np.random.Generator, background: FloatImage, text: str, effects: list[str]
) -> tuple[Image, float]:
    height, width = background.shape
    ec_level = rng.choice(("L", "M", "M", "Q"))
    matrix = qr_matrix(text, ec_level=ec_level)
    phone = "phone" in effects
    obj, mask, qr_box = _phone_object(rng, matrix) if phone else _card_object(rng, matrix)

    small = _strength(effects, "small")
    if small:
        module_px = rng.uniform(1.9, 2.6) if small == 1.0 else rng.uniform(2.5, 3.0)
    else:
        module_px = rng.uniform(3.0, 6.5)
    perspective = _strength(effects, "perspective")
    tilt = rng.uniform(25, 45) if perspective == 1.0 else rng.uniform(12, 25) if perspective else rng.uniform(0, 12)
    roll = rng.uniform(-30, 30) + (180 if rng.random() < 0.1 else 0)
    homography, module_px = _placement(rng, qr_box, module_px, tilt, roll, width, height)

    # Pre-filter the object so the downscaling warp does not alias (the lens would not alias either).
    shrink = SOURCE_MODULE_PX / module_px
    if shrink > 1:
        sigma = 0.45 * shrink
        obj = np.asarray(cv2.GaussianBlur(obj, (0, 0), sigma), dtype=np.float32)
    warped = cv2.warpPerspective(obj, homography, (width, height), flags=cv2.INTER_LINEAR)
    coverage = cv2.warpPerspective(mask, homography, (width, height), flags=cv2.INTER_LINEAR)
    frame = background * (1 - coverage) + warped * coverage

    frame = _lighting(rng, np_rng, frame, homography, qr_box, effects, phone)
    frame = _optics(rng, frame, effects)
    frame = _sensor(rng, np_rng, frame, effects)
    return _to_bgr(rng, np_rng, frame, effects), module_px


def _card_object(
    rng: random.Random, matrix: npt.NDArray[np.bool_]
) -> tuple[FloatImage, FloatImage, tuple[float, ...]]:
    """The front of a card: light plastic, a portrait, lines of print, the QR near the top right."""
    s = SOURCE_MODULE_PX
    qr_px = (matrix.shape[0] + 2 * QUIET_ZONE) * s
    card_w = int(qr_px * rng.uniform(3.0, 4.2))
    card_h = int(card_w * 54 / 85.6)
    paper = rng.uniform(205, 245)
    card = np.full((card_h, card_w), paper, np.float32)
    # A faint guilloche-like security pattern: a low-amplitude interference of two sine waves.
    yy, xx = np.mgrid[0:card_h, 0:card_w].astype(np.float32)
    card += 6 * np.sin(xx / rng.uniform(7, 15)) * np.cos(yy / rng.uniform(9, 19))
    portrait = (int(card_w * 0.05), int(card_h * 0.3), int(card_w * 0.27), int(card_h * 0.92))
    card[portrait[1] : portrait[3], portrait[0] : portrait[2]] = rng.uniform(60, 140)
    for row in range(6):
        y = int(card_h * (0.35 + 0.1 * row))
        x0 = int(card_w * 0.32)
        x1 = int(card_w * rng.uniform(0.55, 0.95))
        if y + 6 < card_h:
            card[y : y + max(2, s), x0:x1] = rng.uniform(20, 80)
    qr = np.kron(np.where(np.pad(matrix, QUIET_ZONE), 0.0, 1.0), np.ones((s, s), np.float32))
    ink = rng.uniform(10, 45)
    qr_x = card_w - qr_px - int(card_w * 0.03)
    qr_y = int(card_h * 0.05)
    qr_y = min(qr_y, card_h - qr_px)
    if qr_y < 0:
        raise ValueError("card too small for its QR")
    card[qr_y : qr_y + qr_px, qr_x : qr_x + qr_px] = ink + (paper - ink) * qr
    mask = np.ones_like(card)
    return card, mask, (qr_x, qr_y, qr_px)


def _phone_object(
    rng: random.Random, matrix: npt.NDArray[np.bool_]
) -> tuple[FloatImage, FloatImage, tuple[float, ...]]:
    """A phone held up with the code on its screen: dark body, bright screen, a visible pixel grid."""
    s = SOURCE_MODULE_PX
    qr_px = (matrix.shape[0] + 2 * QUIET_ZONE) * s
    screen_w = int(qr_px * rng.uniform(1.15, 1.5))
    screen_h = int(screen_w * rng.uniform(1.9, 2.2))
    bezel = int(screen_w * 0.06)
    body = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel), rng.uniform(10, 35), np.float32)
    screen = np.full((screen_h, screen_w), rng.uniform(225, 255), np.float32)
    screen[: int(screen_h * 0.12)] = rng.uniform(60, 140)  # the app's title bar
    qr = np.kron(np.where(np.pad(matrix, QUIET_ZONE), 0.0, 1.0), np.ones((s, s), np.float32))
    qr_x = (screen_w - qr_px) // 2
    qr_y = int(screen_h * 0.3)
    black = rng.uniform(5, 30)
    screen[qr_y : qr_y + qr_px, qr_x : qr_x + qr_px] = black + (screen[qr_y, qr_x] - black) * qr
    # The LCD's pixel grid: dark lines every few source pixels; after the warp this becomes moiré.
    pitch = rng.choice((2, 3))
    screen[::pitch, :] *= rng.uniform(0.7, 0.85)
    screen[:, ::pitch] *= rng.uniform(0.8, 0.92)
    body[bezel : bezel + screen_h, bezel : bezel + screen_w] = screen
    h, w = body.shape
    mask = np.ones_like(body)
    radius = int(bezel * 2)
    yy, xx = np.ogrid[0:h, 0:w]
    for cy, cx in ((radius, radius), (radius, w - radius), (h - radius, radius), (h - radius, w - radius)):
        in_corner_square = (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
        beyond_arc = (yy - cy) ** 2 + (xx - cx) ** 2 > radius**2
        outward = ((yy < radius) | (yy > h - radius)) & ((xx < radius) | (xx > w - radius))
        mask[in_corner_square & beyond_arc & outward] = 0
    return body, mask, (bezel + qr_x, bezel + qr_y, qr_px)


def _placement(
    rng: random.Random,
    qr_box: tuple[float, ...],
    module_px: float,
    tilt_deg: float,
    roll_deg: float,
    width: int,
    height: int,
) -> tuple[npt.NDArray[np.float64], float]:
    """A homography from object pixels to frame pixels: a pinhole camera looking at the tilted object.

    The module size at the code's centre is ``module_px`` (reduced if the code would not fit).
    """
    qr_x, qr_y, qr_px = qr_box
    centre = np.array([qr_x + qr_px / 2, qr_y + qr_px / 2])
    focal = float(width)
    margin = 8.0
    for _ in range(20):
        scale = module_px / SOURCE_MODULE_PX
        distance = focal / scale
        axis = rng.uniform(0, 2 * math.pi)
        rotation = _rotation(math.radians(roll_deg), math.radians(tilt_deg), axis)

        def project(points: npt.NDArray[np.float64], rotation: npt.NDArray[np.float64] = rotation,
                    distance: float = distance) -> npt.NDArray[np.float64]:
            xyz = np.c_[points - centre, np.zeros(len(points))] @ rotation.T
            z = distance + xyz[:, 2]
            return np.asarray(np.c_[focal * xyz[:, 0] / z, focal * xyz[:, 1] / z], dtype=np.float64)

        qr_corners = np.array(
            [[qr_x, qr_y], [qr_x + qr_px, qr_y], [qr_x + qr_px, qr_y + qr_px], [qr_x, qr_y + qr_px]], np.float64
        )
        projected = project(qr_corners)
        low, high = projected.min(axis=0), projected.max(axis=0)
        span = high - low
        if span[0] + 2 * margin < width and span[1] + 2 * margin < height:
            offset_x = rng.uniform(margin - low[0], width - margin - high[0])
            offset_y = rng.uniform(margin - low[1], height - margin - high[1])
            source = np.asarray(qr_corners, dtype=np.float32)
            target = np.asarray(projected + np.array([offset_x, offset_y]), dtype=np.float32)
            return np.asarray(cv2.getPerspectiveTransform(source, target), dtype=np.float64), module_px
        module_px *= 0.85
    raise ValueError("cannot place the code in the frame")


def _rotation(roll: float, tilt: float, axis: float) -> npt.NDArray[np.float64]:
    """Roll about the optical axis, then tilt by ``tilt`` about an in-plane axis at angle ``axis``."""
    c, s = math.cos(roll), math.sin(roll)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    u = np.array([math.cos(axis), math.sin(axis), 0.0])
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    tilt_matrix = np.eye(3) + math.sin(tilt) * k + (1 - math.cos(tilt)) * (k @ k)
    return np.asarray(tilt_matrix @ rz)


def _background(rng: random.Random, np_rng: np.random.Generator, width: int, height: int) -> FloatImage:
    """A desk-like scene: smooth shading, blotches, and a few hard-edged objects."""
    low = np_rng.uniform(40, 200, size=(6, 8)).astype(np.float32)
    image = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(np_rng.normal(0, 12, size=(height // 8, width // 8)).astype(np.float32), (width, height))
    image = np.asarray(image + texture, dtype=np.float32)
    for _ in range(rng.randint(2, 7)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randint(20, width // 3), y0 + rng.randint(10, height // 3)
        value = rng.uniform(0, 255)
        if rng.random() < 0.5:
            cv2.rectangle(image, (x0, y0), (x1, y1), value, -1)
        else:
            cv2.line(image, (x0, y0), (x1, y1), value, rng.randint(1, 6))
    return np.clip(image, 0, 255).astype(np.float32)


def _lighting(
    rng: random.Random,
    np_rng: np.random.Generator,
    frame: FloatImage,
    homography: npt.NDArray[np.float64],
    qr_box: tuple[float, ...],
    effects: list[str],
    phone: bool,
) -> FloatImage:
    height, width = frame.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # Uneven light: a linear ramp across the frame (a window on one side).
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(angle) * (xx / width - 0.5) + math.sin(angle) * (yy / height - 0.5)).astype(np.float32)
    frame = frame * (1 + rng.uniform(0.1, 0.35) * ramp)

    glare = _strength(effects, "glare") or (0.25 if phone else 0.0)
    if glare:
        qr_x, qr_y, qr_px = qr_box
        centre_obj = np.array([[[qr_x + qr_px * rng.uniform(0.1, 0.9), qr_y + qr_px * rng.uniform(0.1, 0.9)]]])
        centre = cv2.perspectiveTransform(centre_obj, homography)[0, 0]
        side = np.array([[[qr_x, qr_y], [qr_x + qr_px, qr_y]]], np.float64)
        ends = cv2.perspectiveTransform(side, homography)[0]
        code_side = float(np.linalg.norm(ends[1] - ends[0]))
        sigma = code_side * rng.uniform(0.1, 0.25) * (1.0 if glare == 1.0 else 0.6)
        amplitude = rng.uniform(110, 200) * glare
        aspect = rng.uniform(1.0, 3.0)  # specular highlights on a laminate are streaks, not discs
        theta = rng.uniform(0, math.pi)
        dx, dy = xx - centre[0], yy - centre[1]
        u = (dx * math.cos(theta) + dy * math.sin(theta)) / aspect
        v = -dx * math.sin(theta) + dy * math.cos(theta)
        frame = frame + amplitude * np.exp(-(u * u + v * v) / (2 * sigma * sigma))

    low_contrast = _strength(effects, "low_contrast")
    if low_contrast:
        keep = rng.uniform(0.22, 0.35) if low_contrast == 1.0 else rng.uniform(0.4, 0.6)
        mean = float(frame.mean())
        frame = mean + (frame - mean) * keep
    else:
        frame = frame * rng.uniform(0.8, 1.05) + rng.uniform(-10, 10)

    low_light = _strength(effects, "low_light")
    if low_light:
        frame = frame * (rng.uniform(0.18, 0.3) if low_light == 1.0 else rng.uniform(0.35, 0.5))
    return frame.astype(np.float32)


def _optics(rng: random.Random, frame: FloatImage, effects: list[str]) -> FloatImage:
    blur = _strength(effects, "blur")
    sigma = rng.uniform(1.3, 2.0) if blur == 1.0 else rng.uniform(0.9, 1.3) if blur else rng.uniform(0.0, 0.9)
    if sigma > 0.3:
        frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.float32)
    motion = _strength(effects, "motion_blur")
    if motion:
        length = rng.randint(5, 8) if motion == 1.0 else rng.randint(3, 5)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
        kernel = np.asarray(cv2.warpAffine(kernel, rotation, (length, length)), dtype=np.float32)
        kernel /= max(float(kernel.sum()), 1e-6)
        frame = np.asarray(cv2.filter2D(frame, -1, kernel), dtype=np.float32)
    return frame


def _sensor(rng: random.Random, np_rng: np.random.Generator, frame: FloatImage, effects: list[str]) -> FloatImage:
    """Sensor noise (stronger in low light, where the camera's gain is up), then clipping."""
    low_light = _strength(effects, "low_light")
    sigma = rng.uniform(4, 9) * low_light + rng.uniform(0.5, 5)
    noisy = frame + np_rng.normal(0, sigma, size=frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.float32)


def _to_bgr(
    rng: random.Random,
    np_rng: np.random.Generator,
    frame: FloatImage,
    effects: list[str],
    *,
    tint: npt.NDArray[np.float32] | None = None,
    quality: int | None = None,
) -> Image:
    """A colour frame with a white-balance tint, through an MJPEG-like JPEG round trip."""
    if tint is None:
        tint = np.array([rng.uniform(0.85, 1.1), rng.uniform(0.92, 1.05), rng.uniform(0.85, 1.15)], np.float32)
    colour: Image = np.asarray(np.clip(frame[:, :, None] * tint[None, None, :], 0, 255), dtype=np.uint8)
    if quality is None:
        quality = rng.randint(60, 90) if effects else rng.randint(75, 95)
    ok, encoded = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return colour
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return np.asarray(decoded, dtype=np.uint8)


def _empty_frame(
    rng: random.Random, np_rng: np.random.Generator, background: FloatImage, size: tuple[int, int], index: int
) -> CorpusFrame:
    """No code: the bare desk, or a card (back side, no QR) or a blank phone in view."""
    frame = background
    if rng.random() < 0.6:
        blank = np.zeros((33, 33), bool)
        obj, mask, qr_box = _card_object(rng, blank) if rng.random() < 0.7 else _phone_object(rng, blank)
        qr_x, qr_y, qr_px = qr_box
        obj[int(qr_y) : int(qr_y + qr_px), int(qr_x) : int(qr_x + qr_px)] = float(np.median(obj))
        homography, _ = _placement(rng, qr_box, rng.uniform(3, 6), rng.uniform(0, 20), rng.uniform(-30, 30), *size)
        warped = cv2.warpPerspective(obj, homography, size, flags=cv2.INTER_LINEAR)
        coverage = cv2.warpPerspective(mask, homography, size, flags=cv2.INTER_LINEAR)
        frame = background * (1 - coverage) + warped * coverage
    frame = _optics(rng, frame.astype(np.float32), [])
    frame = _sensor(rng, np_rng, frame, [])
    return CorpusFrame(image=_to_bgr(rng, np_rng, frame, []), text=None, tier="empty", size=size, index=index)


# --- the fixed-focus tier ------------------------------------------------------------------------

WARP_PREFILTER_PX = 0.45  # the anti-alias blur of the warp, in frame pixels (see _scene)
TREMOR_STEP_PX = 0.35  # hand tremor: the card's random walk per frame at 30 fps, each axis
TREMOR_ROLL_DEG = 0.03


def fixed_focus_conditions(rng: random.Random) -> FixedFocusConditions:
    """One frame's degradations, each drawn on its own (a fixed-focus camera has all of them at once)."""
    return FixedFocusConditions(
        module_px=rng.uniform(2.6, 3.4),
        blur_sigma=rng.uniform(0.9, 1.6),
        contrast=rng.uniform(0.45, 1.0),
        tilt_deg=rng.uniform(0.0, 30.0),
        roll_deg=rng.uniform(-30.0, 30.0),
        glare=rng.uniform(70.0, 170.0) if rng.random() < 1 / 3 else 0.0,
        noise_sigma=rng.uniform(7.5, 10.5),
        jpeg_quality=rng.randint(70, 90),
    )


class _FixedFocusScene:
    """One card in front of a fixed-focus camera; :meth:`frame` renders it, moved by ``shift`` px."""

    def __init__(
        self, rng: random.Random, np_rng: np.random.Generator, background: FloatImage, size: tuple[int, int]
    ) -> None:
        width, height = size
        self.size = size
        self.background = background
        self.text = cccd_payload(random_person(rng))
        self.conditions = fixed_focus_conditions(rng)
        c = self.conditions
        matrix = qr_matrix(self.text, ec_level=rng.choice(("L", "M", "M", "Q")))
        obj, mask, self.qr_box = _card_object(rng, matrix)
        self.homography, module_px = _placement(rng, self.qr_box, c.module_px, c.tilt_deg, c.roll_deg, width, height)
        if module_px != c.module_px:  # the code did not fit and was made smaller
            self.conditions = c = dataclasses.replace(c, module_px=module_px)
        shrink = SOURCE_MODULE_PX / module_px
        self.object = np.asarray(cv2.GaussianBlur(obj, (0, 0), WARP_PREFILTER_PX * shrink), dtype=np.float32)
        self.mask = mask
        angle, gain = rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.35)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        ramp = math.cos(angle) * (xx / width - 0.5) + math.sin(angle) * (yy / height - 0.5)
        self.light = np.asarray(1 + gain * ramp, dtype=np.float32)  # uneven light: a window on one side
        self.exposure, self.offset = rng.uniform(0.85, 1.05), rng.uniform(-10, 10)
        self.glare_spot = self._glare_spot(rng) if c.glare else None
        self.tint = np.array([rng.uniform(0.85, 1.1), rng.uniform(0.92, 1.05), rng.uniform(0.85, 1.15)], np.float32)

    def _glare_spot(self, rng: random.Random) -> FloatImage:
        """A specular streak on the laminate, fixed to the light, not to the card."""
        width, height = self.size
        qr_x, qr_y, qr_px = self.qr_box
        centre_obj = np.array([[[qr_x + qr_px * rng.uniform(0.15, 0.85), qr_y + qr_px * rng.uniform(0.15, 0.85)]]])
        centre = cv2.perspectiveTransform(centre_obj, self.homography)[0, 0]
        side = np.array([[[qr_x, qr_y], [qr_x + qr_px, qr_y]]], np.float64)
        ends = cv2.perspectiveTransform(side, self.homography)[0]
        sigma = float(np.linalg.norm(ends[1] - ends[0])) * rng.uniform(0.06, 0.15)
        aspect, theta = rng.uniform(1.0, 3.0), rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        dx, dy = xx - centre[0], yy - centre[1]
        u = (dx * math.cos(theta) + dy * math.sin(theta)) / aspect
        v = -dx * math.sin(theta) + dy * math.cos(theta)
        return np.asarray(self.conditions.glare * np.exp(-(u * u + v * v) / (2 * sigma * sigma)), np.float32)

    def render(self, np_rng: np.random.Generator, *, shift: tuple[float, float] = (0.0, 0.0),
               roll_deg: float = 0.0, quality: int | None = None) -> Image:
        width, height = self.size
        c = self.conditions
        homography = self.homography
        if shift != (0.0, 0.0) or roll_deg:
            centre = cv2.perspectiveTransform(
                np.array([[[self.qr_box[0] + self.qr_box[2] / 2, self.qr_box[1] + self.qr_box[2] / 2]]]), homography
            )[0, 0]
            moved = np.asarray(cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll_deg, 1.0))
            moved[:, 2] += np.array(shift)
            homography = np.vstack([moved, [0.0, 0.0, 1.0]]) @ homography
        warped = cv2.warpPerspective(self.object, homography, (width, height), flags=cv2.INTER_LINEAR)
        coverage = cv2.warpPerspective(self.mask, homography, (width, height), flags=cv2.INTER_LINEAR)
        frame = (self.background * (1 - coverage) + warped * coverage) * self.light
        mean = float(frame.mean())
        frame = (mean + (frame - mean) * c.contrast) * self.exposure + self.offset
        if self.glare_spot is not None:
            frame = frame + self.glare_spot
        # The lens: the warp's anti-alias blur is part of the optical path, so only the rest is added.
        lens = math.sqrt(max(c.blur_sigma**2 - WARP_PREFILTER_PX**2, 0.0))
        frame = np.asarray(cv2.GaussianBlur(np.asarray(frame, np.float32), (0, 0), lens), dtype=np.float32)
        frame = frame + np_rng.normal(0, c.noise_sigma, size=frame.shape).astype(np.float32)
        frame = np.clip(frame, 0, 255).astype(np.float32)
        return _to_bgr(random.Random(0), np_rng, frame, [], tint=self.tint, quality=quality or c.jpeg_quality)

    def frame(self, np_rng: np.random.Generator, *, index: int, shift: tuple[float, float] = (0.0, 0.0),
              roll_deg: float = 0.0, quality: int | None = None) -> CorpusFrame:
        return CorpusFrame(
            image=self.render(np_rng, shift=shift, roll_deg=roll_deg, quality=quality),
            text=self.text,
            tier=FIXED_FOCUS,
            size=self.size,
            index=index,
            module_px=self.conditions.module_px,
            conditions=self.conditions,
        )


def steady_card(*, seed: int, index: int, count: int, size: tuple[int, int] = FIXED_FOCUS_SIZE) -> list[CorpusFrame]:
    """``count`` frames at 30 fps of the fixed-focus card ``index`` held still by a hand.

    Frame 0 is ``make_frame(tier="fixed-focus", index=index)``; each later one moves the card by a
    random walk of TREMOR_STEP_PX px and TREMOR_ROLL_DEG degrees per frame and has its own sensor
    noise and compression (quality within 5 of the first's: the camera's rate control).
    """
    rng = random.Random(f"{seed}/{FIXED_FOCUS}/{size[0]}x{size[1]}/{index}")
    np_rng = np.random.default_rng(rng.getrandbits(64))
    width, height = size
    background = _background(rng, np_rng, width, height)
    scene = _FixedFocusScene(rng, np_rng, background, size)
    frames = [scene.frame(np_rng, index=index)]
    walk = random.Random(f"{seed}/{FIXED_FOCUS}/{size[0]}x{size[1]}/{index}/steady")
    walk_np = np.random.default_rng(walk.getrandbits(64))
    x = y = roll = 0.0
    for _ in range(1, count):
        x += walk.gauss(0, TREMOR_STEP_PX)
        y += walk.gauss(0, TREMOR_STEP_PX)
        roll += walk.gauss(0, TREMOR_ROLL_DEG)
        quality = min(95, max(60, scene.conditions.jpeg_quality + walk.randint(-5, 5)))
        frames.append(scene.frame(walk_np, index=index, shift=(x, y), roll_deg=roll, quality=quality))
    return frames


# --- on disk -------------------------------------------------------------------------------------


def write_corpus(frames: Iterator[CorpusFrame], directory: Path) -> Path:
    """PNG files plus ``manifest.json`` (name, tier, size, effects, module size, exact text)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for frame in frames:
        path = directory / f"{frame.name}.png"
        cv2.imwrite(str(path), frame.image)
        entries.append(
            {
                "file": path.name,
                "tier": frame.tier,
                "size": list(frame.size),
                "effects": list(frame.effects),
                "module_px": round(frame.module_px, 2),
                **({"conditions": frame.conditions.to_json()} if frame.conditions else {}),
                "text": frame.text,
            }
        )
    manifest = directory / "manifest.json"
    manifest.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
