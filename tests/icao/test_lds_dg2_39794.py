"""DG2 in ISO/IEC 39794-5, the encoding that replaces ISO/IEC 19794-5 in new documents (issue 12
item 6): ICAO's two published application-profile samples (../shared/realdata), the face they hold
(byte-exact), the file hashed as it was read, and every malformed variant a typed DocumentError."""

from __future__ import annotations

import hashlib

import pytest

from agent.errors import DocumentError
from agent.faces import face_to_displayable
from agent.icao import pki, tlv
from agent.icao.lds.dg2 import ImageFormat, parse_39794_5, parse_dg2
from agent.icao.lds.document import ChipDocument
from agent.icao.passive_auth import passive_authentication
from agent.icao.trust import TrustStore
from tests.icao import lds_fixtures as lds
from tests.icao import pki_fixtures as f
from tests.icao import realdata

SAMPLES = [realdata.DG2_ALL_FIELDS, realdata.DG2_MANDATORY_FIELDS]


@pytest.mark.parametrize("sample", SAMPLES)
def test_icaos_samples_give_their_face_byte_exact(sample: str) -> None:
    dg2 = parse_dg2(realdata.read(sample))
    assert len(dg2.faces) == 1
    face = dg2.face
    assert face.image == realdata.read(realdata.DG2_FACE)
    assert face.image_format is ImageFormat.JPEG2000 and face.mime_type == "image/jp2"
    assert face.image_data_type == 3  # ImageDataFormat: JPEG 2000 lossy
    assert face.record_version == "39794-5 generation 3 (2019)"


def test_the_all_fields_sample_gives_the_image_information() -> None:
    face = parse_dg2(realdata.read(realdata.DG2_ALL_FIELDS)).face
    assert (face.width, face.height) == (572, 731)
    assert face.colour_space == 2  # RGB 24 bit, given through the extension-block fallback
    assert face.face_image_type == 0  # MRTD


def test_the_mandatory_fields_sample_has_no_size() -> None:
    face = parse_dg2(realdata.read(realdata.DG2_MANDATORY_FIELDS)).face
    assert (face.width, face.height) == (0, 0)


def jp2_size(image: bytes) -> tuple[int, int]:
    """(width, height) from the JP2 image header box (ISO/IEC 15444-1 I.5.3.1: height, then width)."""
    box = image.index(b"ihdr") + 4
    return int.from_bytes(image[box + 4 : box + 8], "big"), int.from_bytes(image[box : box + 4], "big")


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_face_displays(sample: str) -> None:
    face = parse_dg2(realdata.read(sample)).face
    shown = face_to_displayable(face)
    # The picture's own size: the AllFields sample's image size block (572 x 731) is sample metadata
    # that does not describe its image, and the display follows the image.
    assert shown.mime_type == "image/png" and (shown.width, shown.height) == jp2_size(face.image)


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_document_with_a_39794_dg2_is_read_and_its_hash_checked(sample: str) -> None:
    data = realdata.read(sample)
    document = ChipDocument.from_files({"DG2": data, "DG1": lds.encode_dg1()})
    assert document.problems == {} and document.dg2 is not None
    world = f.test_pki()
    groups = {1: lds.encode_dg1(), 2: data}
    sod = f.make_sod(groups, world.dsc_key, world.dsc)
    store = TrustStore.of([pki.parse_certificate(world.csca, file="t")])
    result = passive_authentication(sod, groups, store, at=f.NOW)
    assert result.data_groups[2].is_ok
    tampered = {**groups, 2: data[:-1] + bytes([data[-1] ^ 1])}
    assert not passive_authentication(sod, tampered, store, at=f.NOW).data_groups[2].is_ok
    assert hashlib.sha256(data).digest() in sod  # the file as read is what is hashed


# --- malformed 39794-5 blocks ---------------------------------------------------------------------


def context(number: int, value: bytes, constructed: bool = True) -> bytes:
    return tlv.encode((0xA0 if constructed else 0x80) | number, value)


def block(*, image: bytes = b"\xff\xd8\xff\xe0jpeg", data_format: bytes | None = context(0, b"\x02", False),
          version: bytes | None = context(0, b"\x03", False) + context(1, b"\x07\xe3", False),
          representation: bytes | None = None, wrapped: bool = True) -> bytes:  # fmt: skip
    information = context(0, data_format) if data_format is not None else b""
    two_d = context(0, image, False) + context(1, information)
    if representation is None:
        representation = tlv.encode(0x30, context(0, b"\x00", False) + context(1, context(0, context(0, two_d))))
    body = (context(0, version) if version is not None else b"") + context(1, representation)
    data = tlv.encode(0x65, body)
    return context(1, data) if wrapped else data


def dg2_around(content: bytes) -> bytes:
    header = tlv.encode(0xA1, tlv.encode(0x87, b"\x01\x01") + tlv.encode(0x88, b"\x00\x2a"))
    template = header + tlv.encode(0x7F2E, content)
    group = tlv.encode(0x02, b"\x01") + tlv.encode(0x7F60, template)
    return tlv.encode(0x75, tlv.encode(0x7F61, group))


def test_a_minimal_block_with_and_without_the_wrapper() -> None:
    for wrapped in (True, False):
        face = parse_dg2(dg2_around(block(wrapped=wrapped))).face
        assert face.image_format is ImageFormat.JPEG and face.image_data_type == 2


def test_the_format_comes_from_the_code_when_the_image_has_no_known_signature() -> None:
    face = parse_39794_5(block(image=b"raw-jpeg-body", data_format=context(0, b"\x02", False)))[0]
    assert face.image_format is ImageFormat.JPEG
    face = parse_39794_5(block(image=b"raw", data_format=context(0, b"\x04", False)))[0]
    assert face.image_format is ImageFormat.JPEG2000


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x65\x05\xa0\x03", "39794-5 data block"),  # truncated
        (tlv.encode(0x66, b""), "not an ISO/IEC 39794-5 face image data block"),
        (context(1, tlv.encode(0x65, b"") + tlv.encode(0x65, b"")), "does not hold one block"),
        (block(version=None), "without its version block"),
        (block(version=context(0, b"\x03", False)), "without generation and year"),
        (tlv.encode(0x65, context(0, context(0, b"\x03", False) + context(1, b"\x07", False))),
         "without representation blocks"),
        (block(representation=tlv.encode(0x30, context(0, b"\x00", False))), "without an image representation"),
        (block(representation=tlv.encode(0x30, context(1, context(1, b"")))), "not a 2D image"),
        (block(representation=tlv.encode(0x30, context(1, context(0, context(0, context(1, b"")))))),
         "without its image data or information"),
        (block(image=b""), "empty face image"),
        (block(image=b"raw", data_format=context(0, b"\x06", False)), "neither JPEG nor JPEG 2000"),
        (block(image=b"raw", data_format=None), "neither JPEG nor JPEG 2000"),
        (block(data_format=context(0, b"\xff", False)), "not a non-negative INTEGER"),
        (block(version=context(0, b"\x03", False) + context(0, b"\x03", False)), "repeated"),
    ],
)
def test_malformed_blocks_are_document_errors_naming_dg2(content: bytes, words: str) -> None:
    with pytest.raises(DocumentError, match=words) as caught:
        parse_dg2(dg2_around(content))
    assert caught.value.file == "DG2"


def test_every_truncation_of_a_real_sample_is_a_document_error() -> None:
    data = realdata.read(realdata.DG2_MANDATORY_FIELDS)
    for cut in range(0, len(data), 97):
        with pytest.raises(DocumentError):
            parse_dg2(data[:cut])
