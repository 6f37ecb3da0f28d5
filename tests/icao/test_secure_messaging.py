"""Secure messaging (Doc 9303-11 §9.8): the Appendix D 3DES APDUs byte for byte, AES-128/192/256
against a card side computed here independently with pycryptodome, and every way a response can be
bad (tampered MAC, missing DO'99 or DO'8E, bad padding, unprotected success)."""

from __future__ import annotations

import pytest
from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import CMAC
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import SecureMessagingError
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.crypto import AES_128, AES_192, AES_256, TDES, CipherSuite
from agent.icao.secure_messaging import SecureChannel, SecureMessaging, max_plain_read, strict_unpad

# --- Appendix D -----------------------------------------------------------------------------------

KS_ENC = bytes.fromhex("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = bytes.fromhex("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC_D = 0x887022120C06C226
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")

APPENDIX_D = [
    # (plain command, protected command, protected response, plain response data)
    (
        CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("011E")),
        "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
        "990290008E08FA855A5D4C50A8ED9000",
        "",
    ),
    (
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4),
        "0CB000000D9701048E08ED6705417E96BA5500",
        "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000",
        "60145F01",
    ),
    (
        CommandApdu(0x00, 0xB0, 0x00, 0x04, le=18),
        "0CB000040D9701128E082EA28A70F3C7B53500",
        "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
        "04303130365F36063034303030305C026175",
    ),
]


def test_appendix_d_apdus_byte_for_byte() -> None:
    sm = SecureMessaging(TDES, KS_ENC, KS_MAC, SSC_D)
    content = b""
    for plain, protected, response, expected in APPENDIX_D:
        assert sm.wrap(plain).encode().hex().upper() == protected
        unwrapped = sm.unwrap(ResponseApdu.decode(bytes.fromhex(response)))
        assert unwrapped.sw == 0x9000
        assert unwrapped.data.hex().upper() == expected
        content += unwrapped.data
    assert content == EF_COM
    assert sm.ssc == 0x887022120C06C22C


def test_appendix_d_through_the_secure_channel_processor() -> None:
    exchanges = iter(APPENDIX_D)
    expected_wire: list[str] = []

    def card(command: CommandApdu) -> ResponseApdu:
        _plain, protected, response, _data = next(exchanges)
        expected_wire.append(protected)
        assert command.encode().hex().upper() == protected
        return ResponseApdu.decode(bytes.fromhex(response))

    channel = SecureChannel(card, SecureMessaging(TDES, KS_ENC, KS_MAC, SSC_D))
    data = b"".join(channel(plain).data for plain, *_ in APPENDIX_D)
    assert data == EF_COM and len(expected_wire) == 3


def test_appendix_d_response_with_a_flipped_mac_bit_is_refused() -> None:
    sm = SecureMessaging(TDES, KS_ENC, KS_MAC, SSC_D)
    sm.wrap(APPENDIX_D[0][0])
    raw = bytearray(bytes.fromhex(APPENDIX_D[0][2]))
    raw[-3] ^= 0x01
    with pytest.raises(SecureMessagingError):
        sm.unwrap(ResponseApdu.decode(bytes(raw)))


def test_appendix_d_response_under_a_stale_ssc_is_refused() -> None:
    # The card's answer to the first command, replayed as the answer to the second
    sm = SecureMessaging(TDES, KS_ENC, KS_MAC, SSC_D)
    sm.wrap(APPENDIX_D[0][0])
    sm.unwrap(ResponseApdu.decode(bytes.fromhex(APPENDIX_D[0][2])))
    sm.wrap(APPENDIX_D[1][0])
    with pytest.raises(SecureMessagingError):
        sm.unwrap(ResponseApdu.decode(bytes.fromhex(APPENDIX_D[0][2])))


# --- an independent card side --------------------------------------------------------------------


def _pad(data: bytes, block: int) -> bytes:
    data += b"\x80"
    while len(data) % block:
        data += b"\x00"
    return data


