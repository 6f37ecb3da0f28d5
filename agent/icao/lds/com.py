"""EF.COM (Doc 9303-10 §4.6.1): the LDS and Unicode versions and the list of data groups present."""

from __future__ import annotations

import dataclasses

from agent.errors import DocumentError
from agent.icao.lds import children, unwrap
from agent.icao.lds_registry import EF_COM, by_tag

TAG_LDS_VERSION = 0x5F01
TAG_UNICODE_VERSION = 0x5F36
TAG_TAG_LIST = 0x5C


@dataclasses.dataclass(frozen=True)
class Com:
    """EF.COM. ``lds_version`` is "aabb" (e.g. "0107" = LDS 1.7), ``unicode_version`` "aabbcc"."""

    lds_version: str
    unicode_version: str
    data_groups: tuple[int, ...]
    unknown_tags: tuple[int, ...] = ()

    @property
    def lds_version_text(self) -> str:
        return f"{int(self.lds_version[:2])}.{int(self.lds_version[2:])}"


def parse_com(data: bytes) -> Com:
    outer = unwrap(data, EF_COM)
    fields = {item.tag: item.value for item in children(outer, EF_COM.name, "EF.COM content")}
    missing = [f"{tag:X}" for tag in (TAG_LDS_VERSION, TAG_UNICODE_VERSION, TAG_TAG_LIST) if tag not in fields]
    if missing:
        raise DocumentError(f"missing tag(s) {', '.join(missing)}", file=EF_COM.name)
    lds_version = _digits(fields[TAG_LDS_VERSION], 4, "LDS version")
    unicode_version = _digits(fields[TAG_UNICODE_VERSION], 6, "Unicode version")
    data_groups: list[int] = []
    unknown: list[int] = []
    for tag in fields[TAG_TAG_LIST]:  # one-byte tags (Doc 9303-10 Table 34)
        listed = by_tag(tag)
        if listed is None or listed.number is None:  # EF.COM lists data groups only
            unknown.append(tag)
        elif listed.number not in data_groups:
            data_groups.append(listed.number)
    return Com(lds_version, unicode_version, tuple(sorted(data_groups)), tuple(unknown))


def _digits(value: bytes, size: int, what: str) -> str:
    text = value.decode("ascii", errors="replace")
    if len(value) != size or not text.isdigit() or not text.isascii():
        raise DocumentError(f"{what} must be {size} ASCII digits", file=EF_COM.name)
    return text
