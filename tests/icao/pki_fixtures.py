"""A generated test PKI for passive authentication and trust-store tests: CSCA -> Document Signer ->
EF.SOD, CRLs and CSCA master lists, with knobs to break each part.

Built with cryptography's X.509 builders and asn1crypto's CMS structures, independently of the
parsers under test (which read DER with their own walkers where they can). Keys are cached per
(kind, label) so that a test session generates each only once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import algos, cms, core, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from agent.icao import ec as icao_ec
from agent.icao import pki
from tests.icao import ecdsa_signer

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)

OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_CSCA_MASTER_LIST = "2.23.136.1.1.2"

HASH_OIDS = {
    "sha1": pki.OID_SHA1,
    "sha224": pki.OID_SHA224,
    "sha256": pki.OID_SHA256,
    "sha384": pki.OID_SHA384,
    "sha512": pki.OID_SHA512,
}
CRYPTO_HASHES = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
RSA_PKCS1_OIDS = {
    "sha1": "1.2.840.113549.1.1.5",
    "sha224": "1.2.840.113549.1.1.14",
    "sha256": "1.2.840.113549.1.1.11",
    "sha384": "1.2.840.113549.1.1.12",
    "sha512": "1.2.840.113549.1.1.13",
}
ECDSA_OIDS = {
    "sha1": "1.2.840.10045.4.1",
    "sha224": "1.2.840.10045.4.3.1",
    "sha256": "1.2.840.10045.4.3.2",
    "sha384": "1.2.840.10045.4.3.3",
    "sha512": "1.2.840.10045.4.3.4",
}
ECDSA_PLAIN_OIDS = {
    "sha1": "0.4.0.127.0.7.1.1.4.1.1",
    "sha224": "0.4.0.127.0.7.1.1.4.1.2",
    "sha256": "0.4.0.127.0.7.1.1.4.1.3",
    "sha384": "0.4.0.127.0.7.1.1.4.1.4",
    "sha512": "0.4.0.127.0.7.1.1.4.1.5",
}
DSA_SHA256_OID = "2.16.840.1.101.3.4.3.2"

CURVES: dict[str, ec.EllipticCurve] = {
    "p256": ec.SECP256R1(),
    "p384": ec.SECP384R1(),
    "p521": ec.SECP521R1(),
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpoolP384r1": ec.BrainpoolP384R1(),
    "brainpoolP512r1": ec.BrainpoolP512R1(),
}

@dataclasses.dataclass(frozen=True)
class ArithmeticEcKey:
    """An EC key on a curve ``cryptography`` cannot sign on; it signs with tests/icao/ecdsa_signer.py."""

    curve: icao_ec.Curve
    private: int

    @property
    def point(self) -> icao_ec.Point:
        return ecdsa_signer.public_key(self.curve, self.private)

    def spki(self, *, explicit: bool = False) -> bytes:
        """Its SubjectPublicKeyInfo: the curve named by OID, or given as explicit parameters."""
        parameters = (
            keys.ECDomainParameters(name="specified", value=explicit_domain(self.curve))
            if explicit or not self.curve.oid
            else keys.ECDomainParameters(name="named", value=self.curve.oid)
        )
        return keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": "ec", "parameters": parameters},
                "public_key": icao_ec.encode_point(self.curve, self.point),
            }
        ).dump()


def explicit_domain(curve: icao_ec.Curve) -> keys.SpecifiedECDomain:
    size = curve.byte_length
    return keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.p},
            "curve": {"a": curve.a.to_bytes(size, "big"), "b": curve.b.to_bytes(size, "big")},
            "base": icao_ec.encode_point(curve, curve.generator),
            "order": curve.n,
            "cofactor": curve.h,
        }
    )


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey | ArithmeticEcKey


@functools.cache
def private_key(kind: str, label: str = "") -> PrivateKey:
    """A cached key: "rsa2048", "rsa1024", "p256", "brainpoolP256r1", ..., "dsa"."""
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    if kind == "dsa":
        return dsa.generate_private_key(2048)
    return ec.generate_private_key(CURVES[kind])


def name(common_name: str, country: str = "VN", organization: str = "Test Government of Viet Nam") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def signature_options(key: PrivateKey, hash_name: str, *, pss: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {"algorithm": CRYPTO_HASHES[hash_name]()}
    if pss and isinstance(key, rsa.RSAPrivateKey):
        options["rsa_padding"] = padding.PSS(
            padding.MGF1(CRYPTO_HASHES[hash_name]()), CRYPTO_HASHES[hash_name].digest_size
        )
    return options


def make_certificate(
    subject_key: PrivateKey,
    subject: x509.Name,
    issuer_key: PrivateKey,
    issuer: x509.Name,
    *,
    ca: bool,
    not_before: datetime = NOW - timedelta(days=365),
    not_after: datetime = NOW + timedelta(days=3650),
    serial: int | None = None,
    hash_name: str = "sha256",
    pss: bool = False,
    issuer_public_key: Any = None,
) -> bytes:
    """A DER certificate of ``subject_key`` signed by ``issuer_key``."""
    public_key = subject_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key or issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    certificate = builder.sign(issuer_key, **signature_options(issuer_key, hash_name, pss=pss))  # type: ignore[arg-type]
    return certificate.public_bytes(serialization.Encoding.DER)


def sign_bytes(key: PrivateKey, data: bytes, *, hash_name: str, scheme: str) -> bytes:
    """Sign as the SOD / CRL / certificate signer would: pkcs1, pss, ecdsa, ecdsa-plain or dsa."""
    algorithm = CRYPTO_HASHES[hash_name]()
    if isinstance(key, ArithmeticEcKey):
        rs = ecdsa_signer.sign(key.curve, key.private, data, hash_name)
        return ecdsa_signer.plain(key.curve, rs) if scheme == "ecdsa-plain" else encode_dss_signature(*rs)
    if isinstance(key, rsa.RSAPrivateKey):
        if scheme == "pss":
            return key.sign(data, padding.PSS(padding.MGF1(algorithm), algorithm.digest_size), algorithm)
        return key.sign(data, padding.PKCS1v15(), algorithm)
    if isinstance(key, dsa.DSAPrivateKey):
        return key.sign(data, algorithm)
    signature = key.sign(data, ec.ECDSA(algorithm))
    if scheme == "ecdsa-plain":
        r, s = decode_dss_signature(signature)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return signature


def signature_algorithm(key: PrivateKey, hash_name: str, scheme: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        if scheme == "pss":
            hash_id = {"algorithm": HASH_OIDS[hash_name]}
            return {
                "algorithm": pki.OID_RSASSA_PSS,
                "parameters": algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": hash_id,
                        "mask_gen_algorithm": {"algorithm": pki.OID_MGF1, "parameters": hash_id},
                        "salt_length": CRYPTO_HASHES[hash_name].digest_size,
                        "trailer_field": 1,
                    }
                ),
            }
        if scheme == "rsa-bare":
            return {"algorithm": pki.OID_RSA_ENCRYPTION}
        return {"algorithm": RSA_PKCS1_OIDS[hash_name]}
    if isinstance(key, dsa.DSAPrivateKey):
        return {"algorithm": DSA_SHA256_OID}
    if scheme == "ecdsa-plain":
        return {"algorithm": ECDSA_PLAIN_OIDS[hash_name]}
    return {"algorithm": ECDSA_OIDS[hash_name]}


def default_scheme(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "pkcs1"
    if isinstance(key, dsa.DSAPrivateKey):
        return "dsa"
    return "ecdsa"


def key_identifier(spki: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits."""
    return hashlib.sha1(bytes(keys.PublicKeyInfo.load(spki)["public_key"].contents)[1:]).digest()


