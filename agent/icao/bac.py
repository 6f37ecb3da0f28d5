"""Basic Access Control, the terminal side (Doc 9303-11 §4.3 and §9.7.2 / §9.7.4): derive K_enc and
K_MAC from the MRZ key seed, GET CHALLENGE, EXTERNAL AUTHENTICATE with the terminal's cryptogram,
verify the chip's MAC and cryptogram, and derive the 3DES session keys and the send sequence counter.

Randomness comes from ``rng`` so that the published worked example (Appendix D) can be replayed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from agent.errors import ApduError, AuthenticationFailedError
from agent.icao.apdu import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    SW_OK,
    CommandApdu,
)
from agent.icao.crypto import KDF_ENC, KDF_MAC, TDES, pad
from agent.icao.keys import MrzKey
from agent.icao.secure_messaging import SecureMessaging
from agent.icao.transport import Send, error_for_sw

CHALLENGE_LENGTH = 8
KEY_MATERIAL_LENGTH = 16
CRYPTOGRAM_LENGTH = 32
MAC_LENGTH = 8
KEY_KIND = "MRZ"


def bac_keys(key: MrzKey) -> tuple[bytes, bytes]:
    """(K_enc, K_MAC), the 3DES document basic access keys derived from the MRZ key seed."""
    seed = key.bac_seed()
    return TDES.derive(seed, KDF_ENC), TDES.derive(seed, KDF_MAC)


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def get_challenge(send: Send) -> bytes:
    response = send(CommandApdu(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=CHALLENGE_LENGTH))
    if response.sw != SW_OK:
        raise error_for_sw(response.sw, "GET CHALLENGE")
    if len(response.data) != CHALLENGE_LENGTH:
        raise ApduError(
            f"GET CHALLENGE returned {len(response.data)} bytes, not 8", response.sw, command="GET CHALLENGE"
        )
    return response.data


def perform_bac(send: Send, key: MrzKey, *, rng: Callable[[int], bytes] = os.urandom) -> SecureMessaging:
    """Run BAC over ``send`` (the eMRTD application must already be selected) and return the
    secure-messaging state for the session. A refused EXTERNAL AUTHENTICATE (6300, or the 6982 some
    chips use) or a chip answer that does not prove knowledge of the key raises
    :class:`AuthenticationFailedError` with ``key_kind="MRZ"``. Each call sends EXTERNAL
    AUTHENTICATE once: a wrong key is never retried here."""
    k_enc, k_mac = bac_keys(key)
    rnd_ic = get_challenge(send)
    secrets = rng(CHALLENGE_LENGTH + KEY_MATERIAL_LENGTH)
    if len(secrets) != CHALLENGE_LENGTH + KEY_MATERIAL_LENGTH:
        raise ValueError("rng returned the wrong number of bytes")
    rnd_ifd, k_ifd = secrets[:CHALLENGE_LENGTH], secrets[CHALLENGE_LENGTH:]
    e_ifd = TDES.encrypt(k_enc, rnd_ifd + rnd_ic + k_ifd)
    m_ifd = TDES.mac(k_mac, pad(e_ifd, TDES.block_size))
    response = send(
        CommandApdu(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, e_ifd + m_ifd, le=CRYPTOGRAM_LENGTH + MAC_LENGTH)
    )
    if response.sw != SW_OK:
        raise AuthenticationFailedError(
            f"BAC refused by the chip (SW {response.sw:04X})", key_kind=KEY_KIND, sw=response.sw
        )
    if len(response.data) != CRYPTOGRAM_LENGTH + MAC_LENGTH:
        raise AuthenticationFailedError("BAC answer has the wrong length", key_kind=KEY_KIND, sw=response.sw)
    e_ic, m_ic = response.data[:CRYPTOGRAM_LENGTH], response.data[CRYPTOGRAM_LENGTH:]
    if not hmac.compare_digest(TDES.mac(k_mac, pad(e_ic, TDES.block_size)), m_ic):
        raise AuthenticationFailedError("BAC answer MAC does not verify", key_kind=KEY_KIND, sw=response.sw)
    plain = TDES.decrypt(k_enc, e_ic)
    rnd_ic_echo, rnd_ifd_echo, k_ic = plain[:8], plain[8:16], plain[16:32]
    if not (hmac.compare_digest(rnd_ifd_echo, rnd_ifd) and hmac.compare_digest(rnd_ic_echo, rnd_ic)):
        raise AuthenticationFailedError("BAC answer does not echo the challenges", key_kind=KEY_KIND, sw=response.sw)
    session_seed = _xor(k_ifd, k_ic)
    ssc = int.from_bytes(rnd_ic[4:8] + rnd_ifd[4:8], "big")
    return SecureMessaging(TDES, TDES.derive(session_seed, KDF_ENC), TDES.derive(session_seed, KDF_MAC), ssc)