def _unpad(data: bytes) -> bytes:
    index = len(data) - 1
    while data[index] == 0:
        index -= 1
    assert data[index] == 0x80
    return data[:index]


def _do(tag: int, value: bytes) -> bytes:
    if len(value) < 0x80:
        return bytes([tag, len(value)]) + value
    if len(value) < 0x100:
        return bytes([tag, 0x81, len(value)]) + value
    return bytes([tag, 0x82]) + len(value).to_bytes(2, "big") + value


def _parse_dos(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    i = 0
    while i < len(data):
        tag = data[i]
        length = data[i + 1]
        i += 2
        if length == 0x81:
            length = data[i]
            i += 1
        elif length == 0x82:
            length = int.from_bytes(data[i : i + 2], "big")
            i += 2
        out.append((tag, data[i : i + length]))
        i += length
    return out


class CardSideSM:
    """The chip's half of secure messaging, written from the text of §9.8 with pycryptodome only."""

    def __init__(self, aes: bool, k_enc: bytes, k_mac: bytes, ssc: int) -> None:
        self.aes = aes
        self.k_enc = k_enc
        self.k_mac = k_mac
        self.ssc = ssc
        self.block = 16 if aes else 8

    def _ssc(self) -> bytes:
        self.ssc += 1
        return self.ssc.to_bytes(self.block, "big")

    def mac(self, data: bytes) -> bytes:
        data = _pad(data, self.block)
        if self.aes:
            return CMAC.new(self.k_mac, data, ciphermod=AES).digest()[:8]
        k1, k2 = self.k_mac[:8], self.k_mac[8:]
        h = DES.new(k1, DES.MODE_CBC, bytes(8)).encrypt(data)[-8:]
        return DES.new(k1, DES.MODE_ECB).encrypt(DES.new(k2, DES.MODE_ECB).decrypt(h))

    def _cipher(self, ssc: bytes):  # type: ignore[no-untyped-def]
        if self.aes:
            iv = AES.new(self.k_enc, AES.MODE_ECB).encrypt(ssc)
            return AES.new(self.k_enc, AES.MODE_CBC, iv)
        return DES3.new(self.k_enc + self.k_enc[:8], DES3.MODE_CBC, bytes(8))

    def unwrap_command(self, command: CommandApdu) -> CommandApdu:
        ssc = self._ssc()
        assert command.cla & 0x0C == 0x0C
        dos = _parse_dos(command.data)
        assert dos[-1][0] == 0x8E
        body = b"".join(_do(tag, value) for tag, value in dos[:-1])
        header = _pad(bytes([command.cla, command.ins, command.p1, command.p2]), self.block)
        assert self.mac(ssc + header + body) == dos[-1][1], "command MAC"
        data = b""
        le = None
        for tag, value in dos[:-1]:
            if tag == 0x87:
                assert value[0] == 1
                data = _unpad(self._cipher(ssc).decrypt(value[1:]))
            elif tag == 0x85:
                data = _unpad(self._cipher(ssc).decrypt(value))
            elif tag == 0x97:
                le = int.from_bytes(value, "big") or (256 if len(value) == 1 else 65536)
        return CommandApdu(command.cla & ~0x0C, command.ins, command.p1, command.p2, data, le=le)

    def wrap_response(self, data: bytes, sw: int, *, odd: bool = False) -> ResponseApdu:
        ssc = self._ssc()
        body = b""
        if data:
            cryptogram = self._cipher(ssc).encrypt(_pad(data, self.block))
            body += _do(0x85, cryptogram) if odd else _do(0x87, b"\x01" + cryptogram)
        body += _do(0x99, sw.to_bytes(2, "big"))
        return ResponseApdu(body + _do(0x8E, self.mac(ssc + body)), 0x9000)


AES_SUITES = [AES_128, AES_192, AES_256]


def _keys(suite: CipherSuite) -> tuple[bytes, bytes]:
    return bytes(range(1, suite.key_length + 1)), bytes(range(101, 101 + suite.key_length))


def _pair(suite: CipherSuite, ssc: int = 0) -> tuple[SecureMessaging, CardSideSM]:
    k_enc, k_mac = _keys(suite)
    return SecureMessaging(suite, k_enc, k_mac, ssc), CardSideSM(suite.is_aes, k_enc, k_mac, ssc)


@pytest.mark.parametrize("suite", [TDES, *AES_SUITES], ids=lambda s: s.name)
@pytest.mark.parametrize(
    "plain",
    [
        CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("011E")),
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=223),
        CommandApdu(0x00, 0xB0, 0x01, 0x00, le=256),
        CommandApdu(0x00, 0x22, 0x41, 0xA4, bytes(range(200))),
        CommandApdu(0x00, 0xB1, 0x00, 0x00, bytes.fromhex("54028000"), le=0xE0),
        CommandApdu(0x00, 0x88, 0x00, 0x00, bytes(8), le=256),
    ],
)
def test_round_trip_against_an_independent_card(suite: CipherSuite, plain: CommandApdu) -> None:
    host, card = _pair(suite, ssc=41)
    for _ in range(3):  # the SSC must stay in step over several exchanges
        protected = host.wrap(plain)
        received = card.unwrap_command(CommandApdu.decode(protected.encode()))
        assert received.encode() == plain.encode()
        answer = bytes(range(plain.le % 256 or 200)) if plain.le else b""
        response = card.wrap_response(answer, 0x9000, odd=bool(plain.ins & 1))
        assert host.unwrap(ResponseApdu.decode(response.encode())) == ResponseApdu(answer, 0x9000)


