"""DG2, the encoded face (Doc 9303-10 §4.7.2): a CBEFF biometric information group template (ISO/IEC
7816-11, tags 7F61 / 7F60 / A1 / 5F2E) around ISO/IEC 19794-5 facial records, from which this module
extracts each face image's bytes and format (JPEG or JPEG 2000) and the image information.

Pure: the image is not decoded here (that is :mod:`agent.faces`, with Pillow, outside the core).
19794-5:2005 records ("010") are read field by field; for other versions the image is located by
its JPEG / JPEG 2000 signature.
"""

from __future__ import annotations

import dataclasses
import enum

from agent.errors import DocumentError
from agent.icao.lds import children, unwrap
from agent.icao.lds_registry import DG2

TAG_BIOMETRIC_GROUP = 0x7F61
TAG_INSTANCE_COUNT = 0x02
TAG_BIOMETRIC_TEMPLATE = 0x7F60
TAG_HEADER = 0xA1
TAG_BDB = 0x5F2E
TAG_BDB_CONSTRUCTED = 0x7F2E
TAG_FORMAT_OWNER = 0x87
TAG_FORMAT_TYPE = 0x88

FACE_FORMAT_ID = b"FAC\x00"
FACE_VERSION_2005 = b"010\x00"
RECORD_HEADER_SIZE = 14
FACIAL_INFORMATION_SIZE = 20
FEATURE_POINT_SIZE = 8
IMAGE_INFORMATION_SIZE = 12

IMAGE_DATA_TYPE_JPEG = 0x00
IMAGE_DATA_TYPE_JPEG2000 = 0x01

JPEG_MAGIC = b"\xff\xd8\xff"
JP2_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_MAGIC = b"\xff\x4f\xff\x51"