def resigned(
    certificate_der: bytes,
    issuer_key: PrivateKey,
    *,
    spki: bytes | None = None,
    issuer_spki: bytes | None = None,
    hash_name: str = "sha256",
) -> bytes:
    """The certificate with another subject public key (``spki``) and/or signed again by ``issuer_key``
    (which may be an :class:`ArithmeticEcKey`, whose SubjectPublicKeyInfo is then ``issuer_spki``): how a
    test gets certificates of keys on curves the X.509 builder cannot handle. The key identifier
    extensions follow the keys."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    tbs = certificate["tbs_certificate"]
    if spki is not None:
        tbs["subject_public_key_info"] = keys.PublicKeyInfo.load(spki)
    extensions = []
    for extension in tbs["extensions"]:
        name = extension["extn_id"].native
        if name == "key_identifier" and spki is not None:
            extension = asn1_x509.Extension(
                {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier(spki)}
            )
        elif name == "authority_key_identifier" and issuer_spki is not None:
            extension = asn1_x509.Extension(
                {"extn_id": "authority_key_identifier", "critical": False,
                 "extn_value": {"key_identifier": key_identifier(issuer_spki)}}
            )
        extensions.append(extension)
    tbs["extensions"] = extensions
    scheme = default_scheme(issuer_key)
    algorithm = signature_algorithm(issuer_key, hash_name, scheme)
    tbs["signature"] = algorithm
    tbs_der = tbs.dump(force=True)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algorithm,
            "signature_value": sign_bytes(issuer_key, tbs_der, hash_name=hash_name, scheme=scheme),
        }
    )
    return rebuilt.dump(force=True)


def with_explicit_curve(certificate_der: bytes, issuer_key: PrivateKey, *, hash_name: str = "sha256") -> bytes:
    """Re-encode an EC certificate's public key with explicit domain parameters and re-sign it."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    tbs = certificate["tbs_certificate"]
    spki = tbs["subject_public_key_info"]
    curve = icao_ec.CURVES_BY_OID[spki["algorithm"]["parameters"].chosen.dotted]
    p, a, b, gx, gy, n = curve.p, curve.a, curve.b, curve.gx, curve.gy, curve.n
    size = (p.bit_length() + 7) // 8
    domain = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": p},
            "curve": {"a": a.to_bytes(size, "big"), "b": b.to_bytes(size, "big")},
            "base": b"\x04" + gx.to_bytes(size, "big") + gy.to_bytes(size, "big"),
            "order": n,
            "cofactor": 1,
        }
    )
    explicit = keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters(name="specified", value=domain)},
            "public_key": spki["public_key"].native,
        }
    )
    scheme = default_scheme(issuer_key)
    algorithm = signature_algorithm(issuer_key, hash_name, scheme)
    tbs["subject_public_key_info"] = explicit
    tbs["signature"] = algorithm
    tbs_der = tbs.dump(force=True)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algorithm,
            "signature_value": sign_bytes(issuer_key, tbs_der, hash_name=hash_name, scheme=scheme),
        }
    )
    return rebuilt.dump(force=True)


