"""Round trips of the card's PACE (every mapping, key agreement and cipher suite), Chip Authentication
and Active Authentication against the test-only mini host, and the card's refusals (Doc 9303-11 §4.4,
§6.1, §6.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from agent.icao import dh, ec, tlv
from agent.icao.crypto import AES_128, KDF_ENC, KDF_MAC, TDES
from simulators.card.card import SimulatedCard
from simulators.card.chip_auth import parse_protocol
from simulators.card.image import ChipAuthKey, PaceSetup
from simulators.card.pace import point_encoding, pseudo_random
from tests.simulators.test_card_fixtures import EF_COM, bac, make_card, pace_can
from tests.simulators.test_card_minihost import MiniSm, PaceRefusedError, ScriptedRng, run_pace, seeded_rng, sw_of

H = bytes.fromhex
PACE = "0.4.0.127.0.7.2.2.4"

# (mapping digit, cipher digit, parameter ID)
PACE_VARIANTS = [
    *[(2, cipher, 13) for cipher in (1, 2, 3, 4)],  # ECDH-GM brainpoolP256r1, every suite
    (2, 2, 8), (2, 2, 9), (2, 1, 10), (2, 2, 11), (2, 2, 12), (2, 3, 14), (2, 4, 15), (2, 4, 16), (2, 4, 17),
    (2, 4, 18),
    *[(4, cipher, 13) for cipher in (1, 2, 3, 4)],  # ECDH-IM
    (4, 2, 12), (4, 4, 15), (4, 4, 17), (4, 3, 18),
    *[(1, cipher, 0) for cipher in (1, 2, 3, 4)],  # DH-GM MODP-1024/160
    (1, 2, 1), (1, 4, 2),  # 2048-bit groups: extended length
    *[(3, cipher, 0) for cipher in (1, 2, 3, 4)],  # DH-IM
    (3, 4, 2),
]


@pytest.mark.parametrize(("mapping", "cipher", "parameter_id"), PACE_VARIANTS,
                         ids=[f"{PACE}.{m}.{c}-param{p}" for m, c, p in PACE_VARIANTS])
def test_pace_round_trip_then_read(mapping: int, cipher: int, parameter_id: int) -> None:
    oid = f"{PACE}.{mapping}.{cipher}"
    card = make_card(pace=(PaceSetup(oid, parameter_id),))
    sm = run_pace(card, oid, parameter_id, 0x02, b"123456", seeded_rng(parameter_id * 10 + cipher))
    assert sm.suite.block_size == (8 if cipher == 1 else 16)
    # The PACE context is the Master File: EF.CardAccess by SFI, then the application.
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9C, 0x00, le=0x16)))[1] == 0x9000
    assert sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001")))) == (b"", 0x9000)
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=0x16))) == (EF_COM, 0x9000)


def test_pace_with_the_mrz_password() -> None:
    card = make_card()
    mrz_key = hashlib.sha1(card.image.mrz_information.encode()).digest()
    sm = run_pace(card, f"{PACE}.2.2", 13, 0x01, mrz_key, seeded_rng(1))
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9C, 0x00, le=0x16)))[1] == 0x9000


@pytest.mark.parametrize("reference", [0x01, 0x02])
def test_wrong_password_is_6300(reference: int) -> None:
    card = make_card()
    password = b"654321" if reference == 0x02 else hashlib.sha1(b"X" * 24).digest()
    with pytest.raises(PaceRefusedError) as refused:
        run_pace(card, f"{PACE}.2.2", 13, reference, password, seeded_rng(2))
    assert refused.value.sw == 0x6300
    assert not card.secure_messaging_active
    # A correct attempt afterwards works (the card keeps no failure state).
    pace_can(card)
    assert card.secure_messaging_active


def mse_pace(card: SimulatedCard, oid: str, reference: int, parameter_id: int | None) -> int:
    data = tlv.encode(0x80, tlv.encode_oid(oid)) + tlv.encode(0x83, bytes([reference]))
    if parameter_id is not None:
        data += tlv.encode(0x84, bytes([parameter_id]))
    return sw_of(card.process(bytes([0, 0x22, 0xC1, 0xA4, len(data)]) + data))


@pytest.mark.parametrize(
    ("changes", "oid", "reference", "parameter_id", "expected"),
    [
        ({}, f"{PACE}.2.2", 0x02, 13, 0x9000),
        ({}, f"{PACE}.2.2", 0x02, None, 0x9000),  # unambiguous: DO'84' may be left out
        ({"behaviour_pace_requires_parameter_id": True}, f"{PACE}.2.2", 0x02, None, 0x6A87),
        ({"pace": (PaceSetup(f"{PACE}.2.2", 13), PaceSetup(f"{PACE}.2.2", 12))}, f"{PACE}.2.2", 0x02, None, 0x6A87),
        ({"pace": (PaceSetup(f"{PACE}.2.2", 13), PaceSetup(f"{PACE}.2.2", 12))}, f"{PACE}.2.2", 0x02, 12, 0x9000),
        ({}, f"{PACE}.4.2", 0x02, 13, 0x6A80),  # protocol not offered
        ({}, f"{PACE}.2.2", 0x02, 12, 0x6A80),  # parameters not offered
        ({}, f"{PACE}.2.2", 0x03, 13, 0x6A88),  # PIN: no such password
        ({"can": ""}, f"{PACE}.2.2", 0x02, 13, 0x6A88),
        # the CCCD of docs/reference/card.md "Access control"
        ({"behaviour_refuse_pace_mrz": True}, f"{PACE}.2.2", 0x01, 13, 0x6982),
        ({"behaviour_refuse_pace_mrz": True}, f"{PACE}.2.2", 0x02, 13, 0x9000),
        ({"pace": (PaceSetup(f"{PACE}.4.2", 10),)}, f"{PACE}.4.2", 0x02, 10, 0x6A80),  # no IM on P-224
        ({"pace": (PaceSetup(f"{PACE}.6.2", 13),)}, f"{PACE}.6.2", 0x02, 13, 0x6A80),  # CAM not implemented
        ({"pace": ()}, f"{PACE}.2.2", 0x02, 13, 0x6A80),  # BAC-only card
    ],
)
def test_mse_set_at_for_pace(changes: dict[str, object], oid: str, reference: int, parameter_id: int | None,
                             expected: int) -> None:
    assert mse_pace(make_card(**changes), oid, reference, parameter_id) == expected


def test_malformed_mse_set_at() -> None:
    card = make_card()
    assert sw_of(card.process(H("0022C1A403830102"))) == 0x6A80  # no DO'80'
    assert sw_of(card.process(H("0022C1A403800102"))) == 0x6A80  # no DO'83'
    assert sw_of(card.process(H("0022C1A40380FF02"))) == 0x6A80  # truncated TLV
    assert sw_of(card.process(H("0022C1A40F800A04007F000702020402028302FFFF"))) == 0x6A80  # 2-byte reference


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00860000027C0000", 0x6884),  # step 1 not chained
        ("10860000027C0100", 0x6A80),  # malformed DO'7C'
        ("10860000047C02800000", 0x6A80),  # step 1 with a data object
        ("10860100027C0000", 0x6A86),  # P1 not 00
    ],
)
def test_general_authenticate_refusals(apdu: str, expected: int) -> None:
    card = make_card()
    assert mse_pace(card, f"{PACE}.2.2", 0x02, 13) == 0x9000
    assert sw_of(card.process(H(apdu))) == expected


def test_invalid_mapping_point_aborts_pace() -> None:
    card = make_card()
    mse_pace(card, f"{PACE}.2.2", 0x02, 13)
    assert sw_of(card.process(H("10860000027C0000"))) == 0x9000
    not_on_curve = b"\x04" + bytes(31) + b"\x01" + bytes(31) + b"\x01"
    body = tlv.encode(0x7C, tlv.encode(0x81, not_on_curve))
    assert sw_of(card.process(bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00")) == 0x6A80
    assert sw_of(card.process(bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00")) == 0x6985


def test_last_step_must_end_the_chain() -> None:
    card = make_card()
    with pytest.raises(PaceRefusedError) as refused:
        # Steps 1-3 (the card does not check the points' secrets until the token), then a chained step 4.
        rng = seeded_rng(8)
        oid = f"{PACE}.2.2"
        mse_pace(card, oid, 0x02, 13)
        card.process(H("10860000027C0000"))
        curve = ec.BRAINPOOL_P256R1
        point = ec.encode_point(curve, ec.scalar_mult(curve, 7 + rng(1)[0], curve.generator))
        body = tlv.encode(0x7C, tlv.encode(0x81, point))
        assert sw_of(card.process(bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00")) == 0x9000
        body = tlv.encode(0x7C, tlv.encode(0x83, point))
        assert sw_of(card.process(bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00")) == 0x9000
        answer = card.process(H("108600000C7C0A8508000000000000000000"))
        raise PaceRefusedError("token", sw_of(answer))
    assert refused.value.sw == 0x6883
    assert sw_of(card.process(H("008600000C7C0A8508000000000000000000"))) == 0x6985  # PACE was abandoned


def test_out_of_order_step_is_refused() -> None:
    card = make_card(pace=(PaceSetup(f"{PACE}.4.2", 13),))
    mse_pace(card, f"{PACE}.4.2", 0x02, 13)
    card.process(H("10860000027C0000"))
    assert card.process(H("10860000147C1281100102030405060708090A0B0C0D0E0F1000")) == H("7C009000")
    assert sw_of(card.process(H("10860000147C1281100102030405060708090A0B0C0D0E0F1000"))) == 0x6A80


def test_terminal_echoing_the_chip_key_is_refused() -> None:
    s, t, chip_key = bytes(range(1, 17)), bytes(range(17, 33)), 0x1234567
    rng = ScriptedRng(s.hex(), chip_key.to_bytes(32, "big").hex())
    card = SimulatedCard(make_card(pace=(PaceSetup(f"{PACE}.4.2", 13),)).image, rng=rng)
    mse_pace(card, f"{PACE}.4.2", 0x02, 13)
    card.process(H("10860000027C0000"))
    assert card.process(H("10860000147C128110") + t + b"\x00") == H("7C009000")
    curve = ec.BRAINPOOL_P256R1
    mapped = point_encoding(curve, pseudo_random(AES_128, s, t, curve.p))
    echo = ec.encode_point(curve, ec.scalar_mult(curve, chip_key, mapped))
    body = tlv.encode(0x7C, tlv.encode(0x83, echo))
    assert sw_of(card.process(bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00")) == 0x6A80


def test_oid_codec() -> None:
    for oid in (f"{PACE}.2.2", "2.23.136.1.1.5", "1.2.840.10045.4.3.2", "2.999.1"):
        assert tlv.decode_oid(tlv.encode_oid(oid)) == oid
    with pytest.raises(ValueError):
        tlv.decode_oid(H("0481"))
    with pytest.raises(ValueError):
        tlv.encode_oid("1")


# --- Chip Authentication ----------------------------------------------------------------------------


def run_ca(card: SimulatedCard, sm: MiniSm, key: ChipAuthKey, rng: Callable[[int], bytes], *, use_kat: bool,
           key_id: int | None = None, terminal_public: bytes | None = None) -> MiniSm | int:
    """Chip Authentication from the terminal's side; the new SM, or the SW of the refusal."""
    agreement, suite = parse_protocol(key.protocol_oid)
    if agreement == "ECDH":
        curve = ec.CURVES_BY_PARAMETER_ID[key.parameter_id]
        chip_public = ec.scalar_mult(curve, key.private_value, curve.generator)
        secret_key = int.from_bytes(rng(40), "big") % (curve.n - 1) + 1
        mine = ec.encode_point(curve, ec.scalar_mult(curve, secret_key, curve.generator))
        shared = ec.scalar_mult(curve, secret_key, chip_public)
        assert shared is not None
        secret = shared[0].to_bytes(curve.byte_length, "big")
    else:
        group = dh.GROUPS_BY_PARAMETER_ID[key.parameter_id]
        chip_value = pow(group.g, key.private_value, group.p)
        secret_key = int.from_bytes(rng(28), "big")
        mine = pow(group.g, secret_key, group.p).to_bytes(group.byte_length, "big")  # padded: also accepted
        secret = pow(chip_value, secret_key, group.p).to_bytes(group.byte_length, "big")
    mine = terminal_public if terminal_public is not None else mine
    reference = tlv.encode(0x84, bytes([key_id])) if key_id is not None else b""
    if use_kat:
        data, sw = sm.unwrap(card.process(sm.wrap(0x22, 0x41, 0xA6, tlv.encode(0x91, mine) + reference)))
        if sw != 0x9000:
            return sw
    else:
        data, sw = sm.unwrap(card.process(sm.wrap(0x22, 0x41, 0xA4, tlv.encode(0x80, tlv.encode_oid(key.protocol_oid))
                                                  + reference)))
        if sw != 0x9000:
            return sw
        data, sw = sm.unwrap(card.process(sm.wrap(0x86, 0, 0, tlv.encode(0x7C, tlv.encode(0x80, mine)), le=256,
                                                  extended=len(mine) > 200)))
        if sw != 0x9000:
            return sw
        assert data == H("7C00")
    return MiniSm(suite, suite.derive(secret, KDF_ENC), suite.derive(secret, KDF_MAC), 0)


