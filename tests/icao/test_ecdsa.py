"""ECDSA with the project's own arithmetic (agent.icao.ec.ecdsa_verify, used through
agent.icao.pki.verify_signature for curves ``cryptography`` lacks): checked against ``cryptography`` on
every curve both have, against Wycheproof's published vectors for brainpoolP224r1 and P320r1, and
through a whole passive authentication on brainpoolP192r1 / P224r1 / P320r1 and on explicit parameters
that name no curve."""

from __future__ import annotations

import hashlib
import random

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec as cec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from agent.icao import ec, pki
from agent.icao.passive_auth import passive_authentication
from agent.icao.trust import TrustStore
from agent.models import Status
from tests.icao import ecdsa_signer
from tests.icao import pki_fixtures as f
from tests.icao.test_passive_auth import DATA_GROUPS

LIBRARY_CURVES: dict[str, cec.EllipticCurve] = {
    "P-192": cec.SECP192R1(),
    "P-224": cec.SECP224R1(),
    "P-256": cec.SECP256R1(),
    "P-384": cec.SECP384R1(),
    "P-521": cec.SECP521R1(),
    "brainpoolP256r1": cec.BrainpoolP256R1(),
    "brainpoolP384r1": cec.BrainpoolP384R1(),
    "brainpoolP512r1": cec.BrainpoolP512R1(),
}
HASH_FOR_BITS = {192: hashes.SHA256(), 224: hashes.SHA224(), 256: hashes.SHA256(), 384: hashes.SHA384(),
                 521: hashes.SHA512(), 512: hashes.SHA512()}  # fmt: skip


def point_of(key: cec.EllipticCurvePublicKey) -> ec.Point:
    numbers = key.public_numbers()
    return numbers.x, numbers.y


def digest(hash_algorithm: hashes.HashAlgorithm, message: bytes) -> bytes:
    hasher = hashes.Hash(hash_algorithm)
    hasher.update(message)
    return hasher.finalize()


# --- our verifier and cryptography agree where both exist ----------------------------------------


@pytest.mark.parametrize("name", sorted(LIBRARY_CURVES))
def test_own_verification_agrees_with_cryptography(name: str) -> None:
    curve = ec.CURVES_BY_NAME[name]
    library_curve = LIBRARY_CURVES[name]
    hash_algorithm = HASH_FOR_BITS[curve.n.bit_length()]
    generator = random.Random(name)
    for round_ in range(4):
        key = cec.generate_private_key(library_curve)
        message = generator.randbytes(40)
        r, s = decode_dss_signature(key.sign(message, cec.ECDSA(hash_algorithm)))
        point = point_of(key.public_key())
        hashed = digest(hash_algorithm, message)
        assert ec.ecdsa_verify(curve, point, hashed, r, s)
        # a change anywhere must be refused, as cryptography refuses it
        for bad_r, bad_s, bad_digest in ((r ^ 1 << round_, s, hashed), (r, (s + 1) % curve.n, hashed),
                                         (r, s, digest(hash_algorithm, message + b"!"))):  # fmt: skip
            ours = ec.ecdsa_verify(curve, point, bad_digest, bad_r, bad_s)
            try:
                key.public_key().verify(encode_dss_signature(bad_r, bad_s), bad_digest,
                                        cec.ECDSA(_prehashed(hash_algorithm)))  # fmt: skip
                theirs = True
            except Exception:
                theirs = False
            assert ours is theirs is False


@pytest.mark.parametrize("name", ["P-256", "brainpoolP256r1", "P-384"])
def test_the_test_signer_is_accepted_by_cryptography(name: str) -> None:
    """What makes the signer of these tests trustworthy on the curves cryptography cannot check."""
    curve = ec.CURVES_BY_NAME[name]
    private = random.Random(name).randrange(1, curve.n)
    r, s = ecdsa_signer.sign(curve, private, b"message", "sha256")
    key = cec.derive_private_key(private, LIBRARY_CURVES[name]).public_key()
    key.verify(encode_dss_signature(r, s), b"message", cec.ECDSA(hashes.SHA256()))  # raises when wrong


