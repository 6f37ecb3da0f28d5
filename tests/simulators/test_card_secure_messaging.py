"""The card's secure messaging (Doc 9303-11 §9.8): every command's MAC is verified, SM errors are
answered 6987 / 6988 without protection and end the session, a plain APDU ends it too, the SSC moves
in step, and responses are protected with DO'87' / DO'85', DO'99' and DO'8E'."""

from __future__ import annotations

import pytest

from agent.icao import tlv
from simulators.card.secure_messaging import CardSession, SmError
from tests.simulators.test_card_fixtures import EF_COM, FILES, bac, make_card, pace_can
from tests.simulators.test_card_minihost import MiniSm

H = bytes.fromhex


def assert_session_gone(card: object, sm: MiniSm) -> None:
    from simulators.card.card import SimulatedCard

    assert isinstance(card, SimulatedCard)
    assert not card.secure_messaging_active
    # Access rights went with the session: a read now needs access control again.
    assert card.process(H("00B09E0004")) == H("6982")


def tampered(apdu: bytes, index: int) -> bytes:
    changed = bytearray(apdu)
    changed[index] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("establish", [bac, pace_can], ids=["3DES after BAC", "AES after PACE"])
def test_good_exchange_keeps_counters_in_step(establish: object) -> None:
    card = make_card()
    sm = establish(card)  # type: ignore[operator]
    for _ in range(3):
        assert sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001")))) == (b"", 0x9000)
        assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=0x16))) == (EF_COM, 0x9000)
    session = card.session
    assert session is not None and session.ssc == sm.ssc


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda apdu: tampered(apdu, -2), H("6988")),  # last MAC byte
        (lambda apdu: tampered(apdu, 0), H("6988")),  # CLA is authenticated
        (lambda apdu: tampered(apdu, 3), H("6988")),  # P2 is authenticated
        (lambda apdu: apdu[:4] + bytes([apdu[4] - 10]) + apdu[5:-11] + apdu[-1:], H("6987")),  # DO'8E' dropped
    ],
    ids=["MAC", "CLA", "P2", "no DO'8E'"],
)
def test_sm_errors_end_the_session(mutate: object, expected: bytes) -> None:
    card = make_card()
    sm = bac(card)
    apdu = sm.wrap(0xB0, 0x9E, 0x00, le=4)
    assert card.process(mutate(apdu)) == expected  # type: ignore[operator]
    assert_session_gone(card, sm)


def test_replayed_command_is_refused() -> None:
    card = make_card()
    sm = bac(card)
    apdu = sm.wrap(0xB0, 0x9E, 0x00, le=4)
    sm.unwrap(card.process(apdu))
    assert card.process(apdu) == H("6988")  # the SSC moved on
    assert_session_gone(card, sm)


def test_wrong_padding_indicator_is_refused() -> None:
    card = make_card()
    sm = bac(card)
    apdu = bytearray(sm.wrap(0xA4, 0x02, 0x0C, H("011E")))
    apdu[7] = 0x02  # DO'87' indicator byte
    # The MAC covers DO'87' too, so the MAC check already refuses it.
    assert card.process(bytes(apdu)) == H("6988")


def test_plain_apdu_ends_the_session() -> None:
    card = make_card()
    bac(card)
    assert card.secure_messaging_active
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")  # a plain SELECT is still answered
    assert not card.secure_messaging_active
    assert card.process(H("00B09E0004")) == H("6982")


def test_protected_apdu_without_session_is_refused() -> None:
    card = make_card()
    key = bytes(range(16))
    sm = MiniSm(bac(make_card()).suite, key, key[::-1], 0)
    assert card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4)) == H("6988")


def test_odd_instruction_uses_do85() -> None:
    card = make_card()
    sm = pace_can(card)
    sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001"))))
    command = sm.wrap(0xB1, 0x00, 0x02, tlv.encode(0x54, H("8000")), le=0x12)
    assert H("8510") in command  # the offset DO travels encrypted in DO'85'
    response = card.process(command)
    assert response[0] == 0x85  # and so does the answer
    assert sm.unwrap(response) == (H("5310") + FILES[0x0102][0x8000:0x8010], 0x9000)


def test_card_session_unwrap_rejects_long_le_object() -> None:
    card = make_card()
    sm = bac(card)
    session = card.session
    assert isinstance(session, CardSession)
    from agent.icao.apdu import CommandApdu

    # A DO'97' of three bytes, correctly MACed by a terminal that got it wrong.
    header = bytes([0x0C, 0xB0, 0x00, 0x00])
    objects = tlv.encode(0x97, H("000004"))
    ssc = (sm.ssc + 1).to_bytes(8, "big")
    from agent.icao.crypto import pad

    mac = sm.suite.mac(sm.ks_mac, pad(ssc + pad(header, 8) + objects, 8))
    with pytest.raises(SmError) as caught:
        session.unwrap(CommandApdu(0x0C, 0xB0, 0, 0, objects + tlv.encode(0x8E, mac), le=256))
    assert caught.value.sw == 0x6988


def test_wrapped_length_matches_wrap() -> None:
    key = bytes(range(16))
    session = CardSession(bac(make_card()).suite, key, key[::-1], 0)
    for ins in (0xB0, 0xB1):
        for size in (0, 1, 7, 8, 9, 100, 231, 232, 5000):
            assert len(session.wrap(ins, bytes(size), 0x9000)) - 2 == session.wrapped_length(ins, size)
    assert session.largest_plain_response(0xB0, 256) == 231
