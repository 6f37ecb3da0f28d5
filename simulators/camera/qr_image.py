"""QR symbols for the simulated camera: text -> UTF-8 bytes in byte mode (ISO/IEC 18004 §7.4.5, no
ECI header, as the printed CCCD code carries them) -> a module matrix -> a crisp grey image.

OpenCV's ``cv2.QRCodeEncoder`` is the encoder (the ``qrcode`` and ``segno`` packages are not
installed). It takes a ``str`` and writes its UTF-8 bytes; with ``MODE_BYTE`` it writes them all in
one byte-mode segment. Its output carries a 2-module white border, which :func:`qr_matrix` strips so
that callers choose the quiet zone themselves.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

EC_LEVELS = {
    "L": cv2.QRCODE_ENCODER_CORRECT_LEVEL_L,
    "M": cv2.QRCODE_ENCODER_CORRECT_LEVEL_M,
    "Q": cv2.QRCODE_ENCODER_CORRECT_LEVEL_Q,
    "H": cv2.QRCODE_ENCODER_CORRECT_LEVEL_H,
}
ENCODER_BORDER = 2  # modules of white OpenCV adds around the symbol
QUIET_ZONE = 4  # modules, ISO/IEC 18004 §6.3.8

Image = npt.NDArray[np.uint8]


class QrEncodeError(ValueError):
    """The text does not fit in a QR symbol (or the encoder refused it)."""


def qr_matrix(text: str, *, ec_level: str = "M") -> npt.NDArray[np.bool_]:
    """The module matrix of ``text`` (True = dark), without any border."""
    params = cv2.QRCodeEncoder.Params()
    params.mode = cv2.QRCODE_ENCODER_MODE_BYTE
    params.correction_level = EC_LEVELS[ec_level]
    try:
        image = cv2.QRCodeEncoder.create(params).encode(text)
    except cv2.error as exc:
        raise QrEncodeError(f"cannot encode {len(text.encode())} bytes at level {ec_level}") from exc
    if image is None or image.size == 0:
        raise QrEncodeError(f"cannot encode {len(text.encode())} bytes at level {ec_level}")
    inner = image[ENCODER_BORDER:-ENCODER_BORDER, ENCODER_BORDER:-ENCODER_BORDER]
    return np.asarray(inner < 128)


def render_qr(
    text: str, *, module_px: int = 4, quiet_zone: int = QUIET_ZONE, ec_level: str = "M", dark: int = 0, light: int = 255
) -> Image:
    """A crisp grey image of the symbol: ``module_px`` pixels per module, ``quiet_zone`` modules of margin."""
    matrix = qr_matrix(text, ec_level=ec_level)
    padded = np.pad(matrix, quiet_zone, constant_values=False)
    cells = np.where(padded, dark, light).astype(np.uint8)
    return np.kron(cells, np.ones((module_px, module_px), dtype=np.uint8)).astype(np.uint8)
