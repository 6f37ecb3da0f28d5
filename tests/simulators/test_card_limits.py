"""A simulated card as stingy as a real one (issue 12, items 8, 9, 11): responses capped at the buffer
EF.ATR/INFO announces (2 KB unless a profile says otherwise), commands too; short EF identifiers
relative to the current DF, refused by a card without them; BAC after SELECT of the application or in
either order; and the lost responses a failed transfer leaves."""

from __future__ import annotations

import pytest

from agent.errors import TransferError
from agent.icao import tlv
from simulators.card.card import SimulatedCard
from simulators.card.faults import ResponseLostError
from simulators.card.image import CardBehaviour
from simulators.card.personalise import build_card_image
from simulators.card.profiles import PROFILES
from simulators.card.transport import InProcessTransport
from tests.simulators.test_card_fixtures import CARD_ACCESS, EF_COM, FILES, bac, make_card, pace_can
from tests.simulators.test_card_minihost import run_bac, seeded_rng, sw_of

H = bytes.fromhex
SELECT_APP = H("00A4040C07A0000002471001")


def extended_read(p1: int, p2: int, le: int) -> bytes:
    return bytes([0x00, 0xB0, p1, p2, 0x00]) + (le % 65536).to_bytes(2, "big")  # Le 0000 means 65536


# --- the response and command buffer ----------------------------------------------------------------


def test_the_default_card_caps_a_response_at_its_2_kb_buffer() -> None:
    assert CardBehaviour().max_response_apdu == 2048
    card = make_card()
    card.process(SELECT_APP)
    sm = pace_can(card)
    sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, SELECT_APP[5:])))
    # AES: 2015 plain bytes are 2016 padded, in DO'87' (4 + 2017) + DO'99' (4) + DO'8E' (10) = 2035 <= 2046
    data, sw = sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=2015, extended=True)))
    assert (sw, data) == (0x9000, FILES[0x0102][:2015])
    # one more cipher block would not fit 2046 bytes of response data: refused, the session goes on
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=2016, extended=True))) == (b"", 0x6700)
    assert card.secure_messaging_active


def test_a_plain_extended_read_is_capped_too_but_a_small_file_answers_what_it_has() -> None:
    card = make_card()
    response = card.process(extended_read(0x9C, 0, 65536))  # EF.CardAccess by SFI: 22 bytes
    assert response == CARD_ACCESS + H("6282")
    cap = make_card(behaviour_max_response_apdu=258, files={**FILES, 0x011C: bytes(300)})
    assert sw_of(cap.process(extended_read(0x9C, 0, 300))) == 0x6700  # 300 > the 256-byte buffer


def test_an_extended_command_longer_than_the_card_takes_is_refused() -> None:
    card = make_card(behaviour_max_command_apdu=300)
    long_select = bytes([0x00, 0xA4, 0x04, 0x0C, 0x00, 0x01, 0x2C]) + bytes(300)
    assert sw_of(card.process(long_select)) == 0x6700


def test_the_generous_profile_answers_all_of_dg2_in_one_response() -> None:
    behaviour = PROFILES["generous"].behaviour
    assert behaviour.max_response_apdu == 65538 and not behaviour.atr_info
    card = make_card(behaviour_max_response_apdu=behaviour.max_response_apdu)
    sm = bac(card)
    data, sw = sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=65536, extended=True)))
    assert (sw, data) == (0x6282, FILES[0x0102])


# --- EF.ATR/INFO -------------------------------------------------------------------------------------


def atr_info_objects(data: bytes) -> dict[int, bytes]:
    return {item.tag: item.value for item in tlv.decode_all(data)}


@pytest.mark.parametrize("profile", ["normal", "no-extended-length", "pace-im"])
def test_ef_atr_info_announces_the_cards_limits(profile: str) -> None:
    image = build_card_image(profile)
    behaviour = image.behaviour
    card = SimulatedCard(image)
    card.power_on()
    assert sw_of(card.process(H("00A4020C022F01"))) == 0x9000  # in the MF, public before access control
    answer = card.process(H("00B0000000"))
    assert answer[-2:] == H("6282") and answer[:-2] == image.files[0x2F01]
    objects = atr_info_objects(answer[:-2])
    capabilities = objects[0x47]
    assert len(capabilities) == 3
    assert bool(capabilities[0] & 0x04) is behaviour.supports_sfi  # short EF identifier supported
    assert bool(capabilities[2] & 0x40) is behaviour.supports_extended_length  # extended Lc and Le
    if behaviour.supports_extended_length:
        numbers = tlv.decode_all(objects[0x7F66])
        assert [item.tag for item in numbers] == [0x02, 0x02]
        assert int.from_bytes(numbers[0].value, "big") == behaviour.max_command_apdu == 2048
        assert int.from_bytes(numbers[1].value, "big") == behaviour.max_response_apdu == 2048
    else:
        assert 0x7F66 not in objects