@pytest.mark.parametrize("suite", AES_SUITES, ids=lambda s: s.name)
def test_aes_uses_a_16_byte_ssc_and_an_iv_from_it(suite: CipherSuite) -> None:
    k_enc, k_mac = _keys(suite)
    host = SecureMessaging(suite, k_enc, k_mac, 0)
    protected = host.wrap(CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("011E")))
    ssc = (1).to_bytes(16, "big")
    iv = AES.new(k_enc, AES.MODE_ECB).encrypt(ssc)
    cryptogram = AES.new(k_enc, AES.MODE_CBC, iv).encrypt(bytes.fromhex("011E80") + bytes(13))
    header = bytes.fromhex("0CA4020C") + b"\x80" + bytes(11)
    do87 = b"\x87\x11\x01" + cryptogram
    mac = CMAC.new(k_mac, _pad(ssc + header + do87, 16), ciphermod=AES).digest()[:8]
    assert (
        protected.encode() == bytes.fromhex("0CA4020C") + bytes([len(do87) + 10]) + do87 + b"\x8e\x08" + mac + b"\x00"
    )


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
def test_tampered_mac_is_refused(suite: CipherSuite) -> None:
    host, card = _pair(suite)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=16)))
    response = bytearray(card.wrap_response(bytes(16), 0x9000).data)
    response[-1] ^= 0x80
    with pytest.raises(SecureMessagingError, match="MAC"):
        host.unwrap(ResponseApdu(bytes(response), 0x9000))


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
def test_tampered_cryptogram_is_refused(suite: CipherSuite) -> None:
    host, card = _pair(suite)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=16)))
    response = bytearray(card.wrap_response(bytes(16), 0x9000).data)
    response[5] ^= 0x01
    with pytest.raises(SecureMessagingError):
        host.unwrap(ResponseApdu(bytes(response), 0x9000))


