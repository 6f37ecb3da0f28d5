"""The keyed secure-messaging primitives of agent.icao.crypto (KeyedCipher, AesCmac, RetailMac,
KeyedMac) against independent implementations: pycryptodome's CMAC and CBC, a block-by-block retail
MAC written from ISO/IEC 9797-1 with single DES, the NIST SP 800-38B / RFC 4493 examples and the
Doc 9303-11 Appendix D MAC. Each object is used for several messages in a row, because it keeps its
key objects (and its unused CMAC context) across messages: nothing of one message may leak into the
next."""

from __future__ import annotations

import pytest
from Crypto.Cipher import AES, DES
from Crypto.Hash import CMAC
from hypothesis import example, given
from hypothesis import strategies as st

from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.crypto import (
    AES_128,
    AES_192,
    AES_256,
    TDES,
    AesCmac,
    CipherSuite,
    KeyedCipher,
    KeyedMac,
    RetailMac,
    pad,
)
from agent.icao.secure_messaging import SecureMessaging
from tests.icao.test_secure_messaging import CardSideSM

SUITES = [TDES, AES_128, AES_192, AES_256]


def reference_retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 one DES block at a time: CBC with K1, then D(K2), E(K1)."""
    k1 = DES.new(key[:8], DES.MODE_ECB)
    k2 = DES.new(key[8:16], DES.MODE_ECB)
    chained = bytes(8)
    for start in range(0, len(data), 8):
        chained = k1.encrypt(bytes(a ^ b for a, b in zip(chained, data[start : start + 8], strict=True)))
    return k1.encrypt(k2.decrypt(chained))


def reference_cmac(key: bytes, data: bytes) -> bytes:
    return CMAC.new(key, data, ciphermod=AES).digest()


aes_keys = st.sampled_from([16, 24, 32]).flatmap(lambda size: st.binary(min_size=size, max_size=size))
des_keys = st.binary(min_size=16, max_size=16)
# Lengths around the block boundaries are the interesting ones (K1 versus K2 in CMAC)
messages = st.one_of(
    st.binary(max_size=80), st.integers(0, 5).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
)


# --- AES-CMAC -------------------------------------------------------------------------------------


@given(aes_keys, st.lists(messages, min_size=1, max_size=6))
@example(bytes(16), [b""])
@example(bytes(16), [b"", bytes(16), b"", bytes(32), bytes(15), bytes(17)])
def test_aes_cmac_equals_pycryptodome(key: bytes, datas: list[bytes]) -> None:
    cmac = AesCmac(key)
    for data in datas:
        assert cmac.digest(data) == reference_cmac(key, data)


@pytest.mark.parametrize("key_length", [16, 24, 32])
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 33, 48, 64, 255, 256])
def test_aes_cmac_at_block_boundaries(key_length: int, length: int) -> None:
    key = bytes(range(7, 7 + key_length))
    data = bytes((i * 37) & 0xFF for i in range(length))
    cmac = AesCmac(key)
    assert cmac.digest(data) == reference_cmac(key, data)
    assert cmac.digest(data) == reference_cmac(key, data)  # a second time on the same object


# NIST SP 800-38B Appendix D.1 (AES-128), also RFC 4493 §4
SP800_38B_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
SP800_38B_MESSAGE = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)


@pytest.mark.parametrize(
    ("length", "tag"),
    [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ],
)
def test_aes_cmac_sp800_38b_examples(length: int, tag: str) -> None:
    assert AesCmac(SP800_38B_KEY).digest(SP800_38B_MESSAGE[:length]).hex() == tag


# --- retail MAC ------------------------------------------------------------------------------------


@given(des_keys, st.lists(st.binary(max_size=70), min_size=1, max_size=6))
@example(bytes(16), [b""])
@example(bytes(8) + bytes([1] * 8), [b"", bytes(7), bytes(8), bytes(15), bytes(16)])
def test_retail_mac_equals_single_des_reference(key: bytes, datas: list[bytes]) -> None:
    mac = RetailMac(key)
    for data in datas:
        padded = pad(data, 8)  # the empty message becomes the one block 80 00 .. 00
        assert mac.digest(padded) == reference_retail_mac(key, padded)


@given(des_keys, st.lists(st.integers(1, 9), min_size=1, max_size=5))
def test_retail_mac_on_exact_block_multiples(key: bytes, block_counts: list[int]) -> None:
    mac = RetailMac(key)
    for count in block_counts:
        data = bytes((count * i + key[0]) & 0xFF for i in range(8 * count))
        assert mac.digest(data) == reference_retail_mac(key, data)


def test_retail_mac_appendix_d_command_mac() -> None:
    # Doc 9303-11 Appendix D.4: the MAC of SELECT EF.COM under KS_MAC with SSC 887022120C06C227
    k_mac = bytes.fromhex("F1CB1F1FB5ADF208806B89DC579DC1F8")
    n = bytes.fromhex("887022120C06C2270CA4020C800000008709016375432908C044F6")
    assert RetailMac(k_mac).digest(pad(n, 8)).hex().upper() == "BF8B92D635FF24F8"


def test_retail_mac_with_equal_halves_is_single_des_as_the_reference() -> None:
    # Unlike 3DES encryption, the MAC never refuses a key whose halves are equal
    key = bytes.fromhex("0123456789ABCDEF") * 2
    assert RetailMac(key).digest(bytes(24)) == reference_retail_mac(key, bytes(24))


@pytest.mark.parametrize("data", [b"", bytes(7), bytes(9)])
def test_retail_mac_refuses_unpadded_input_and_stays_correct(data: bytes) -> None:
    key = bytes(range(16))
    mac = RetailMac(key)
    mac.digest(bytes(16))
    with pytest.raises(ValueError, match="padded"):
        mac.digest(data)
    assert mac.digest(bytes(24)) == reference_retail_mac(key, bytes(24))


def test_retail_mac_refuses_a_key_that_is_not_16_bytes() -> None:
    with pytest.raises(ValueError):
        RetailMac(bytes(24))


# --- KeyedMac, KeyedCipher -------------------------------------------------------------------------


def _key(suite: CipherSuite, draw_key: bytes) -> bytes:
    return (draw_key * 3)[: suite.key_length]


@given(st.sampled_from(SUITES), st.binary(min_size=16, max_size=32), st.lists(st.binary(max_size=70), max_size=5))
def test_keyed_mac_equals_suite_mac(suite: CipherSuite, raw_key: bytes, datas: list[bytes]) -> None:
    key = _key(suite, raw_key)
    keyed = suite.keyed_mac(key)
    for data in datas:
        padded = pad(data, suite.block_size)
        assert keyed.mac(padded) == suite.mac(key, padded)
        if suite.is_aes:  # a PACE token under AES is not padded
            assert keyed.mac(data) == suite.mac(key, data)


operations = st.lists(
    st.tuples(
        st.sampled_from(["encrypt", "decrypt"]), st.integers(0, 6), st.booleans(), st.binary(min_size=112, max_size=112)
    ),
    min_size=1,
    max_size=8,
)


@given(st.sampled_from(SUITES), st.binary(min_size=16, max_size=32), operations)
def test_keyed_cipher_equals_suite_cipher(
    suite: CipherSuite, raw_key: bytes, ops: list[tuple[str, int, bool, bytes]]
) -> None:
    key = _key(suite, raw_key)
    if key[:8] == key[8:16]:
        key = bytes([key[0] ^ 0xFE]) + key[1:]  # 3DES would refuse it: tested separately below
    keyed = suite.keyed_cipher(key)
    size = suite.block_size
    for operation, blocks, with_iv, material in ops:  # encryptions and decryptions interleaved
        data = material[: blocks * size]
        iv = material[-size:] if with_iv else None
        if operation == "encrypt":
            assert keyed.encrypt(data, iv) == suite.encrypt(key, data, iv)
        else:
            assert keyed.decrypt(data, iv) == suite.decrypt(key, data, iv)


@pytest.mark.parametrize("suite", [AES_128, AES_192, AES_256], ids=lambda s: s.name)
def test_encrypt_block_is_aes_ecb(suite: CipherSuite) -> None:
    key = bytes(range(suite.key_length))
    keyed = suite.keyed_cipher(key)
    for counter in (0, 1, 2**128 - 1):
        block = counter.to_bytes(16, "big")
        assert keyed.encrypt_block(block) == AES.new(key, AES.MODE_ECB).encrypt(block)
    with pytest.raises(ValueError):
        keyed.encrypt_block(bytes(15))


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_keyed_cipher_refuses_partial_blocks_and_stays_correct(suite: CipherSuite) -> None:
    key = bytes(range(1, suite.key_length + 1))
    keyed = suite.keyed_cipher(key)
    data = bytes(range(2 * suite.block_size))
    with pytest.raises(ValueError):
        keyed.encrypt(data[:-1])
    with pytest.raises(ValueError):
        keyed.decrypt(data[:-1])
    with pytest.raises(ValueError):
        keyed.encrypt(data, bytes(suite.block_size + 1))
    assert keyed.encrypt(data) == suite.encrypt(key, data)
    assert keyed.decrypt(data) == suite.decrypt(key, data)


def test_degenerate_3des_key_is_refused_when_used_as_by_pycryptodome() -> None:
    key = bytes.fromhex("0123456789ABCDEF") + bytes.fromhex("0023456789ABCDEF")  # equal once parity-adjusted
    keyed = KeyedCipher(TDES, key)  # building is fine, as a SecureMessaging that only MACs must be
    for operation in (keyed.encrypt, keyed.decrypt):
        with pytest.raises(ValueError, match="degenerates"):
            operation(bytes(8))
    with pytest.raises(ValueError, match="degenerates"):
        TDES.encrypt(key, bytes(8))


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_keyed_objects_refuse_a_wrong_key_length(suite: CipherSuite) -> None:
    with pytest.raises(ValueError):
        KeyedCipher(suite, bytes(suite.key_length + 8))
    with pytest.raises(ValueError):
        KeyedMac(suite, bytes(suite.key_length - 8))


def test_keyed_objects_show_no_key() -> None:
    key = bytes.fromhex("979EC13B1CBFE9DCD01AB0FED307EAE5")
    for keyed in (KeyedCipher(TDES, key), KeyedMac(TDES, key), AesCmac(key), RetailMac(key)):
        assert "979E" not in repr(keyed).upper()


# --- a long session --------------------------------------------------------------------------------


@given(
    st.sampled_from(SUITES),
    st.integers(0, 2**32),
    st.lists(st.tuples(st.binary(max_size=40), st.integers(0, 300), st.booleans()), min_size=1, max_size=8),
)
def test_session_stays_in_step_with_an_independent_card(
    suite: CipherSuite, ssc: int, exchanges: list[tuple[bytes, int, bool]]
) -> None:
    k_enc = bytes(range(3, 3 + suite.key_length))
    k_mac = bytes(range(99, 99 + suite.key_length))
    host = SecureMessaging(suite, k_enc, k_mac, ssc)
    card = CardSideSM(suite.is_aes, k_enc, k_mac, ssc)
    for command_data, answer_length, odd in exchanges:
        plain = CommandApdu(0x00, 0xB1 if odd else 0xDA, 0x00, 0x00, command_data, le=256)
        received = card.unwrap_command(CommandApdu.decode(host.wrap(plain).encode()))
        assert received.data == command_data
        answer = bytes((i * 11) & 0xFF for i in range(answer_length))
        response = card.wrap_response(answer, 0x9000, odd=odd)
        assert host.unwrap(ResponseApdu.decode(response.encode())) == ResponseApdu(answer, 0x9000)
