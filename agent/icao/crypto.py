"""Block-cipher primitives of ICAO Doc 9303-11 §9.7 and BSI TR-03110: ISO/IEC 9797-1 padding, the
retail MAC (MAC algorithm 3 with DES), AES-CMAC, CBC encryption with 3DES and AES, the key
derivation function KDF(K, c) and DES parity adjustment.

Shared by the host side and the simulated card (low-level primitives only: the handshakes and the
secure-messaging logic are written separately on each side).
"""

from __future__ import annotations

import dataclasses
import hashlib

from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import CMAC

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


def des3_key(key16: bytes) -> bytes:
    """Two-key 3DES key K1‖K2 as the 24-byte K1‖K2‖K1 that pycryptodome needs."""
    return key16 + key16[:8]


def des3_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_8) -> bytes:
    return DES3.new(des3_key(key), DES3.MODE_CBC, iv).encrypt(data)


def des3_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_8) -> bytes:
    return DES3.new(des3_key(key), DES3.MODE_CBC, iv).decrypt(data)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_16) -> bytes:
    return AES.new(key, AES.MODE_CBC, iv).encrypt(data)


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_16) -> bytes:
    return AES.new(key, AES.MODE_CBC, iv).decrypt(data)


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    return AES.new(key, AES.MODE_ECB).encrypt(block)


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (DES, CBC with K1, final 3DES with K2); input already padded."""
    if len(data) % 8:
        raise ValueError("retail MAC input must be padded to 8 bytes")
    k1, k2 = key[:8], key[8:16]
    chained = DES.new(k1, DES.MODE_CBC, ZERO_IV_8).encrypt(data)[-8:]
    return DES.new(k1, DES.MODE_ECB).encrypt(DES.new(k2, DES.MODE_ECB).decrypt(chained))


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), full 16 bytes; callers truncate to 8 for secure messaging."""
    return CMAC.new(key, data, ciphermod=AES).digest()


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
        if self.is_aes:
            return aes_cbc_encrypt(key, data, iv or ZERO_IV_16)
        return des3_cbc_encrypt(key, data, iv or ZERO_IV_8)

    def decrypt(self, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
        if self.is_aes:
            return aes_cbc_decrypt(key, data, iv or ZERO_IV_16)
        return des3_cbc_decrypt(key, data, iv or ZERO_IV_8)

    def mac(self, key: bytes, data: bytes) -> bytes:
        """The 8-byte MAC over ``data`` exactly as given: retail MAC (3DES, input must already be
        padded to 8 bytes) or AES-CMAC truncated to 8 bytes. Padding is the caller's decision because
        secure messaging pads for both ciphers while a PACE token under AES is not padded."""
        if self.is_aes:
            return aes_cmac(key, data)[:8]
        return retail_mac(key, data)


TDES = CipherSuite("3DES", 16, 8)
AES_128 = CipherSuite("AES-128", 16, 16)
AES_192 = CipherSuite("AES-192", 24, 16)
AES_256 = CipherSuite("AES-256", 32, 16)
CIPHER_SUITES = {suite.name: suite for suite in (TDES, AES_128, AES_192, AES_256)}


def kdf(secret: bytes, counter: int, suite: CipherSuite) -> bytes:
    """KDF(K, c) of Doc 9303-11 §9.7.1: SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256."""
    data = secret + counter.to_bytes(4, "big")
    if suite.name == "3DES":
        return adjust_des_parity(hashlib.sha1(data).digest()[:16])
    if suite.name == "AES-128":
        return hashlib.sha1(data).digest()[:16]
    return hashlib.sha256(data).digest()[: suite.key_length]
