"""An ECDSA signer for tests (SEC 1 §4.1.3), written here from the standard over agent.icao.ec's point
arithmetic, for curves that ``cryptography`` cannot sign on (brainpoolP192r1, P224r1, P320r1, explicit
parameters of no named curve). It is trusted because tests/icao/test_ecdsa.py checks that what it
signs on P-256 and brainpoolP256r1 verifies with ``cryptography``; the nonce is derived from the key and
the digest (so signatures are reproducible), never reused across messages."""

from __future__ import annotations

import hashlib
import hmac

from agent.icao import ec
from agent.icao.ec import Curve, Point


def public_key(curve: Curve, private: int) -> Point:
    return ec.public_point(curve, private)


def _nonce(curve: Curve, private: int, digest: bytes, counter: int) -> int:
    seed = private.to_bytes(curve.order_byte_length, "big") + digest + counter.to_bytes(4, "big")
    stream = b"".join(hmac.new(b"test-ecdsa", seed + bytes([i]), hashlib.sha512).digest() for i in range(2))
    return int.from_bytes(stream, "big") % (curve.n - 1) + 1


def sign_digest(curve: Curve, private: int, digest: bytes) -> tuple[int, int]:
    """(r, s) over ``digest`` (the message's hash), truncated to the order's bit length as SEC 1 says."""
    n = curve.n
    e = int.from_bytes(digest, "big")
    excess = 8 * len(digest) - n.bit_length()
    if excess > 0:
        e >>= excess
    for counter in range(100):
        k = _nonce(curve, private, digest, counter)
        point = ec.scalar_mult(curve, k, curve.generator)
        assert point is not None
        r = point[0] % n
        if r == 0:
            continue
        s = pow(k, -1, n) * (e + r * private) % n
        if s:
            return r, s
    raise AssertionError("no signature after 100 nonces")  # pragma: no cover - probability ~0


def sign(curve: Curve, private: int, message: bytes, hash_name: str = "sha256") -> tuple[int, int]:
    return sign_digest(curve, private, hashlib.new(hash_name, message).digest())


def plain(curve: Curve, rs: tuple[int, int]) -> bytes:
    """r || s, each as long as the group order (BSI TR-03111 §5.2.1)."""
    size = curve.order_byte_length
    return rs[0].to_bytes(size, "big") + rs[1].to_bytes(size, "big")
