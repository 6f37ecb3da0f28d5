"""DG14 (Doc 9303-10 §4.7.14, Doc 9303-11 §9.2): the SecurityInfos of Chip Authentication (and PACE
parameters), tag 6E around a DER SET. The SET itself is read by :mod:`agent.icao.security_infos`,
which also reads EF.CardAccess.
"""

from __future__ import annotations

from agent.icao.lds import unwrap
from agent.icao.security_infos import SecurityInfos, parse_security_infos

FILE = "DG14"
TAG_DG14 = 0x6E


def parse_dg14(data: bytes) -> SecurityInfos:
    return parse_security_infos(unwrap(data, TAG_DG14, FILE).value, file=FILE)
