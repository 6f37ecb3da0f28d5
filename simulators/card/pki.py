"""A test PKI for passive authentication (Doc 9303-12), deterministic from a seed: country signing CAs
(CSCA) and the document signers (DSC) they certify, in the variants a verifier must tell apart: RSA-2048
(PKCS#1 v1.5 and PSS) and ECDSA (P-256, brainpoolP256r1) signers, an expired signer, a revoked signer
listed on the CSCA's CRL, and a signer chained to a CSCA nobody trusts.

Private keys are derived from the seed (EC: the private value from HMAC-SHA512(seed, label); RSA:
pycryptodome's generator fed by an HMAC-DRBG), validity dates are fixed relative to REFERENCE_DATE and
ECDSA signatures are deterministic (RFC 6979), so the same seed gives byte-identical certificates.
RSA keys are cached in memory per seed and label: the first build takes about a second, later ones
nothing. :func:`write_trust_dir` writes the trusted CSCAs and their CRLs where the agent's trust store
loads them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from Crypto.PublicKey import RSA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from agent.errors import ConfigError
from simulators.card.people import DEFAULT_SEED

REFERENCE_DATE = datetime(2024, 7, 1, tzinfo=UTC)
CSCA_NOT_BEFORE = datetime(2014, 1, 1, tzinfo=UTC)
CSCA_NOT_AFTER = datetime(2040, 1, 1, tzinfo=UTC)
DSC_NOT_BEFORE = datetime(2021, 1, 1, tzinfo=UTC)
DSC_NOT_AFTER = datetime(2036, 1, 1, tzinfo=UTC)
EXPIRED_DSC_NOT_BEFORE = datetime(2015, 1, 1, tzinfo=UTC)
EXPIRED_DSC_NOT_AFTER = datetime(2020, 12, 31, tzinfo=UTC)
CRL_THIS_UPDATE = datetime(2024, 6, 1, tzinfo=UTC)
CRL_NEXT_UPDATE = datetime(2039, 12, 1, tzinfo=UTC)
REVOCATION_DATE = datetime(2024, 3, 1, tzinfo=UTC)

ORGANISATION = "CCCD Simulator TEST PKI"

_T = TypeVar("_T")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SignatureScheme = Literal["ecdsa", "pkcs1v15", "pss"]

# Standardised domain parameters (BSI TR-03110-3 / Doc 9303-11 §9.5.1) that `cryptography` implements.
CURVES_BY_PARAMETER_ID: dict[int, ec.EllipticCurve] = {
    8: ec.SECP192R1(),
    10: ec.SECP224R1(),
    12: ec.SECP256R1(),
    13: ec.BrainpoolP256R1(),
    15: ec.SECP384R1(),
    16: ec.BrainpoolP384R1(),
    17: ec.BrainpoolP512R1(),
    18: ec.SECP521R1(),
}
CURVES_BY_NAME: dict[str, ec.EllipticCurve] = {
    "p256": ec.SECP256R1(),
    "p384": ec.SECP384R1(),
    "bp256": ec.BrainpoolP256R1(),
    "bp384": ec.BrainpoolP384R1(),
    "bp512": ec.BrainpoolP512R1(),
}


def _stream(seed: bytes, label: str, length: int) -> bytes:
    """``length`` pseudo-random bytes bound to (seed, label): HMAC-SHA512 in counter mode."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(seed, f"{label}/{counter}".encode(), hashlib.sha512).digest()
        counter += 1
    return out[:length]


class _HmacDrbg:
    """A byte source for pycryptodome's RSA generator: a deterministic stream per (seed, label)."""

    def __init__(self, seed: bytes, label: str) -> None:
        self._key = hmac.new(seed, f"rsa-drbg/{label}".encode(), hashlib.sha512).digest()
        self._counter = 0

    def __call__(self, length: int) -> bytes:
        out = b""
        while len(out) < length:
            out += hmac.new(self._key, self._counter.to_bytes(8, "big"), hashlib.sha512).digest()
            self._counter += 1
        return out[:length]


