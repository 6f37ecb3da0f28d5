"""Turns the face image of DG2 (JPEG or JPEG 2000, as extracted by :mod:`agent.icao.lds.dg2`) into an
image a browser and the desk page can show: a JPEG that decodes as RGB or greyscale is passed on
unchanged (the evidence stays byte-exact), anything else (JPEG 2000, CMYK JPEG) is decoded with
Pillow and re-encoded as PNG.

This is the home of Pillow on the reading path; it is an adapter outside the pure core and takes the
``PIL.Image`` module in its constructor so that a test can hand in a fake.
"""

from __future__ import annotations

import dataclasses
import io
from types import ModuleType
from typing import Any

from agent.errors import DocumentError
from agent.icao.lds.dg2 import FaceImage, ImageFormat
from agent.icao.lds_registry import DG2

FILE = DG2.name
# What a document can hold: a chip's face image is a 15-20 KB picture of a few hundred pixels a side
# (ISO/IEC 19794-5 full frontal and token images, ICAO Doc 9303-9 §2.2: 300-1000 pixels high). The size is
# read from the image header and judged before any pixel is decoded: a 488-byte JPEG 2000 header that
# says 4096 x 4096 would otherwise cost 0.8 s and 628 MB (issue 13).
MAX_SIDE = 2000
MAX_PIXELS = 1600 * 1200
DISPLAYABLE_MODES = ("RGB", "L")


@dataclasses.dataclass(frozen=True)
class DisplayImage:
    data: bytes = dataclasses.field(repr=False)
    mime_type: str
    width: int
    height: int


class FaceDecoder:
    """Decode DG2 face images with Pillow."""

    def __init__(self, image_module: ModuleType | None = None, *, max_pixels: int = MAX_PIXELS) -> None:
        if image_module is None:
            from PIL import Image

            image_module = Image
        self._image = image_module
        self._max_pixels = max_pixels

    def to_displayable(self, face: FaceImage) -> DisplayImage:
        """A JPEG or PNG of ``face``; DocumentError(file="DG2") if the image does not decode."""
        try:
            with self._image.open(io.BytesIO(face.image)) as picture:
                width, height = picture.size
                if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > self._max_pixels:
                    raise DocumentError(f"face image of {width}x{height} pixels refused", file=FILE)
                picture.load()
                if face.image_format is ImageFormat.JPEG and picture.format == "JPEG":
                    if picture.mode in DISPLAYABLE_MODES:
                        return DisplayImage(face.image, "image/jpeg", width, height)
                return DisplayImage(self._png(picture), "image/png", width, height)
        except DocumentError:
            raise
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError ...
            raise DocumentError(f"the {face.image_format} face image does not decode: {exc}", file=FILE) from exc

    def _png(self, picture: Any) -> bytes:
        converted = picture if picture.mode in DISPLAYABLE_MODES else picture.convert("RGB")
        buffer = io.BytesIO()
        converted.save(buffer, format="PNG")
        return buffer.getvalue()


def face_to_displayable(face: FaceImage) -> DisplayImage:
    """Convenience: decode with the real Pillow."""
    return FaceDecoder().to_displayable(face)
