"""Parsers of the Logical Data Structure (ICAO Doc 9303-10): EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15.

Each parser takes the whole file as read from the chip (outer tag included) and returns a frozen
view, or raises :class:`agent.errors.DocumentError` whose ``file`` names the file and whose message
says what was wrong (never the personal data itself).
"""

from __future__ import annotations

from agent.errors import DocumentError, TlvError
from agent.icao import tlv

# Doc 9303-10 §4.6.1, Table 34: data group tags as listed in EF.COM's tag list.
TAG_COM = 0x60
TAG_SOD = 0x77
DG_BY_TAG: dict[int, int] = {
    0x61: 1,
    0x75: 2,
    0x63: 3,
    0x76: 4,
    0x65: 5,
    0x66: 6,
    0x67: 7,
    0x68: 8,
    0x69: 9,
    0x6A: 10,
    0x6B: 11,
    0x6C: 12,
    0x6D: 13,
    0x6E: 14,
    0x6F: 15,
    0x70: 16,
}
TAG_BY_DG: dict[int, int] = {number: tag for tag, number in DG_BY_TAG.items()}

# Cards pad files to a block size; bytes after the outer TLV that are all 00 or FF are ignored.
PADDING = b"\x00\xff"


def unwrap(data: bytes, tag: int, file: str) -> tlv.Tlv:
    """The outer TLV of a file, which must carry ``tag``; trailing padding is tolerated."""
    try:
        item, end = tlv.decode_one(bytes(data))
    except TlvError as exc:
        raise DocumentError(f"outer tag {tag:02X}: {exc.message}", file=file) from exc
    if item.tag != tag:
        raise DocumentError(f"starts with tag {item.tag:X}, expected {tag:02X}", file=file)
    if bytes(data[end:]).strip(PADDING):
        raise DocumentError(f"{len(data) - end} bytes of garbage after the data", file=file)
    return item


def children(item: tlv.Tlv, file: str, what: str) -> list[tlv.Tlv]:
    """The nested TLVs of ``item`` as a DocumentError-raising call."""
    try:
        return item.children()
    except TlvError as exc:
        raise DocumentError(f"{what}: {exc.message}", file=file) from exc