def _prehashed(algorithm: hashes.HashAlgorithm) -> object:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    return Prehashed(algorithm)


def test_out_of_range_values_and_points_off_the_curve_are_refused() -> None:
    curve = ec.BRAINPOOL_P224R1
    private = 12345
    point = ecdsa_signer.public_key(curve, private)
    hashed = hashlib.sha224(b"x").digest()
    r, s = ecdsa_signer.sign_digest(curve, private, hashed)
    assert ec.ecdsa_verify(curve, point, hashed, r, s)
    assert not ec.ecdsa_verify(curve, point, hashed, r + curve.n, s)
    assert not ec.ecdsa_verify(curve, point, hashed, 0, s)
    assert not ec.ecdsa_verify(curve, point, hashed, r, 0)
    assert not ec.ecdsa_verify(curve, (point[0], (point[1] + 1) % curve.p), hashed, r, s)


# --- Wycheproof (C2SP/wycheproof testvectors_v1, IEEE P1363 signatures over "123400") -------------

WYCHEPROOF_MESSAGE = bytes.fromhex("313233343030")
WYCHEPROOF = [
    # (curve, hash, SubjectPublicKeyInfo, signature r || s, valid, tcId)
    ("brainpoolP224r1", "sha224",
     "3052301406072a8648ce3d020106092b2403030208010105033a0004572eab7376d052dfc40923db25342ea9cbfce4b8581e104a"
     "4c8f37c94a700ec5dc05a481b2b695320c6f1ad2dd8628633cdb75a91245c265",
     "cb68ac9765c7641785df237e9951e1429581879af2631460048961d3139c78243a6e36e124d5f5e14b4cb8754abdf20ff1a501d5"
     "666a428f", True, 1),
    ("brainpoolP224r1", "sha224",
     "3052301406072a8648ce3d020106092b2403030208010105033a0004572eab7376d052dfc40923db25342ea9cbfce4b8581e104a"
     "4c8f37c94a700ec5dc05a481b2b695320c6f1ad2dd8628633cdb75a91245c265",
     "0c588812c07c026ea4390ca6dc7f1a563b9534b07b7ba843a11e31ccc424bc85ebd52fa505423a442a8443238658ca3b7c39bace"
     "3f3d5110", False, 4),
    ("brainpoolP224r1", "sha224",
     "3052301406072a8648ce3d020106092b2403030208010105033a0004c67b6429785334a608dde949a8abe641dbd3601ebce1e675"
     "fe71a8e527d2e8727dc4f618493550bb940151bca6826f714c5b31854038f44d",
     "47eb118e0cc1222cb8b2bab72745a932f05ce96e79f4e98be1e2868a47eb118e0cc1222cb8b2bab72745a932f05ce96e79f4e98b"
     "e1e2868a", True, 140),
    ("brainpoolP224r1", "sha224",
     "3052301406072a8648ce3d020106092b2403030208010105033a0004bdf708a01c6a814728d394b7f29bf6579734862d8af8e6ff"
     "786fbe49901cd462946e5e36cc97c9896df2e18177456d282a7a26a38084c086",
     "7ffffffffffffffffffffffffffffffffffffffffffffffffffffffab6ea09c6ec5e0484b94f25d890145b0ae3ffbb98b716add"
     "d92debdce", True, 142),
    ("brainpoolP320r1", "sha384",
     "306a301406072a8648ce3d020106092b2403030208010109035200040fcc8860cb26e262ca8b4ecb9c52f78d82a10a1d30dd0c8e"
     "cd7584ce80dbb75c488a062b643755001f27e676c26cd3488c1ef4ec3edd88cf8af78daf9036724b57e66da02cf7c676a53664be"
     "cdfedc3b",
     "85b1bc586bf5407f9c8ec3765fe02bd19380998c45892ccd5081a1bd8872a26cdaf403e6dbf34a6e833d6661b0576d61a80ffe4d"
     "3271c43b2a56c14b3bd90305923ccdcf7b3d988c07ebb1c4cc67381c", True, 1),
    ("brainpoolP320r1", "sha384",
     "306a301406072a8648ce3d020106092b2403030208010109035200040fcc8860cb26e262ca8b4ecb9c52f78d82a10a1d30dd0c8e"
     "cd7584ce80dbb75c488a062b643755001f27e676c26cd3488c1ef4ec3edd88cf8af78daf9036724b57e66da02cf7c676a53664be"
     "cdfedc3b",
     "4dac8ac7cac70f3844adb4e87221b494660f36197105e5d5dcc68d0a6613b67cab9d517468d248a35020e0be8664e256392c7a11"
     "9f901c2acf390e5a7ab60f9d9b0b60f87348c05d7ea5a396785e5af5", False, 4),
]