def _mac_only_response(card: CardSideSM, body: bytes) -> ResponseApdu:
    ssc = card._ssc()
    return ResponseApdu(body + _do(0x8E, card.mac(ssc + body)), 0x9000)


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
def test_missing_do99_is_refused_even_with_a_valid_mac(suite: CipherSuite) -> None:
    host, card = _pair(suite)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)))
    ssc = (card.ssc + 1).to_bytes(card.block, "big")
    do87 = _do(0x87, b"\x01" + card._cipher(ssc).encrypt(_pad(b"abcd", card.block)))
    with pytest.raises(SecureMessagingError, match="DO'99"):
        host.unwrap(_mac_only_response(card, do87))


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
def test_missing_do8e_is_refused(suite: CipherSuite) -> None:
    host, _card = _pair(suite)
    host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))
    with pytest.raises(SecureMessagingError, match="8E"):
        host.unwrap(ResponseApdu(bytes.fromhex("99029000"), 0x9000))


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
def test_bad_padding_with_a_valid_mac_is_refused(suite: CipherSuite) -> None:
    host, card = _pair(suite)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)))
    ssc = (card.ssc + 1).to_bytes(card.block, "big")
    unpadded_block = bytes(range(1, card.block + 1))  # no 80 marker anywhere
    do87 = _do(0x87, b"\x01" + card._cipher(ssc).encrypt(unpadded_block))
    with pytest.raises(SecureMessagingError, match="padded"):
        host.unwrap(_mac_only_response(card, do87 + _do(0x99, b"\x90\x00")))


def test_missing_padding_indicator_is_refused() -> None:
    host, card = _pair(AES_128)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)))
    ssc = (card.ssc + 1).to_bytes(card.block, "big")
    do87 = _do(0x87, b"\x02" + card._cipher(ssc).encrypt(_pad(b"abcd", 16)))
    with pytest.raises(SecureMessagingError, match="indicator"):
        host.unwrap(_mac_only_response(card, do87 + _do(0x99, b"\x90\x00")))


def test_unknown_data_object_is_refused() -> None:
    host, card = _pair(AES_128)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)))
    with pytest.raises(SecureMessagingError, match="unexpected"):
        host.unwrap(_mac_only_response(card, _do(0x81, b"abcd") + _do(0x99, b"\x90\x00")))


def test_garbage_response_is_refused() -> None:
    host, _card = _pair(AES_128)
    host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))
    with pytest.raises(SecureMessagingError, match="BER-TLV"):
        host.unwrap(ResponseApdu(bytes.fromhex("87FF01"), 0x9000))


def test_unprotected_success_is_refused() -> None:
    host, _card = _pair(AES_128)
    host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))
    with pytest.raises(SecureMessagingError):
        host.unwrap(ResponseApdu(b"", 0x9000))


@pytest.mark.parametrize("sw", [0x6982, 0x6A82, 0x6987, 0x6988, 0x6700, 0x6CDF])
def test_unprotected_error_is_passed_up_as_its_status_word(sw: int) -> None:
    host, _card = _pair(AES_128, ssc=7)
    host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))
    assert host.unwrap(ResponseApdu(b"", sw)) == ResponseApdu(b"", sw)
    assert host.ssc == 8  # the card counted the command but protected no answer


def test_protected_error_status_comes_from_do99() -> None:
    host, card = _pair(TDES)
    card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)))
    assert host.unwrap(card.wrap_response(b"", 0x6282)) == ResponseApdu(b"", 0x6282)


def test_extended_plain_command_is_wrapped_extended() -> None:
    host, card = _pair(AES_128)
    plain = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4000)
    protected = host.wrap(plain)
    raw = protected.encode()
    assert protected.extended and raw[4] == 0 and raw[-2:] == b"\x00\x00"
    assert bytes.fromhex("97020FA0") in raw
    assert card.unwrap_command(CommandApdu.decode(raw)).le == 4000


def test_long_plain_data_is_wrapped_extended() -> None:
    host, card = _pair(TDES)
    plain = CommandApdu(0x00, 0x86, 0x00, 0x00, bytes(range(250)) * 2, le=256)
    raw = host.wrap(plain).encode()
    assert raw[4] == 0 and raw[-2:] == b"\x00\x00"
    received = card.unwrap_command(CommandApdu.decode(raw))
    assert received.data == plain.data


def test_short_plain_data_that_grows_past_255_is_wrapped_extended() -> None:
    host, card = _pair(AES_128)
    plain = CommandApdu(0x00, 0xDA, 0x00, 0x00, bytes(240))
    protected = host.wrap(plain)
    assert protected.extended and len(protected.data) > 255
    assert card.unwrap_command(CommandApdu.decode(protected.encode())).data == bytes(240)


