"""The LDS file registry (agent.icao.lds_registry): the published identifiers of Doc 9303-10 (file
identifiers, short EF identifiers, the tags of Table 34), the lookups, which files have a parser, and
agreement with the simulated card, which keeps its own constants on purpose."""

from __future__ import annotations

import pytest

from agent.icao import lds_registry as registry
from agent.icao.lds.com import parse_com
from agent.icao.lds.dg1 import parse_dg1
from agent.icao.lds.dg2 import parse_dg2
from agent.icao.lds.dg13 import parse_dg13
from agent.icao.lds.dg14 import parse_dg14
from agent.icao.lds.dg15 import parse_dg15
from agent.icao.lds.sod import parse_sod
from simulators.card import image, lds_build

# name, DG number, FID, SFI, tag (Doc 9303-10 §4.6 and Table 34)
PUBLISHED = [
    ("EF.CardAccess", None, 0x011C, 0x1C, None),
    ("EF.COM", None, 0x011E, 0x1E, 0x60),
    ("EF.SOD", None, 0x011D, 0x1D, 0x77),
    ("DG1", 1, 0x0101, 0x01, 0x61),
    ("DG2", 2, 0x0102, 0x02, 0x75),
    ("DG3", 3, 0x0103, 0x03, 0x63),
    ("DG4", 4, 0x0104, 0x04, 0x76),
    ("DG5", 5, 0x0105, 0x05, 0x65),
    ("DG6", 6, 0x0106, 0x06, 0x66),
    ("DG7", 7, 0x0107, 0x07, 0x67),
    ("DG8", 8, 0x0108, 0x08, 0x68),
    ("DG9", 9, 0x0109, 0x09, 0x69),
    ("DG10", 10, 0x010A, 0x0A, 0x6A),
    ("DG11", 11, 0x010B, 0x0B, 0x6B),
    ("DG12", 12, 0x010C, 0x0C, 0x6C),
    ("DG13", 13, 0x010D, 0x0D, 0x6D),
    ("DG14", 14, 0x010E, 0x0E, 0x6E),
    ("DG15", 15, 0x010F, 0x0F, 0x6F),
    ("DG16", 16, 0x0110, 0x10, 0x70),
]


@pytest.mark.parametrize(("name", "number", "fid", "sfi", "tag"), PUBLISHED, ids=[row[0] for row in PUBLISHED])
def test_each_file_has_its_published_identifiers(
    name: str, number: int | None, fid: int, sfi: int, tag: int | None
) -> None:
    file = registry.by_name(name)
    assert file is not None
    assert (file.name, file.number, file.fid, file.sfi, file.tag) == (name, number, fid, sfi, tag)
    assert file.is_data_group is (number is not None)
    assert registry.by_fid(fid) is file
    assert registry.find(fid) is file
    assert registry.find(name) is file
    if tag is not None:
        assert registry.by_tag(tag) is file
    if number is not None:
        assert registry.data_group(number) is file
        assert registry.find(number) is file
        assert registry.DATA_GROUPS[number] is file


def test_the_table_is_the_published_one_and_nothing_else() -> None:
    assert [file.name for file in registry.FILES] == [row[0] for row in PUBLISHED]
    assert len({file.fid for file in registry.FILES}) == len(registry.FILES)
    assert len({file.sfi for file in registry.FILES}) == len(registry.FILES)
    assert sorted(registry.DATA_GROUPS) == list(range(1, 17))


def test_data_group_file_identifiers() -> None:
    assert (registry.data_group(1).fid, registry.data_group(13).fid, registry.data_group(16).fid) == (
        0x0101,
        0x010D,
        0x0110,
    )
    for number in (0, 17):
        with pytest.raises(ValueError):
            registry.data_group(number)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("dg02", "DG2"), ("Dg13", "DG13"), ("ef.sod", "EF.SOD"), ("EF.CARDACCESS", "EF.CardAccess"), ("ef.com", "EF.COM")],
)
def test_names_are_found_in_any_case(name: str, expected: str) -> None:
    file = registry.by_name(name)
    assert file is not None and file.name == expected


@pytest.mark.parametrize("key", ["DG17", "DG0", "DG", "EF.CardSecurity", "", 0, 17, 0x0111, 0x3F00])
def test_what_is_no_lds_file_is_not_found(key: str | int) -> None:
    assert registry.find(key) is None


def test_parsers_are_known_for_the_files_this_reader_understands() -> None:
    from agent.icao.lds.document import PARSERS

    parsers = {file.name: PARSERS[file] for file in registry.FILES if file in PARSERS}
    assert parsers == {
        "EF.COM": parse_com,
        "EF.SOD": parse_sod,
        "DG1": parse_dg1,
        "DG2": parse_dg2,
        "DG13": parse_dg13,
        "DG14": parse_dg14,
        "DG15": parse_dg15,
    }


def test_the_simulated_card_agrees() -> None:
    # The card side's own constants (written independently) must name the same files.
    assert (image.FID_CARD_ACCESS, image.FID_COM, image.FID_SOD) == (
        registry.EF_CARD_ACCESS.fid,
        registry.EF_COM.fid,
        registry.EF_SOD.fid,
    )
    assert all(image.fid_of_dg(number) == file.fid for number, file in registry.DATA_GROUPS.items())
    assert (lds_build.TAG_COM, lds_build.TAG_SOD) == (registry.EF_COM.tag, registry.EF_SOD.tag)
    assert all(registry.data_group(number).tag == tag for number, tag in lds_build.DG_TAGS.items())
