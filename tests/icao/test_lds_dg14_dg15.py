"""DG14 (SecurityInfos, read by agent.icao.security_infos) and DG15 (the Active Authentication key)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.errors import DocumentError
from agent.icao.lds.dg14 import parse_dg14
from agent.icao.lds.dg15 import parse_dg15
from tests.icao import lds_fixtures as lds
from tests.icao import pki_fixtures as f


def spki(kind: str) -> bytes:
    return f.private_key(kind, "dg15").public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_dg14_unwraps_tag_6e_and_reads_the_security_infos() -> None:
    infos = parse_dg14(lds.encode_dg14())
    (pace,) = infos.pace
    assert pace.protocol_oid == "0.4.0.127.0.7.2.2.4.2.2"
    assert pace.parameter_id == 13


@pytest.mark.parametrize("data", [b"", lds.wrap(0x6F, lds.SECURITY_INFOS), lds.wrap(0x6E, b"\x31\x03\x30\x01\x00")])
def test_malformed_dg14_names_dg14(data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_dg14(data)
    assert caught.value.file == "DG14"


@pytest.mark.parametrize(
    ("kind", "key_type", "description"),
    [("rsa1024", rsa.RSAPublicKey, "RSA-1024"), ("p256", ec.EllipticCurvePublicKey, "EC secp256r1"),
     ("brainpoolP256r1", ec.EllipticCurvePublicKey, "EC brainpoolP256r1")],
)
def test_dg15_rsa_and_ec_keys(kind: str, key_type: type, description: str) -> None:
    der = spki(kind)
    dg15 = parse_dg15(lds.encode_dg15(der))
    assert dg15.public_key_der == der
    assert isinstance(dg15.public_key.key, key_type)
    assert dg15.public_key.description == description
    assert dg15.kind == ("RSA" if kind.startswith("rsa") else "EC")


def test_dg15_with_an_unsupported_key_type_is_read_but_unusable() -> None:
    dg15 = parse_dg15(lds.encode_dg15(spki("dsa")))
    assert dg15.public_key.key is None
    assert "1.2.840.10040.4.1" in dg15.public_key.unsupported


def test_dg15_with_an_ec_point_off_the_curve_is_invalid() -> None:
    der = bytearray(spki("p256"))
    der[-1] ^= 0x01
    dg15 = parse_dg15(lds.encode_dg15(bytes(der)))
    assert dg15.public_key.key is None
    assert "not on" in dg15.public_key.invalid


@pytest.mark.parametrize(
    "data",
    [
        b"",
        lds.wrap(0x6E, b""),
        lds.wrap(0x6F, b""),
        lds.wrap(0x6F, b"\x30\x03\x02\x01\x00"),
        lds.wrap(0x6F, spki("p256")[:-4]),
    ],
)
def test_malformed_dg15_names_dg15(data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_dg15(data)
    assert caught.value.file == "DG15"