class ImageFormat(enum.StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"


@dataclasses.dataclass(frozen=True)
class FaceImage:
    """One face image and what its record says about it. Sizes are 0 when the record does not say."""

    image: bytes = dataclasses.field(repr=False)
    image_format: ImageFormat
    width: int = 0
    height: int = 0
    face_image_type: int = 0
    image_data_type: int | None = None
    colour_space: int = 0
    source_type: int = 0
    quality: int = 0
    feature_points: int = 0
    gender: int = dataclasses.field(default=0, repr=False)
    record_version: str = "010"

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.image_format is ImageFormat.JPEG else "image/jp2"


@dataclasses.dataclass(frozen=True)
class Dg2:
    faces: tuple[FaceImage, ...]

    @property
    def face(self) -> FaceImage:
        """The first face image (a CCCD has exactly one)."""
        return self.faces[0]


def parse_dg2(data: bytes) -> Dg2:
    outer = unwrap(data, DG2)
    groups = [item for item in children(outer, DG2.name, "DG2 content") if item.tag == TAG_BIOMETRIC_GROUP]
    if len(groups) != 1:
        raise DocumentError(f"expected one biometric information group (7F61), found {len(groups)}", file=DG2.name)
    entries = children(groups[0], DG2.name, "biometric information group")
    counts = [item for item in entries if item.tag == TAG_INSTANCE_COUNT]
    templates = [item for item in entries if item.tag == TAG_BIOMETRIC_TEMPLATE]
    if len(counts) != 1 or len(counts[0].value) != 1:
        raise DocumentError("the number of instances (tag 02) is missing or not one byte", file=DG2.name)
    if counts[0].value[0] != len(templates):
        raise DocumentError(
            f"{counts[0].value[0]} instances announced, {len(templates)} biometric templates found", file=DG2.name
        )
    faces: list[FaceImage] = []
    for template in templates:
        parts = {item.tag: item for item in children(template, DG2.name, "biometric information template")}
        if TAG_HEADER not in parts:
            raise DocumentError("biometric header template (A1) missing", file=DG2.name)
        children(parts[TAG_HEADER], DG2.name, "biometric header template")
        block = parts.get(TAG_BDB) or parts.get(TAG_BDB_CONSTRUCTED)
        if block is None:
            raise DocumentError("biometric data block (5F2E) missing", file=DG2.name)
        faces.extend(parse_facial_record(block.value))
    if not faces:
        raise DocumentError("no face image", file=DG2.name)
    return Dg2(tuple(faces))


def parse_facial_record(record: bytes) -> list[FaceImage]:
    """The face images of one ISO/IEC 19794-5 facial record."""
    if len(record) < RECORD_HEADER_SIZE or record[:4] != FACE_FORMAT_ID:
        raise DocumentError("the biometric data block is not an ISO 19794-5 facial record", file=DG2.name)
    if record[4:8] != FACE_VERSION_2005:
        return [_locate_image(record)]
    record_length = int.from_bytes(record[8:12], "big")
    if record_length != len(record):
        raise DocumentError(
            f"facial record length {record_length} but the block has {len(record)} bytes", file=DG2.name
        )
    count = int.from_bytes(record[12:14], "big")
    if count == 0:
        raise DocumentError("facial record with no image", file=DG2.name)
    offset = RECORD_HEADER_SIZE
    images: list[FaceImage] = []
    for _ in range(count):
        image, offset = _read_face(record, offset)
        images.append(image)
    if offset != len(record):
        raise DocumentError(f"{len(record) - offset} bytes left after the last face image", file=DG2.name)
    return images


def _read_face(record: bytes, offset: int) -> tuple[FaceImage, int]:
    if offset + FACIAL_INFORMATION_SIZE > len(record):
        raise DocumentError("facial information block truncated", file=DG2.name)
    block_length = int.from_bytes(record[offset : offset + 4], "big")
    points = int.from_bytes(record[offset + 4 : offset + 6], "big")
    gender = record[offset + 6]
    headers = FACIAL_INFORMATION_SIZE + points * FEATURE_POINT_SIZE + IMAGE_INFORMATION_SIZE
    end = offset + block_length
    if block_length < headers or end > len(record):
        raise DocumentError(f"facial record data length {block_length} is inconsistent", file=DG2.name)
    info = offset + FACIAL_INFORMATION_SIZE + points * FEATURE_POINT_SIZE
    face_image_type = record[info]
    data_type = record[info + 1]
    width = int.from_bytes(record[info + 2 : info + 4], "big")
    height = int.from_bytes(record[info + 4 : info + 6], "big")
    colour_space = record[info + 6]
    source_type = record[info + 7]
    quality = int.from_bytes(record[info + 10 : info + 12], "big")
    image = record[info + IMAGE_INFORMATION_SIZE : end]
    face = FaceImage(
        image=image,
        image_format=_image_format(image, data_type),
        width=width,
        height=height,
        face_image_type=face_image_type,
        image_data_type=data_type,
        colour_space=colour_space,
        source_type=source_type,
        quality=quality,
        feature_points=points,
        gender=gender,
    )
    return face, end


def _image_format(image: bytes, data_type: int | None) -> ImageFormat:
    """The format by the image's own signature, else by the record's image data type."""
    if not image:
        raise DocumentError("empty face image", file=DG2.name)
    if image.startswith(JPEG_MAGIC):
        return ImageFormat.JPEG
    if image.startswith((JP2_MAGIC, J2K_MAGIC)):
        return ImageFormat.JPEG2000
    if data_type == IMAGE_DATA_TYPE_JPEG:
        return ImageFormat.JPEG
    if data_type == IMAGE_DATA_TYPE_JPEG2000:
        return ImageFormat.JPEG2000
    raise DocumentError(f"face image is neither JPEG nor JPEG 2000 (image data type {data_type})", file=DG2.name)


def _locate_image(record: bytes) -> FaceImage:
    """For record versions other than 2005: the image starts at the first JPEG / JPEG 2000 signature."""
    version = record[4:8].rstrip(b"\x00").decode("ascii", errors="replace")
    starts = [record.find(magic, RECORD_HEADER_SIZE) for magic in (JPEG_MAGIC, JP2_MAGIC, J2K_MAGIC)]
    found = [start for start in starts if start >= 0]
    if not found:
        raise DocumentError(f"facial record version {version!r}: no JPEG or JPEG 2000 image found", file=DG2.name)
    image = record[min(found) :]
    return FaceImage(image=image, image_format=_image_format(image, None), record_version=version)
