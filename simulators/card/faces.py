"""Synthetic face photographs for DG2 of the simulated CCCD: a passport-style portrait (plain light
background, head and shoulders, seeded skin tone, hair and features) drawn with Pillow and encoded as
JPEG or JPEG 2000 (JP2 file format) at the size of a real chip photo, 15-20 KB (ISO/IEC 19794-5 image
data; Doc 9303-10 DG2). Drawn from the seed, never downloaded, and only face-like: nobody is depicted.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import io
import random

from PIL import Image, ImageDraw, ImageFilter

from agent.errors import ConfigError

FORMAT_JPEG = "jpeg"
FORMAT_JPEG2000 = "jpeg2000"
FORMATS = (FORMAT_JPEG, FORMAT_JPEG2000)

WIDTH = 360
HEIGHT = 480
MIN_SIZE = 15_000
MAX_SIZE = 20_000
TARGET_SIZE = 17_500
GRAIN_AMPLITUDE = 26  # sensor-like grain, so that the encoders need realistic sizes

SKIN_TONES = ((234, 192, 160), (224, 178, 142), (208, 160, 124), (196, 146, 108), (240, 204, 178))
HAIR_COLOURS = ((20, 16, 14), (38, 28, 22), (58, 40, 28), (30, 30, 34))
BACKGROUNDS = ((236, 240, 246), (222, 232, 246), (245, 245, 245))
SHIRT_COLOURS = ((240, 240, 240), (40, 52, 80), (70, 70, 76), (230, 226, 214))


@dataclasses.dataclass(frozen=True)
class FaceImage:
    """An encoded portrait: the bytes that go into the ISO/IEC 19794-5 record, and their format."""

    data: bytes = dataclasses.field(repr=False)
    image_format: str  # FORMAT_JPEG or FORMAT_JPEG2000
    width: int
    height: int


def _rng(seed: bytes, index: int) -> random.Random:
    digest = hmac.new(seed, b"face/%d" % index, hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))


def draw_portrait(seed: bytes, index: int = 0, *, female: bool = False) -> Image.Image:
    """The uncompressed portrait of person ``index`` (RGB, WIDTH x HEIGHT)."""
    rng = _rng(seed, index)
    skin = rng.choice(SKIN_TONES)
    hair = rng.choice(HAIR_COLOURS)
    image = Image.new("RGB", (WIDTH, HEIGHT), rng.choice(BACKGROUNDS))
    draw = ImageDraw.Draw(image)
    centre = WIDTH // 2 + rng.randint(-8, 8)
    face_w = rng.randint(108, 128)
    face_h = int(face_w * rng.uniform(1.28, 1.40))
    top = rng.randint(92, 112)

    # shoulders and neck
    shoulders = top + face_h + rng.randint(18, 34)
    draw.rectangle((centre - 34, top + face_h - 40, centre + 34, shoulders + 30), fill=_shade(skin, 0.9))
    draw.ellipse((centre - 185, shoulders, centre + 185, shoulders + 320), fill=rng.choice(SHIRT_COLOURS))
    draw.polygon(
        ((centre - 34, shoulders + 2), (centre + 34, shoulders + 2), (centre, shoulders + 46)), fill=_shade(skin, 0.9)
    )
    # hair behind the head (long for some)
    hair_drop = rng.randint(150, 250) if female else rng.randint(40, 70)
    draw.ellipse((centre - face_w // 2 - 16, top - 34, centre + face_w // 2 + 16, top + hair_drop), fill=hair)
    if female and hair_drop > 180:
        draw.rectangle((centre - face_w // 2 - 16, top + 60, centre + face_w // 2 + 16, top + hair_drop), fill=hair)
    # ears, face
    ear_y = top + face_h // 2 - 12
    for side in (-1, 1):
        ear_x = centre + side * (face_w // 2)
        draw.ellipse((ear_x - 12, ear_y - 22, ear_x + 12, ear_y + 22), fill=_shade(skin, 0.95))
    draw.ellipse((centre - face_w // 2, top, centre + face_w // 2, top + face_h), fill=skin)
    # fringe
    draw.chord((centre - face_w // 2 - 4, top - 30, centre + face_w // 2 + 4, top + 70), 180, 360, fill=hair)
    # eyes and brows
    eye_y = top + int(face_h * 0.44)
    eye_dx = int(face_w * rng.uniform(0.19, 0.23))
    for side in (-1, 1):
        eye_x = centre + side * eye_dx
        draw.ellipse((eye_x - 13, eye_y - 6, eye_x + 13, eye_y + 6), fill=(250, 250, 248))
        draw.ellipse((eye_x - 6, eye_y - 6, eye_x + 6, eye_y + 6), fill=(42, 30, 24))
        draw.ellipse((eye_x - 2, eye_y - 3, eye_x + 1, eye_y), fill=(230, 230, 230))
        brow_y = eye_y - rng.randint(16, 22)
        draw.line((eye_x - 15, brow_y + 2, eye_x + 15, brow_y - side), fill=_shade(hair, 1.2), width=4)
    # nose and mouth
    nose_y = top + int(face_h * 0.64)
    draw.line((centre, eye_y + 8, centre - 4, nose_y), fill=_shade(skin, 0.78), width=3)
    draw.arc((centre - 12, nose_y - 8, centre + 12, nose_y + 6), 20, 160, fill=_shade(skin, 0.7), width=3)
    mouth_y = top + int(face_h * 0.78)
    mouth_w = rng.randint(20, 28)
    lips = (178, 92, 92) if female else _shade(skin, 0.72)
    draw.arc((centre - mouth_w, mouth_y - 10, centre + mouth_w, mouth_y + 8), 15, 165, fill=lips, width=4)

    image = image.filter(ImageFilter.GaussianBlur(1.2))
    return _add_grain(image, rng)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    red, green, blue = (min(255, int(channel * factor)) for channel in colour)
    return red, green, blue


def _add_grain(image: Image.Image, rng: random.Random) -> Image.Image:
    # seeded grain (Pillow's effect_noise uses an unseeded C rand(), so it is drawn here instead)
    noise = Image.frombytes("L", image.size, rng.randbytes(image.size[0] * image.size[1]))
    noise = noise.filter(ImageFilter.BoxBlur(1))
    grain = Image.merge("RGB", (noise, noise, noise))
    return Image.blend(image, grain, GRAIN_AMPLITUDE / 255)


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _encode_jpeg2000(image: Image.Image, ratio: float) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG2000", quality_mode="rates", quality_layers=[ratio], irreversible=True)
    return out.getvalue()


def _fit_jpeg(image: Image.Image) -> bytes:
    """The JPEG whose size falls in [MIN_SIZE, MAX_SIZE], by bisection on the quality."""
    low, high = 5, 95
    best = _encode_jpeg(image, 50)
    while low <= high:
        quality = (low + high) // 2
        data = _encode_jpeg(image, quality)
        if abs(len(data) - TARGET_SIZE) < abs(len(best) - TARGET_SIZE):
            best = data
        if MIN_SIZE <= len(data) <= MAX_SIZE:
            return data
        if len(data) < MIN_SIZE:
            low = quality + 1
        else:
            high = quality - 1
    return best


def _fit_jpeg2000(image: Image.Image) -> bytes:
    """The JPEG 2000 file whose size falls in [MIN_SIZE, MAX_SIZE], by adjusting the target ratio."""
    raw = image.size[0] * image.size[1] * 3
    ratio = raw / TARGET_SIZE
    data = _encode_jpeg2000(image, ratio)
    for _ in range(6):
        if MIN_SIZE <= len(data) <= MAX_SIZE:
            break
        ratio *= len(data) / TARGET_SIZE
        data = _encode_jpeg2000(image, ratio)
    return data


@functools.lru_cache(maxsize=64)
def face_image(seed: bytes, index: int = 0, image_format: str = FORMAT_JPEG, *, female: bool = False) -> FaceImage:
    """The encoded portrait of person ``index`` of ``seed`` (cached: the same inputs give the same bytes)."""
    if image_format not in FORMATS:
        raise ConfigError(f"unknown face image format {image_format!r}", key="face_format")
    portrait = draw_portrait(seed, index, female=female)
    data = _fit_jpeg(portrait) if image_format == FORMAT_JPEG else _fit_jpeg2000(portrait)
    return FaceImage(data=data, image_format=image_format, width=WIDTH, height=HEIGHT)
