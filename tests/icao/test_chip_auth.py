"""Chip Authentication (Doc 9303-11 §6.2) against a card side written here with the `cryptography`
library's ECDH (independent of agent.icao.ec) and plain modular arithmetic for DH."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec

from agent.errors import AuthenticationFailedError
from agent.icao import tlv
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.chip_auth import parse_ca_protocol, perform_chip_authentication
from agent.icao.crypto import AES_128, AES_256, KDF_ENC, KDF_MAC, TDES
from agent.icao.dh import GROUPS_BY_PARAMETER_ID
from agent.icao.ec import CURVES_BY_PARAMETER_ID

CA_ECDH_3DES = "0.4.0.127.0.7.2.2.3.2.1"
CA_ECDH_AES128 = "0.4.0.127.0.7.2.2.3.2.2"
CA_ECDH_AES256 = "0.4.0.127.0.7.2.2.3.2.4"
CA_DH_3DES = "0.4.0.127.0.7.2.2.3.1.1"
CA_DH_AES128 = "0.4.0.127.0.7.2.2.3.1.2"


class EcCard:
    """The chip's side: a static P-256 key; computes the shared secret from what the terminal sends."""

    def __init__(self) -> None:
        self.key = crypto_ec.generate_private_key(crypto_ec.SECP256R1())
        self.commands: list[CommandApdu] = []
        self.terminal_key: bytes = b""

    @property
    def public_bytes(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        self.commands.append(command)
        if command.ins == 0x22 and command.p2 == 0xA6:
            self.terminal_key = tlv.decode_all(command.data)[0].value
        if command.ins == 0x86:
            self.terminal_key = tlv.decode_single(command.data, 0x7C).require(0x80).value
            return ResponseApdu(b"\x7c\x00", 0x9000)
        return ResponseApdu(b"", 0x9000)

    def shared_secret(self) -> bytes:
        peer = crypto_ec.EllipticCurvePublicKey.from_encoded_point(crypto_ec.SECP256R1(), self.terminal_key)
        return self.key.exchange(crypto_ec.ECDH(), peer)


@pytest.mark.parametrize(("oid", "suite"), [(CA_ECDH_3DES, TDES), (CA_ECDH_AES128, AES_128), (CA_ECDH_AES256, AES_256)])
def test_ecdh_chip_authentication_agrees_with_the_card(oid: str, suite: object) -> None:
    card = EcCard()
    result = perform_chip_authentication(card, oid, CURVES_BY_PARAMETER_ID[12], card.public_bytes, key_id=1)
    shared = card.shared_secret()
    assert result.suite is suite
    assert result.k_enc == suite.derive(shared, KDF_ENC)  # type: ignore[attr-defined]
    assert result.k_mac == suite.derive(shared, KDF_MAC)  # type: ignore[attr-defined]
    if suite is TDES:
        assert [c.encode()[:4].hex() for c in card.commands] == ["002241a6"]
        assert tlv.decode_all(card.commands[0].data)[1].encode() == bytes.fromhex("840101")
    else:
        assert [c.encode()[:4].hex() for c in card.commands] == ["002241a4", "00860000"]
        assert tlv.decode_all(card.commands[0].data)[0].tag == 0x80


@pytest.mark.parametrize("oid", [CA_DH_3DES, CA_DH_AES128])
def test_dh_chip_authentication_agrees_with_the_card(oid: str) -> None:
    group = GROUPS_BY_PARAMETER_ID[0]
    assert group.q is not None
    chip_private = int.from_bytes(os.urandom(20), "big") % group.q
    chip_public = pow(group.g, chip_private, group.p).to_bytes(128, "big")
    seen: list[bytes] = []

    def card(command: CommandApdu) -> ResponseApdu:
        if command.ins == 0x22 and command.p2 == 0xA6:
            seen.append(tlv.decode_all(command.data)[0].value)
        if command.ins == 0x86:
            seen.append(tlv.decode_single(command.data, 0x7C).require(0x80).value)
            return ResponseApdu(b"\x7c\x00", 0x9000)
        return ResponseApdu(b"", 0x9000)

    result = perform_chip_authentication(card, oid, group, chip_public)
    shared = pow(int.from_bytes(seen[0], "big"), chip_private, group.p).to_bytes(128, "big")
    _agreement, suite = parse_ca_protocol(oid)
    assert result.k_enc == suite.derive(shared, KDF_ENC)


def test_card_refusal_is_an_authentication_failure() -> None:
    card = EcCard()
    with pytest.raises(AuthenticationFailedError, match="6A80"):
        perform_chip_authentication(
            lambda c: ResponseApdu(b"", 0x6A80), CA_ECDH_AES128, CURVES_BY_PARAMETER_ID[12], card.public_bytes
        )


def test_invalid_chip_key_is_an_authentication_failure() -> None:
    bogus = b"\x04" + bytes(64)
    with pytest.raises(AuthenticationFailedError, match="not valid"):
        perform_chip_authentication(EcCard(), CA_ECDH_AES128, CURVES_BY_PARAMETER_ID[12], bogus)


@pytest.mark.parametrize("oid", ["0.4.0.127.0.7.2.2.4.2.2", "0.4.0.127.0.7.2.2.3.9.1", "1.2.3"])
def test_unknown_protocols_are_refused(oid: str) -> None:
    with pytest.raises(ValueError):
        parse_ca_protocol(oid)