def make_crl(
    issuer_key: PrivateKey,
    issuer: x509.Name,
    revoked_serials: Sequence[int] = (),
    *,
    this_update: datetime = NOW - timedelta(days=10),
    next_update: datetime = NOW + timedelta(days=80),
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)  # type: ignore[arg-type]
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(this_update).build()
        )
    crl = builder.sign(issuer_key, **signature_options(issuer_key, "sha256"))  # type: ignore[arg-type]
    return crl.public_bytes(serialization.Encoding.DER)


# --- CMS -----------------------------------------------------------------------------------------


class DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]  # noqa: RUF012


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]  # noqa: RUF012


class LdsSecurityObject(core.Sequence):
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


def lds_security_object(
    hashes_by_group: Mapping[int, bytes], hash_oid: str, *, lds_version: tuple[str, str] | None = ("0108", "040000")
) -> bytes:
    value: dict[str, Any] = {
        "version": 1 if lds_version else 0,
        "hash_algorithm": {"algorithm": hash_oid},
        "data_group_hash_values": [
            {"data_group_number": number, "data_group_hash_value": digest}
            for number, digest in sorted(hashes_by_group.items())
        ],
    }
    if lds_version:
        value["lds_version_info"] = {"lds_version": lds_version[0], "unicode_version": lds_version[1]}
    return LdsSecurityObject(value).dump()


def signed_data(
    content: bytes,
    content_type: str,
    signer_key: PrivateKey,
    signer_certificate: bytes | None,
    *,
    hash_name: str = "sha256",
    scheme: str | None = None,
    certificates: Sequence[bytes] | None = None,
    message_digest: bytes | None = None,
    signed_content_type: str | None = None,
    sid_certificate: bytes | None = None,
    sid_issuer: asn1_x509.Name | None = None,
    sid_key_identifier: bytes | None = None,
    use_subject_key_identifier: bool = False,
    signed_attributes: bool = True,
    corrupt_signature: bool = False,
    signature_oid: str | None = None,
) -> bytes:
    """A DER ContentInfo / SignedData over ``content``, with knobs to break it."""
    scheme = scheme or default_scheme(signer_key)
    digest = hashlib.new(hash_name, content).digest()
    sid_source = (
        asn1_x509.Certificate.load(sid_certificate or signer_certificate)
        if (sid_certificate or signer_certificate)
        else None
    )
    if sid_source is None:
        sid = cms.SignerIdentifier(name="subject_key_identifier", value=b"\x01" * 20)
    elif use_subject_key_identifier:
        sid = cms.SignerIdentifier(
            name="subject_key_identifier", value=sid_key_identifier or sid_source.key_identifier
        )
    else:
        sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={
                "issuer": sid_issuer if sid_issuer is not None else sid_source.issuer,
                "serial_number": sid_source.serial_number,
            },
        )
    info: dict[str, Any] = {
        "version": "v3" if use_subject_key_identifier else "v1",
        "sid": sid,
        "digest_algorithm": {"algorithm": HASH_OIDS[hash_name]},
        "signature_algorithm": signature_algorithm(signer_key, hash_name, scheme),
    }
    if signature_oid:
        info["signature_algorithm"] = {"algorithm": signature_oid}
    if signed_attributes:
        attributes = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": [signed_content_type or content_type]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name="utc_time", value=NOW)]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [message_digest if message_digest is not None else digest]}
                ),
            ]
        )
        info["signed_attrs"] = attributes
        to_sign = attributes.dump()
    else:
        to_sign = content
    signature = sign_bytes(signer_key, to_sign, hash_name=hash_name, scheme=scheme)
    if corrupt_signature:
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
    info["signature"] = signature
    embedded = list(certificates) if certificates is not None else ([signer_certificate] if signer_certificate else [])
    body: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": HASH_OIDS[hash_name]}],
        "encap_content_info": {"content_type": content_type, "content": core.ParsableOctetString(content)},
        "signer_infos": [cms.SignerInfo(info)],
    }
    if embedded:
        body["certificates"] = [asn1_x509.Certificate.load(der) for der in embedded]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(body)}).dump()


