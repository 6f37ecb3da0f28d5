"""Block-cipher primitives of ICAO Doc 9303-11 §9.7 and BSI TR-03110: ISO/IEC 9797-1 padding, the
retail MAC (MAC algorithm 3 with DES), AES-CMAC (NIST SP 800-38B), CBC encryption with 3DES and AES,
the key derivation function KDF(K, c) and DES parity adjustment.

Shared by the host side and the simulated card (low-level primitives only: the handshakes and the
secure-messaging logic are written separately on each side). The one-shot functions use pycryptodome.
A secure-messaging session runs every APDU under the same two keys, so :class:`KeyedCipher` and
:class:`KeyedMac` build their OpenSSL contexts (``cryptography``) once per key and reuse them: building
a cipher object costs more than enciphering a 223-byte READ BINARY answer, and OpenSSL's 3DES is about
three times as fast as pycryptodome's.
"""

from __future__ import annotations

import dataclasses
import hashlib

from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import CMAC
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
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


def kdf(secret: bytes, counter: int, suite: CipherSuite) -> bytes:
    """KDF(K, c) of Doc 9303-11 §9.7.1: SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256."""
    data = secret + counter.to_bytes(4, "big")
    if suite.name == "3DES":
        return adjust_des_parity(hashlib.sha1(data).digest()[:16])
    if suite.name == "AES-128":
        return hashlib.sha1(data).digest()[:16]
    return hashlib.sha256(data).digest()[: suite.key_length]


# --- keyed contexts for secure messaging -----------------------------------------------------------


class _CbcChain:
    """One OpenSSL CBC context kept open for every CBC computation under its key.

    An open CBC context carries the last block it produced over as the IV of its next call. XORing that
    block and the IV wanted into the first input block cancels it: E(P1 ⊕ C_prev ⊕ IV ⊕ C_prev) =
    E(P1 ⊕ IV). Decryption likewise: the first output block is corrected by C_prev ⊕ IV. So the key
    schedule is built once instead of once per message. Not safe to share between threads.
    """

    def __init__(self, algorithm: algorithms.AES | TripleDES, block_size: int) -> None:
        cipher = Cipher(algorithm, modes.CBC(bytes(block_size)))
        self._encryptor: CipherContext = cipher.encryptor()
        self._decryptor: CipherContext = cipher.decryptor()
        self._block_size = block_size
        self._encrypt_chain = 0
        self._decrypt_chain = 0

    def _check(self, data: bytes) -> None:
        # OpenSSL would buffer a partial block silently and the carried-over IV would then be wrong
        if len(data) % self._block_size:
            raise ValueError(f"CBC input must be a multiple of {self._block_size} bytes")

    def encrypt(self, data: bytes, iv: int) -> bytes:
        self._check(data)
        if not data:
            return b""
        size = self._block_size
        first = int.from_bytes(data[:size], "big") ^ self._encrypt_chain ^ iv
        out = self._encryptor.update(first.to_bytes(size, "big") + data[size:])
        self._encrypt_chain = int.from_bytes(out[-size:], "big")
        return out

    def decrypt(self, data: bytes, iv: int) -> bytes:
        self._check(data)
        if not data:
            return b""
        size = self._block_size
        out = self._decryptor.update(data)
        first = int.from_bytes(out[:size], "big") ^ self._decrypt_chain ^ iv
        self._decrypt_chain = int.from_bytes(data[-size:], "big")
        return first.to_bytes(size, "big") + out[size:]


def _openssl_algorithm(suite: CipherSuite, key: bytes) -> algorithms.AES | TripleDES:
    if len(key) != suite.key_length:
        raise ValueError(f"{suite.name} keys are {suite.key_length} bytes")
    if suite.is_aes:
        return algorithms.AES(key)
    return TripleDES(des3_key(key))


