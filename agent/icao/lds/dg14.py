"""DG14 (Doc 9303-10 §4.7.14, Doc 9303-11 §9.2): the SecurityInfos of Chip Authentication (and PACE
parameters), tag 6E around a DER SET. The SET itself is read by :mod:`agent.icao.security_infos`,
which also reads EF.CardAccess.
"""

from __future__ import annotations

from agent.icao.lds import unwrap
from agent.icao.lds_registry import DG14
from agent.icao.security_infos import SecurityInfos, parse_security_infos


def parse_dg14(data: bytes) -> SecurityInfos:
    return parse_security_infos(unwrap(data, DG14).value, file=DG14.name)
