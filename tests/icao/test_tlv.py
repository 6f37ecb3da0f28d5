"""BER-TLV (ISO/IEC 7816-4 §6.3, Doc 9303-10 §4): known encodings, Hypothesis round trips of single
and nested objects, and fuzzing (random bytes give objects or TlvError, nothing else)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import TlvError
from agent.icao import tlv


@pytest.mark.parametrize(
    ("tag", "value", "wire"),
    [
        (0x60, b"", "6000"),
        (0x5F01, b"0106", "5F010430313036"),
        (0x7F61, b"\x02\x01\x01", "7F6103020101"),
        (0x5F1F, bytes(0x7F), "5F1F7F" + "00" * 0x7F),
        (0x75, bytes(0x80), "758180" + "00" * 0x80),
        (0x77, bytes(0x100), "77820100" + "00" * 0x100),
        (0x53, bytes(0x10000), "5383010000" + "00" * 0x10000),
        (0x9F8101, b"\x01", "9F810101" + "01"),
    ],
)
def test_known_encodings(tag: int, value: bytes, wire: str) -> None:
    assert tlv.encode(tag, value).hex().upper() == wire.upper()
    assert tlv.decode_single(bytes.fromhex(wire)) == tlv.Tlv(tag, value)


def test_ef_com_of_appendix_d() -> None:
    ef_com = tlv.decode_single(bytes.fromhex("60145F0104303130365F36063034303030305C026175"), 0x60)
    assert [child.tag for child in ef_com.children()] == [0x5F01, 0x5F36, 0x5C]
    assert ef_com.require(0x5C).value == bytes.fromhex("6175")
    assert ef_com.find(0x99) is None
    with pytest.raises(TlvError):
        ef_com.require(0x99)
    assert tlv.header_length(bytes.fromhex("60145F01")) == (2, 22)


@pytest.mark.parametrize(
    ("head", "expected"),
    [("7582471B", (4, 0x471B + 4)), ("6D8201F4", (4, 0x1F4 + 4)), ("318114", (3, 0x14 + 3)), ("5F1F05", (3, 8))],
)
def test_header_length(head: str, expected: tuple[int, int]) -> None:
    assert tlv.header_length(bytes.fromhex(head)) == expected


@pytest.mark.parametrize(
    "wire",
    ["", "5F", "5F1F", "60", "6080", "6085000000000000", "6082FF", "6005010203", "9F81", "9F8181818101"],
)
def test_malformed(wire: str) -> None:
    with pytest.raises(TlvError):
        tlv.decode_single(bytes.fromhex(wire))


def test_trailing_bytes_and_wrong_tag() -> None:
    with pytest.raises(TlvError):
        tlv.decode_single(bytes.fromhex("600000"))
    with pytest.raises(TlvError):
        tlv.decode_single(bytes.fromhex("6000"), 0x61)


def test_primitive_has_no_children() -> None:
    with pytest.raises(TlvError):
        tlv.Tlv(0x04, b"").children()


def test_encoding_limits() -> None:
    with pytest.raises(TlvError):
        tlv.encode_tag(-1)
    with pytest.raises(TlvError):
        tlv.encode_length(-1)
    with pytest.raises(TlvError):
        tlv.encode_length(1 << 32)


# --- Hypothesis ----------------------------------------------------------------------------------


@st.composite
def tags(draw: st.DrawFn) -> int:
    """A well-formed tag of 1 to 3 bytes, primitive or constructed."""
    first_class_and_form = draw(st.integers(min_value=0, max_value=7)) << 5
    if draw(st.booleans()):
        return first_class_and_form | draw(st.integers(min_value=0, max_value=0x1E))
    encoded = [first_class_and_form | 0x1F]
    for _ in range(draw(st.integers(min_value=0, max_value=1))):
        encoded.append(0x80 | draw(st.integers(min_value=1, max_value=0x7F)))
    encoded.append(draw(st.integers(min_value=0x1F if len(encoded) == 1 else 0, max_value=0x7F)))
    return int.from_bytes(bytes(encoded), "big")


@given(tags(), st.binary(max_size=600))
def test_round_trip(tag: int, value: bytes) -> None:
    wire = tlv.encode(tag, value)
    assert tlv.decode_single(wire) == tlv.Tlv(tag, value)
    assert tlv.header_length(wire[:8]) == (len(wire) - len(value), len(wire))


@given(st.lists(st.tuples(tags(), st.binary(max_size=140)), max_size=6))
def test_nested_round_trip(items: list[tuple[int, bytes]]) -> None:
    children = b"".join(tlv.encode(tag, value) for tag, value in items)
    outer = tlv.decode_single(tlv.encode(0x30, children))
    assert [(child.tag, child.value) for child in outer.children()] == items


def _walk(items: list[tlv.Tlv], depth: int = 0) -> int:
    count = 0
    for item in items:
        count += 1
        if item.constructed and depth < 8:
            try:
                count += _walk(item.children(), depth + 1)
            except TlvError:
                pass
    return count


@given(st.binary(max_size=200))
def test_fuzz_decode(raw: bytes) -> None:
    try:
        items = tlv.decode_all(raw)
    except TlvError:
        return
    assert _walk(items) >= len(items)
    assert sum(len(item.value) for item in items) <= len(raw)


@given(st.binary(max_size=12))
def test_fuzz_header_length(raw: bytes) -> None:
    try:
        header, total = tlv.header_length(raw)
    except TlvError:
        return
    assert 1 <= header <= len(raw) and total >= header
