"""Parsers of the Logical Data Structure (ICAO Doc 9303-10): EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15.

Each parser takes the whole file as read from the chip (outer tag included) and returns a frozen
view, or raises :class:`agent.errors.DocumentError` whose ``file`` names the file and whose message
says what was wrong (never the personal data itself). Which file has which identifier, tag and parser
is :mod:`agent.icao.lds_registry`'s business.
"""

from __future__ import annotations

from agent.errors import DocumentError, TlvError
from agent.icao import tlv
from agent.icao.lds_registry import LdsFile

# Cards pad files to a block size; bytes after the outer TLV that are all 00 or FF are ignored.
PADDING = b"\x00\xff"


def unwrap(data: bytes, file: LdsFile) -> tlv.Tlv:
    """The outer TLV of ``file``'s bytes, which must carry the file's tag; trailing padding is tolerated."""
    if file.tag is None:
        raise ValueError(f"{file.name} has no LDS tag to unwrap")
    tag = file.tag
    try:
        item, end = tlv.decode_one(bytes(data))
    except TlvError as exc:
        raise DocumentError(f"outer tag {tag:02X}: {exc.message}", file=file.name) from exc
    if item.tag != tag:
        raise DocumentError(f"starts with tag {item.tag:X}, expected {tag:02X}", file=file.name)
    if bytes(data[end:]).strip(PADDING):
        raise DocumentError(f"{len(data) - end} bytes of garbage after the data", file=file.name)
    return item


def children(item: tlv.Tlv, file: str, what: str) -> list[tlv.Tlv]:
    """The nested TLVs of ``item`` as a DocumentError-raising call."""
    try:
        return item.children()
    except TlvError as exc:
        raise DocumentError(f"{what}: {exc.message}", file=file) from exc
