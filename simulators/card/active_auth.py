"""The card side of Active Authentication (ICAO Doc 9303-11 §6.1): INTERNAL AUTHENTICATE with the
terminal's 8-byte challenge RND.IFD, answered with a signature by the chip's private key: RSA with
ISO/IEC 9796-2 digital signature scheme 1 and partial message recovery (§6.1.2.2, the worked example
of Appendix F: F = 6A ‖ M1 ‖ H(M1 ‖ RND.IFD) ‖ trailer, trailer BC for SHA-1 and xxCC for SHA-2),
or ECDSA with the plain r ‖ s format of BSI TR-03111 (§6.1.2.3).

The private key comes from the card image as PKCS#8 DER and its operations use the `cryptography`
library (the RSA primitive S = F^d mod n is taken from the key's own numbers, because ISO 9796-2 needs
the raw operation that the library does not expose as a padding scheme).
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from agent.errors import TlvError
from agent.icao import tlv

Rng = Callable[[int], bytes]

CHALLENGE_LENGTH = 8
HEADER_PARTIAL_RECOVERY = 0x6A
TRAILER_SHA1 = b"\xbc"
TRAILERS_OPTION_2 = {"SHA-224": b"\x38\xcc", "SHA-256": b"\x34\xcc", "SHA-384": b"\x36\xcc", "SHA-512": b"\x35\xcc"}
HASHLIB_NAMES = {"SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}

OID_AA_PROTOCOL = "2.23.136.1.1.5"  # id-icao-mrtd-security-aaProtocolObject (§9.2.4)
SIGNATURE_ALGORITHM_HASHES = {
    "1.2.840.10045.4.1": "SHA-1",
    "1.2.840.10045.4.3.1": "SHA-224",
    "1.2.840.10045.4.3.2": "SHA-256",
    "1.2.840.10045.4.3.3": "SHA-384",
    "1.2.840.10045.4.3.4": "SHA-512",
    "0.4.0.127.0.7.1.1.4.1.1": "SHA-1",  # BSI ecdsa-plain-SHA1 ...
    "0.4.0.127.0.7.1.1.4.1.2": "SHA-224",
    "0.4.0.127.0.7.1.1.4.1.3": "SHA-256",
    "0.4.0.127.0.7.1.1.4.1.4": "SHA-384",
    "0.4.0.127.0.7.1.1.4.1.5": "SHA-512",
}


class ActiveAuthError(Exception):
    """The card cannot sign (no key, wrong challenge length); ``sw`` is the answer."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(f"{reason} (SW {sw:04X})")
        self.sw = sw


def message_representative(m1: bytes, challenge: bytes, hash_name: str) -> bytes:
    """F = 6A ‖ M1 ‖ H(M1 ‖ M2) ‖ T of ISO/IEC 9796-2 scheme 1 with partial recovery (Appendix F)."""
    digest = hashlib.new(HASHLIB_NAMES[hash_name], m1 + challenge).digest()
    trailer = TRAILER_SHA1 if hash_name == "SHA-1" else TRAILERS_OPTION_2[hash_name]
    return bytes([HEADER_PARTIAL_RECOVERY]) + m1 + digest + trailer


def recoverable_length(modulus_bits: int, hash_name: str) -> int:
    """Bytes of the chip's nonce M1: (c - 4) bits with c = k - Lh - 8t - 4 (§6.1.2.2)."""
    hash_bits = 8 * hashlib.new(HASHLIB_NAMES[hash_name]).digest_size
    trailer_bytes = 1 if hash_name == "SHA-1" else 2
    capacity = modulus_bits - hash_bits - 8 * trailer_bytes - 4
    return (capacity - 4) // 8


def hash_from_dg14(dg14: bytes | None) -> str | None:
    """The hash of the ActiveAuthenticationInfo signature algorithm in DG14, if DG14 has one."""
    if not dg14:
        return None
    try:
        outer = tlv.decode_single(dg14)
        infos = tlv.decode_single(outer.value).children() if outer.constructed else []
        for info in infos:
            if not info.constructed:
                continue
            fields = info.children()
            if len(fields) >= 3 and fields[0].tag == 0x06 and tlv.decode_oid(fields[0].value) == OID_AA_PROTOCOL:
                algorithm = fields[2]
                if algorithm.tag == 0x30:  # an AlgorithmIdentifier rather than a bare OID
                    algorithm = algorithm.children()[0]
                return SIGNATURE_ALGORITHM_HASHES.get(tlv.decode_oid(algorithm.value))
    except (TlvError, ValueError, IndexError):
        return None
    return None


class ActiveAuthCard:
    """The chip's Active Authentication key and its INTERNAL AUTHENTICATE."""

    def __init__(self, private_key_der: bytes, *, hash_name: str | None = None, dg14: bytes | None = None) -> None:
        key = serialization.load_der_private_key(private_key_der, password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            self._rsa: rsa.RSAPrivateKey | None = key
            self._ec: ec.EllipticCurvePrivateKey | None = None
            self.hash_name = hash_name or "SHA-1"
            if key.key_size % 8 or recoverable_length(key.key_size, self.hash_name) <= 0:
                raise ValueError("RSA key size not usable with ISO/IEC 9796-2 scheme 1")
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self._rsa = None
            self._ec = key
            self.hash_name = hash_name or hash_from_dg14(dg14) or _hash_for_curve(key.curve.key_size)
        else:
            raise ValueError("Active Authentication needs an RSA or EC private key")
        if self.hash_name not in HASHLIB_NAMES:
            raise ValueError(f"unsupported Active Authentication hash {self.hash_name}")

    @property
    def operation(self) -> str:
        """The link model's name of one signature (simulators.card.link)."""
        if self._rsa is not None:
            return f"rsa_sign/{self._rsa.key_size}"
        assert self._ec is not None
        return f"ec_mult/{self._ec.curve.key_size}"

    def internal_authenticate(self, challenge: bytes, rng: Rng, ops: collections.Counter[str]) -> bytes:
        ops[self.operation] += 1
        if self._rsa is not None:
            return self._sign_rsa(self._rsa, challenge, rng)
        assert self._ec is not None
        return self._sign_ecdsa(self._ec, challenge)

    def _sign_rsa(self, key: rsa.RSAPrivateKey, challenge: bytes, rng: Rng) -> bytes:
        numbers = key.private_numbers()
        modulus = numbers.public_numbers.n
        m1 = rng(recoverable_length(key.key_size, self.hash_name))
        representative = int.from_bytes(message_representative(m1, challenge, self.hash_name), "big")
        signature = pow(representative, numbers.d, modulus)
        return signature.to_bytes(key.key_size // 8, "big")

    def _sign_ecdsa(self, key: ec.EllipticCurvePrivateKey, challenge: bytes) -> bytes:
        algorithm = {"SHA-1": hashes.SHA1(), "SHA-224": hashes.SHA224(), "SHA-256": hashes.SHA256(),
                     "SHA-384": hashes.SHA384(), "SHA-512": hashes.SHA512()}[self.hash_name]
        r, s = decode_dss_signature(key.sign(challenge, ec.ECDSA(algorithm)))
        order_length = (key.curve.key_size + 7) // 8
        return r.to_bytes(order_length, "big") + s.to_bytes(order_length, "big")


def _hash_for_curve(bits: int) -> str:
    """The shortest SHA-2 no longer than the key (§6.1.2.3), SHA-224 being the shortest allowed."""
    if bits <= 224:
        return "SHA-224"
    if bits <= 256:
        return "SHA-256"
    if bits <= 384:
        return "SHA-384"
    return "SHA-512"
