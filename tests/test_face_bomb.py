"""A face image that is a decompression bomb (issue 13): a JPEG 2000 of about 500 bytes whose header says
4096 x 4096 pixels (decoding it took 0.78 s and 628 MB) is refused from its header, before a pixel is
decoded, and a chip read that carries it goes on without a face."""

from __future__ import annotations

import dataclasses
import io
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from agent.chip import read_chip
from agent.errors import DocumentError
from agent.faces import MAX_PIXELS, MAX_SIDE, FaceDecoder
from agent.icao.lds.dg2 import parse_dg2
from agent.settings import load_settings
from simulators.card.card import SimulatedCard
from simulators.card.personalise import build_card_image
from simulators.card.transport import InProcessTransport
from tests.chip_support import READ_AT, access_of, simulator_trust
from tests.icao import lds_fixtures as lds

FID_DG2 = 0x0102


def jpeg2000(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="JPEG2000", irreversible=True, quality_mode="rates",
                                         quality_layers=[2000])
    return buffer.getvalue()


class CountingPillow:
    """The PIL.Image module, counting the images whose pixels were decoded."""

    def __init__(self) -> None:
        self.decoded = 0

    def open(self, stream: Any) -> Any:
        picture = Image.open(stream)
        original = picture.load

        def load() -> Any:
            self.decoded += 1
            return original()

        picture.load = load  # type: ignore[method-assign]
        return picture


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = jpeg2000(4096, 4096)
    assert len(data) < 1024
    return data


def test_the_bomb_is_refused_from_its_header(bomb: bytes) -> None:
    pillow = CountingPillow()
    face = parse_dg2(lds.dg2_with_image(bomb, 1, 4096, 4096)).face
    with pytest.raises(DocumentError, match="4096x4096 pixels refused") as raised:
        FaceDecoder(SimpleNamespace(open=pillow.open)).to_displayable(face)  # type: ignore[arg-type]
    assert raised.value.file == "DG2"
    assert pillow.decoded == 0


@pytest.mark.parametrize(("width", "height"), [(MAX_SIDE + 1, 10), (10, MAX_SIDE + 1), (1600, 1201)])
def test_any_side_or_area_beyond_a_document_face_is_refused(width: int, height: int) -> None:
    assert width * height > MAX_PIXELS or max(width, height) > MAX_SIDE
    face = parse_dg2(lds.dg2_with_image(jpeg2000(width, height), 1, 60, 80)).face
    with pytest.raises(DocumentError, match="refused"):
        FaceDecoder().to_displayable(face)


def test_a_document_sized_face_still_decodes() -> None:
    face = parse_dg2(lds.dg2_with_image(jpeg2000(480, 640), 1, 480, 640)).face
    shown = FaceDecoder().to_displayable(face)
    assert (shown.width, shown.height, shown.mime_type) == (480, 640, "image/png")


def test_a_chip_carrying_the_bomb_is_read_without_a_face(bomb: bytes, caplog: pytest.LogCaptureFixture) -> None:
    image = build_card_image("normal")
    card = SimulatedCard(dataclasses.replace(image, files={**image.files,
                                                           FID_DG2: lds.dg2_with_image(bomb, 1, 4096, 4096)}))
    with caplog.at_level(logging.WARNING, logger="agent.chip"):
        result = read_chip(InProcessTransport(card), settings=load_settings(None, environ={}),
                           trust_store=simulator_trust(), transaction_id="bomb", at=READ_AT,
                           id_number=access_of("normal").id_number)
    assert result.face_image is None and result.face_mime_type is None
    assert "refused" in caplog.text
    assert result.evidence.passive == "failed"  # DG2 is not the file the SOD signed
