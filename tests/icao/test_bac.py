"""BAC (Doc 9303-11 §4.3): the whole Appendix D exchange against a scripted card, byte for byte, and
every way the chip's answer can fail."""

from __future__ import annotations

import pytest
from Crypto.Cipher import DES, DES3

from agent.errors import ApduError, AuthenticationFailedError
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.bac import bac_keys, perform_bac
from agent.icao.keys import MrzKey
from agent.icao.secure_messaging import SecureChannel

KEY = MrzKey("L898902C", "690806", "940623")
RND_IC = bytes.fromhex("4608F91988702212")
RND_IFD = bytes.fromhex("781723860C06C226")
K_IFD = bytes.fromhex("0B795240CB7049B01C19B33E32804F0B")
E_IFD = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
M_IFD = "5F1448EEA8AD90A7"
CARD_ANSWER = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
K_ENC = bytes.fromhex("AB94FDECF2674FDFB9B391F85D7F76F2")
K_MAC = bytes.fromhex("7962D9ECE03D1ACD4C76089DCE131543")
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


class ScriptedCard:
    """Answers each expected command (hex) with a scripted response (hex); anything else fails."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = list(script)
        self.seen: list[str] = []

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        wire = command.encode().hex().upper()
        self.seen.append(wire)
        assert self.script, f"unexpected command {wire}"
        expected, response = self.script.pop(0)
        assert wire == expected
        return ResponseApdu.decode(bytes.fromhex(response))


def fixed_rng(data: bytes):  # type: ignore[no-untyped-def]
    stream = bytearray(data)

    def rng(n: int) -> bytes:
        assert len(stream) >= n, "the handshake asked for more randomness than the example has"
        out = bytes(stream[:n])
        del stream[:n]
        return out

    return rng


def appendix_d_script(answer: str = CARD_ANSWER + "9000") -> list[tuple[str, str]]:
    return [
        ("0084000008", RND_IC.hex().upper() + "9000"),
        ("0082000028" + E_IFD + M_IFD + "28", answer),
    ]


def test_bac_keys_of_appendix_d() -> None:
    assert KEY.mrz_information() == "L898902C<369080619406236"
    assert KEY.pace_password().hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAEDF477565"
    assert KEY.bac_seed().hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAE"
    assert bac_keys(KEY) == (K_ENC, K_MAC)


def test_whole_appendix_d_exchange() -> None:
    card = ScriptedCard(
        [
            *appendix_d_script(),
            ("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"),
            ("0CB000000D9701048E08ED6705417E96BA5500", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"),
            (
                "0CB000040D9701128E082EA28A70F3C7B53500",
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
            ),
        ]
    )
    sm = perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))
    assert sm.ssc == 0x887022120C06C226
    assert sm.suite.name == "3DES"
    # The session keys, checked through the public behaviour and against the published values
    assert (sm._k_enc, sm._k_mac) == (
        bytes.fromhex("979EC13B1CBFE9DCD01AB0FED307EAE5"),
        bytes.fromhex("F1CB1F1FB5ADF208806B89DC579DC1F8"),
    )
    channel = SecureChannel(card, sm)
    assert channel(CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("011E"))).sw == 0x9000
    head = channel(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4))
    rest = channel(CommandApdu(0x00, 0xB0, 0x00, 0x04, le=18))
    assert head.data + rest.data == EF_COM
    assert sm.ssc == 0x887022120C06C22C
    assert not card.script


def test_card_cryptogram_decrypts_to_the_published_k_ic() -> None:
    # An independent look at the card's answer: K.IC is what Appendix D publishes
    plain = DES3.new(K_ENC + K_ENC[:8], DES3.MODE_CBC, bytes(8)).decrypt(bytes.fromhex(CARD_ANSWER)[:32])
    assert plain[:8] == RND_IC and plain[8:16] == RND_IFD
    assert plain[16:].hex().upper() == "0B4F80323EB3191CB04970CB4052790B"


@pytest.mark.parametrize("sw", ["6300", "6982", "6985"])
def test_refused_external_authenticate_names_the_mrz_key(sw: str) -> None:
    card = ScriptedCard(appendix_d_script(sw))
    with pytest.raises(AuthenticationFailedError) as caught:
        perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))
    assert caught.value.key_kind == "MRZ"
    assert caught.value.sw == int(sw, 16)
    assert len(card.seen) == 2  # EXTERNAL AUTHENTICATE sent once, never retried


def _flip(hex_answer: str, index: int) -> str:
    raw = bytearray(bytes.fromhex(hex_answer))
    raw[index] ^= 0x01
    return raw.hex().upper()


def test_card_answer_with_a_bad_mac_is_refused() -> None:
    card = ScriptedCard(appendix_d_script(_flip(CARD_ANSWER, 39) + "9000"))
    with pytest.raises(AuthenticationFailedError, match="MAC") as caught:
        perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))
    assert caught.value.key_kind == "MRZ"


def _retail_mac(key: bytes, data: bytes) -> bytes:
    data += b"\x80" + bytes(-(len(data) + 1) % 8)
    h = DES.new(key[:8], DES.MODE_CBC, bytes(8)).encrypt(data)[-8:]
    return DES.new(key[:8], DES.MODE_ECB).encrypt(DES.new(key[8:], DES.MODE_ECB).decrypt(h))


def test_card_answer_that_does_not_echo_rnd_ifd_is_refused() -> None:
    # A well-MACed answer from a card that encrypted another terminal nonce (a replayed answer)
    forged_plain = RND_IC + bytes(8) + bytes.fromhex("0B4F80323EB3191CB04970CB4052790B")
    e_ic = DES3.new(K_ENC + K_ENC[:8], DES3.MODE_CBC, bytes(8)).encrypt(forged_plain)
    answer = (e_ic + _retail_mac(K_MAC, e_ic)).hex().upper() + "9000"
    card = ScriptedCard(appendix_d_script(answer))
    with pytest.raises(AuthenticationFailedError, match="echo"):
        perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))


def test_card_answer_of_the_wrong_length_is_refused() -> None:
    card = ScriptedCard(appendix_d_script(CARD_ANSWER[:-2] + "9000"))
    with pytest.raises(AuthenticationFailedError):
        perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))


def test_wrong_mrz_key_is_detected_by_the_host_too() -> None:
    # The card's (Appendix D) answer checked with another document's keys
    other = MrzKey("L898902C", "690806", "940624")
    card = ScriptedCard(
        [
            ("0084000008", RND_IC.hex().upper() + "9000"),
        ]
    )

    def send(command: CommandApdu) -> ResponseApdu:
        if command.ins == 0x84:
            return card(command)
        return ResponseApdu.decode(bytes.fromhex(CARD_ANSWER + "9000"))

    with pytest.raises(AuthenticationFailedError):
        perform_bac(send, other, rng=fixed_rng(RND_IFD + K_IFD))


@pytest.mark.parametrize("response", ["6D00", "1122339000"])
def test_get_challenge_failure_is_an_apdu_error(response: str) -> None:
    card = ScriptedCard([("0084000008", response)])
    with pytest.raises(ApduError):
        perform_bac(card, KEY, rng=fixed_rng(RND_IFD + K_IFD))


def test_short_rng_is_refused() -> None:
    card = ScriptedCard([("0084000008", RND_IC.hex().upper() + "9000")])
    with pytest.raises(ValueError):
        perform_bac(card, KEY, rng=lambda n: bytes(n - 1))