@pytest.mark.parametrize(("curve", "hash_name", "spki", "signature", "valid", "tc_id"), WYCHEPROOF,
                         ids=[f"{row[0]}-tc{row[5]}" for row in WYCHEPROOF])  # fmt: skip
def test_wycheproof_vectors(curve: str, hash_name: str, spki: str, signature: str, valid: bool, tc_id: int) -> None:
    key = pki.load_public_key(bytes.fromhex(spki), file="wycheproof")
    assert key.key is None and key.usable and key.curve == curve  # verified by our arithmetic, not the library
    scheme = pki.signature_scheme(f.ECDSA_PLAIN_OIDS[hash_name], None, digest_oid=None, file="wycheproof")
    outcome = pki.verify_signature(key, scheme, bytes.fromhex(signature), WYCHEPROOF_MESSAGE)
    assert outcome.status is (Status.OK if valid else Status.FAILED), (tc_id, outcome.reason)


# --- whole passive authentications on the curves cryptography lacks ------------------------------

OWN_CURVES = ["brainpoolP192r1", "brainpoolP224r1", "brainpoolP320r1"]


def explicit_curve_of_no_name() -> ec.Curve:
    """brainpoolP256r1's field and group with another generator (5G): explicit parameters that map to no
    named curve, so that only the generic arithmetic can verify on them."""
    base = ec.BRAINPOOL_P256R1
    gx, gy = ec.scalar_mult(base, 5, base.generator) or (0, 0)
    return ec.Curve("explicit", base.p, base.a, base.b, gx, gy, base.n, base.h)


def document_signed_on(dsc_key: f.ArithmeticEcKey, *, explicit: bool = False, csca_on_curve: bool = False,
                       scheme: str = "ecdsa", hash_name: str = "sha256") -> tuple[bytes, TrustStore]:  # fmt: skip
    """An EF.SOD signed by ``dsc_key`` whose DSC is issued by an RSA CSCA (or, with ``csca_on_curve``, by
    a CSCA on the same curve), and the trust store holding that CSCA."""
    world = f.test_pki("rsa2048", "rsa2048", label="own-arithmetic")
    dsc_spki = dsc_key.spki(explicit=explicit)
    if csca_on_curve:
        csca_key = f.ArithmeticEcKey(dsc_key.curve, dsc_key.private + 1)
        csca_spki = csca_key.spki(explicit=explicit)
        csca = f.resigned(world.csca, csca_key, spki=csca_spki, issuer_spki=csca_spki, hash_name=hash_name)
        dsc = f.resigned(world.dsc, csca_key, spki=dsc_spki, issuer_spki=csca_spki, hash_name=hash_name)
    else:
        csca = world.csca
        csca_spki = pki.parse_certificate(csca, file="t").public_key.der
        dsc = f.resigned(world.dsc, world.csca_key, spki=dsc_spki, issuer_spki=csca_spki)
    sod = f.make_sod(DATA_GROUPS, dsc_key, dsc, scheme=scheme, hash_name=hash_name)
    return sod, TrustStore.of([pki.parse_certificate(csca, file="t")])


