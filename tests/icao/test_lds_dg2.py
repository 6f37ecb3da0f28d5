"""DG2: CBEFF + ISO/IEC 19794-5 face records; JPEG and JPEG 2000 faces through the pure parser and
agent.faces (Pillow) to a displayable image."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from agent.errors import DocumentError
from agent.faces import FaceDecoder, face_to_displayable
from agent.icao.lds.dg2 import FaceImage, ImageFormat, parse_dg2, parse_facial_record
from tests.icao import lds_fixtures as lds

JPEG = lds.make_image("JPEG", 60, 80)
JPEG2000 = lds.make_image("JPEG2000", 60, 80)


@pytest.mark.parametrize(
    ("image", "data_type", "image_format", "mime"),
    [(JPEG, 0, ImageFormat.JPEG, "image/jpeg"), (JPEG2000, 1, ImageFormat.JPEG2000, "image/png")],
)
def test_a_face_is_extracted_and_decoded(image: bytes, data_type: int, image_format: ImageFormat, mime: str) -> None:
    dg2 = parse_dg2(lds.dg2_with_image(image, data_type))
    face = dg2.face
    assert face.image == image
    assert face.image_format is image_format
    assert (face.width, face.height) == (60, 80)
    assert face.record_version == "010"
    shown = face_to_displayable(face)
    assert shown.mime_type == mime
    assert (shown.width, shown.height) == (60, 80)
    with Image.open(io.BytesIO(shown.data)) as decoded:
        assert decoded.size == (60, 80)
        assert decoded.format == ("JPEG" if mime == "image/jpeg" else "PNG")
        # The gradient survives the round trip: left is dark red, right is bright red.
        pixels = decoded.convert("RGB")
        assert pixels.getpixel((2, 40))[0] < 40 < 200 < pixels.getpixel((57, 40))[0]
    if image_format is ImageFormat.JPEG:
        assert shown.data == image  # evidence stays byte-exact


def test_the_format_comes_from_the_image_signature_when_the_record_disagrees() -> None:
    face = parse_dg2(lds.dg2_with_image(JPEG2000, 0)).face
    assert face.image_format is ImageFormat.JPEG2000
    assert face.image_data_type == 0


def test_a_j2k_codestream_is_jpeg_2000() -> None:
    picture = Image.new("RGB", (16, 16), (10, 200, 30))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG2000", no_jp2=True)
    codestream = buffer.getvalue()
    assert codestream.startswith(b"\xff\x4f\xff\x51")
    face = parse_dg2(lds.dg2_with_image(codestream, 1, 16, 16)).face
    assert face.image_format is ImageFormat.JPEG2000
    assert face_to_displayable(face).mime_type == "image/png"


def test_feature_points_and_several_faces() -> None:
    record = lds.facial_record([(JPEG, 0, 60, 80), (JPEG2000, 1, 60, 80)], feature_points=3)
    dg2 = parse_dg2(lds.encode_dg2(record))
    assert [face.image_format for face in dg2.faces] == [ImageFormat.JPEG, ImageFormat.JPEG2000]
    assert dg2.faces[0].feature_points == 3
    assert dg2.faces[1].image == JPEG2000


def test_two_biometric_templates() -> None:
    dg2 = parse_dg2(lds.encode_dg2(lds.facial_record([(JPEG, 0, 60, 80)]), instances=2))
    assert len(dg2.faces) == 2


def test_a_constructed_bdb_tag_is_accepted() -> None:
    dg2 = parse_dg2(lds.encode_dg2(lds.facial_record([(JPEG, 0, 60, 80)]), bdb_tag=0x7F2E))
    assert dg2.face.image == JPEG


def test_a_later_record_version_finds_the_image_by_its_signature() -> None:
    record = b"FAC\x00030\x00" + bytes(20) + JPEG
    (face,) = parse_facial_record(record)
    assert face.image == JPEG
    assert face.record_version == "030"
    assert face.width == 0


RECORD = lds.facial_record([(JPEG, 0, 60, 80)])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (lds.wrap(0x75, b""), "found 0"),
        (lds.encode_dg2(b"XYZ\x00" + RECORD[4:]), "not an ISO 19794-5"),
        (lds.encode_dg2(RECORD[:-5]), "facial record length"),
        (lds.encode_dg2(RECORD[:8] + (len(RECORD) + 5).to_bytes(4, "big") + RECORD[12:] + bytes(5)), "left after"),
        (lds.encode_dg2(RECORD[:12] + b"\x00\x00" + RECORD[14:]), "no image"),
        (lds.encode_dg2(RECORD[:14] + b"\x00\x00\x00\x05" + RECORD[18:]), "inconsistent"),
        (lds.encode_dg2(RECORD, instances=1).replace(b"\x02\x01\x01", b"\x02\x01\x03", 1), "3 instances"),
        (lds.encode_dg2(lds.facial_record([(b"\x00\x01\x02", 7, 1, 1)])), "neither JPEG nor JPEG 2000"),
        (lds.encode_dg2(lds.facial_record([(b"", 0, 1, 1)])), "empty face image"),
        (lds.encode_dg2(b"FAC\x00030\x00" + bytes(40)), "no JPEG or JPEG 2000"),
        (lds.wrap(0x75, lds.wrap(0x7F61, lds.wrap(0x02, b"\x01") + lds.wrap(0x7F60, lds.wrap(0x5F2E, RECORD)))), "A1"),
        (lds.wrap(0x75, lds.wrap(0x7F61, lds.wrap(0x02, b"\x01") + lds.wrap(0x7F60, lds.wrap(0xA1, b"")))), "5F2E"),
    ],
)
def test_malformed_dg2(data: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_dg2(data)
    assert caught.value.file == "DG2"
    assert words in caught.value.message


def test_an_image_that_does_not_decode_is_a_document_error() -> None:
    face = FaceImage(image=JPEG[:40], image_format=ImageFormat.JPEG)
    with pytest.raises(DocumentError) as caught:
        face_to_displayable(face)
    assert caught.value.file == "DG2"


def test_absurd_image_sizes_are_refused_before_decoding() -> None:
    face = parse_dg2(lds.dg2_with_image(JPEG, 0)).face
    with pytest.raises(DocumentError, match="refused"):
        FaceDecoder(max_pixels=100).to_displayable(face)


def test_a_cmyk_jpeg_is_converted_to_png() -> None:
    buffer = io.BytesIO()
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(buffer, format="JPEG")
    face = parse_dg2(lds.dg2_with_image(buffer.getvalue(), 0, 20, 20)).face
    shown = face_to_displayable(face)
    assert shown.mime_type == "image/png"


@given(
    seed=st.sampled_from([(JPEG, ImageFormat.JPEG), (JPEG2000, ImageFormat.JPEG2000)]),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    value=st.integers(min_value=0, max_value=255),
    truncate=st.booleans(),
)
def test_a_damaged_image_decodes_or_is_a_document_error(
    seed: tuple[bytes, ImageFormat], position: float, value: int, truncate: bool
) -> None:
    image, image_format = seed
    index = int(position * len(image))
    damaged = image[:index] if truncate else image[:index] + bytes([value]) + image[index + 1 :]
    try:
        shown = face_to_displayable(FaceImage(image=damaged, image_format=image_format))
    except DocumentError as error:
        assert error.file == "DG2"
        return
    assert shown.mime_type in ("image/jpeg", "image/png")
