"""Block-cipher primitives of ICAO Doc 9303-11 §9.7 and BSI TR-03110: ISO/IEC 9797-1 padding, the
retail MAC (MAC algorithm 3 with DES), AES-CMAC (NIST SP 800-38B), CBC encryption with 3DES and AES,
the key derivation function KDF(K, c) and DES parity adjustment.

Shared by the host side and the simulated card (low-level primitives only: the handshakes and the
secure-messaging logic are written separately on each side). Every cipher operation is OpenSSL's,
through ``cryptography``: CBC and ECB from ``Cipher``, AES-CMAC from ``cryptography``'s CMAC; the
retail MAC, which ``cryptography`` does not offer, is built here from DES-CBC and one 3DES block. A
secure-messaging session runs every APDU under the same two keys, so :class:`KeyedCipher` and
:class:`KeyedMac` build the key objects once per key; each message still gets a fresh CBC context
(or a copy of an unused CMAC context), so nothing carries over from one APDU to the next.
"""

from __future__ import annotations

import dataclasses
import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

# KDF counters (Doc 9303-11 §9.7.1)
KDF_ENC = 1
KDF_MAC = 2
KDF_PACE = 3

ZERO_IV_8 = bytes(8)
ZERO_IV_16 = bytes(16)


def pad(data: bytes, block_size: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80 then zeros up to a multiple of the block size."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block_size)


def unpad(data: bytes) -> bytes:
    """Remove padding method 2; raises ValueError when the padding is not well formed."""
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise ValueError("bad ISO 9797-1 padding")
    return stripped[:-1]


def adjust_des_parity(key: bytes) -> bytes:
    """Set the low bit of every byte so that each byte has odd parity (DES key convention)."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | (bin(high).count("1") + 1) % 2)
    return bytes(out)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_16) -> bytes:
    return KeyedCipher(_aes_suite(key), key).encrypt(data, iv)


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_16) -> bytes:
    return KeyedCipher(_aes_suite(key), key).decrypt(data, iv)


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    return KeyedCipher(_aes_suite(key), key).encrypt_block(block)


@dataclasses.dataclass(frozen=True)
class CipherSuite:
    """A PACE / secure-messaging cipher: 3DES (retail MAC) or AES-128/192/256 (CMAC)."""

    name: str
    key_length: int
    block_size: int

    @property
    def is_aes(self) -> bool:
        return self.name != "3DES"

    def derive(self, secret: bytes, counter: int) -> bytes:
        return kdf(secret, counter, self)

    def encrypt(self, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
        """CBC encryption under ``key`` (no IV: the zero IV); ``data`` is whole blocks."""
        return KeyedCipher(self, key).encrypt(data, iv)

    def decrypt(self, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
        return KeyedCipher(self, key).decrypt(data, iv)

    def mac(self, key: bytes, data: bytes) -> bytes:
        """The 8-byte MAC over ``data`` exactly as given: retail MAC (3DES, input must already be
        padded to 8 bytes) or AES-CMAC truncated to 8 bytes. Padding is the caller's decision because
        secure messaging pads for both ciphers while a PACE token under AES is not padded."""
        return KeyedMac(self, key).mac(data)

    def keyed_cipher(self, key: bytes) -> KeyedCipher:
        """:meth:`encrypt` and :meth:`decrypt` under one fixed key, for many messages."""
        return KeyedCipher(self, key)

    def keyed_mac(self, key: bytes) -> KeyedMac:
        """:meth:`mac` under one fixed key, for many messages."""
        return KeyedMac(self, key)


TDES = CipherSuite("3DES", 16, 8)
AES_128 = CipherSuite("AES-128", 16, 16)
AES_192 = CipherSuite("AES-192", 24, 16)
AES_256 = CipherSuite("AES-256", 32, 16)
CIPHER_SUITES = {suite.name: suite for suite in (TDES, AES_128, AES_192, AES_256)}
_AES_BY_KEY_LENGTH = {suite.key_length: suite for suite in (AES_128, AES_192, AES_256)}


def _aes_suite(key: bytes) -> CipherSuite:
    try:
        return _AES_BY_KEY_LENGTH[len(key)]
    except KeyError:
        raise ValueError(f"an AES key is 16, 24 or 32 bytes, not {len(key)}") from None


def kdf(secret: bytes, counter: int, suite: CipherSuite) -> bytes:
    """KDF(K, c) of Doc 9303-11 §9.7.1: SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256."""
    data = secret + counter.to_bytes(4, "big")
    if suite.name == "3DES":
        return adjust_des_parity(hashlib.sha1(data).digest()[:16])
    if suite.name == "AES-128":
        return hashlib.sha1(data).digest()[:16]
    return hashlib.sha256(data).digest()[: suite.key_length]


# --- keyed objects for secure messaging -----------------------------------------------------------


def _algorithm(suite: CipherSuite, key: bytes) -> algorithms.AES | TripleDES:
    if len(key) != suite.key_length:
        raise ValueError(f"{suite.name} keys are {suite.key_length} bytes")
    if suite.is_aes:
        return algorithms.AES(key)
    return TripleDES(key + key[:8])  # two-key 3DES K1 ‖ K2 is the three-key K1 ‖ K2 ‖ K1


def _check_blocks(data: bytes, block_size: int) -> None:
    # CBC works on whole blocks only: OpenSSL would hold a partial block back instead of refusing it
    if len(data) % block_size:
        raise ValueError(f"CBC input must be a multiple of {block_size} bytes")


class KeyedCipher:
    """CBC encryption and decryption (and single-block ECB encryption, for the AES secure-messaging
    IV) under one fixed key of ``suite``: the key object is built once, each message gets its own CBC
    context with the IV it asks for. Not safe to share between threads."""

    def __init__(self, suite: CipherSuite, key: bytes) -> None:
        self._algorithm = _algorithm(suite, key)
        self._block_size = suite.block_size
        self._zero_iv = bytes(suite.block_size)
        self._ecb: CipherContext | None = None
        # A two-key 3DES key whose halves are equal is single DES. Refused when the key is used, not
        # when the object is built, so that a secure-messaging session that only MACs still starts.
        self._degenerate = not suite.is_aes and adjust_des_parity(key[:8]) == adjust_des_parity(key[8:16])

    def __repr__(self) -> str:
        return "KeyedCipher()"

    def _cbc(self, iv: bytes | None) -> Cipher[modes.CBC]:
        if self._degenerate:
            raise ValueError("Triple DES key degenerates to single DES")
        return Cipher(self._algorithm, modes.CBC(iv or self._zero_iv))  # no IV means the zero IV

    def encrypt(self, data: bytes, iv: bytes | None = None) -> bytes:
        cipher = self._cbc(iv)
        _check_blocks(data, self._block_size)
        return cipher.encryptor().update(data)

    def decrypt(self, data: bytes, iv: bytes | None = None) -> bytes:
        cipher = self._cbc(iv)
        _check_blocks(data, self._block_size)
        return cipher.decryptor().update(data)

    def encrypt_block(self, block: bytes) -> bytes:
        """E(K, block) for exactly one block (ECB)."""
        if self._degenerate:
            raise ValueError("Triple DES key degenerates to single DES")
        if len(block) != self._block_size:
            raise ValueError(f"a block is {self._block_size} bytes")
        if self._ecb is None:
            # ECB keeps no state between blocks, so one context serves every IV of the session
            self._ecb = Cipher(self._algorithm, modes.ECB()).encryptor()
        return self._ecb.update(block)


class AesCmac:
    """AES-CMAC (NIST SP 800-38B) under one fixed key, by ``cryptography``. The key schedule is done
    once, in a context that is never fed: each tag is computed on a copy of it. Not safe to share
    between threads."""

    def __init__(self, key: bytes) -> None:
        self._unused = cmac.CMAC(algorithms.AES(key))

    def __repr__(self) -> str:
        return "AesCmac()"

    def digest(self, data: bytes) -> bytes:
        """The full 16-byte tag."""
        context = self._unused.copy()
        context.update(data)
        return context.finalize()


class RetailMac:
    """ISO/IEC 9797-1 MAC algorithm 3 under one fixed two-key 3DES key, input already padded: DES-CBC
    with K1 over all blocks but the last, then the last block chained in and enciphered with 3DES
    (K1, K2, K1), which is E(K1, D(K2, E(K1, ·))) = the final DES step followed by the output
    transformation. ``cryptography`` has no such MAC; it is built from its DES-CBC (a fresh context
    per message) and 3DES-ECB. Not safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("the retail MAC key is 16 bytes (K1 ‖ K2)")
        k1, k2 = key[:8], key[8:16]
        # EDE with three equal keys is single DES; OpenSSL offers DES only in that form.
        self._des_k1 = TripleDES(k1 * 3)
        # ECB keeps no state between blocks, so one context serves every message
        self._final: CipherContext = Cipher(TripleDES(k1 + k2 + k1), modes.ECB()).encryptor()

    def __repr__(self) -> str:
        return "RetailMac()"

    def digest(self, data: bytes) -> bytes:
        """The 8-byte MAC; ``data`` must be padded (a non-empty multiple of 8 bytes)."""
        if not data or len(data) % 8:
            raise ValueError("retail MAC input must be padded to 8 bytes")
        last = data[-8:]
        if len(data) > 8:
            chain = Cipher(self._des_k1, modes.CBC(ZERO_IV_8)).encryptor().update(data[:-8])[-8:]
            last = (int.from_bytes(last, "big") ^ int.from_bytes(chain, "big")).to_bytes(8, "big")
        return self._final.update(last)


class KeyedMac:
    """:meth:`CipherSuite.mac` under one fixed key: the retail MAC (3DES) or AES-CMAC truncated to 8
    bytes. Not safe to share between threads."""

    def __init__(self, suite: CipherSuite, key: bytes) -> None:
        if len(key) != suite.key_length:
            raise ValueError(f"{suite.name} keys are {suite.key_length} bytes")
        self._digest = AesCmac(key).digest if suite.is_aes else RetailMac(key).digest

    def __repr__(self) -> str:
        return "KeyedMac()"

    def mac(self, data: bytes) -> bytes:
        return self._digest(data)[:8]
