"""DG1, the machine readable zone as stored on the chip (Doc 9303-10 §4.7.1): tag 61 around 5F1F
holding the MRZ characters without line breaks; TD1 (90 characters, the CCCD) and TD3 (88). The
fields and check digits are read by :mod:`agent.icao.mrz`.
"""

from __future__ import annotations

import dataclasses

from agent.errors import DocumentError, MrzFormatError
from agent.icao.lds import children, unwrap
from agent.icao.lds_registry import DG1
from agent.icao.mrz import Mrz, parse_mrz

TAG_MRZ = 0x5F1F
LINE_LENGTHS = {90: ("TD1", 30), 88: ("TD3", 44)}


@dataclasses.dataclass(frozen=True)
class Dg1:
    mrz_text: str = dataclasses.field(repr=False)  # the MRZ lines joined by "\n"
    mrz: Mrz

    @property
    def document_format(self) -> str:
        return self.mrz.format


def parse_dg1(data: bytes) -> Dg1:
    outer = unwrap(data, DG1)
    found = [item for item in children(outer, DG1.name, "DG1 content") if item.tag == TAG_MRZ]
    if len(found) != 1:
        raise DocumentError(f"expected one MRZ (tag 5F1F), found {len(found)}", file=DG1.name)
    raw = found[0].value
    if len(raw) not in LINE_LENGTHS:
        raise DocumentError(f"an MRZ of {len(raw)} characters is neither TD1 (90) nor TD3 (88)", file=DG1.name)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MrzFormatError("MRZ holds non-ASCII bytes", file=DG1.name) from exc
    _format, width = LINE_LENGTHS[len(raw)]
    lines = "\n".join(text[start : start + width] for start in range(0, len(text), width))
    try:
        parsed = parse_mrz(lines)
    except DocumentError as exc:
        raise MrzFormatError(exc.message, file=DG1.name) from exc
    return Dg1(lines, parsed)
