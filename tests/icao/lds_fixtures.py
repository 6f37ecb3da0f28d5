"""Encoders of real-looking LDS files for the parser tests (EF.COM, DG1, DG2, DG13, DG14, DG15), written
from the specifications independently of the parsers under test, and a whole CCCD-like document."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

from PIL import Image

from tests.icao.pki_fixtures import wrap

# The TD1 sample of docs/reference/card.md "The MRZ and the BAC key" (a public sample; check digits valid).
CCCD_MRZ = "IDVNM0930470641001093047064<<2" + "9301054M3301052VNM<<<<<<<<<<<8" + "UNG<<HOANG<HIEP<<<<<<<<<<<<<<<"
# Doc 9303-4 Appendix A specimen (TD3).
TD3_MRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
# EF.CardAccess of Doc 9303-11 Appendix G.1 (one PACEInfo): a real-looking SecurityInfos SET.
SECURITY_INFOS = bytes.fromhex("31143012060A04007F0007020204020202010202010D")

UTF8 = 0x0C
PRINTABLE = 0x13
SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02


def encode_com(data_groups: Sequence[int] = (1, 2, 13, 14, 15), lds: str = "0108", unicode: str = "040000") -> bytes:
    tags = {1: 0x61, 2: 0x75, 3: 0x63, 13: 0x6D, 14: 0x6E, 15: 0x6F}
    tag_list = bytes(tags[number] for number in data_groups)
    return wrap(0x60, wrap(0x5F01, lds.encode()) + wrap(0x5F36, unicode.encode()) + wrap(0x5C, tag_list))


def encode_dg1(mrz: str = CCCD_MRZ) -> bytes:
    return wrap(0x61, wrap(0x5F1F, mrz.encode("ascii")))


def make_image(
    image_format: str, width: int = 60, height: int = 80, *, noise: bool = False, quality: int = 90
) -> bytes:
    """A small face-like picture encoded by Pillow as "JPEG" or "JPEG2000"."""
    picture = Image.new("RGB", (width, height))
    generator = random.Random(width * 7919 + height)
    pixels = picture.load()
    assert pixels is not None
    for y in range(height):
        for x in range(width):
            if noise:
                pixels[x, y] = (generator.randrange(256), generator.randrange(256), generator.randrange(256))
            else:
                pixels[x, y] = ((x * 255) // width, (y * 255) // height, 128)
    buffer = io.BytesIO()
    if image_format == "JPEG":
        picture.save(buffer, format="JPEG", quality=quality)
    else:
        picture.save(buffer, format="JPEG2000", irreversible=True)
    return buffer.getvalue()


def facial_record(
    images: Sequence[tuple[bytes, int, int, int]], *, feature_points: int = 0, version: bytes = b"010\x00"
) -> bytes:
    """ISO/IEC 19794-5:2005 record; each image is (data, image data type, width, height)."""
    faces = b""
    for data, data_type, width, height in images:
        points = b"".join(bytes([0x01, 0x02, 0x00, 0x10, 0x00, 0x20, 0x00, 0x00]) for _ in range(feature_points))
        image_information = (
            bytes([0x01, data_type])
            + width.to_bytes(2, "big")
            + height.to_bytes(2, "big")
            + bytes([0x01, 0x02])
            + b"\x00\x00"
            + b"\x00\x00"
        )
        block_length = 20 + len(points) + len(image_information) + len(data)
        information = (
            block_length.to_bytes(4, "big")
            + feature_points.to_bytes(2, "big")
            + bytes([0x01, 0x00, 0x00])
            + b"\x00\x00\x00"
            + b"\x00\x00"
            + b"\x00\x00\x00"
            + b"\x00\x00\x00"
        )
        faces += information + points + image_information + data
    length = 14 + len(faces)
    return b"FAC\x00" + version + length.to_bytes(4, "big") + len(images).to_bytes(2, "big") + faces


def encode_dg2(record: bytes, *, instances: int = 1, bdb_tag: int = 0x5F2E) -> bytes:
    header = wrap(
        0xA1, wrap(0x80, b"\x01\x01") + wrap(0x81, b"\x02") + wrap(0x87, b"\x01\x01") + wrap(0x88, b"\x00\x08")
    )
    template = wrap(0x7F60, header + wrap(bdb_tag, record))
    group = wrap(0x7F61, wrap(0x02, bytes([instances])) + template * instances)
    return wrap(0x75, group)


def dg2_with_image(image: bytes, data_type: int, width: int = 60, height: int = 80) -> bytes:
    return encode_dg2(facial_record([(image, data_type, width, height)]))


# --- DG13 ----------------------------------------------------------------------------------------

# Every field of docs/reference/card.md "DG13" with full Vietnamese text (a fictional person).
FULL_DG13: dict[int, object] = {
    1: ("printable", "001093047064"),
    2: "Nguyễn Thị Hồng Nhung",
    3: ("printable", "05/01/1993"),
    4: "Nữ",
    5: "Việt Nam",
    6: "Kinh",
    7: "Không",
    8: "Xã Đông Hưng, Huyện Tiên Lữ, Tỉnh Hưng Yên",
    9: "Số 12 ngõ 34 Phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
    10: "Nốt ruồi C:1cm trên trước đầu lông mày phải",
    11: ("printable", "10/07/2021"),
    12: "05/01/2033",
    13: ("Nguyễn Văn Đức", "Trần Thị Lụa"),
    14: ("Lê Quang Vũ",),
    15: ("printable", "168523947"),
    16: ("printable", "0A1B2C3D4E5F6071"),
}


def der_value(value: object) -> bytes:
    if isinstance(value, tuple) and value and value[0] == "printable":
        return wrap(PRINTABLE, str(value[1]).encode("ascii"))
    if isinstance(value, tuple):
        return wrap(SEQUENCE, b"".join(wrap(UTF8, str(item).encode("utf-8")) for item in value))
    if isinstance(value, bytes):
        return value
    return wrap(UTF8, str(value).encode("utf-8"))


def der_integer(number: int) -> bytes:
    size = max(1, (number.bit_length() + 8) // 8)
    return wrap(INTEGER, number.to_bytes(size, "big", signed=True))


def encode_dg13(
    fields: dict[int, object] | None = None,
    *,
    version: int = 1,
    oid: str = "1.0.10646.1.0.8",  # as docs/reference/card.md "DG13" names it
    container: int = SET,
) -> bytes:
    chosen = FULL_DG13 if fields is None else fields
    entries = b"".join(wrap(SEQUENCE, der_integer(number) + der_value(value)) for number, value in chosen.items())
    body = der_integer(version) + wrap(0x06, encode_oid(oid)) + wrap(container, entries)
    return wrap(0x6D, wrap(SEQUENCE, body))


def encode_oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    numbers = [arcs[0] * 40 + arcs[1], *arcs[2:]]
    out = b""
    for number in numbers:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out += bytes(reversed(chunk))
    return out


def encode_dg14(security_infos: bytes = SECURITY_INFOS) -> bytes:
    return wrap(0x6E, security_infos)


def encode_dg15(spki: bytes) -> bytes:
    return wrap(0x6F, spki)
