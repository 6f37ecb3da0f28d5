"""EF.COM (Doc 9303-10 §4.6.1), including the published example of Doc 9303-11 Appendix D."""

from __future__ import annotations

import pytest

from agent.errors import DocumentError
from agent.icao.lds.com import parse_com
from tests.icao import lds_fixtures as lds

# Plain EF.COM read in the worked BAC example (docs/reference/worked-examples.md "Appendix D: secure messaging").
PUBLISHED_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


def test_the_published_ef_com() -> None:
    com = parse_com(PUBLISHED_COM)
    assert com.lds_version == "0106"
    assert com.lds_version_text == "1.6"
    assert com.unicode_version == "040000"
    assert com.data_groups == (1, 2)


def test_a_cccd_ef_com_with_padding() -> None:
    com = parse_com(lds.encode_com((1, 2, 3, 13, 14, 15)) + b"\x00\x00\xff")
    assert com.data_groups == (1, 2, 3, 13, 14, 15)
    assert com.unknown_tags == ()


def test_unknown_tags_are_kept() -> None:
    data = lds.wrap(0x60, lds.wrap(0x5F01, b"0107") + lds.wrap(0x5F36, b"040000") + lds.wrap(0x5C, b"\x61\x99"))
    com = parse_com(data)
    assert com.data_groups == (1,)
    assert com.unknown_tags == (0x99,)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "truncated"),
        (b"\x61\x00", "expected 60"),
        (lds.wrap(0x60, lds.wrap(0x5F01, b"0107")), "missing tag"),
        (lds.wrap(0x60, lds.wrap(0x5F01, b"01a7") + lds.wrap(0x5F36, b"040000") + lds.wrap(0x5C, b"")), "LDS version"),
        (lds.encode_com() + b"\x12", "garbage"),
        (b"\x60\x03\x5f\x01\x04", "5F01"),
    ],
)
def test_malformed_ef_com(data: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_com(data)
    assert caught.value.file == "EF.COM"
    assert words in caught.value.message