def make_sod(
    data_groups: Mapping[int, bytes],
    signer_key: PrivateKey,
    signer_certificate: bytes | None,
    *,
    hash_name: str = "sha256",
    lds_hash_name: str | None = None,
    lds_hash_oid: str | None = None,
    listed: Mapping[int, bytes] | None = None,
    **options: Any,
) -> bytes:
    """EF.SOD (tag 77) listing the hashes of ``data_groups`` (or of ``listed``)."""
    lds_hash = lds_hash_name or hash_name
    source = listed if listed is not None else data_groups
    hashes_by_group = {number: hashlib.new(lds_hash, data).digest() for number, data in source.items()}
    content = lds_security_object(hashes_by_group, lds_hash_oid or HASH_OIDS[lds_hash])
    der = signed_data(content, OID_LDS_SECURITY_OBJECT, signer_key, signer_certificate, hash_name=hash_name, **options)
    return wrap(0x77, der)


def make_master_list(
    certificates: Sequence[bytes], signer_key: PrivateKey, signer_certificate: bytes, **options: Any
) -> bytes:
    # Built by hand so that a test can slip in bytes that are not a certificate at all.
    content = wrap(0x30, b"\x02\x01\x00" + wrap(0x31, b"".join(certificates)))
    return signed_data(content, OID_CSCA_MASTER_LIST, signer_key, signer_certificate, **options)


def asn1_name(*rdns: Sequence[tuple[str, str, str]]) -> asn1_x509.Name:
    """A Name written exactly as given: RDNs in this order, each a SET of (attribute, value, string type
    such as "printable_string" or "utf8_string"), for tests of name comparison."""
    sequence = asn1_x509.RDNSequence(
        [
            asn1_x509.RelativeDistinguishedName(
                [
                    asn1_x509.NameTypeAndValue(
                        {"type": kind, "value": asn1_x509.DirectoryString(name=string_type, value=value)}
                    )
                    for kind, value, string_type in rdn
                ]
            )
            for rdn in rdns
        ]
    )
    return asn1_x509.Name(name="", value=sequence)


def reordered_issuer(certificate_der: bytes) -> asn1_x509.Name:
    """The certificate's issuer with its RDNs in reverse order (as a real Malaysian SOD names its signer)."""
    issuer = asn1_x509.Certificate.load(certificate_der)["tbs_certificate"]["issuer"]
    rdns = list(issuer.chosen)
    return asn1_x509.Name(name="", value=asn1_x509.RDNSequence(list(reversed(rdns))))


def wrap(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    if len(value) < 0x80:
        length = bytes([len(value)])
    else:
        body = len(value).to_bytes((len(value).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return tag_bytes + length + value


# --- a whole test PKI ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TestPki:
    """A CSCA and a Document Signer it issued."""

    csca_key: PrivateKey
    csca_name: x509.Name
    csca: bytes
    dsc_key: PrivateKey
    dsc: bytes
    dsc_serial: int


@functools.cache
def test_pki(
    csca_kind: str = "rsa2048",
    dsc_kind: str = "rsa2048",
    *,
    label: str = "",
    hash_name: str = "sha256",
    pss: bool = False,
    dsc_not_after: datetime = NOW + timedelta(days=3650),
    dsc_not_before: datetime = NOW - timedelta(days=365),
    country: str = "VN",
) -> TestPki:
    csca_key = private_key(csca_kind, "csca" + label)
    csca_name = name(f"CSCA Test {label or csca_kind}", country)
    csca = make_certificate(
        csca_key,
        csca_name,
        csca_key,
        csca_name,
        ca=True,
        not_before=NOW - timedelta(days=3 * 365),
        not_after=NOW + timedelta(days=12 * 365),
        hash_name=hash_name,
        pss=pss,
    )
    dsc_key = private_key(dsc_kind, "dsc" + label)
    serial = 0x1000 + len(label) * 7 + len(dsc_kind)
    dsc = make_certificate(
        dsc_key,
        name(f"Document Signer {label or dsc_kind}", country),
        csca_key,
        csca_name,
        ca=False,
        not_before=dsc_not_before,
        not_after=dsc_not_after,
        serial=serial,
        hash_name=hash_name,
        pss=pss,
    )
    return TestPki(csca_key, csca_name, csca, dsc_key, dsc, serial)
