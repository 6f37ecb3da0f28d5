"""Chip Authentication, the anti-cloning key agreement of ICAO Doc 9303-11 §6.2 (BSI TR-03110 CA
version 1 and the AES variant): the terminal sends an ephemeral public key on the chip's DG14 domain
parameters, both sides derive a shared secret with the chip's static key, and secure messaging
restarts with keys that only the genuine chip can know.

3DES protocols use MSE:Set KAT (P1P2 41A6); AES protocols use MSE:Set AT (41A4) followed by GENERAL
AUTHENTICATE. The commands travel over the current secure channel; the caller switches to the new
keys (SSC 0) and proves the switch by reading a file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from agent.errors import AuthenticationFailedError
from agent.icao import dh, ec, tlv
from agent.icao.apdu import (
    CLA_PLAIN,
    INS_GENERAL_AUTHENTICATE,
    INS_MANAGE_SECURITY_ENVIRONMENT,
    CommandApdu,
    ResponseApdu,
)
from agent.icao.crypto import AES_128, AES_192, AES_256, KDF_ENC, KDF_MAC, TDES, CipherSuite
from agent.icao.dh import ModpGroup
from agent.icao.ec import Curve
from agent.icao.pace import random_scalar
from agent.icao.transport import Send

OID_CA_PREFIX = "0.4.0.127.0.7.2.2.3"
_SUITES = {1: TDES, 2: AES_128, 3: AES_192, 4: AES_256}
_KEY_AGREEMENTS = {1: "DH", 2: "ECDH"}

TAG_EPHEMERAL_PUBLIC_KEY_KAT = 0x91
TAG_OID = 0x80
TAG_KEY_ID = 0x84
TAG_DYNAMIC_AUTH = 0x7C
TAG_GA_EPHEMERAL_KEY = 0x80


@dataclasses.dataclass(frozen=True)
class ChipAuthResult:
    """New secure-messaging keys (SSC restarts at 0) and what was sent, for the evidence log."""

    protocol_oid: str
    suite: CipherSuite
    k_enc: bytes = dataclasses.field(repr=False)
    k_mac: bytes = dataclasses.field(repr=False)
    terminal_public_key: bytes = b""


def parse_ca_protocol(protocol_oid: str) -> tuple[str, CipherSuite]:
    """(key agreement "DH"/"ECDH", cipher suite) of an id-CA-* OID."""
    prefix, _, tail = protocol_oid.rpartition(".")
    agreement_prefix, _, agreement = prefix.rpartition(".")
    if agreement_prefix != OID_CA_PREFIX or not agreement.isdigit() or not tail.isdigit():
        raise ValueError(f"{protocol_oid} is not a Chip Authentication protocol")
    agreement_kind = _KEY_AGREEMENTS.get(int(agreement))
    suite = _SUITES.get(int(tail))
    if agreement_kind is None or suite is None:
        raise ValueError(f"unsupported Chip Authentication protocol {protocol_oid}")
    return agreement_kind, suite


def perform_chip_authentication(
    send: Send,
    protocol_oid: str,
    domain: Curve | ModpGroup,
    chip_public_key: bytes,
    *,
    key_id: int | None = None,
    rng: Callable[[int], bytes] = os.urandom,
) -> ChipAuthResult:
    """Run Chip Authentication over ``send`` and return the keys of the restarted secure channel.

    ``chip_public_key`` is the DG14 key: an uncompressed point (ECDH) or the big-endian public
    value (DH). A refusal by the card is an AuthenticationFailedError: a genuine chip with DG14
    accepts its own key.
    """
    agreement, suite = parse_ca_protocol(protocol_oid)
    try:
        if agreement == "ECDH":
            if not isinstance(domain, Curve):
                raise ValueError("ECDH Chip Authentication needs elliptic-curve domain parameters")
            private = random_scalar(rng, domain.n)
            terminal_public = ec.encode_point(domain, ec.public_point(domain, private))
            shared_point = ec.ecdh(domain, private, ec.decode_point(domain, chip_public_key))
            shared = ec.field_element_bytes(domain, shared_point[0])
        else:
            if not isinstance(domain, ModpGroup):
                raise ValueError("DH Chip Authentication needs MODP domain parameters")
            private = random_scalar(rng, domain.q or domain.p - 1)
            terminal_public = dh.encode_element(domain, dh.public_value(domain, private))
            chip_value = dh.decode_element(domain, chip_public_key)
            shared = dh.encode_element(domain, dh.shared_secret(domain, private, chip_value))
    except (ec.InvalidPointError, dh.InvalidGroupElementError) as exc:
        raise AuthenticationFailedError(f"the chip's Chip Authentication key is not valid: {exc}") from exc

    key_reference = tlv.encode(TAG_KEY_ID, _key_id_bytes(key_id)) if key_id is not None else b""
    if suite is TDES:
        data = tlv.encode(TAG_EPHEMERAL_PUBLIC_KEY_KAT, terminal_public) + key_reference
        _expect_ok(send(CommandApdu(CLA_PLAIN, INS_MANAGE_SECURITY_ENVIRONMENT, 0x41, 0xA6, data)), "MSE:Set KAT")
    else:
        oid_value = tlv.encode_oid(protocol_oid)
        data = tlv.encode(TAG_OID, oid_value) + key_reference
        _expect_ok(send(CommandApdu(CLA_PLAIN, INS_MANAGE_SECURITY_ENVIRONMENT, 0x41, 0xA4, data)), "MSE:Set AT")
        body = tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(TAG_GA_EPHEMERAL_KEY, terminal_public))
        answer = send(CommandApdu(CLA_PLAIN, INS_GENERAL_AUTHENTICATE, 0x00, 0x00, body, le=256))
        _expect_ok(answer, "GENERAL AUTHENTICATE")
    return ChipAuthResult(
        protocol_oid=protocol_oid,
        suite=suite,
        k_enc=suite.derive(shared, KDF_ENC),
        k_mac=suite.derive(shared, KDF_MAC),
        terminal_public_key=terminal_public,
    )


def _expect_ok(response: ResponseApdu, command: str) -> None:
    if not response.ok:
        raise AuthenticationFailedError(
            f"the card refused {command} during Chip Authentication (SW {response.sw:04X})", sw=response.sw
        )


def _key_id_bytes(key_id: int) -> bytes:
    return key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big")