CA_KEYS = [
    ChipAuthKey("0.4.0.127.0.7.2.2.3.2.2", 13, 0x1234567890ABCDEF1234567890ABCDEF),
    ChipAuthKey("0.4.0.127.0.7.2.2.3.2.4", 15, 0xABCDEF0123456789ABCDEF0123456789),
    ChipAuthKey("0.4.0.127.0.7.2.2.3.1.2", 0, 0x1234567890ABCDEF1234567890ABCDEF12345678),
    ChipAuthKey("0.4.0.127.0.7.2.2.3.2.1", 13, 0x55AA55AA55AA55AA55AA, key_id=3),
    ChipAuthKey("0.4.0.127.0.7.2.2.3.1.1", 0, 0x0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C),  # DH 3DES: Set KAT
    ChipAuthKey("0.4.0.127.0.7.2.2.3.1.2", 1, 0x7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D),
]


@pytest.mark.parametrize("key", CA_KEYS, ids=[key.protocol_oid + f"-param{key.parameter_id}" for key in CA_KEYS])
@pytest.mark.parametrize("establish", [bac, pace_can], ids=["after BAC", "after PACE"])
def test_chip_authentication_restarts_secure_messaging(key: ChipAuthKey, establish: object) -> None:
    card = make_card(chip_auth=key)
    sm = establish(card)  # type: ignore[operator]
    sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001"))))
    use_kat = key.protocol_oid.endswith(".1")
    new_sm = run_ca(card, sm, key, seeded_rng(4), use_kat=use_kat, key_id=key.key_id)
    assert isinstance(new_sm, MiniSm)
    session = card.session
    assert session is not None and session.ssc == 0
    assert new_sm.unwrap(card.process(new_sm.wrap(0xB0, 0x9E, 0x00, le=0x16))) == (EF_COM, 0x9000)
    # The old keys no longer work.
    assert card.process(sm.wrap(0xB0, 0x9E, 0x00, le=0x16)) == H("6988")