@pytest.mark.parametrize("name", OWN_CURVES)
@pytest.mark.parametrize("scheme", ["ecdsa", "ecdsa-plain"])
def test_a_document_signed_on_a_curve_cryptography_lacks_verifies(name: str, scheme: str) -> None:
    key = f.ArithmeticEcKey(ec.CURVES_BY_NAME[name], 0xC0FFEE + len(name))
    sod, store = document_signed_on(key, scheme=scheme)
    result = passive_authentication(sod, DATA_GROUPS, store, at=f.NOW)
    assert result.overall.status is Status.OK, result.reasons
    assert result.sod_signature.is_ok


@pytest.mark.parametrize("name", OWN_CURVES)
def test_a_csca_on_such_a_curve_verifies_its_signer(name: str) -> None:
    key = f.ArithmeticEcKey(ec.CURVES_BY_NAME[name], 0xBEEF)
    sod, store = document_signed_on(key, csca_on_curve=True, explicit=True)
    result = passive_authentication(sod, DATA_GROUPS, store, at=f.NOW)
    assert result.overall.status is Status.OK, result.reasons
    assert result.certificate_chain.is_ok


@pytest.mark.parametrize("name", OWN_CURVES)
def test_a_forged_signature_on_such_a_curve_fails(name: str) -> None:
    key = f.ArithmeticEcKey(ec.CURVES_BY_NAME[name], 0xF00D)
    sod, store = document_signed_on(key)
    forged = f.make_sod(DATA_GROUPS, f.ArithmeticEcKey(key.curve, 0xF00E), pki.parse_certificate(
        _dsc_of(sod), file="t").der)  # fmt: skip
    result = passive_authentication(forged, DATA_GROUPS, store, at=f.NOW)
    assert result.sod_signature.status is Status.FAILED
    assert result.overall.status is Status.FAILED


def _dsc_of(sod: bytes) -> bytes:
    from agent.icao.lds.sod import parse_sod

    return parse_sod(sod).certificates[0].der


def test_explicit_parameters_of_no_named_curve_are_verified() -> None:
    key = f.ArithmeticEcKey(explicit_curve_of_no_name(), 0xABCDEF)
    sod, store = document_signed_on(key)
    result = passive_authentication(sod, DATA_GROUPS, store, at=f.NOW)
    assert result.overall.status is Status.OK, result.reasons
    signer_key = pki.load_public_key(key.spki(), file="t")
    assert signer_key.explicit_parameters and signer_key.curve == "explicit 256-bit prime curve"


def test_a_named_curve_outside_the_table_is_unknown_with_the_curve_named() -> None:
    secp256k1 = cec.generate_private_key(cec.SECP256K1()).public_key()
    der = secp256k1.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = pki.load_public_key(der, file="t")
    assert not key.usable
    scheme = pki.signature_scheme(f.ECDSA_OIDS["sha256"], None, digest_oid=None, file="t")
    outcome = pki.verify_signature(key, scheme, b"\x30\x06\x02\x01\x01\x02\x01\x01", b"data")
    assert outcome.status is Status.UNKNOWN
    assert "1.3.132.0.10" in outcome.reason


def test_a_binary_field_curve_is_unknown_with_the_reason() -> None:
    domain = asn1_keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "characteristic_two_field",
                         "parameters": {"m": 163, "basis": "tp_basis", "parameters": 7}},
            "curve": {"a": b"\x01", "b": b"\x01"},
            "base": b"\x04" + bytes(42),
            "order": 5,
            "cofactor": 2,
        }
    )
    der = asn1_keys.PublicKeyInfo(
        {"algorithm": {"algorithm": "ec", "parameters": asn1_keys.ECDomainParameters(name="specified", value=domain)},
         "public_key": b"\x04" + bytes(42)}
    ).dump()
    key = pki.load_public_key(der, file="t")
    assert not key.usable and "prime-field" in key.unsupported
