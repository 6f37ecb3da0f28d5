"""The simulator's test PKI: reproducible from the seed, chains that verify, the expired / revoked /
unknown-CSCA variants a verifier must tell apart, and a trust directory the agent can load."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from agent.errors import ConfigError
from simulators.card import pki

SEED = b"test-pki"


@pytest.fixture(scope="module")
def test_pki() -> pki.SimulatedPki:
    return pki.get_pki(SEED)


def test_same_seed_gives_identical_certificates_and_crls(test_pki: pki.SimulatedPki) -> None:
    again = pki.SimulatedPki(SEED)  # a fresh instance: only the RSA keys come from the in-memory cache
    for name in test_pki.signer_names:
        assert again.signer(name).certificate_der == test_pki.signer(name).certificate_der
    for name in test_pki.csca_names:
        assert again.crl(name) == test_pki.crl(name)


def test_another_seed_gives_other_keys(test_pki: pki.SimulatedPki) -> None:
    other = pki.SimulatedPki(b"another seed")
    assert (
        other.signer("ecdsa-bp256").certificate.public_key() != test_pki.signer("ecdsa-bp256").certificate.public_key()
    )


def test_rsa_generation_is_deterministic_without_the_cache() -> None:
    first = pki.derive_rsa_key(b"rsa-seed", "label", 1024).private_numbers()
    pki.derive_rsa_key.cache_clear()
    second = pki.derive_rsa_key(b"rsa-seed", "label", 1024).private_numbers()
    assert first == second
    assert first.public_numbers.n.bit_length() == 1024
    assert pki.derive_rsa_key(b"rsa-seed", "other", 1024).private_numbers() != first


@pytest.mark.parametrize("parameter_id", sorted(pki.CURVES_BY_PARAMETER_ID))
def test_ec_private_values_fit_every_supported_curve(parameter_id: int) -> None:
    curve = pki.curve_of_parameter_id(parameter_id)
    for label in ("a", "b", "c"):
        value = pki.derive_ec_private_value(SEED, label, curve)
        assert 1 <= value < 1 << (curve.key_size - 1)
        ec.derive_private_key(value, curve)  # raises if the value is out of range for the curve


@pytest.mark.parametrize("parameter_id", [9, 11, 14, 0, 99])
def test_unsupported_parameter_ids_are_config_errors(parameter_id: int) -> None:
    with pytest.raises(ConfigError):
        pki.curve_of_parameter_id(parameter_id)


@pytest.mark.parametrize(
    ("kind", "key_type", "size"),
    [
        ("rsa-1024", rsa.RSAPrivateKey, 1024),
        ("ec-p256", ec.EllipticCurvePrivateKey, 256),
        ("ec-bp512", ec.EllipticCurvePrivateKey, 512),
    ],
)
def test_derive_key_kinds(kind: str, key_type: type, size: int) -> None:
    key = pki.derive_key(SEED, "kind-test", kind)
    assert isinstance(key, key_type)
    assert key.key_size == size


@pytest.mark.parametrize("kind", ["rsa-512", "ec-p999", "dsa-1024", ""])
def test_unknown_key_kinds_are_config_errors(kind: str) -> None:
    with pytest.raises(ConfigError):
        pki.derive_key(SEED, "x", kind)


def test_unknown_names_are_config_errors(test_pki: pki.SimulatedPki) -> None:
    with pytest.raises(ConfigError):
        test_pki.signer("nobody")
    with pytest.raises(ConfigError):
        test_pki.csca("nobody")


@pytest.mark.parametrize("name", pki.CSCA_SPECS)
def test_cscas_are_self_signed_cas(test_pki: pki.SimulatedPki, name: str) -> None:
    certificate = test_pki.csca(name).certificate
    certificate.verify_directly_issued_by(certificate)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign


def test_the_ec_csca_is_like_vietnams(test_pki: pki.SimulatedPki) -> None:
    key = test_pki.csca("csca-ec").certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.key_size == 512
    assert test_pki.csca("csca-ec").certificate.signature_hash_algorithm is not None
    assert test_pki.csca("csca-ec").certificate.signature_hash_algorithm.name == "sha512"


@pytest.mark.parametrize("name", pki.SIGNER_SPECS)
def test_each_signer_chains_to_its_csca(test_pki: pki.SimulatedPki, name: str) -> None:
    signer = test_pki.signer(name)
    csca = test_pki.csca(signer.csca).certificate
    signer.certificate.verify_directly_issued_by(csca)
    assert signer.certificate.public_key() == signer.private_key.public_key()
    usage = signer.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    aki = signer.certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = csca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


@pytest.mark.parametrize(
    ("name", "key_type", "key_size", "scheme"),
    [
        ("ecdsa-bp256", ec.EllipticCurvePublicKey, 256, "ecdsa"),
        ("ecdsa-p256", ec.EllipticCurvePublicKey, 256, "ecdsa"),
        ("rsa", rsa.RSAPublicKey, 2048, "pkcs1v15"),
        ("rsa-pss", rsa.RSAPublicKey, 2048, "pss"),
    ],
)
def test_signer_algorithms(test_pki: pki.SimulatedPki, name: str, key_type: type, key_size: int, scheme: str) -> None:
    signer = test_pki.signer(name)
    public_key = signer.certificate.public_key()
    assert isinstance(public_key, key_type)
    assert public_key.key_size == key_size
    assert signer.scheme == scheme


def test_brainpool_and_nist_signers_use_their_curves(test_pki: pki.SimulatedPki) -> None:
    bp = test_pki.signer("ecdsa-bp256").certificate.public_key()
    p256 = test_pki.signer("ecdsa-p256").certificate.public_key()
    assert isinstance(bp, ec.EllipticCurvePublicKey) and bp.curve.name == "brainpoolP256r1"
    assert isinstance(p256, ec.EllipticCurvePublicKey) and p256.curve.name == "secp256r1"


def test_validity_relative_to_the_reference_date(test_pki: pki.SimulatedPki) -> None:
    at = pki.REFERENCE_DATE
    for name in ("ecdsa-bp256", "ecdsa-p256", "rsa", "rsa-pss", "revoked", "unknown-csca"):
        certificate = test_pki.signer(name).certificate
        assert certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc, name
    expired = test_pki.signer("expired").certificate
    assert expired.not_valid_after_utc < at
    for name in test_pki.csca_names:
        certificate = test_pki.csca(name).certificate
        assert certificate.not_valid_before_utc <= expired.not_valid_before_utc
        assert certificate.not_valid_after_utc >= test_pki.signer("ecdsa-bp256").certificate.not_valid_after_utc


def test_the_crl_revokes_exactly_the_revoked_signer(test_pki: pki.SimulatedPki) -> None:
    crl = test_pki.crl("csca-ec")
    assert crl.is_signature_valid(test_pki.csca("csca-ec").certificate.public_key())
    revoked_serial = test_pki.signer("revoked").certificate.serial_number
    assert crl.get_revoked_certificate_by_serial_number(revoked_serial) is not None
    for name in ("ecdsa-bp256", "ecdsa-p256", "expired"):
        assert crl.get_revoked_certificate_by_serial_number(test_pki.signer(name).certificate.serial_number) is None
    assert len(test_pki.crl("csca-rsa")) == 0
    assert crl.next_update_utc is not None and crl.next_update_utc > pki.REFERENCE_DATE


def test_trust_dir_holds_the_trusted_cscas_and_crls_only(tmp_path: Path, test_pki: pki.SimulatedPki) -> None:
    written = test_pki.write_trust_dir(tmp_path / "trust")
    assert sorted(path.name for path in written) == sorted(path.name for path in (tmp_path / "trust").iterdir())
    certificates = []
    crls = []
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".crl":
            crls.append(x509.load_der_x509_crl(data))
        elif path.suffix == ".pem":
            certificates.append(x509.load_pem_x509_certificate(data))
        else:
            certificates.append(x509.load_der_x509_certificate(data))
    assert {c.subject for c in certificates} == {test_pki.csca(n).certificate.subject for n in ("csca-ec", "csca-rsa")}
    assert test_pki.csca("csca-unknown").certificate not in certificates
    assert {crl.issuer for crl in crls} == {c.subject for c in certificates}
    assert {path.suffix for path in written} == {".pem", ".der", ".crl"}


def test_module_level_write_trust_dir_uses_the_seed(tmp_path: Path) -> None:
    written = pki.write_trust_dir(tmp_path, seed=SEED)
    pem = next(path for path in written if path.suffix == ".pem")
    assert x509.load_pem_x509_certificate(pem.read_bytes()) == pki.get_pki(SEED).csca("csca-ec").certificate