class KeyedCipher:
    """CBC encryption and decryption (and single-block ECB encryption, for the AES secure-messaging
    IV) under one fixed key of ``suite``; the same results as :meth:`CipherSuite.encrypt` and
    :meth:`CipherSuite.decrypt`. Not safe to share between threads."""

    def __init__(self, suite: CipherSuite, key: bytes) -> None:
        algorithm = _openssl_algorithm(suite, key)
        self._block_size = suite.block_size
        self._chain = _CbcChain(algorithm, suite.block_size)
        self._ecb: CipherContext = Cipher(algorithm, modes.ECB()).encryptor()
        # pycryptodome refuses a two-key 3DES key whose halves are equal (it is single DES); so does
        # this class, at the same moment (when the key is used), so that both paths behave alike.
        self._degenerate = not suite.is_aes and adjust_des_parity(key[:8]) == adjust_des_parity(key[8:16])

    def __repr__(self) -> str:
        return "KeyedCipher()"

    def _usable(self, iv: bytes | None) -> int:
        if self._degenerate:
            raise ValueError("Triple DES key degenerates to single DES")
        if not iv:  # as CipherSuite.encrypt: no IV means the zero IV
            return 0
        if len(iv) != self._block_size:
            raise ValueError(f"the IV must be {self._block_size} bytes")
        return int.from_bytes(iv, "big")

    def encrypt(self, data: bytes, iv: bytes | None = None) -> bytes:
        return self._chain.encrypt(data, self._usable(iv))

    def decrypt(self, data: bytes, iv: bytes | None = None) -> bytes:
        return self._chain.decrypt(data, self._usable(iv))

    def encrypt_block(self, block: bytes) -> bytes:
        """E(K, block) for exactly one block (ECB)."""
        self._usable(None)
        if len(block) != self._block_size:
            raise ValueError(f"a block is {self._block_size} bytes")
        return self._ecb.update(block)


_CMAC_RB = 0x87  # SP 800-38B §5.3: R_128
_MASK_128 = (1 << 128) - 1


def _cmac_double(value: int) -> int:
    """Multiplication by x in GF(2^128), the subkey step of SP 800-38B §6.1."""
    doubled = (value << 1) & _MASK_128
    return doubled ^ _CMAC_RB if value >> 127 else doubled


class AesCmac:
    """AES-CMAC (NIST SP 800-38B) under one fixed key: subkeys K1, K2 computed once, then each tag is a
    single CBC pass in which the last block is XORed with K1 (complete) or padded 10* and XORed with K2.
    Not safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        algorithm = algorithms.AES(key)
        subkey_l = int.from_bytes(Cipher(algorithm, modes.ECB()).encryptor().update(bytes(16)), "big")
        self._k1 = _cmac_double(subkey_l)
        self._k2 = _cmac_double(self._k1)
        self._chain = _CbcChain(algorithm, 16)

    def __repr__(self) -> str:
        return "AesCmac()"

    def digest(self, data: bytes) -> bytes:
        """The full 16-byte tag."""
        size = len(data)
        if size and not size % 16:
            message, subkey = data, self._k1
        else:
            message, subkey = data + b"\x80" + bytes(15 - size % 16), self._k2
        last = int.from_bytes(message[-16:], "big") ^ subkey
        return self._chain.encrypt(message[:-16] + last.to_bytes(16, "big"), 0)[-16:]


class RetailMac:
    """ISO/IEC 9797-1 MAC algorithm 3 under one fixed two-key 3DES key, input already padded: DES-CBC
    with K1 over all blocks but the last, then the last block chained in and enciphered with 3DES
    (K1, K2, K1), which is E(K1, D(K2, E(K1, ·))) = the final DES step followed by the output
    transformation. Not safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("the retail MAC key is 16 bytes (K1 ‖ K2)")
        k1, k2 = key[:8], key[8:16]
        # EDE with three equal keys is single DES; OpenSSL offers DES only in that form.
        self._chain = _CbcChain(TripleDES(k1 * 3), 8)
        self._final: CipherContext = Cipher(TripleDES(k1 + k2 + k1), modes.ECB()).encryptor()

    def __repr__(self) -> str:
        return "RetailMac()"

    def digest(self, data: bytes) -> bytes:
        """The 8-byte MAC; ``data`` must be padded (a non-empty multiple of 8 bytes)."""
        if not data or len(data) % 8:
            raise ValueError("retail MAC input must be padded to 8 bytes")
        last = data[-8:]
        if len(data) > 8:
            chained = int.from_bytes(self._chain.encrypt(data[:-8], 0)[-8:], "big")
            last = (int.from_bytes(last, "big") ^ chained).to_bytes(8, "big")
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
