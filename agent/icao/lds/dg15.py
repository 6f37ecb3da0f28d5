"""DG15 (Doc 9303-10 §4.7.15, Doc 9303-11 §6.1): the Active Authentication public key, tag 6F around
a SubjectPublicKeyInfo — RSA or EC (named or explicit curve parameters).
"""

from __future__ import annotations

import dataclasses

from agent.icao import pki
from agent.icao.lds import unwrap
from agent.icao.lds_registry import DG15


@dataclasses.dataclass(frozen=True)
class Dg15:
    """The AA key: ``public_key_der`` is the SubjectPublicKeyInfo as stored, ``public_key`` its reading
    (``public_key.usable`` is False, with the reason, for an unsupported algorithm or curve)."""

    public_key_der: bytes = dataclasses.field(repr=False)
    public_key: pki.PublicKey

    @property
    def kind(self) -> str:
        return self.public_key.kind


def parse_dg15(data: bytes) -> Dg15:
    spki = unwrap(data, DG15).value
    return Dg15(spki, pki.load_public_key(spki, file=DG15.name))
