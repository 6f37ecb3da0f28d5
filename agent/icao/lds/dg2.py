"""DG2, the encoded face (Doc 9303-10 §4.7.2): a CBEFF biometric information group template (ISO/IEC
7816-11, tags 7F61 / 7F60 / A1 / 5F2E or 7F2E) around the face records, from which this module extracts
each face image's bytes and format (JPEG or JPEG 2000) and the image information. Two encodings:

- ISO/IEC 19794-5 facial records (CBEFF format type 0x0008, in a primitive 5F2E block). 19794-5:2005
  records ("010") are read field by field; for other versions the image is located by its JPEG / JPEG
  2000 signature.
- ISO/IEC 39794-5 (format type 0x002A), the DER-encoded ASN.1 that replaces it in new documents (ICAO's
  application profile, in a constructed 7F2E block): FaceImageDataBlock [APPLICATION 5] { versionBlock
  [0], representationBlocks [1] } and, per representation, the 2D image representation's
  representationData2D [0] (the image) and imageInformation2DBlock [1] (image data format [0], image
  size [7]). ICAO's samples wrap the data block in a context [1] (as the 39794-1 biometric data record
  choice does); it is accepted with or without.

Pure: the image is not decoded here (that is :mod:`agent.faces`, with Pillow, outside the core). The
file is hashed by passive authentication as it was read, whatever its encoding.
"""

from __future__ import annotations

import dataclasses
import enum

from agent.errors import DocumentError, TlvError
from agent.icao import tlv
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

FORMAT_TYPE_19794_5 = 0x0008
FORMAT_TYPE_39794_5 = 0x002A

# ISO/IEC 39794-5 ASN.1 tags (context-specific, constructed unless noted)
TAG_39794_WRAPPER = 0xA1  # the [1] choice around the data block in ICAO's samples
TAG_FACE_IMAGE_DATA_BLOCK = 0x65  # [APPLICATION 5]
TAG_VERSION_BLOCK = 0xA0
TAG_REPRESENTATION_BLOCKS = 0xA1
TAG_REPRESENTATION = 0x30
TAG_IMAGE_REPRESENTATION = 0xA1
TAG_REPRESENTATION_BASE = 0xA0
TAG_REPRESENTATION_2D = 0xA0
TAG_REPRESENTATION_DATA_2D = 0x80  # primitive OCTET STRING: the image
TAG_IMAGE_INFORMATION_2D = 0xA1
TAG_IMAGE_DATA_FORMAT = 0xA0
TAG_IMAGE_SIZE = 0xA7
TAG_FACE_IMAGE_KIND = 0xA1
TAG_COLOUR_SPACE = 0xA9
TAG_CODE = 0x80  # primitive [0]: the code inside a coded value, or the first field of a block
TAG_SECOND = 0x81  # primitive [1]
TAG_EXTENSION_BLOCK = 0xA1  # the extension block of a coded value

# ImageDataFormat codes of 39794-5 that this reader can tell from the code alone
IMAGE_FORMAT_39794_JPEG = 2
IMAGE_FORMAT_39794_JPEG2000 = (3, 4)  # lossy, lossless

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
        format_type = _header_value(parts[TAG_HEADER], TAG_FORMAT_TYPE)
        if format_type == FORMAT_TYPE_39794_5 or (format_type is None and block.tag == TAG_BDB_CONSTRUCTED):
            faces.extend(parse_39794_5(block.value))
        else:
            faces.extend(parse_facial_record(block.value))
    if not faces:
        raise DocumentError("no face image", file=DG2.name)
    return Dg2(tuple(faces))


def _header_value(header: tlv.Tlv, tag: int) -> int | None:
    for item in children(header, DG2.name, "biometric header template"):
        if item.tag == tag and item.value:
            return int.from_bytes(item.value, "big")
    return None


# --- ISO/IEC 39794-5 ------------------------------------------------------------------------------


def _fields(item: tlv.Tlv, what: str) -> dict[int, tlv.Tlv]:
    """The tagged fields of a 39794-5 SEQUENCE, by tag; a repeated tag is an error."""
    found: dict[int, tlv.Tlv] = {}
    for child in children(item, DG2.name, what):
        if child.tag in found:
            raise DocumentError(f"{what}: field {child.tag:X} repeated", file=DG2.name)
        found[child.tag] = child
    return found


def _integer(item: tlv.Tlv, what: str) -> int:
    if not item.value or len(item.value) > 8 or item.value[0] & 0x80:
        raise DocumentError(f"{what} is not a non-negative INTEGER", file=DG2.name)
    return int.from_bytes(item.value, "big")


def _code(item: tlv.Tlv | None, what: str) -> int | None:
    """A coded value: a primitive INTEGER, or a CHOICE { code [0], extensionBlock [1] }. ICAO's
    application profile may carry the code inside the extension block, as its [0] (the "extension
    block fallback" its samples use for the face image kind and the colour space); anything else in
    the extension block gives None."""
    if item is None:
        return None
    if not tlv.is_constructed(item.tag):
        return _integer(item, what)
    fields = _fields(item, what)
    if TAG_CODE in fields:
        return _integer(fields[TAG_CODE], what)
    extension = fields.get(TAG_EXTENSION_BLOCK)
    if extension is not None:
        inner = _fields(extension, what)
        if TAG_CODE in inner:
            return _integer(inner[TAG_CODE], what)
    return None