def test_3des_chip_authentication_also_through_mse_set_at() -> None:
    key = CA_KEYS[3]
    card = make_card(chip_auth=key)
    sm = bac(card)
    new_sm = run_ca(card, sm, key, seeded_rng(5), use_kat=False, key_id=3)
    assert isinstance(new_sm, MiniSm)
    assert new_sm.unwrap(card.process(new_sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)


@pytest.mark.parametrize(
    ("key", "options", "expected"),
    [
        (CA_KEYS[0], {"use_kat": True}, 0x6A80),  # Set KAT is for 3DES only
        (CA_KEYS[3], {"use_kat": True, "key_id": 4}, 0x6A88),
        (CA_KEYS[0], {"use_kat": False, "terminal_public": b"\x04" + bytes(64)}, 0x6A80),
        (CA_KEYS[2], {"use_kat": False, "terminal_public": b"\x01"}, 0x6A80),
    ],
)
def test_chip_authentication_refusals_keep_the_old_session(key: ChipAuthKey, options: dict[str, object],
                                                           expected: int) -> None:
    card = make_card(chip_auth=key)
    sm = bac(card)
    assert run_ca(card, sm, key, seeded_rng(6), **options) == expected  # type: ignore[arg-type]
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)


def test_chip_authentication_protocol_must_match() -> None:
    card = make_card()
    sm = bac(card)
    data = tlv.encode(0x80, tlv.encode_oid("0.4.0.127.0.7.2.2.3.2.4"))
    assert sm.unwrap(card.process(sm.wrap(0x22, 0x41, 0xA4, data))) == (b"", 0x6A80)
    ga = tlv.encode(0x7C, tlv.encode(0x80, b"\x04" + bytes(64)))
    assert sm.unwrap(card.process(sm.wrap(0x86, 0, 0, ga, le=256))) == (b"", 0x6985)  # nothing selected


