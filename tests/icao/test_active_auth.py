"""Active Authentication (Doc 9303-11 §6.1): RSA ISO 9796-2 scheme 1 and ECDSA (plain and DER),
with keys generated here and a signer written in the test from the standard."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from agent.errors import DocumentError
from agent.icao import ec as icao_ec
from agent.icao.active_auth import (
    challenge_for_transaction,
    perform_active_authentication,
    verify_active_authentication,
)
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.models import Status
from tests.icao import ecdsa_signer

CHALLENGE = bytes.fromhex("0123456789ABCDEF")
TRAILERS = {"sha1": b"\xbc", "sha256": b"\x34\xcc", "sha512": b"\x35\xcc"}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def iso9796_sign(key: rsa.RSAPrivateKey, challenge: bytes, hash_name: str = "sha1") -> bytes:
    """ISO/IEC 9796-2 scheme 1, partial recovery, as a chip computes it: 6A ‖ M1 ‖ H(M1‖M2) ‖ trailer."""
    trailer = TRAILERS[hash_name]
    size = key.key_size // 8
    digest_size = hashlib.new(hash_name).digest_size
    m1 = bytes(range(size - digest_size - len(trailer) - 1))
    representative = b"\x6a" + m1 + hashlib.new(hash_name, m1 + challenge).digest() + trailer
    numbers = key.private_numbers()
    value = pow(int.from_bytes(representative, "big"), numbers.d, numbers.public_numbers.n)
    return value.to_bytes(size, "big")


@pytest.mark.parametrize("hash_name", ["sha1", "sha256", "sha512"])
def test_rsa_iso9796_signature_verifies(rsa_key: rsa.RSAPrivateKey, hash_name: str) -> None:
    outcome = verify_active_authentication(spki(rsa_key), CHALLENGE, iso9796_sign(rsa_key, CHALLENGE, hash_name))
    assert outcome.status is Status.OK, outcome.reason


def test_rsa_signature_over_another_challenge_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    signature = iso9796_sign(rsa_key, CHALLENGE)
    outcome = verify_active_authentication(spki(rsa_key), bytes(8), signature)
    assert outcome.status is Status.FAILED


def test_rsa_signature_from_another_key_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    clone_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    outcome = verify_active_authentication(spki(rsa_key), CHALLENGE, iso9796_sign(clone_key, CHALLENGE))
    assert outcome.status is Status.FAILED


@pytest.mark.parametrize("signature", [b"", b"\x00", b"\xff" * 128, b"\xff" * 300])
def test_rsa_garbage_signature_fails_cleanly(rsa_key: rsa.RSAPrivateKey, signature: bytes) -> None:
    assert verify_active_authentication(spki(rsa_key), CHALLENGE, signature).status is Status.FAILED


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.BrainpoolP256R1(), ec.BrainpoolP384R1()])
@pytest.mark.parametrize("form", ["plain", "der"])
def test_ecdsa_signature_verifies(curve: ec.EllipticCurve, form: str) -> None:
    key = ec.generate_private_key(curve)
    algorithm = hashes.SHA384() if curve.key_size >= 384 else hashes.SHA256()
    der = key.sign(CHALLENGE, ec.ECDSA(algorithm))
    if form == "plain":
        r, s = decode_dss_signature(der)
        size = (curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        signature = der
    assert verify_active_authentication(spki(key), CHALLENGE, signature).status is Status.OK
    other = ec.generate_private_key(curve)
    assert verify_active_authentication(spki(other), CHALLENGE, signature).status is Status.FAILED


def test_ecdsa_with_named_algorithm() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signature = key.sign(CHALLENGE, ec.ECDSA(hashes.SHA256()))
    ecdsa_plain_sha256 = "0.4.0.127.0.7.1.1.4.1.3"
    ok = verify_active_authentication(spki(key), CHALLENGE, signature, signature_algorithm_oid=ecdsa_plain_sha256)
    assert ok.status is Status.OK
    sha512 = "0.4.0.127.0.7.1.1.4.1.5"
    assert (
        verify_active_authentication(spki(key), CHALLENGE, signature, signature_algorithm_oid=sha512).status
        is Status.FAILED
    )
    unknown = verify_active_authentication(spki(key), CHALLENGE, signature, signature_algorithm_oid="1.2.3")
    assert unknown.status is Status.UNKNOWN


def test_unreadable_public_key_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="DG15"):
        verify_active_authentication(b"\x30\x03\x02\x01\x00", CHALLENGE, b"\x00" * 8)


def _ec_spki(parameters: asn1_keys.ECDomainParameters, point: bytes) -> bytes:
    algorithm = {"algorithm": "ec", "parameters": parameters}
    return asn1_keys.PublicKeyInfo({"algorithm": algorithm, "public_key": point}).dump()


def test_a_dg15_key_on_explicit_parameters_is_used_as_its_named_curve() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1())
    table = icao_ec.BRAINPOOL_P256R1
    size = table.byte_length
    domain = asn1_keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": table.p},
            "curve": {"a": table.a.to_bytes(size, "big"), "b": table.b.to_bytes(size, "big")},
            "base": icao_ec.encode_point(table, table.generator),
            "order": table.n,
            "cofactor": 1,
        }
    )
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    explicit = _ec_spki(asn1_keys.ECDomainParameters(name="specified", value=domain), point)
    signature = key.sign(CHALLENGE, ec.ECDSA(hashes.SHA256()))
    assert verify_active_authentication(explicit, CHALLENGE, signature).status is Status.OK


@pytest.mark.parametrize("name", ["brainpoolP192r1", "brainpoolP224r1", "brainpoolP320r1"])
def test_a_dg15_key_on_a_curve_cryptography_lacks_is_verified_with_our_arithmetic(name: str) -> None:
    table = icao_ec.CURVES_BY_NAME[name]  # in Doc 9303's table, not in `cryptography`
    private = 0x1234567 + table.n.bit_length()
    point = icao_ec.encode_point(table, icao_ec.public_point(table, private))
    spki_der = _ec_spki(asn1_keys.ECDomainParameters(name="named", value=table.oid), point)
    signature = ecdsa_signer.plain(table, ecdsa_signer.sign(table, private, CHALLENGE, "sha256"))
    assert verify_active_authentication(spki_der, CHALLENGE, signature).status is Status.OK
    other = ecdsa_signer.plain(table, ecdsa_signer.sign(table, private + 1, CHALLENGE, "sha256"))
    assert verify_active_authentication(spki_der, CHALLENGE, other).status is Status.FAILED
    assert verify_active_authentication(spki_der, CHALLENGE, bytes(len(signature))).status is Status.FAILED


def test_a_dg15_key_on_a_curve_outside_the_table_is_unknown_with_the_curve_named() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    outcome = verify_active_authentication(spki(key), CHALLENGE, bytes(64))
    assert outcome.status is Status.UNKNOWN and "1.3.132.0.10" in outcome.reason


def test_internal_authenticate_over_send(rsa_key: rsa.RSAPrivateKey) -> None:
    sent: list[CommandApdu] = []

    def card(command: CommandApdu) -> ResponseApdu:
        sent.append(command)
        return ResponseApdu(iso9796_sign(rsa_key, command.data), 0x9000)

    challenge = challenge_for_transaction("result-42")
    result = perform_active_authentication(card, spki(rsa_key), challenge)
    assert result.outcome.status is Status.OK
    assert sent[0].encode()[:5] == bytes.fromhex("0088000008")
    assert sent[0].data == challenge
    assert result.signature and result.challenge == challenge


def test_refused_internal_authenticate_is_failed(rsa_key: rsa.RSAPrivateKey) -> None:
    result = perform_active_authentication(lambda c: ResponseApdu(b"", 0x6D00), spki(rsa_key), CHALLENGE)
    assert result.outcome.status is Status.FAILED
    assert "6D00" in result.outcome.reason


def test_challenge_is_bound_to_the_transaction() -> None:
    first = challenge_for_transaction("a")
    assert len(first) == 8
    assert first == challenge_for_transaction("a")
    assert first != challenge_for_transaction("b")


def test_the_whole_active_authentication_path_on_a_card_whose_dg15_has_explicit_parameters() -> None:
    """Issue 12 item 3: the simulated card signs INTERNAL AUTHENTICATE with its key; its DG15 gives the
    curve as explicit parameters; the host loads that key through pki.load_public_key and verifies."""
    from tests.chip_support import read_profile

    reading = read_profile("ec-aa-explicit").reading
    dg15 = reading.document.dg15
    assert dg15 is not None
    assert dg15.public_key.explicit_parameters and dg15.public_key.curve == "brainpoolP256r1"
    assert reading.active_auth is not None
    assert reading.active_auth.outcome.status is Status.OK, reading.active_auth.outcome.reason
    assert "ECDSA brainpoolP256r1" in reading.active_auth.outcome.reason
    # the evidence re-verifies offline from the receipt's own values, as verify-receipt does
    again = verify_active_authentication(dg15.public_key_der, reading.active_auth.challenge,
                                         reading.active_auth.signature)  # fmt: skip
    assert again.status is Status.OK
