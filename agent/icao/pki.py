"""X.509 building blocks of the eMRTD PKI (Doc 9303-12 §4-§7, RFC 5280): certificates, names compared
as RFC 5280 §7.1 says, public keys (RSA, EC on named curves and on explicit domain parameters, which
many CSCAs use), hash and signature algorithm identifiers, and one function that verifies a signature
and answers with an :class:`agent.models.Outcome` instead of raising.

ASN.1 is read with asn1crypto, which parses lazily and can raise almost any built-in exception on
malformed input; every access to it happens inside :func:`asn1_guard`, which turns those into a
:class:`agent.errors.DocumentError` naming the file. Signatures are checked with ``cryptography``:
RSA PKCS#1 v1.5 and PSS (RFC 4055), ECDSA with DER signatures (RFC 5758) and with plain r||s
signatures (BSI TR-03111 §5.2.1). An EC key's parameters are read by
:func:`agent.icao.ec.curve_from_ec_parameters`, whose curve table is the only one; ECDSA on a curve
``cryptography`` does not offer (brainpoolP192r1, P224r1, P320r1, or explicit parameters that name no
curve) is verified with the project's own arithmetic (:func:`agent.icao.ec.ecdsa_verify`). Anything
else is reported as unsupported, with the algorithm or curve named: ``unknown``, never ``ok``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import algos, core, keys, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from cryptography.x509 import ObjectIdentifier

from agent.errors import DocumentError, TlvError
from agent.icao import ec as ec_arithmetic
from agent.icao import tlv
from agent.icao.ec import (
    ASN1_FAILURES,
    Curve,
    EcParametersError,
    InvalidPointError,
    Point,
    UnknownCurveError,
    curve_from_ec_parameters,
)
from agent.models import Outcome

# --- object identifiers --------------------------------------------------------------------------

OID_SHA1 = "1.3.14.3.2.26"
OID_SHA224 = "2.16.840.1.101.3.4.2.4"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"
OID_SHA384 = "2.16.840.1.101.3.4.2.2"
OID_SHA512 = "2.16.840.1.101.3.4.2.3"

OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"
# RSASSA-PSS: the salt cannot exceed the encoded message (RFC 8017 §9.1.1), at most 2 KB for RSA-16384.
MAX_PSS_SALT_BYTES = 2048
OID_MGF1 = "1.2.840.113549.1.1.8"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"

# hash OID -> (display name, hashlib name)
HASHES: dict[str, tuple[str, str]] = {
    OID_SHA1: ("SHA-1", "sha1"),
    OID_SHA224: ("SHA-224", "sha224"),
    OID_SHA256: ("SHA-256", "sha256"),
    OID_SHA384: ("SHA-384", "sha384"),
    OID_SHA512: ("SHA-512", "sha512"),
}

_CRYPTO_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    OID_SHA1: hashes.SHA1,
    OID_SHA224: hashes.SHA224,
    OID_SHA256: hashes.SHA256,
    OID_SHA384: hashes.SHA384,
    OID_SHA512: hashes.SHA512,
}

# signature OID -> (family, hash OID or None when the hash comes from the digest algorithm)
_RSA_PKCS1 = {
    OID_RSA_ENCRYPTION: None,
    "1.2.840.113549.1.1.5": OID_SHA1,
    "1.2.840.113549.1.1.14": OID_SHA224,
    "1.2.840.113549.1.1.11": OID_SHA256,
    "1.2.840.113549.1.1.12": OID_SHA384,
    "1.2.840.113549.1.1.13": OID_SHA512,
}
_ECDSA_DER = {
    OID_EC_PUBLIC_KEY: None,  # seen in SODs: the hash is then the SignerInfo digest algorithm
    "1.2.840.10045.4.1": OID_SHA1,
    "1.2.840.10045.4.3.1": OID_SHA224,
    "1.2.840.10045.4.3.2": OID_SHA256,
    "1.2.840.10045.4.3.3": OID_SHA384,
    "1.2.840.10045.4.3.4": OID_SHA512,
}
# BSI TR-03111 ecdsa-plain-signatures: r || s, each as long as the group order
_ECDSA_PLAIN = {
    "0.4.0.127.0.7.1.1.4.1.1": OID_SHA1,
    "0.4.0.127.0.7.1.1.4.1.2": OID_SHA224,
    "0.4.0.127.0.7.1.1.4.1.3": OID_SHA256,
    "0.4.0.127.0.7.1.1.4.1.4": OID_SHA384,
    "0.4.0.127.0.7.1.1.4.1.5": OID_SHA512,
}

_SIGNATURE_NAMES = {
    OID_RSA_ENCRYPTION: "rsaEncryption",
    OID_RSASSA_PSS: "RSASSA-PSS",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    OID_EC_PUBLIC_KEY: "ecPublicKey",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "0.4.0.127.0.7.1.1.4.1.1": "ecdsa-plain-SHA1",
    "0.4.0.127.0.7.1.1.4.1.2": "ecdsa-plain-SHA224",
    "0.4.0.127.0.7.1.1.4.1.3": "ecdsa-plain-SHA256",
    "0.4.0.127.0.7.1.1.4.1.4": "ecdsa-plain-SHA384",
    "0.4.0.127.0.7.1.1.4.1.5": "ecdsa-plain-SHA512",
    "1.2.840.10040.4.3": "dsa-with-sha1",
    "2.16.840.1.101.3.4.3.2": "dsa-with-sha256",
    "1.3.101.112": "Ed25519",
}

_NAME_ATTRIBUTES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "emailAddress",
}



@contextmanager
def asn1_guard(file: str, what: str) -> Iterator[None]:
    """Turn whatever a malformed structure makes asn1crypto raise into a DocumentError."""
    try:
        yield
    except DocumentError:
        raise
    except ASN1_FAILURES as exc:
        raise DocumentError(f"malformed {what}: {_short(exc)}", file=file) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# --- hashes --------------------------------------------------------------------------------------


def hash_name(oid: str) -> str:
    return HASHES[oid][0] if oid in HASHES else oid


def is_supported_hash(oid: str) -> bool:
    return oid in HASHES


def digest(oid: str, data: bytes) -> bytes:
    """The hash of ``data`` with the algorithm ``oid``; call only when :func:`is_supported_hash`."""
    return hashlib.new(HASHES[oid][1], data).digest()


# --- public keys ---------------------------------------------------------------------------------

KeyKind = Literal["RSA", "EC", "other"]
PublicKeyObject = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclasses.dataclass(frozen=True)
class PublicKey:
    """A subject public key and whether we can verify with it.

    ``key`` is ``cryptography``'s key object when that library can verify with it. An EC key on a curve
    the library lacks has no ``key`` but its ``ec_curve`` and ``ec_point``, verified with our own
    arithmetic. A key that is neither (``usable`` False) is either unsupported (``unsupported`` says
    which algorithm or curve: a signature check is then ``unknown``) or broken (``invalid`` says how:
    ``failed``).
    """

    kind: KeyKind
    algorithm_oid: str
    der: bytes = dataclasses.field(repr=False)
    key: PublicKeyObject | None = dataclasses.field(default=None, repr=False, compare=False)
    bits: int = 0
    curve: str = ""
    explicit_parameters: bool = False
    unsupported: str = ""
    invalid: str = ""
    ec_curve: Curve | None = dataclasses.field(default=None, repr=False, compare=False)
    ec_point: Point | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        """Whether a signature can be verified with this key (by ``cryptography`` or our EC arithmetic)."""
        return self.key is not None or (self.ec_curve is not None and self.ec_point is not None)

    @property
    def problem(self) -> str:
        """Why the key cannot be used (empty when it can)."""
        return "" if self.usable else (self.invalid or self.unsupported or "no key")

    @property
    def description(self) -> str:
        if self.kind == "RSA":
            return f"RSA-{self.bits}"
        if self.kind == "EC":
            return f"EC {self.curve or '?'}" + (" (explicit parameters)" if self.explicit_parameters else "")
        return self.algorithm_oid


def load_public_key(spki_der: bytes, *, file: str) -> PublicKey:
    """Parse a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). Unsupported keys are returned, not raised."""
    with asn1_guard(file, "public key"):
        info = keys.PublicKeyInfo.load(spki_der, strict=True)
        algorithm_oid = info["algorithm"]["algorithm"].dotted
        parameters = info["algorithm"]["parameters"]
        key_bits = info["public_key"]
        if not isinstance(key_bits, core.BitString | core.OctetBitString | core.ParsableOctetBitString):
            raise DocumentError("subject public key is not a BIT STRING", file=file)
        raw_bits = bytes(key_bits.contents)
        if not raw_bits or raw_bits[0] != 0:
            raise DocumentError("subject public key has unused bits", file=file)
        point_or_key = raw_bits[1:]
        if algorithm_oid in (OID_RSA_ENCRYPTION, OID_RSASSA_PSS):
            return _load_rsa(spki_der, algorithm_oid)
        if algorithm_oid == OID_EC_PUBLIC_KEY:
            if not isinstance(parameters, keys.ECDomainParameters):
                raise DocumentError("EC public key without domain parameters", file=file)
            return _load_ec(spki_der, parameters, point_or_key)
    return PublicKey("other", algorithm_oid, spki_der, unsupported=f"public key algorithm {algorithm_oid}")


def _load_rsa(spki_der: bytes, algorithm_oid: str) -> PublicKey:
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        return PublicKey("RSA", algorithm_oid, spki_der, invalid=f"RSA key does not load: {_short(exc)}")
    if not isinstance(key, rsa.RSAPublicKey):
        return PublicKey("RSA", algorithm_oid, spki_der, invalid="not an RSA key")
    return PublicKey("RSA", algorithm_oid, spki_der, key, bits=key.key_size)


def _load_ec(spki_der: bytes, parameters: keys.ECDomainParameters, point: bytes) -> PublicKey:
    if parameters.name == "implicit_ca":
        return PublicKey("EC", OID_EC_PUBLIC_KEY, spki_der, unsupported="EC key with implicitly-CA parameters")
    explicit = parameters.name == "specified"
    try:
        domain = curve_from_ec_parameters(parameters.dump())
    except UnknownCurveError as exc:
        return PublicKey("EC", OID_EC_PUBLIC_KEY, spki_der, curve=exc.oid, unsupported=f"named curve {exc.oid}")
    except EcParametersError as exc:
        return PublicKey(
            "EC", OID_EC_PUBLIC_KEY, spki_der, explicit_parameters=explicit,
            unsupported=f"EC key on explicit domain parameters that cannot be used ({exc})",
        )
    # A curve of the table is named after it; explicit parameters of no standard curve by their size.
    name = domain.name if domain.oid else f"explicit {domain.p.bit_length()}-bit prime curve"
    try:
        ec_point = ec_arithmetic.decode_public_point(domain, point)
    except InvalidPointError as exc:
        return PublicKey(
            "EC", OID_EC_PUBLIC_KEY, spki_der, curve=name, explicit_parameters=explicit,
            invalid=f"EC point is not on {name}: {_short(exc)}",
        )
    bits = domain.n.bit_length()
    curve = _verifying_curve(domain)
    key: ec.EllipticCurvePublicKey | None = None
    if curve is not None:
        name = curve.name  # the library's name (secp256r1), as before our own arithmetic existed
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except (ValueError, UnsupportedAlgorithm):
            key = None  # our own arithmetic, which accepted the point, verifies instead
    return PublicKey(
        "EC", OID_EC_PUBLIC_KEY, spki_der, key, bits=bits, curve=name, explicit_parameters=explicit,
        ec_curve=domain, ec_point=ec_point,
    )


def _verifying_curve(domain: Curve) -> ec.EllipticCurve | None:
    """``cryptography``'s curve for a curve of the table, if the library has it (it verifies on named
    curves only); None sends the verification to our own arithmetic."""
    if not domain.oid:
        return None
    try:
        return ec.get_curve_for_oid(ObjectIdentifier(domain.oid))()
    except LookupError:
        return None


# --- signature algorithms ------------------------------------------------------------------------

SchemeFamily = Literal["rsa-pkcs1v15", "rsa-pss", "ecdsa", "ecdsa-plain", "unsupported"]


@dataclasses.dataclass(frozen=True)
class SignatureScheme:
    """A signature algorithm resolved to what a verifier needs (family, hash, PSS parameters)."""

    oid: str
    family: SchemeFamily
    hash_oid: str | None = None
    mgf_hash_oid: str | None = None
    salt_length: int | None = None

    @property
    def name(self) -> str:
        base = _SIGNATURE_NAMES.get(self.oid, self.oid)
        if self.oid in (OID_RSA_ENCRYPTION, OID_EC_PUBLIC_KEY, OID_RSASSA_PSS) and self.hash_oid:
            return f"{base} ({hash_name(self.hash_oid)})"
        return base


def signature_scheme(oid: str, parameters_der: bytes | None, *, digest_oid: str | None, file: str) -> SignatureScheme:
    """Resolve a signature AlgorithmIdentifier. ``digest_oid`` supplies the hash for the bare key OIDs.

    Malformed RSASSA-PSS parameters raise DocumentError; unknown algorithms give family "unsupported".
    """
    if oid in _RSA_PKCS1:
        return SignatureScheme(oid, "rsa-pkcs1v15", _RSA_PKCS1[oid] or digest_oid)
    if oid in _ECDSA_DER:
        return SignatureScheme(oid, "ecdsa", _ECDSA_DER[oid] or digest_oid)
    if oid in _ECDSA_PLAIN:
        return SignatureScheme(oid, "ecdsa-plain", _ECDSA_PLAIN[oid])
    if oid == OID_RSASSA_PSS:
        return _pss_scheme(parameters_der, file)
    return SignatureScheme(oid, "unsupported")


def _pss_scheme(parameters_der: bytes | None, file: str) -> SignatureScheme:
    if not parameters_der or parameters_der == b"\x05\x00":
        # RFC 4055 defaults: SHA-1, MGF1 with SHA-1, salt 20.
        return SignatureScheme(OID_RSASSA_PSS, "rsa-pss", OID_SHA1, OID_SHA1, 20)
    with asn1_guard(file, "RSASSA-PSS parameters"):
        params = algos.RSASSAPSSParams.load(parameters_der, strict=True)
        hash_oid = params["hash_algorithm"]["algorithm"].dotted
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].dotted != OID_MGF1:
            return SignatureScheme(OID_RSASSA_PSS, "unsupported", hash_oid)
        mgf_hash = mgf["parameters"]["algorithm"].dotted
        salt = int(params["salt_length"])
        trailer = int(params["trailer_field"])
    if trailer != 1 or salt < 0 or salt > MAX_PSS_SALT_BYTES:
        raise DocumentError(f"RSASSA-PSS trailer field {trailer} / salt length {salt} not allowed", file=file)
    return SignatureScheme(OID_RSASSA_PSS, "rsa-pss", hash_oid, mgf_hash, salt)


def verify_signature(key: PublicKey, scheme: SignatureScheme, signature: bytes, data: bytes) -> Outcome:
    """Check one signature; ok / failed(reason) / unknown(reason), never an exception."""
    if scheme.family == "unsupported":
        return Outcome.unknown(f"unsupported signature algorithm {scheme.name}")
    if scheme.hash_oid is None or scheme.hash_oid not in _CRYPTO_HASHES:
        return Outcome.unknown(f"unsupported hash algorithm {scheme.hash_oid or '(none)'} in {scheme.name}")
    if key.invalid:
        return Outcome.failed(f"the signer's public key is invalid ({key.invalid})")
    if not key.usable:
        return Outcome.unknown(f"unsupported signer key: {key.unsupported}")
    hash_algorithm = _CRYPTO_HASHES[scheme.hash_oid]()
    if scheme.family in ("rsa-pkcs1v15", "rsa-pss"):
        if not isinstance(key.key, rsa.RSAPublicKey):
            return Outcome.failed(f"{scheme.name} signature but the signer has an {key.kind} key")
        try:
            if scheme.family == "rsa-pkcs1v15":
                key.key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
            else:
                mgf_hash = scheme.mgf_hash_oid or scheme.hash_oid
                if mgf_hash not in _CRYPTO_HASHES:
                    return Outcome.unknown(f"unsupported MGF1 hash {mgf_hash}")
                pss = padding.PSS(padding.MGF1(_CRYPTO_HASHES[mgf_hash]()), scheme.salt_length or 0)
                key.key.verify(signature, data, pss, hash_algorithm)
        except InvalidSignature:
            return Outcome.failed(f"{scheme.name} signature does not verify")
        except (ValueError, OverflowError, UnsupportedAlgorithm) as exc:
            # OverflowError: a PSS salt length beyond what cryptography's C layer takes (a hostile 2^64)
            return Outcome.failed(f"{scheme.name} signature cannot be checked: {_short(exc)}")
        return Outcome.ok(scheme.name)
    if key.kind != "EC":
        return Outcome.failed(f"{scheme.name} signature but the signer has an {key.kind} key")
    if scheme.family == "ecdsa-plain":
        rs = split_plain_ecdsa(signature, key)
        if rs is None:
            return Outcome.failed("plain ECDSA signature of the wrong length")
    else:
        try:
            rs = decode_dss_signature(signature)
        except ValueError:
            return Outcome.failed(f"{scheme.name} signature is not a DER ECDSA-Sig-Value")
    hasher = hashes.Hash(hash_algorithm)
    hasher.update(data)
    if verify_ecdsa_digest(key, hasher.finalize(), *rs, hash_algorithm=hash_algorithm):
        return Outcome.ok(scheme.name)
    return Outcome.failed(f"{scheme.name} signature does not verify")


def split_plain_ecdsa(signature: bytes, key: PublicKey) -> tuple[int, int] | None:
    """(r, s) of a plain r || s signature (BSI TR-03111 §5.2.1), each as long as the group order; None
    when the length is wrong."""
    if key.ec_curve is None:
        return None
    size = key.ec_curve.order_byte_length
    if len(signature) != 2 * size:
        return None
    return int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")


def verify_ecdsa_digest(
    key: PublicKey, digest: bytes, r: int, s: int, *, hash_algorithm: hashes.HashAlgorithm
) -> bool:
    """ECDSA over an already computed ``digest``: ``cryptography`` when it has the curve, else our own
    arithmetic (the two agree on every curve both have: tests/icao/test_ecdsa.py)."""
    if isinstance(key.key, ec.EllipticCurvePublicKey):
        try:
            key.key.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hash_algorithm)))
        except (InvalidSignature, ValueError):
            return False
        return True
    if key.ec_curve is None or key.ec_point is None:
        return False
    return ec_arithmetic.ecdsa_verify(key.ec_curve, key.ec_point, digest, r, s)


# --- names and certificates ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DistinguishedName:
    """A Name for display (``text``) and for comparison (``key``, normalised as RFC 5280 §7.1 says)."""

    text: str
    key: str
    country: str = ""

    def __str__(self) -> str:
        return self.text


# RFC 4518 §2.2 characters mapped to nothing (soft hyphen, joiners, variation selectors, ...).
_MAPPED_TO_NOTHING = dict.fromkeys(
    [0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x2060, 0xFEFF, *range(0xFE00, 0xFE10)]
)
# The string types of X.520 attribute values (X.690 universal tags) and how their octets decode.
_STRING_CODECS = {
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString (T.61): taken as Latin-1, as most readers do
    0x16: "ascii",  # IA5String (emailAddress)
    0x1A: "ascii",  # VisibleString
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}
TAG_SEQUENCE = 0x30
TAG_SET = 0x31
TAG_OID = 0x06
TAG_BOOLEAN = 0x01
TAG_OCTET_STRING = 0x04
TAG_CONTEXT_0 = 0x80
TAG_EXTENSIONS = 0xA3
OID_SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
OID_AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
OID_BASIC_CONSTRAINTS = "2.5.29.19"


def normalise_name_value(value: str) -> str:
    """One attribute value prepared for comparison (RFC 5280 §7.1 by way of RFC 4518): characters
    mapped to nothing removed, NFKC, case folded, and insignificant white space dropped (none at the
    ends, one space between words). "Viet  Nam " and "VIET NAM" compare equal."""
    text = value.translate(_MAPPED_TO_NOTHING)
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split())


def read_name(name: x509.Name, *, file: str) -> DistinguishedName:
    """Convert an asn1crypto Name; call inside :func:`asn1_guard`."""
    return name_from_der(name.dump(), file=file)


def name_from_der(der: bytes, *, file: str) -> DistinguishedName:
    """A DER Name (RFC 5280 §4.1.2.4: SEQUENCE OF RelativeDistinguishedName, each a SET OF
    AttributeTypeAndValue), read with the TLV walker (it is on the path of every certificate of a
    master list, where asn1crypto's lazy parsing cost most of the loading time).

    ``key`` compares RDN by RDN in order (RFC 5280 §7.1: two names match when they have the same
    number of RDNs and each pair of RDNs matches); inside one RDN, a SET, the attributes are sorted; a
    string value is normalised by :func:`normalise_name_value` whatever its string type, any other
    value is compared by its encoding."""
    parts: list[str] = []
    rdn_keys: list[str] = []
    country = ""
    try:
        outer = tlv.spans(der)
        if len(outer) != 1 or outer[0][0] != TAG_SEQUENCE:
            raise DocumentError("a Name is not one SEQUENCE", file=file)
        for rdn_tag, rdn_start, rdn_end in tlv.spans(der, outer[0][1], outer[0][2]):
            if rdn_tag != TAG_SET:
                raise DocumentError("a Name's RDN is not a SET", file=file)
            attribute_keys: list[str] = []
            for attribute_tag, start, end in tlv.spans(der, rdn_start, rdn_end):
                fields = tlv.spans(der, start, end) if attribute_tag == TAG_SEQUENCE else []
                if len(fields) != 2 or fields[0][0] != TAG_OID:
                    raise DocumentError("a Name attribute is not {type, value}", file=file)
                oid = tlv.decode_oid(der[fields[0][1] : fields[0][2]])
                value_tag, value_start, value_end = fields[1]
                codec = _STRING_CODECS.get(value_tag)
                if codec is not None:
                    text = der[value_start:value_end].decode(codec, errors="replace")
                    attribute_keys.append(f"{oid}={normalise_name_value(text)}")
                else:
                    text = "#" + der[start:end].hex()
                    attribute_keys.append(f"{oid}={text}")
                parts.append(f"{_NAME_ATTRIBUTES.get(oid, oid)}={text}")
                if oid == "2.5.4.6" and codec is not None:
                    country = text.strip().upper()
            rdn_keys.append("\x1f".join(sorted(attribute_keys)))
    except (TlvError, ValueError) as exc:
        raise DocumentError(f"malformed Name: {_short(exc)}", file=file) from exc
    return DistinguishedName(", ".join(parts), "\x1e".join(rdn_keys), country)


@dataclasses.dataclass(frozen=True)
class _Extensions:
    subject_key_identifier: bytes | None = None
    authority_key_identifier: bytes | None = None
    is_ca: bool = False


def _read_extensions(tbs_der: bytes, file: str) -> _Extensions:
    """The three extensions trust decisions use (RFC 5280 §4.2.1.1, §4.2.1.2, §4.2.1.9), from the
    TBSCertificate's [3] Extensions, read with the TLV walker."""
    ski = aki = None
    is_ca = False
    try:
        outer = tlv.spans(tbs_der)
        if len(outer) != 1:
            raise DocumentError("the TBSCertificate is not one SEQUENCE", file=file)
        wrapper = [span for span in tlv.spans(tbs_der, outer[0][1], outer[0][2]) if span[0] == TAG_EXTENSIONS]
        if not wrapper:
            return _Extensions()
        inner = tlv.spans(tbs_der, wrapper[0][1], wrapper[0][2])
        if len(inner) != 1 or inner[0][0] != TAG_SEQUENCE:
            raise DocumentError("extensions are not one SEQUENCE", file=file)
        for _tag, start, end in tlv.spans(tbs_der, inner[0][1], inner[0][2]):
            fields = tlv.spans(tbs_der, start, end)
            if not fields or fields[0][0] != TAG_OID or fields[-1][0] != TAG_OCTET_STRING:
                raise DocumentError("an extension is not {OID, [critical], OCTET STRING}", file=file)
            oid = tlv.decode_oid(tbs_der[fields[0][1] : fields[0][2]])
            if oid not in (OID_SUBJECT_KEY_IDENTIFIER, OID_AUTHORITY_KEY_IDENTIFIER, OID_BASIC_CONSTRAINTS):
                continue
            body = tbs_der[fields[-1][1] : fields[-1][2]]
            if oid == OID_SUBJECT_KEY_IDENTIFIER:
                ski = tlv.decode_single(body, TAG_OCTET_STRING).value
            elif oid == OID_AUTHORITY_KEY_IDENTIFIER:
                key_id = tlv.decode_single(body, TAG_SEQUENCE).find(TAG_CONTEXT_0)
                aki = key_id.value if key_id is not None else None
            else:
                constraints = tlv.decode_single(body, TAG_SEQUENCE).children()
                is_ca = bool(constraints) and constraints[0].tag == TAG_BOOLEAN and constraints[0].value != b"\x00"
    except (TlvError, ValueError) as exc:
        raise DocumentError(f"malformed extensions: {_short(exc)}", file=file) from exc
    return _Extensions(ski, aki, is_ca)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The parts of an X.509 certificate that passive authentication and the trust store use."""

    der: bytes = dataclasses.field(repr=False)
    subject: DistinguishedName
    issuer: DistinguishedName
    serial_number: int
    not_before: datetime
    not_after: datetime
    public_key: PublicKey = dataclasses.field(repr=False)
    signature_scheme: SignatureScheme = dataclasses.field(repr=False)
    signature: bytes = dataclasses.field(repr=False)
    tbs: bytes = dataclasses.field(repr=False)
    subject_key_identifier: bytes | None = dataclasses.field(default=None, repr=False)
    authority_key_identifier: bytes | None = dataclasses.field(default=None, repr=False)
    is_ca: bool = False

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the DER encoding, hex: the identity used to de-duplicate certificates."""
        return hashlib.sha256(self.der).hexdigest()

    @property
    def self_issued(self) -> bool:
        return self.subject.key == self.issuer.key

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= _aware(at) <= self.not_after

    def verify_issued_by(self, issuer_key: PublicKey) -> Outcome:
        """Does ``issuer_key`` verify this certificate's signature?"""
        return verify_signature(issuer_key, self.signature_scheme, self.signature, self.tbs)


def parse_certificate(der: bytes, *, file: str) -> Certificate:
    """Parse one DER X.509 certificate; malformed input raises DocumentError naming ``file``."""
    with asn1_guard(file, "certificate"):
        cert = x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        validity = tbs["validity"]
        signature_algorithm = cert["signature_algorithm"]
        inner_algorithm = tbs["signature"]
        if signature_algorithm["algorithm"].dotted != inner_algorithm["algorithm"].dotted:
            raise DocumentError("the two signature algorithm fields differ", file=file)
        parameters = signature_algorithm["parameters"]
        parameters_der = parameters.dump() if parameters.native is not None else None
        scheme = signature_scheme(signature_algorithm["algorithm"].dotted, parameters_der, digest_oid=None, file=file)
        spki_der = tbs["subject_public_key_info"].dump()
        subject_der = tbs["subject"].dump()
        issuer_der = tbs["issuer"].dump()
        not_before = _aware(validity["not_before"].native)
        not_after = _aware(validity["not_after"].native)
        signature = bytes(cert["signature_value"].native)
        serial = int(tbs["serial_number"].native)
        tbs_der = tbs.dump()
    subject = name_from_der(subject_der, file=file)
    issuer = subject if issuer_der == subject_der else name_from_der(issuer_der, file=file)
    extensions = _read_extensions(tbs_der, file)
    public_key = load_public_key(spki_der, file=file)
    return Certificate(
        der=bytes(der),
        subject=subject,
        issuer=issuer,
        serial_number=serial,
        not_before=not_before,
        not_after=not_after,
        public_key=public_key,
        signature_scheme=scheme,
        signature=signature,
        tbs=tbs_der,
        subject_key_identifier=extensions.subject_key_identifier,
        authority_key_identifier=extensions.authority_key_identifier,
        is_ca=extensions.is_ca,
    )
