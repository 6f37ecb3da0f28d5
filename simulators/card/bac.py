"""The card side of Basic Access Control (ICAO Doc 9303-11 §4.3, ISO/IEC 11770-2 key establishment
mechanism 6): GET CHALLENGE hands out RND.IC; EXTERNAL AUTHENTICATE checks the terminal's MAC and
cryptogram E.IFD ‖ M.IFD, answers E.IC ‖ M.IC and yields the session keys KSEnc/KSMAC (§9.7.1, §9.7.4)
and the starting SSC (§9.8.6.3).

Written independently of the host's BAC (docs/architecture.md "Layers", rule 5). Every failure of the
terminal's proof is answered 6300 and forgets the challenge, so each attempt needs a fresh GET CHALLENGE.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

from agent.icao.apdu import SW_CONDITIONS_NOT_SATISFIED, SW_VERIFICATION_FAILED, SW_WRONG_LENGTH
from agent.icao.crypto import KDF_ENC, KDF_MAC, TDES, pad
from simulators.card.secure_messaging import CardSession

NONCE_LENGTH = 8
KEY_MATERIAL_LENGTH = 16
CRYPTOGRAM_LENGTH = 32
MAC_LENGTH = 8


class BacError(Exception):
    """EXTERNAL AUTHENTICATE refused; ``sw`` is the answer."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(f"{reason} (SW {sw:04X})")
        self.sw = sw


@dataclasses.dataclass(frozen=True)
class BacKeys:
    """The Document Basic Access Keys KEnc/KMAC derived from the MRZ information (§9.7.2)."""

    k_enc: bytes = dataclasses.field(repr=False)
    k_mac: bytes = dataclasses.field(repr=False)

    @classmethod
    def from_mrz_information(cls, mrz_information: str) -> BacKeys:
        seed = hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]
        return cls(TDES.derive(seed, KDF_ENC), TDES.derive(seed, KDF_MAC))


class BacCard:
    """The BAC state of one card: the outstanding challenge, if any."""

    def __init__(self, keys: BacKeys, rng: Callable[[int], bytes]) -> None:
        self._keys = keys
        self._rng = rng
        self._rnd_ic: bytes | None = None

    def get_challenge(self) -> bytes:
        self._rnd_ic = self._rng(NONCE_LENGTH)
        return self._rnd_ic

    def forget_challenge(self) -> None:
        self._rnd_ic = None

    def external_authenticate(self, data: bytes) -> tuple[bytes, CardSession]:
        """E.IC ‖ M.IC for the terminal's E.IFD ‖ M.IFD, and the new secure-messaging session."""
        rnd_ic, self._rnd_ic = self._rnd_ic, None  # one attempt per challenge
        if rnd_ic is None:
            raise BacError(SW_CONDITIONS_NOT_SATISFIED, "no challenge outstanding")
        if len(data) != CRYPTOGRAM_LENGTH + MAC_LENGTH:
            raise BacError(SW_WRONG_LENGTH, "EXTERNAL AUTHENTICATE data must be 40 bytes")
        e_ifd, m_ifd = data[:CRYPTOGRAM_LENGTH], data[CRYPTOGRAM_LENGTH:]
        if TDES.mac(self._keys.k_mac, pad(e_ifd, 8)) != m_ifd:
            raise BacError(SW_VERIFICATION_FAILED, "M.IFD does not verify")
        s = TDES.decrypt(self._keys.k_enc, e_ifd)
        rnd_ifd, echoed_rnd_ic, k_ifd = s[:8], s[8:16], s[16:]
        if echoed_rnd_ic != rnd_ic:
            raise BacError(SW_VERIFICATION_FAILED, "RND.IC not echoed")
        k_ic = self._rng(KEY_MATERIAL_LENGTH)
        r = rnd_ic + rnd_ifd + k_ic
        e_ic = TDES.encrypt(self._keys.k_enc, r)
        m_ic = TDES.mac(self._keys.k_mac, pad(e_ic, 8))
        seed = bytes(a ^ b for a, b in zip(k_ic, k_ifd, strict=True))
        session = CardSession(
            TDES,
            TDES.derive(seed, KDF_ENC),
            TDES.derive(seed, KDF_MAC),
            int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"),
        )
        return e_ic + m_ic, session
