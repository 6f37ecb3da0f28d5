"""Active Authentication, the anti-cloning check of ICAO Doc 9303-11 §6.1: INTERNAL AUTHENTICATE
with an 8-byte challenge, verified against the DG15 public key.

RSA signatures use ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery (trailer
0xBC for SHA-1, or a hash identifier followed by 0xCC); ECDSA signatures are accepted in the plain
r‖s form of BSI TR-03111 and in DER. The DG15 key is read by :func:`agent.icao.pki.load_public_key`
and ECDSA is checked by :func:`agent.icao.pki.verify_ecdsa_digest`, the same loader and verifier as
passive authentication: a key on explicit curve parameters is used like its named curve, and a curve
``cryptography`` lacks is verified with the project's own arithmetic. The challenge can be bound to a
transaction id so that the evidence of one check-in cannot be replayed for another.
"""

from __future__ import annotations

import dataclasses
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from agent.errors import DocumentError
from agent.icao import pki
from agent.icao.apdu import CLA_PLAIN, INS_INTERNAL_AUTHENTICATE, CommandApdu
from agent.icao.lds_registry import DG15
from agent.icao.transport import Send
from agent.models import Outcome

CHALLENGE_LENGTH = 8
# Largest signature whose protected answer (DO'87' + DO'99' + DO'8E') still fits a short response.
SHORT_SIGNATURE_LIMIT = 200

# ISO/IEC 10118-3 hash identifiers used in the two-byte ISO 9796-2 trailer (xx CC).
_TRAILER_HASHES: dict[int, str] = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}

# Signature algorithm OIDs that DG14's ActiveAuthenticationInfo may name for ECDSA.
_ECDSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "0.4.0.127.0.7.1.1.4.1.1": hashes.SHA1(),  # ecdsa-plain-SHA1 (BSI TR-03111)
    "0.4.0.127.0.7.1.1.4.1.2": hashes.SHA224(),
    "0.4.0.127.0.7.1.1.4.1.3": hashes.SHA256(),
    "0.4.0.127.0.7.1.1.4.1.4": hashes.SHA384(),
    "0.4.0.127.0.7.1.1.4.1.5": hashes.SHA512(),
    "1.2.840.10045.4.1": hashes.SHA1(),  # X9.62 ecdsa-with-SHA1
    "1.2.840.10045.4.3.1": hashes.SHA224(),
    "1.2.840.10045.4.3.2": hashes.SHA256(),
    "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512(),
}


@dataclasses.dataclass(frozen=True)
class ActiveAuthResult:
    """The evidence of one Active Authentication: kept in the receipt so it can be re-verified."""

    outcome: Outcome
    challenge: bytes
    signature: bytes


def challenge_for_transaction(transaction_id: str) -> bytes:
    """An 8-byte challenge bound to ``transaction_id``: the signature then proves this check-in."""
    return hashlib.sha256(b"cccd-agent active authentication\x00" + transaction_id.encode()).digest()[
        :CHALLENGE_LENGTH
    ]


def perform_active_authentication(
    send: Send,
    public_key_der: bytes,
    challenge: bytes,
    *,
    signature_algorithm_oid: str | None = None,
) -> ActiveAuthResult:
    """Send INTERNAL AUTHENTICATE over ``send`` (normally secure messaging) and verify the answer.

    A card that refuses the command gives ``failed``: a genuine CCCD with DG15 always answers.
    Transport errors propagate: the caller decides whether the read as a whole is retried.
    """
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError("the Active Authentication challenge is 8 bytes")
    # An RSA-2048 signature does not fit a short response once secure messaging wraps it
    # (Doc 9303-11 §6.1.4 requires extended length for such keys); smaller keys stay short.
    le = 65536 if _expected_signature_length(public_key_der) > SHORT_SIGNATURE_LIMIT else 256
    command = CommandApdu(CLA_PLAIN, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00, challenge, le=le)
    response = send(command)
    if not response.ok:
        outcome = Outcome.failed(f"the card refused INTERNAL AUTHENTICATE (SW {response.sw:04X})")
        return ActiveAuthResult(outcome, challenge, b"")
    outcome = verify_active_authentication(
        public_key_der, challenge, response.data, signature_algorithm_oid=signature_algorithm_oid
    )
    return ActiveAuthResult(outcome, challenge, response.data)


def _load_key(public_key_der: bytes) -> pki.PublicKey:
    """The DG15 SubjectPublicKeyInfo; DocumentError when it is malformed or the key itself is broken."""
    public_key = pki.load_public_key(public_key_der, file=DG15.name)
    if public_key.invalid:
        reason = public_key.invalid
        raise DocumentError(f"the Active Authentication public key cannot be read: {reason}", file=DG15.name)
    return public_key