@pytest.mark.parametrize("profile", ["generous", "legacy-3des", "no-sfi"])
def test_older_and_generous_cards_have_no_ef_atr_info(profile: str) -> None:
    card = SimulatedCard(build_card_image(profile))
    card.power_on()
    assert sw_of(card.process(H("00A4020C022F01"))) == 0x6A82


def test_every_default_cccd_profile_is_stingy() -> None:
    stingy = [name for name, profile in PROFILES.items()
              if profile.kind == "cccd" and profile.behaviour.max_response_apdu <= 2048]  # fmt: skip
    generous = [name for name, profile in PROFILES.items() if profile.behaviour.max_response_apdu > 2048]
    assert generous == ["generous"]
    assert "normal" in stingy


# --- short EF identifiers ----------------------------------------------------------------------------


def test_a_short_ef_identifier_is_relative_to_the_current_df() -> None:
    card = make_card(files={**FILES, 0x2F00: H("61094F07A0000002471001")})
    assert card.process(H("00B09C0016")) == CARD_ACCESS + H("9000")  # 1C in the MF: EF.CardAccess
    assert card.process(H("00B09E0000"))[-2:] == H("6282")  # 1E in the MF: EF.DIR
    assert sw_of(card.process(H("00B0810004"))) == 0x6A82  # 01 in the MF: no DG1 there
    sm = bac(card)  # selects the eMRTD application
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)  # 1E: EF.COM
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9C, 0x00, le=4))) == (b"", 0x6A82)  # 1C: not in the application
    # the file read by SFI is now the current EF: the next READ BINARY goes on in it
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x81, 0x00, le=4))) == (FILES[0x0101][:4], 0x9000)
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x00, 0x04, le=4))) == (FILES[0x0101][4:8], 0x9000)


def test_a_card_without_short_ef_identifiers_refuses_them() -> None:
    card = make_card(behaviour_supports_sfi=False)
    assert sw_of(card.process(H("00B09C0016"))) == 0x6A86
    assert sw_of(card.process(H("00B1001C03540100" + "10"))) == 0x6A86  # odd READ BINARY with an SFI
    assert card.process(H("00A4020C02011C")) == H("9000")  # selection by file identifier still works
    assert card.process(H("00B0000016")) == CARD_ACCESS + H("9000")
    assert PROFILES["no-sfi"].behaviour.supports_sfi is False


# --- the order of SELECT and BAC ----------------------------------------------------------------------


def test_bac_before_select_is_refused_by_a_card_that_wants_the_application_first() -> None:
    card = make_card(behaviour_bac_needs_application=True)
    with pytest.raises(AssertionError, match="6985"):
        run_bac(card, card.image.mrz_information, seeded_rng(5), select_first=False)
    sm = run_bac(card, card.image.mrz_information, seeded_rng(6))  # and works after the SELECT
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)


def test_bac_in_either_order_on_a_card_that_accepts_it() -> None:
    card = make_card(behaviour_bac_needs_application=False)
    sm = run_bac(card, card.image.mrz_information, seeded_rng(5), select_first=False)
    # the session was opened in the MF: the application is selected under secure messaging
    assert sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, SELECT_APP[5:]))) == (b"", 0x9000)
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)
    assert PROFILES["bac-any-order"].behaviour.bac_needs_application is False
    assert PROFILES["bac-after-select"].behaviour.bac_needs_application is True


# --- lost responses -------------------------------------------------------------------------------------


def test_a_lost_response_was_executed_by_the_card() -> None:
    card = make_card()
    sm = bac(card)
    card.faults.lose_next_response = True
    with pytest.raises(ResponseLostError):
        card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))
    # the card counted the command: the host's next command, under the counter it believes, fails
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4)))[1] in (0x6987, 0x6988)


def test_lose_response_after_counts_the_answered_apdus() -> None:
    card = make_card()
    card.faults.lose_response_after_apdus = 2
    card.process(H("00A4000C023F00"))
    card.process(H("00A4000C023F00"))
    with pytest.raises(ResponseLostError):
        card.process(H("00A4000C023F00"))
    assert card.process(H("00A4000C023F00")) == H("9000")  # one-shot
    assert card.apdu_count == 4


def test_the_in_process_reader_fails_what_its_buffer_cannot_take() -> None:
    card = make_card(files={**FILES, 0x011C: bytes(range(200))})
    reader = InProcessTransport(card, receive_limit=100)
    assert reader.transmit(H("00B09C0050")).data == bytes(range(80))  # 82 bytes: fits
    with pytest.raises(TransferError, match="100-byte buffer"):
        reader.transmit(H("00B09C00C8"))  # 202 bytes do not
    assert reader.transfer_failures == 1
    assert card.apdu_count == 2  # the card answered both
    card.faults.lose_next_response = True
    with pytest.raises(TransferError, match="lost"):
        reader.transmit(H("00B09C0010"))
    assert reader.transfer_failures == 2 and card.apdu_count == 3