def test_card_without_chip_authentication() -> None:
    card = make_card(chip_auth=None)
    sm = bac(card)
    assert sm.unwrap(card.process(sm.wrap(0x22, 0x41, 0xA6, tlv.encode(0x91, b"\x04")))) == (b"", 0x6A88)


# --- Active Authentication ---------------------------------------------------------------------------


def der(key: rsa.RSAPrivateKey | crypto_ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verify_9796_2(public: rsa.RSAPublicKey, signature: bytes, challenge: bytes) -> str:
    """Terminal-side verification of §6.1.2.2; returns the hash named by the trailer."""
    numbers = public.public_numbers()
    size = public.key_size // 8
    f = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(size, "big")
    assert f[0] == 0x6A
    if f[-1] == 0xBC:
        name, trailer = "sha1", 1
    else:
        assert f[-2:] == H("34CC")
        name, trailer = "sha256", 2
    digest_size = hashlib.new(name).digest_size
    m1 = f[1 : size - trailer - digest_size]
    assert f[size - trailer - digest_size : size - trailer] == hashlib.new(name, m1 + challenge).digest()
    return name


@pytest.mark.parametrize("hash_name", [None, "SHA-256"])
def test_active_authentication_rsa(rsa_1024: rsa.RSAPrivateKey, hash_name: str | None) -> None:
    card = make_card(active_auth_private_key_der=der(rsa_1024), active_auth_hash=hash_name)
    sm = bac(card)
    challenge = H("0102030405060708")
    signature, sw = sm.unwrap(card.process(sm.wrap(0x88, 0, 0, challenge, le=256)))
    assert sw == 0x9000 and len(signature) == 128
    assert verify_9796_2(rsa_1024.public_key(), signature, challenge) == ("sha1" if hash_name is None else "sha256")


def test_active_authentication_rsa_2048_needs_extended_length(rsa_2048: rsa.RSAPrivateKey) -> None:
    card = make_card(active_auth_private_key_der=der(rsa_2048))
    sm = pace_can(card)
    challenge = H("1122334455667788")
    assert sm.unwrap(card.process(sm.wrap(0x88, 0, 0, challenge, le=256))) == (b"", 0x6700)
    signature, sw = sm.unwrap(card.process(sm.wrap(0x88, 0, 0, challenge, le=65536, extended=True)))
    assert sw == 0x9000
    assert verify_9796_2(rsa_2048.public_key(), signature, challenge) == "sha1"


AA_INFO_SHA384 = tlv.encode(0x6E, tlv.encode(0x31, tlv.encode(0x30, (
    tlv.encode(0x06, tlv.encode_oid("2.23.136.1.1.5")) + tlv.encode(0x02, b"\x01")
    + tlv.encode(0x06, tlv.encode_oid("1.2.840.10045.4.3.3"))))))


@pytest.mark.parametrize(
    ("curve", "dg14", "expected_hash"),
    [
        (crypto_ec.SECP256R1(), None, hashes.SHA256()),
        (crypto_ec.BrainpoolP384R1(), None, hashes.SHA384()),
        (crypto_ec.SECP256R1(), AA_INFO_SHA384, hashes.SHA384()),  # DG14's ActiveAuthenticationInfo wins
    ],
)
def test_active_authentication_ecdsa(curve: crypto_ec.EllipticCurve, dg14: bytes | None,
                                     expected_hash: hashes.HashAlgorithm) -> None:
    key = crypto_ec.generate_private_key(curve)
    card = make_card(active_auth_private_key_der=der(key))
    if dg14 is not None:
        card = SimulatedCard(
            type(card.image)(**{**card.image.__dict__, "files": {**card.image.files, 0x010E: dg14}}),
            rng=seeded_rng(1),
        )
    sm = bac(card)
    challenge = H("A1A2A3A4A5A6A7A8")
    signature, sw = sm.unwrap(card.process(sm.wrap(0x88, 0, 0, challenge, le=256)))
    assert sw == 0x9000
    half = (curve.key_size + 7) // 8
    assert len(signature) == 2 * half
    r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    key.public_key().verify(encode_dss_signature(r, s), challenge, crypto_ec.ECDSA(expected_hash))


@pytest.mark.parametrize(
    ("apdu_data", "le", "authenticated", "expected"),
    [
        ("01020304050607", 256, True, 0x6700),  # 7-byte challenge
        ("0102030405060708", 256, False, 0x6982),
        ("0102030405060708", 64, True, 0x6700),  # Le shorter than the signature
    ],
)
def test_active_authentication_refusals(rsa_1024: rsa.RSAPrivateKey, apdu_data: str, le: int,
                                        authenticated: bool, expected: int) -> None:
    card = make_card(active_auth_private_key_der=der(rsa_1024))
    if authenticated:
        sm = bac(card)
        assert sm.unwrap(card.process(sm.wrap(0x88, 0, 0, H(apdu_data), le=le)))[1] == expected
    else:
        raw = bytes([0, 0x88, 0, 0, len(H(apdu_data))]) + H(apdu_data) + bytes([le & 0xFF])
        assert sw_of(card.process(raw)) == expected


def test_active_authentication_6cxx_when_asked(rsa_1024: rsa.RSAPrivateKey) -> None:
    card = make_card(active_auth_private_key_der=der(rsa_1024), behaviour_answer_6cxx_on_wrong_le=True)
    sm = bac(card)
    assert sm.unwrap(card.process(sm.wrap(0x88, 0, 0, H("0102030405060708"), le=64)))[1] == 0x6C80


def test_active_authentication_rejects_unusable_keys() -> None:
    from simulators.card.active_auth import ActiveAuthCard

    with pytest.raises(ValueError):
        ActiveAuthCard(der(crypto_ec.generate_private_key(crypto_ec.SECP256R1())), hash_name="MD5")
    with pytest.raises(ValueError):
        ActiveAuthCard(b"not a key")


def test_suites_used_by_the_tests_are_distinct() -> None:
    assert TDES.block_size == 8 and AES_128.block_size == 16


def test_private_keys_on_p521_are_drawn_without_endless_rejection() -> None:
    from simulators.card.pace import EcGroup

    group = EcGroup(ec.P_521)
    rng = seeded_rng(21)
    keys = {group.random_private(rng) for _ in range(200)}
    assert len(keys) == 200 and all(0 < key < ec.P_521.n for key in keys)
