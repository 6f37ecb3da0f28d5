"""The one table of the files of the eMRTD LDS1 application and of EF.CardAccess (Doc 9303-10 §4.6
for the file identifiers and short EF identifiers, Table 34 for the tags): for each file its name, its
data group number, its file identifier, its short EF identifier and the tag its content starts with,
with lookups by each of them.

Everything else (the read sequence, :class:`~agent.icao.lds.document.ChipDocument`, EF.COM's tag
list, the parsers' outer tags and error file names, receipts and logs) asks this table, so that adding
a data group is one line here, its parser, and one line in :data:`agent.icao.lds.document.PARSERS`.
The table sits beside the ``lds`` package rather than in it and names no parser, because every parser
(and the SecurityInfos of EF.CardAccess and DG14) takes its tag from here: that way nothing imports in
a circle. The simulated card keeps its own file identifiers on purpose (docs/architecture.md "Layers", rule 5):
a mistake made here is then not made on both sides of a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

_DG_PREFIX = "DG"


@dataclasses.dataclass(frozen=True)
class LdsFile:
    """One elementary file. ``number`` is the data group number (None for EF.CardAccess, EF.COM and
    EF.SOD); ``tag`` the one-byte tag its content starts with (None for EF.CardAccess, whose content
    is a bare SecurityInfos SET); ``sfi`` the short EF identifier of READ BINARY with P1 bit 8 set."""

    name: str
    fid: int
    sfi: int
    tag: int | None
    number: int | None = None

    @property
    def is_data_group(self) -> bool:
        return self.number is not None

    def __str__(self) -> str:
        return self.name


EF_CARD_ACCESS = LdsFile("EF.CardAccess", fid=0x011C, sfi=0x1C, tag=None)  # in the MF, not the application
EF_COM = LdsFile("EF.COM", fid=0x011E, sfi=0x1E, tag=0x60)
EF_SOD = LdsFile("EF.SOD", fid=0x011D, sfi=0x1D, tag=0x77)


def _data_group(number: int, tag: int) -> LdsFile:
    # Doc 9303-10 §4.6: DGn is file 01 0n with short EF identifier n
    return LdsFile(f"{_DG_PREFIX}{number}", fid=0x0100 + number, sfi=number, tag=tag, number=number)


DG1 = _data_group(1, 0x61)  # MRZ
DG2 = _data_group(2, 0x75)  # encoded face
DG3 = _data_group(3, 0x63)  # fingerprints (Extended Access Control)
DG4 = _data_group(4, 0x76)  # irises (Extended Access Control)
DG5 = _data_group(5, 0x65)
DG6 = _data_group(6, 0x66)
DG7 = _data_group(7, 0x67)
DG8 = _data_group(8, 0x68)
DG9 = _data_group(9, 0x69)
DG10 = _data_group(10, 0x6A)
DG11 = _data_group(11, 0x6B)
DG12 = _data_group(12, 0x6C)
DG13 = _data_group(13, 0x6D)  # optional details: the CCCD's personal data
DG14 = _data_group(14, 0x6E)  # SecurityInfos (Chip Authentication)
DG15 = _data_group(15, 0x6F)  # Active Authentication public key
DG16 = _data_group(16, 0x70)

FILES: tuple[LdsFile, ...] = (
    EF_CARD_ACCESS, EF_COM, EF_SOD,
    DG1, DG2, DG3, DG4, DG5, DG6, DG7, DG8, DG9, DG10, DG11, DG12, DG13, DG14, DG15, DG16,
)  # fmt: skip
DATA_GROUPS: Mapping[int, LdsFile] = {file.number: file for file in FILES if file.number is not None}

_BY_NAME = {file.name.upper(): file for file in FILES}
_BY_FID = {file.fid: file for file in FILES}
_BY_TAG = {file.tag: file for file in FILES if file.tag is not None}


def data_group(number: int) -> LdsFile:
    """DG``number``; ValueError for a number outside 1-16."""
    try:
        return DATA_GROUPS[number]
    except KeyError:
        raise ValueError(f"no data group {number}") from None


def by_name(name: str) -> LdsFile | None:
    """The file of a name in any case, data group numbers with or without leading zeros ("dg02")."""
    upper = name.upper()
    if upper.startswith(_DG_PREFIX) and upper[len(_DG_PREFIX) :].isdigit():
        return DATA_GROUPS.get(int(upper[len(_DG_PREFIX) :]))
    return _BY_NAME.get(upper)


def by_fid(fid: int) -> LdsFile | None:
    return _BY_FID.get(fid)


def by_tag(tag: int) -> LdsFile | None:
    """The file whose content starts with ``tag`` (the tags EF.COM lists, Doc 9303-10 Table 34)."""
    return _BY_TAG.get(tag)


def find(key: str | int) -> LdsFile | None:
    """The file of a name, a data group number (1-16) or a file identifier."""
    if isinstance(key, str):
        return by_name(key)
    if key in DATA_GROUPS:
        return DATA_GROUPS[key]
    return by_fid(key)
