"""SecurityInfos parsing (agent.icao.security_infos): the EF.CardAccess and key structures of Doc
9303-11 Appendices G and I, DG14 variants built here from the ASN.1 of §9.2, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import DocumentError
from agent.icao import dh, ec, tlv
from agent.icao.crypto import AES_128, AES_192, AES_256, TDES
from agent.icao.security_infos import (
    OID_AA,
    OID_DH_KEY_AGREEMENT,
    OID_DH_PUBLIC_NUMBER,
    OID_EC_PUBLIC_KEY,
    OID_PK_DH,
    OID_PK_ECDH,
    OID_STANDARDIZED_DOMAIN_PARAMETERS,
    OID_TA,
    ChipAuthenticationInfo,
    PaceInfo,
    SecurityInfos,
    pace_oid,
    parse_pace_oid,
    parse_security_infos,
)

BP256 = ec.BRAINPOOL_P256R1
OID_PRIME_FIELD = ec.OID_PRIME_FIELD


def hx(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# --- tiny DER builders for the tests ---


def seq(*items: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv.encode(0x31, b"".join(items))


def integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # room for the sign bit
    return tlv.encode(0x02, body)


def oid(dotted: str) -> bytes:
    return tlv.encode(0x06, tlv.encode_oid(dotted))


def octets(data: bytes) -> bytes:
    return tlv.encode(0x04, data)


def bits(data: bytes) -> bytes:
    return tlv.encode(0x03, b"\x00" + data)


# --- published structures ---

CARD_ACCESS_G1 = hx("31143012060A04007F0007020204020202010202010D")
PACE_INFO_G2 = hx("3012060A 04007F00 07020204 01020201 02020100")
PACE_INFO_I1 = hx("3012060A 04007F00 07020204 06020201 0202010D")
CA_PUBLIC_KEY_INFO_I1 = hx(
    "30620609 04007F00 07020201 02305230 0C060704 007F0007 01020201 0D034200 04187270 9494399E"
    "7470A643 1BE25E83 EEE24FEA 568C2ED2 8DB48E05 DB3A610D C884D256 A40E35EF CB59BF67 53D3A489"
    "D28C7A4D 973C2DA1 38A6E7A4 A08F68E1 6F02010D"
)
PK_IC_I1 = hx(
    "04 18727094 94399E74 70A6431B E25E83EE E24FEA56 8C2ED28D B48E05DB 3A610DC8"
    "84D256A4 0E35EFCB 59BF6753 D3A489D2 8C7A4D97 3C2DA138 A6E7A4A0 8F68E16F"
)


def explicit_brainpool_p256r1() -> bytes:
    """The AlgorithmIdentifier with explicit brainpoolP256r1 parameters printed in Appendix G.1."""
    p = hx("00 A9FB57DB A1EEA9BC 3E660A90 9D838D72 6E3BF623 D5262028 2013481D 1F6E5377")
    a = hx("7D5A0975 FC2C3057 EEF67530 417AFFE7 FB8055C1 26DC5C6C E94A4B44 F330B5D9")
    b = hx("26DC5C6C E94A4B44 F330B5D9 BBD77CBF 95841629 5CF7E1CE 6BCCDC18 FF8C07B6")
    g = hx(
        "04 8BD2AEB9 CB7E57CB 2C4B482F FC81B7AF B9DE27E1 E3BD23C2 3A4453BD 9ACE3262"
        "547EF835 C3DAC4FD 97F8461A 14611DC9 C2774513 2DED8E54 5C1D54C7 2F046997"
    )
    n = hx("00 A9FB57DB A1EEA9BC 3E660A90 9D838D71 8C397AA3 B561A6F7 901E0E82 974856A7")
    parameters = seq(
        integer(1),
        seq(oid(OID_PRIME_FIELD), tlv.encode(0x02, p)),
        seq(octets(a), octets(b)),
        octets(g),
        tlv.encode(0x02, n),
        integer(1),
    )
    encoded = seq(oid(OID_EC_PUBLIC_KEY), parameters)
    assert encoded[:3] == hx("3081EC")  # the length printed in the appendix
    return encoded


def ecdh_key_info(algorithm: bytes, point: bytes, key_id: int | None = None) -> bytes:
    tail = integer(key_id) if key_id is not None else b""
    return seq(oid(OID_PK_ECDH), seq(algorithm, bits(point)), tail)


def dh_key_info(algorithm: bytes, value: int, key_id: int | None = None) -> bytes:
    tail = integer(key_id) if key_id is not None else b""
    return seq(oid(OID_PK_DH), seq(algorithm, bits(integer(value))), tail)


# --- PACEInfo ---


def test_card_access_of_appendix_g1() -> None:
    infos = parse_security_infos(CARD_ACCESS_G1)
    assert infos.pace == (PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),)
    info = infos.pace[0]
    assert (info.key_agreement, info.mapping, info.cipher_suite) == ("ECDH", "GM", AES_128)
    assert info.domain_parameters is BP256
    assert infos.pace_domain(info) is BP256
    assert infos.other == () and infos.chip_authentication_keys == ()


def test_dh_pace_info_of_appendix_g2() -> None:
    info = parse_security_infos(set_of(PACE_INFO_G2)).pace[0]
    assert (info.key_agreement, info.mapping, info.cipher_suite, info.parameter_id) == ("DH", "GM", AES_128, 0)
    assert info.domain_parameters is dh.MODP_1024_160


def test_cam_pace_info_and_key_of_appendix_i1() -> None:
    infos = parse_security_infos(set_of(PACE_INFO_I1, CA_PUBLIC_KEY_INFO_I1), file="EF.CardSecurity")
    assert infos.pace[0].mapping == "CAM"
    key = infos.chip_authentication_key(13)
    assert key is not None
    assert key.domain is BP256 and key.parameter_id == 13 and key.key_id == 13
    assert key.key_agreement == "ECDH" and key.protocol_oid == OID_PK_ECDH
    assert key.public_key == PK_IC_I1
    assert infos.chip_authentication_key() is key
    assert infos.chip_authentication_key(1) is None


@pytest.mark.parametrize(
    ("kind", "suite_number", "expected"),
    [
        (1, 1, ("DH", "GM", TDES)),
        (1, 4, ("DH", "GM", AES_256)),
        (2, 3, ("ECDH", "GM", AES_192)),
        (3, 2, ("DH", "IM", AES_128)),
        (4, 1, ("ECDH", "IM", TDES)),
        (6, 2, ("ECDH", "CAM", AES_128)),
        (6, 4, ("ECDH", "CAM", AES_256)),
    ],
)
def test_pace_oids(kind: int, suite_number: int, expected: tuple[str, str, object]) -> None:
    dotted = f"0.4.0.127.0.7.2.2.4.{kind}.{suite_number}"
    assert parse_pace_oid(dotted) == expected
    assert pace_oid(*expected) == dotted  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "dotted", ["0.4.0.127.0.7.2.2.4.6.1", "0.4.0.127.0.7.2.2.4.5.2", "0.4.0.127.0.7.2.2.4.2.5", "1.2.3", "x"]
)
def test_unknown_pace_oids_are_refused(dotted: str) -> None:
    with pytest.raises(ValueError):
        parse_pace_oid(dotted)
    with pytest.raises(ValueError):
        PaceInfo(dotted, 2, 13)


def test_pace_oid_refuses_cam_with_3des() -> None:
    with pytest.raises(ValueError):
        pace_oid("ECDH", "CAM", TDES)


def test_unknown_pace_protocol_is_kept_opaque() -> None:
    entry = seq(oid("0.4.0.127.0.7.2.2.4.5.2"), integer(2), integer(13))
    infos = parse_security_infos(set_of(entry, CARD_ACCESS_G1[2:]))
    assert len(infos.pace) == 1
    assert infos.other[0].protocol_oid == "0.4.0.127.0.7.2.2.4.5.2"
    assert infos.other[0].encoded == entry


def test_pace_info_with_a_proprietary_parameter_id_resolves_through_domain_parameter_info() -> None:
    explicit = explicit_brainpool_p256r1()
    infos = parse_security_infos(
        set_of(
            seq(oid("0.4.0.127.0.7.2.2.4.2.2"), integer(2), integer(32)),
            seq(oid("0.4.0.127.0.7.2.2.4.2"), explicit, integer(32)),
        )
    )
    assert infos.pace[0].domain_parameters is None
    assert infos.pace_domain_parameters[0].parameter_id == 32
    assert infos.pace_domain(infos.pace[0]) is BP256  # equal to the standard curve: that curve


def test_pace_domain_is_none_when_nothing_matches() -> None:
    infos = parse_security_infos(set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), integer(2), integer(40))))
    assert infos.pace_domain(infos.pace[0]) is None


# --- DG14: chip / active / terminal authentication ---


def test_dg14_with_every_kind_of_info() -> None:
    point = ec.encode_point(BP256, ec.public_point(BP256, 0x1234567))
    dg14 = tlv.encode(
        0x6E,
        set_of(
            seq(oid("0.4.0.127.0.7.2.2.3.2.2"), integer(1), integer(7)),
            ecdh_key_info(explicit_brainpool_p256r1(), point, key_id=7),
            seq(oid(OID_AA), integer(1), oid("0.4.0.127.0.7.1.1.4.1.3")),
            seq(oid(OID_TA), integer(1)),
            seq(oid("2.23.136.1.1.13"), octets(b"\x61\x09")),  # EFDIRInfo: kept opaque
            CARD_ACCESS_G1[2:],
        ),
    )
    infos = parse_security_infos(dg14, file="DG14")
    assert infos.chip_authentication == (ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1, 7),)
    ca = infos.chip_authentication[0]
    assert ca.key_agreement == "ECDH" and ca.cipher_suite is AES_128
    key = infos.chip_authentication_key(7)
    assert key is not None and key.domain is BP256 and key.public_key == point and key.parameter_id is None
    assert infos.active_authentication[0].signature_algorithm_oid == "0.4.0.127.0.7.1.1.4.1.3"
    assert infos.terminal_authentication[0].version == 1
    assert infos.other[0].protocol_oid == "2.23.136.1.1.13"
    assert len(infos.pace) == 1


def test_unknown_chip_authentication_protocol_has_no_suite() -> None:
    info = ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.9.9", 1)
    assert info.key_agreement is None and info.cipher_suite is None


def test_named_curve_key_is_tolerated() -> None:
    point = ec.encode_point(ec.P_256, ec.public_point(ec.P_256, 99))
    info = ecdh_key_info(seq(oid(OID_EC_PUBLIC_KEY), oid("1.2.840.10045.3.1.7")), point)
    key = parse_security_infos(set_of(info)).chip_authentication_keys[0]
    assert key.domain is ec.P_256 and key.key_id is None


def test_explicit_unknown_curve_is_built() -> None:
    # brainpoolP256r1 with another base point (2G): no standard curve, a valid explicit one.
    two_g = ec.encode_point(BP256, ec.scalar_mult(BP256, 2, BP256.generator))
    parameters = seq(
        integer(1),
        seq(oid(OID_PRIME_FIELD), integer(BP256.p)),
        seq(octets(BP256.a.to_bytes(32, "big")), octets(BP256.b.to_bytes(32, "big"))),
        octets(two_g),
        integer(BP256.n),
    )
    point = ec.encode_point(BP256, ec.public_point(BP256, 5))
    key = parse_security_infos(set_of(ecdh_key_info(seq(oid(OID_EC_PUBLIC_KEY), parameters), point)))
    curve = key.chip_authentication_keys[0].domain
    assert isinstance(curve, ec.Curve) and curve.name == "explicit" and curve.gx != BP256.gx


def test_dh_keys_x942_pkcs3_and_standardized() -> None:
    group = dh.MODP_1024_160
    assert group.q is not None
    value = dh.public_value(group, 12345)
    x942 = seq(oid(OID_DH_PUBLIC_NUMBER), seq(integer(group.p), integer(group.g), integer(group.q)))
    pkcs3 = seq(oid(OID_DH_KEY_AGREEMENT), seq(integer(group.p), integer(group.g), integer(160)))
    standard = seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(0))
    infos = parse_security_infos(
        set_of(dh_key_info(x942, value, 1), dh_key_info(pkcs3, value, 2), dh_key_info(standard, value, 3))
    )
    for key in infos.chip_authentication_keys:
        assert key.domain is group and key.key_agreement == "DH"
        assert key.public_key == dh.encode_element(group, value)
    assert infos.chip_authentication_keys[2].parameter_id == 0


def test_explicit_dh_group_without_order() -> None:
    algorithm = seq(oid(OID_DH_KEY_AGREEMENT), seq(integer(2039), integer(7)))
    key = parse_security_infos(set_of(dh_key_info(algorithm, 100))).chip_authentication_keys[0]
    assert isinstance(key.domain, dh.ModpGroup) and key.domain.q is None and key.domain.p == 2039


def test_padding_after_the_set_is_ignored() -> None:
    assert parse_security_infos(CARD_ACCESS_G1 + b"\x00\x00\xff").pace[0].parameter_id == 13


def test_empty_set_is_valid() -> None:
    assert parse_security_infos(b"\x31\x00") == SecurityInfos()


# --- malformed input: always DocumentError naming the file ---

GOOD_POINT = ec.encode_point(BP256, BP256.generator)
STANDARD_13 = seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(13))

MALFORMED = {
    "empty": b"",
    "not a set": seq(),
    "truncated": CARD_ACCESS_G1[:-1],
    "trailing garbage": CARD_ACCESS_G1 + b"\x01",
    "entry not a sequence": set_of(integer(1)),
    "empty entry": set_of(seq()),
    "entry without oid": set_of(seq(integer(1))),
    "malformed oid": set_of(seq(tlv.encode(0x06, b"\x80"))),
    "empty oid": set_of(seq(tlv.encode(0x06, b""))),
    "pace info without version": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"))),
    "pace info with a string version": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), octets(b"\x02"))),
    "negative version": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), tlv.encode(0x02, b"\xff"))),
    "empty integer": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), tlv.encode(0x02, b""))),
    "huge version": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), tlv.encode(0x02, b"\x01" * 20))),
    "too many pace fields": set_of(seq(oid("0.4.0.127.0.7.2.2.4.2.2"), integer(2), integer(13), integer(1))),
    "ca info without version": set_of(seq(oid("0.4.0.127.0.7.2.2.3.2.2"))),
    "aa info without algorithm": set_of(seq(oid(OID_AA), integer(1))),
    "ta info without version": set_of(seq(oid(OID_TA))),
    "key point off the curve": set_of(ecdh_key_info(STANDARD_13, GOOD_POINT[:-1] + b"\x00")),
    "key bit string with unused bits": set_of(
        seq(oid(OID_PK_ECDH), seq(STANDARD_13, tlv.encode(0x03, b"\x01" + GOOD_POINT)))
    ),
    "spki without key": set_of(seq(oid(OID_PK_ECDH), seq(STANDARD_13))),
    "unknown standardized id": set_of(ecdh_key_info(seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(3)), b"")),
    "dh id for an ec key": set_of(ecdh_key_info(seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(0)), b"")),
    "rsa key": set_of(ecdh_key_info(seq(oid("1.2.840.113549.1.1.1"), tlv.encode(0x05, b"")), b"")),
    "algorithm without parameters": set_of(ecdh_key_info(seq(oid(OID_EC_PUBLIC_KEY)), GOOD_POINT)),
    "unknown named curve": set_of(ecdh_key_info(seq(oid(OID_EC_PUBLIC_KEY), oid("1.2.3.4")), GOOD_POINT)),
    "dh value out of range": set_of(dh_key_info(seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(0)), 1)),
    "x942 without q": set_of(dh_key_info(seq(oid(OID_DH_PUBLIC_NUMBER), seq(integer(2039), integer(7))), 5)),
    "binary field curve": set_of(
        ecdh_key_info(
            seq(
                oid(OID_EC_PUBLIC_KEY),
                seq(integer(1), seq(oid("1.2.840.10045.1.2"), integer(5)), seq(octets(b"\x01"), octets(b"\x01"))),
            ),
            GOOD_POINT,
        )
    ),
    "dg14 with trailing bytes": tlv.encode(0x6E, CARD_ACCESS_G1 + b"\x05"),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_is_a_document_error(data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_security_infos(data, file="DG14")
    assert caught.value.file == "DG14"


def test_explicit_curve_with_base_point_off_the_curve() -> None:
    bad_g = b"\x04" + (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
    parameters = seq(
        integer(1),
        seq(oid(OID_PRIME_FIELD), integer(BP256.p)),
        seq(octets(BP256.a.to_bytes(32, "big")), octets(BP256.b.to_bytes(32, "big"))),
        octets(bad_g),
        integer(BP256.n),
    )
    with pytest.raises(DocumentError):
        parse_security_infos(set_of(ecdh_key_info(seq(oid(OID_EC_PUBLIC_KEY), parameters), bad_g)))


@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    try:
        parse_security_infos(data)
    except DocumentError as exc:
        assert exc.file == "EF.CardAccess"


VALID_DG14 = tlv.encode(
    0x6E,
    set_of(
        seq(oid("0.4.0.127.0.7.2.2.3.2.2"), integer(1), integer(13)),
        CA_PUBLIC_KEY_INFO_I1,
        seq(oid(OID_AA), integer(1), oid("0.4.0.127.0.7.1.1.4.1.3")),
        CARD_ACCESS_G1[2:],
        dh_key_info(seq(oid(OID_STANDARDIZED_DOMAIN_PARAMETERS), integer(0)), dh.MODP_1024_160.g),
    ),
)


@given(st.data())
def test_fuzz_mutated_dg14(data: st.DataObject) -> None:
    mutated = bytearray(VALID_DG14)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    try:
        parse_security_infos(bytes(mutated[:cut]), file="DG14")
    except DocumentError as exc:
        assert exc.file == "DG14"


def test_valid_dg14_parses() -> None:
    infos = parse_security_infos(VALID_DG14, file="DG14")
    assert len(infos.chip_authentication_keys) == 2 and len(infos.pace) == 1


@given(st.lists(st.integers(0, 2**70), min_size=1, max_size=8), st.integers(0, 2), st.integers(0, 39))
def test_oid_round_trip(tail: list[int], first: int, second: int) -> None:
    dotted = ".".join(str(arc) for arc in [first, second, *tail])
    encoded = tlv.encode_oid(dotted)
    if len(encoded) <= 64:
        assert tlv.decode_oid(encoded) == dotted


@pytest.mark.parametrize("dotted", ["", "1", "3.1", "1.40", "a.b", "1.-2"])
def test_encode_oid_refuses_malformed(dotted: str) -> None:
    with pytest.raises(ValueError):
        tlv.encode_oid(dotted)