def test_already_protected_command_is_refused() -> None:
    host, _card = _pair(AES_128)
    with pytest.raises(SecureMessagingError):
        host.wrap(CommandApdu(0x0C, 0xB0, 0x00, 0x00, le=4))


def test_ssc_wraps_around_at_its_width() -> None:
    k_enc, k_mac = _keys(TDES)
    host = SecureMessaging(TDES, k_enc, k_mac, (1 << 64) - 1)
    card = CardSideSM(False, k_enc, k_mac, -1)  # its next counter value is 0 as well
    assert card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))).le == 4
    assert host.ssc == 0


def test_wrong_key_length_is_refused() -> None:
    with pytest.raises(ValueError):
        SecureMessaging(AES_256, bytes(16), bytes(16), 0)
    with pytest.raises(ValueError):
        SecureMessaging(TDES, bytes(16), bytes(16), 1 << 64)


def test_repr_shows_no_keys() -> None:
    assert "01020304" not in repr(_pair(AES_128)[0]) and "AES-128" in repr(_pair(AES_128)[0])


@pytest.mark.parametrize(
    ("suite", "extended", "expected"),
    [(AES_128, False, 223), (AES_256, False, 223), (TDES, False, 231), (None, False, 256), (None, True, 65536)],
)
def test_max_plain_read(suite: CipherSuite | None, extended: bool, expected: int) -> None:
    assert max_plain_read(suite, extended=extended) == expected


@pytest.mark.parametrize("suite", [TDES, AES_128], ids=lambda s: s.name)
@pytest.mark.parametrize("extended", [False, True])
def test_max_plain_read_is_the_largest_that_fits(suite: CipherSuite, extended: bool) -> None:
    limit = 65536 if extended else 256
    host, card = _pair(suite)
    largest = max_plain_read(suite, extended=extended)
    for length, fits in ((largest, True), (largest + suite.block_size, False)):
        card.unwrap_command(host.wrap(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=min(length, limit))))
        response = card.wrap_response(bytes(length), 0x9000)
        assert (len(response.data) <= limit) is fits
        host.unwrap(response)


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=2))
def test_strict_unpad_accepts_only_padding_method_2(data: bytes, block_index: int) -> None:
    block = (8, 16, 16)[block_index]
    assert strict_unpad(_pad(data, block), block) == data
    with pytest.raises(SecureMessagingError):
        strict_unpad(_pad(data, block) + bytes(block), block)  # padding longer than a block


def test_channel_stays_in_step_after_a_bare_error() -> None:
    host, card = _pair(AES_128)

    def chip(command: CommandApdu) -> ResponseApdu:
        plain = card.unwrap_command(command)
        if plain.data == bytes.fromhex("0103"):  # DG3: refused without secure messaging
            return ResponseApdu(b"", 0x6982)
        return card.wrap_response(b"ok", 0x9000)

    channel = SecureChannel(chip, host)
    assert channel(CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0103"))).sw == 0x6982
    assert channel(CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0101"))) == ResponseApdu(b"ok", 0x9000)


def test_extended_apdu_refused_before_secure_messaging_rewinds_the_ssc() -> None:
    host, card = _pair(AES_128, ssc=5)

    def chip(command: CommandApdu) -> ResponseApdu:
        if command.needs_extended:
            return ResponseApdu(b"", 0x6700)  # the card's APDU layer: no extended length here
        card.unwrap_command(command)
        return card.wrap_response(bytes(100), 0x9000)

    channel = SecureChannel(chip, host)
    assert channel(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4000)).sw == 0x6700
    assert host.ssc == 5
    assert channel(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=100)).data == bytes(100)


def test_rewind_checks_the_range() -> None:
    host, _card = _pair(TDES)
    with pytest.raises(ValueError):
        host.rewind(1 << 64)