def derive_ec_private_value(seed: bytes, label: str, curve: ec.EllipticCurve) -> int:
    """A private scalar in [1, 2^(bits-1)]: below the group order of every curve used here, whose
    orders all have their top bit set, so no table of orders is needed."""
    bits = curve.key_size
    value = int.from_bytes(_stream(seed, f"ec/{label}", bits // 8 + 16), "big")
    return value % (1 << (bits - 1)) + 1


def derive_ec_key(seed: bytes, label: str, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(derive_ec_private_value(seed, label, curve), curve)


def curve_of_parameter_id(parameter_id: int) -> ec.EllipticCurve:
    try:
        return CURVES_BY_PARAMETER_ID[parameter_id]
    except KeyError:
        raise ConfigError(f"no EC key support for domain parameter ID {parameter_id}", key="parameter_id") from None


@functools.lru_cache(maxsize=64)
def derive_rsa_key(seed: bytes, label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key from a seeded generator; cached, because generation takes 0.1-0.4 s."""
    generated = RSA.generate(bits, randfunc=_HmacDrbg(seed, f"{label}/{bits}"), e=65537)
    loaded = serialization.load_der_private_key(generated.export_key(format="DER", pkcs=8), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def derive_key(seed: bytes, label: str, kind: str) -> PrivateKey:
    """A key of ``kind`` "rsa-1024", "rsa-2048", "rsa-3072" or "ec-<curve>" (p256, p384, bp256, bp384, bp512)."""
    family, _, size = kind.partition("-")
    if family == "rsa" and size in ("1024", "2048", "3072"):
        return derive_rsa_key(seed, label, int(size))
    if family == "ec" and size in CURVES_BY_NAME:
        return derive_ec_key(seed, label, CURVES_BY_NAME[size])
    raise ConfigError(f"unknown key kind {kind!r}", key="key")


def private_key_pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_spki(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclasses.dataclass(frozen=True)
class CertifiedKey:
    """A certificate and its private key."""

    name: str
    certificate: x509.Certificate
    private_key: PrivateKey = dataclasses.field(repr=False)

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclasses.dataclass(frozen=True)
class DocumentSigner(CertifiedKey):
    """A document signer: the key that signs EF.SOD, how it signs, and the CSCA that certified it."""

    csca: str = ""
    scheme: SignatureScheme = "ecdsa"


@dataclasses.dataclass(frozen=True)
class _CscaSpec:
    key_kind: str
    hash_name: str
    trusted: bool


@dataclasses.dataclass(frozen=True)
class _SignerSpec:
    csca: str
    key_kind: str
    key_label: str
    scheme: SignatureScheme
    not_before: datetime = DSC_NOT_BEFORE
    not_after: datetime = DSC_NOT_AFTER
    revoked: bool = False


CSCA_SPECS: dict[str, _CscaSpec] = {
    # like the one Vietnamese CSCA found in public master lists: a 512-bit EC key, ecdsa-with-SHA512
    "csca-ec": _CscaSpec("ec-bp512", "sha512", trusted=True),
    "csca-rsa": _CscaSpec("rsa-2048", "sha256", trusted=True),
    "csca-unknown": _CscaSpec("ec-p256", "sha256", trusted=False),
}
SIGNER_SPECS: dict[str, _SignerSpec] = {
    "ecdsa-bp256": _SignerSpec("csca-ec", "ec-bp256", "dsc/ecdsa-bp256", "ecdsa"),
    "ecdsa-p256": _SignerSpec("csca-ec", "ec-p256", "dsc/ecdsa-p256", "ecdsa"),
    "rsa": _SignerSpec("csca-rsa", "rsa-2048", "dsc/rsa", "pkcs1v15"),
    # the same RSA key as "rsa", certified again for PSS (saves a key generation; a test PKI only)
    "rsa-pss": _SignerSpec("csca-rsa", "rsa-2048", "dsc/rsa", "pss"),
    "expired": _SignerSpec(
        "csca-ec",
        "ec-bp256",
        "dsc/expired",
        "ecdsa",
        not_before=EXPIRED_DSC_NOT_BEFORE,
        not_after=EXPIRED_DSC_NOT_AFTER,
    ),
    "revoked": _SignerSpec("csca-ec", "ec-bp256", "dsc/revoked", "ecdsa", revoked=True),
    "unknown-csca": _SignerSpec("csca-unknown", "ec-p256", "dsc/unknown-csca", "ecdsa"),
}
HASHES: dict[str, hashes.SHA256 | hashes.SHA384 | hashes.SHA512] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial(seed: bytes, label: str) -> int:
    return int.from_bytes(_stream(seed, f"serial/{label}", 8), "big") >> 1 | 1 << 56


def _deterministic(key: PrivateKey) -> bool | None:
    """RFC 6979 signatures for EC keys (reproducible certificates); None for RSA, which is already."""
    return True if isinstance(key, ec.EllipticCurvePrivateKey) else None


class SimulatedPki:
    """The CSCAs, document signers and CRLs of one seed, built lazily and kept."""

    def __init__(self, seed: bytes = DEFAULT_SEED) -> None:
        self.seed = seed
        self._cscas: dict[str, CertifiedKey] = {}
        self._signers: dict[str, DocumentSigner] = {}
        self._crls: dict[str, x509.CertificateRevocationList] = {}

    @property
    def csca_names(self) -> tuple[str, ...]:
        return tuple(CSCA_SPECS)

    @property
    def trusted_csca_names(self) -> tuple[str, ...]:
        return tuple(name for name, spec in CSCA_SPECS.items() if spec.trusted)

    @property
    def signer_names(self) -> tuple[str, ...]:
        return tuple(SIGNER_SPECS)

    def csca(self, name: str) -> CertifiedKey:
        if name not in self._cscas:
            spec = _lookup(CSCA_SPECS, name, "CSCA")
            key = derive_key(self.seed, name, spec.key_kind)
            subject = _name(f"TEST CSCA {name}")
            ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
            certificate = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(key.public_key())
                .serial_number(_serial(self.seed, name))
                .not_valid_before(CSCA_NOT_BEFORE)
                .not_valid_after(CSCA_NOT_AFTER)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_key_usage(cert_sign=True), critical=True)
                .add_extension(ski, critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
                .sign(key, HASHES[spec.hash_name], ecdsa_deterministic=_deterministic(key))
            )
            self._cscas[name] = CertifiedKey(name, certificate, key)
        return self._cscas[name]

    def signer(self, name: str) -> DocumentSigner:
        if name not in self._signers:
            spec = _lookup(SIGNER_SPECS, name, "document signer")
            issuer = self.csca(spec.csca)
            key = derive_key(self.seed, spec.key_label, spec.key_kind)
            issuer_ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            certificate = (
                x509.CertificateBuilder()
                .subject_name(_name(f"TEST DS {name}"))
                .issuer_name(issuer.certificate.subject)
                .public_key(key.public_key())
                .serial_number(_serial(self.seed, f"dsc/{name}"))
                .not_valid_before(spec.not_before)
                .not_valid_after(spec.not_after)
                .add_extension(_key_usage(cert_sign=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
                )
                .sign(
                    issuer.private_key,
                    HASHES[CSCA_SPECS[spec.csca].hash_name],
                    ecdsa_deterministic=_deterministic(issuer.private_key),
                )
            )
            self._signers[name] = DocumentSigner(name, certificate, key, csca=spec.csca, scheme=spec.scheme)
        return self._signers[name]

    def crl(self, csca_name: str) -> x509.CertificateRevocationList:
        """The CSCA's CRL: lists every revoked signer it certified (possibly none)."""
        if csca_name not in self._crls:
            issuer = self.csca(csca_name)
            builder = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(issuer.certificate.subject)
                .last_update(CRL_THIS_UPDATE)
                .next_update(CRL_NEXT_UPDATE)
                .add_extension(x509.CRLNumber(1), critical=False)
            )
            for name, spec in SIGNER_SPECS.items():
                if spec.csca == csca_name and spec.revoked:
                    revoked = (
                        x509.RevokedCertificateBuilder()
                        .serial_number(self.signer(name).certificate.serial_number)
                        .revocation_date(REVOCATION_DATE)
                        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                        .build()
                    )
                    builder = builder.add_revoked_certificate(revoked)
            hash_name = CSCA_SPECS[csca_name].hash_name
            self._crls[csca_name] = builder.sign(
                issuer.private_key, HASHES[hash_name], ecdsa_deterministic=_deterministic(issuer.private_key)
            )
        return self._crls[csca_name]

    def write_trust_dir(self, path: Path) -> list[Path]:
        """Write every trusted CSCA and its CRL into ``path`` (created if missing): ``csca-ec.pem`` (PEM),
        ``csca-rsa.der`` (DER), so that a loader meets both encodings, and ``<csca>.crl`` (DER CRLs).
        The unknown CSCA is never written. Returns the files written."""
        path.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for index, name in enumerate(self.trusted_csca_names):
            certificate = self.csca(name).certificate
            if index % 2 == 0:
                target = path / f"{name}.pem"
                target.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
            else:
                target = path / f"{name}.der"
                target.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
            crl_target = path / f"{name}.crl"
            crl_target.write_bytes(self.crl(name).public_bytes(serialization.Encoding.DER))
            written += [target, crl_target]
        return written


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _lookup(table: dict[str, _T], name: str, what: str) -> _T:
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {what} {name!r}; known: {', '.join(table)}", key="pki") from None


@functools.lru_cache(maxsize=8)
def get_pki(seed: bytes = DEFAULT_SEED) -> SimulatedPki:
    """The PKI of ``seed``, shared by every card personalised in this process."""
    return SimulatedPki(seed)


def write_trust_dir(path: Path, *, seed: bytes = DEFAULT_SEED) -> list[Path]:
    """Write the trusted test CSCAs and their CRLs of ``seed`` into ``path`` (see SimulatedPki)."""
    return get_pki(seed).write_trust_dir(path)