def _expected_signature_length(public_key_der: bytes) -> int:
    public_key = _load_key(public_key_der)
    if isinstance(public_key.key, rsa.RSAPublicKey):
        return (public_key.key.key_size + 7) // 8
    if public_key.ec_curve is not None:
        return 2 * public_key.ec_curve.order_byte_length
    return 0


def verify_active_authentication(
    public_key_der: bytes,
    challenge: bytes,
    signature: bytes,
    *,
    signature_algorithm_oid: str | None = None,
) -> Outcome:
    """Check an Active Authentication signature; never raises for a bad signature. A key whose
    algorithm or curve is not supported gives ``unknown``."""
    loaded = _load_key(public_key_der)
    if isinstance(loaded.key, rsa.RSAPublicKey):
        return _verify_iso9796_2(loaded.key, challenge, signature)
    if loaded.kind == "EC" and loaded.usable:
        return _verify_ecdsa(loaded, challenge, signature, signature_algorithm_oid)
    return Outcome.unknown(f"unsupported Active Authentication key: {loaded.unsupported or loaded.description}")


def _verify_iso9796_2(public_key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> Outcome:
    numbers = public_key.public_numbers()
    size = (public_key.key_size + 7) // 8
    value = int.from_bytes(signature, "big")
    if not signature or value >= numbers.n:
        return Outcome.failed("the signature is not a valid RSA value for this key")
    representative = pow(value, numbers.e, numbers.n).to_bytes(size, "big")
    # The representative's leading zero bits (key size not a multiple of 8) are dropped.
    representative = representative.lstrip(b"\x00")
    if not representative or representative[0] != 0x6A:
        return Outcome.failed("the recovered message has the wrong ISO 9796-2 header")
    if representative[-1] == 0xBC:
        hash_name, trailer_length = "sha1", 1
    elif representative[-1] == 0xCC and len(representative) >= 2 and representative[-2] in _TRAILER_HASHES:
        hash_name, trailer_length = _TRAILER_HASHES[representative[-2]], 2
    else:
        return Outcome.failed("the recovered message has an unknown ISO 9796-2 trailer")
    digest_length = hashlib.new(hash_name).digest_size
    body = representative[1:-trailer_length]
    if len(body) <= digest_length:
        return Outcome.failed("the recovered message is too short")
    recovered, digest = body[:-digest_length], body[-digest_length:]
    if hashlib.new(hash_name, recovered + challenge).digest() != digest:
        return Outcome.failed("the signature does not match the challenge: the chip does not hold the DG15 key")
    return Outcome.ok(f"RSA ISO 9796-2 scheme 1, {hash_name.upper()}")


def _verify_ecdsa(public_key: pki.PublicKey, challenge: bytes, signature: bytes, algorithm_oid: str | None) -> Outcome:
    if algorithm_oid is not None and algorithm_oid not in _ECDSA_HASHES:
        return Outcome.unknown(f"unsupported Active Authentication signature algorithm {algorithm_oid}")
    assert public_key.ec_curve is not None  # usable EC keys always carry their curve
    order_bytes = public_key.ec_curve.order_byte_length
    candidates = _ecdsa_candidates(signature, order_bytes)
    if not candidates:
        return Outcome.failed("the ECDSA signature has neither the plain nor the DER form")
    # Without an algorithm from DG14, try the hashes a card of this size may use, strongest match first.
    hash_options = [_ECDSA_HASHES[algorithm_oid]] if algorithm_oid else _default_ecdsa_hashes(order_bytes)
    for hash_algorithm in hash_options:
        hasher = hashes.Hash(hash_algorithm)
        hasher.update(challenge)
        digest = hasher.finalize()
        for r, s in candidates:
            if pki.verify_ecdsa_digest(public_key, digest, r, s, hash_algorithm=hash_algorithm):
                return Outcome.ok(f"ECDSA {public_key.curve}, {hash_algorithm.name.upper()}")
    return Outcome.failed("the signature does not match the challenge: the chip does not hold the DG15 key")


def _ecdsa_candidates(signature: bytes, order_bytes: int) -> list[tuple[int, int]]:
    """(r, s) read as plain r || s and, when it parses, as DER."""
    candidates: list[tuple[int, int]] = []
    if signature and len(signature) % 2 == 0 and len(signature) <= 2 * (order_bytes + 1):
        half = len(signature) // 2
        candidates.append((int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")))
    if signature[:1] == b"\x30":
        try:
            candidates.append(decode_dss_signature(signature))
        except ValueError:
            pass
    return candidates


def _default_ecdsa_hashes(order_bytes: int) -> list[hashes.HashAlgorithm]:
    preferred: list[hashes.HashAlgorithm] = [hashes.SHA256(), hashes.SHA1(), hashes.SHA384(), hashes.SHA512()]
    if order_bytes >= 48:
        preferred = [hashes.SHA384(), hashes.SHA512(), hashes.SHA256(), hashes.SHA1()]
    return preferred
