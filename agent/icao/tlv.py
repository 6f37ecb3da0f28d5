"""BER-TLV as used by ISO/IEC 7816-4 and ICAO Doc 9303-10 §4: multi-byte tags, definite short and
long lengths (up to 4 length bytes), nesting of constructed objects.

Tags are kept as integers of their encoded bytes (``0x5F1F``, ``0x7F61``) because that is how Doc 9303
and ISO 7816 name them. Every malformed input raises :class:`agent.errors.TlvError`, never an
IndexError, so that a garbled card response can never crash a caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from agent.errors import TlvError

MAX_LENGTH_BYTES = 4
MAX_OID_BYTES = 64  # far beyond any OID a document uses; keeps hostile input cheap


def encode_tag(tag: int) -> bytes:
    if tag < 0:
        raise TlvError(f"negative tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    if length < 0:
        raise TlvError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise TlvError(f"length {length} too large")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    """One TLV object."""
    return encode_tag(tag) + encode_length(len(value)) + value


def is_constructed(tag: int) -> bool:
    first = encode_tag(tag)[0]
    return bool(first & 0x20)


def read_tag(data: bytes, offset: int) -> tuple[int, int]:
    """The tag at ``offset`` and the offset after it."""
    if offset >= len(data):
        raise TlvError("truncated: tag expected")
    first = data[offset]
    tag = first
    offset += 1
    if first & 0x1F == 0x1F:  # more tag bytes follow, each with b8 set except the last
        while True:
            if offset >= len(data):
                raise TlvError("truncated in a multi-byte tag")
            byte = data[offset]
            tag = (tag << 8) | byte
            offset += 1
            if not byte & 0x80:
                break
            if tag.bit_length() > 32:
                raise TlvError("tag longer than 4 bytes")
    return tag, offset


def read_length(data: bytes, offset: int) -> tuple[int, int]:
    """The length at ``offset`` and the offset after it (definite form only)."""
    if offset >= len(data):
        raise TlvError("truncated: length expected")
    first = data[offset]
    offset += 1
    if first < 0x80:
        return first, offset
    count = first & 0x7F
    if count == 0:
        raise TlvError("indefinite length is not allowed")
    if count > MAX_LENGTH_BYTES:
        raise TlvError(f"length field of {count} bytes is too long")
    if offset + count > len(data):
        raise TlvError("truncated in a long length")
    return int.from_bytes(data[offset : offset + count], "big"), offset + count


@dataclasses.dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes = dataclasses.field(repr=False)

    def encode(self) -> bytes:
        return encode(self.tag, self.value)

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise TlvError(f"tag {self.tag:X} is primitive: it has no children")
        return decode_all(self.value)

    def find(self, tag: int) -> Tlv | None:
        """The first direct child with ``tag``."""
        for child in self.children():
            if child.tag == tag:
                return child
        return None

    def require(self, tag: int) -> Tlv:
        found = self.find(tag)
        if found is None:
            raise TlvError(f"tag {tag:X} missing inside {self.tag:X}")
        return found


def decode_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """One TLV object at ``offset`` and the offset after it."""
    tag, offset = read_tag(data, offset)
    length, offset = read_length(data, offset)
    end = offset + length
    if end > len(data):
        raise TlvError(f"tag {tag:X} declares {length} bytes but only {len(data) - offset} remain")
    return Tlv(tag, bytes(data[offset:end])), end


def spans(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
    """(tag, value start, value end) of each TLV object laid end to end in ``data[start:end]``: offsets
    only, nothing copied, for walkers over large structures (the certificates of a master list)."""
    stop = len(data) if end is None else end
    found: list[tuple[int, int, int]] = []
    offset = start
    while offset < stop:
        tag, offset = read_tag(data, offset)
        length, offset = read_length(data, offset)
        value_end = offset + length
        if value_end > stop:
            raise TlvError(f"tag {tag:X} declares {length} bytes but only {stop - offset} remain")
        found.append((tag, offset, value_end))
        offset = value_end
    return found


def iter_tlv(data: bytes) -> Iterator[Tlv]:
    offset = 0
    while offset < len(data):
        item, offset = decode_one(data, offset)
        yield item


def decode_all(data: bytes) -> list[Tlv]:
    """Every TLV object of a concatenation; trailing garbage is an error."""
    return list(iter_tlv(data))


def decode_single(data: bytes, expected_tag: int | None = None) -> Tlv:
    """Exactly one TLV object filling ``data`` (optionally with a given tag)."""
    item, end = decode_one(data)
    if end != len(data):
        raise TlvError(f"{len(data) - end} trailing bytes after tag {item.tag:X}")
    if expected_tag is not None and item.tag != expected_tag:
        raise TlvError(f"expected tag {expected_tag:X}, found {item.tag:X}")
    return item


def header_length(data: bytes) -> tuple[int, int]:
    """From the first bytes of a file: (header size, total size of the outer TLV).

    Used to learn a file's length from its first few bytes before reading the rest.
    """
    _tag, offset = read_tag(data, 0)
    length, offset = read_length(data, offset)
    return offset, offset + length


# --- DER OBJECT IDENTIFIER content octets (X.690 §8.19) ---------------------------------------------


def encode_oid(dotted: str) -> bytes:
    """The content octets of a DER OBJECT IDENTIFIER (no tag, no length)."""
    try:
        arcs = [int(part) for part in dotted.split(".")]
    except ValueError as exc:
        raise ValueError(f"malformed object identifier {dotted!r}") from exc
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise ValueError(f"malformed object identifier {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_oid(content: bytes) -> str:
    """Dotted form of the content octets of an OBJECT IDENTIFIER; ValueError when malformed."""
    if not content or len(content) > MAX_OID_BYTES or content[-1] & 0x80:
        raise ValueError("malformed object identifier")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])