def parse_39794_5(block: bytes) -> list[FaceImage]:
    """The face images of an ISO/IEC 39794-5 FaceImageDataBlock (the content of the 7F2E block)."""
    try:
        item = tlv.decode_single(block)
    except TlvError as exc:
        raise DocumentError(f"ISO/IEC 39794-5 data block: {exc.message}", file=DG2.name) from exc
    if item.tag == TAG_39794_WRAPPER:
        inner = children(item, DG2.name, "ISO/IEC 39794-5 data block")
        if len(inner) != 1:
            raise DocumentError("ISO/IEC 39794-5 data block wrapper does not hold one block", file=DG2.name)
        item = inner[0]
    if item.tag != TAG_FACE_IMAGE_DATA_BLOCK:
        raise DocumentError(f"not an ISO/IEC 39794-5 face image data block (tag {item.tag:X})", file=DG2.name)
    fields = _fields(item, "face image data block")
    version = _version(fields.get(TAG_VERSION_BLOCK))
    if TAG_REPRESENTATION_BLOCKS not in fields:
        raise DocumentError("ISO/IEC 39794-5 data block without representation blocks", file=DG2.name)
    blocks = children(fields[TAG_REPRESENTATION_BLOCKS], DG2.name, "representation blocks")
    if blocks and all(child.tag == TAG_REPRESENTATION for child in blocks):
        representations = blocks
    else:  # a single representation block whose SEQUENCE the [1] tag replaced
        representations = [fields[TAG_REPRESENTATION_BLOCKS]]
    faces = [_representation(representation, version) for representation in representations]
    if not faces:
        raise DocumentError("ISO/IEC 39794-5 data block with no representation", file=DG2.name)
    return faces


def _version(block: tlv.Tlv | None) -> str:
    if block is None:
        raise DocumentError("ISO/IEC 39794-5 data block without its version block", file=DG2.name)
    fields = _fields(block, "version block")
    if TAG_CODE not in fields or TAG_SECOND not in fields:
        raise DocumentError("ISO/IEC 39794-5 version block without generation and year", file=DG2.name)
    generation = _integer(fields[TAG_CODE], "the generation")
    year = _integer(fields[TAG_SECOND], "the year")
    return f"39794-5 generation {generation} ({year})"


def _representation(representation: tlv.Tlv, version: str) -> FaceImage:
    fields = _fields(representation, "representation block")
    image_representation = fields.get(TAG_IMAGE_REPRESENTATION)
    if image_representation is None:
        raise DocumentError("ISO/IEC 39794-5 representation without an image representation", file=DG2.name)
    base = _fields(image_representation, "image representation").get(TAG_REPRESENTATION_BASE)
    two_d = _fields(base, "image representation").get(TAG_REPRESENTATION_2D) if base is not None else None
    if two_d is None:
        raise DocumentError("ISO/IEC 39794-5 representation is not a 2D image (a 3D shape or an extension)",
                            file=DG2.name)  # fmt: skip
    parts = _fields(two_d, "2D image representation")
    data = parts.get(TAG_REPRESENTATION_DATA_2D)
    information = parts.get(TAG_IMAGE_INFORMATION_2D)
    if data is None or information is None:
        raise DocumentError("ISO/IEC 39794-5 2D representation without its image data or information",
                            file=DG2.name)  # fmt: skip
    info = _fields(information, "image information")
    data_format = _code(info.get(TAG_IMAGE_DATA_FORMAT), "the image data format")
    width = height = 0
    if TAG_IMAGE_SIZE in info:
        size = _fields(info[TAG_IMAGE_SIZE], "image size")
        if TAG_CODE in size and TAG_SECOND in size:
            width, height = _integer(size[TAG_CODE], "the width"), _integer(size[TAG_SECOND], "the height")
    image = data.value
    return FaceImage(
        image=image,
        image_format=_image_format(image, data_format, iso_39794=True),
        width=width,
        height=height,
        image_data_type=data_format,
        face_image_type=_code(info.get(TAG_FACE_IMAGE_KIND), "the face image kind") or 0,
        colour_space=_code(info.get(TAG_COLOUR_SPACE), "the colour space") or 0,
        record_version=version,
    )


# --- ISO/IEC 19794-5 ------------------------------------------------------------------------------


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


def _image_format(image: bytes, data_type: int | None, *, iso_39794: bool = False) -> ImageFormat:
    """The format by the image's own signature, else by the record's image data type (ISO/IEC 19794-5), or
    image data format (ISO/IEC 39794-5, which numbers them otherwise)."""
    if not image:
        raise DocumentError("empty face image", file=DG2.name)
    if image.startswith(JPEG_MAGIC):
        return ImageFormat.JPEG
    if image.startswith((JP2_MAGIC, J2K_MAGIC)):
        return ImageFormat.JPEG2000
    jpeg, jpeg2000 = ((IMAGE_FORMAT_39794_JPEG,), IMAGE_FORMAT_39794_JPEG2000) if iso_39794 else (
        (IMAGE_DATA_TYPE_JPEG,), (IMAGE_DATA_TYPE_JPEG2000,))
    if data_type in jpeg:
        return ImageFormat.JPEG
    if data_type in jpeg2000:
        return ImageFormat.JPEG2000
    what = "image data format" if iso_39794 else "image data type"
    raise DocumentError(f"face image is neither JPEG nor JPEG 2000 ({what} {data_type})", file=DG2.name)


def _locate_image(record: bytes) -> FaceImage:
    """For record versions other than 2005: the image starts at the first JPEG / JPEG 2000 signature."""
    version = record[4:8].rstrip(b"\x00").decode("ascii", errors="replace")
    starts = [record.find(magic, RECORD_HEADER_SIZE) for magic in (JPEG_MAGIC, JP2_MAGIC, J2K_MAGIC)]
    found = [start for start in starts if start >= 0]
    if not found:
        raise DocumentError(f"facial record version {version!r}: no JPEG or JPEG 2000 image found", file=DG2.name)
    image = record[min(found) :]
    return FaceImage(image=image, image_format=_image_format(image, None), record_version=version)
