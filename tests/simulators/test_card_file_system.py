"""Status words of the simulated card's file system and access rules (ISO/IEC 7816-4 §11, Doc 9303-10
§3, Doc 9303-11 §4.2-4.4), before access control (plain APDUs) and after it (through secure messaging),
plus the length rules: short and extended length, the behaviour's maximum Le, 6282 / 6Cxx / 6B00."""

from __future__ import annotations

import pytest

from simulators.card.card import SimulatedCard
from tests.simulators.test_card_fixtures import CARD_ACCESS, EF_COM, FILES, bac, make_card, pace_can
from tests.simulators.test_card_minihost import sw_of

H = bytes.fromhex
SELECT_APP = "00A4040C07A0000002471001"
SELECT_CARD_ACCESS = "00A4020C02011C"
SELECT_COM = "00A4020C02011E"


def run_plain(card: SimulatedCard, *apdus: str) -> bytes:
    response = b""
    for apdu in apdus:
        response = card.process(H(apdu))
    return response


# (description, card changes, APDUs sent in order (the last one is checked), expected SW)
PLAIN_CASES = [
    ("select eMRTD application", {}, [SELECT_APP], 0x9000),
    ("select unknown application", {}, ["00A4040C07A0000002471002"], 0x6A82),
    ("select MF", {}, ["00A4000C023F00"], 0x9000),
    ("select MF, no data", {}, ["00A4000C"], 0x9000),
    ("select MF refused by profile", {"behaviour_select_mf_answer": 0x6D00}, ["00A4000C023F00"], 0x6D00),
    ("select EF.CardAccess in MF", {}, [SELECT_CARD_ACCESS], 0x9000),
    ("read EF.CardAccess before access control", {}, [SELECT_CARD_ACCESS, "00B0000016"], 0x9000),
    ("read EF.CardAccess by short EF identifier", {}, ["00B09C0016"], 0x9000),
    ("EF.CardAccess needs access control on this card", {"behaviour_card_access_needs_auth": True},
     [SELECT_CARD_ACCESS, "00B0000000"], 0x6982),
    ("EF.CardAccess is not in the eMRTD application", {}, [SELECT_APP, SELECT_CARD_ACCESS], 0x6A82),
    ("PACE card refuses selecting EF.COM before access control", {}, [SELECT_APP, SELECT_COM], 0x6982),
    ("BAC-only card selects EF.COM before access control", {"pace": ()}, [SELECT_APP, SELECT_COM], 0x9000),
    ("BAC-only card refuses reading EF.COM before access control", {"pace": ()},
     [SELECT_APP, SELECT_COM, "00B0000004"], 0x6982),
    ("read by SFI before access control", {}, [SELECT_APP, "00B09E0004"], 0x6982),
    ("absent DG11", {}, [SELECT_APP, "00A4020C02010B"], 0x6A82),
    ("PACE card refuses selecting DG3 before access control", {}, [SELECT_APP, "00A4020C020103"], 0x6982),
    ("BAC-only card: DG3 selectable, never readable", {"pace": ()},
     [SELECT_APP, "00A4020C020103", "00B0000004"], 0x6982),
    ("READ BINARY without a current EF", {}, [SELECT_APP, "00B0000004"], 0x6986),
    ("READ BINARY without Le", {}, [SELECT_CARD_ACCESS, "00B00000"], 0x6700),
    ("SELECT with unsupported P1", {}, ["00A4010C020101"], 0x6A86),
    ("SELECT with unsupported P2", {}, ["00A4020802011C"], 0x6A86),
    ("SELECT EF with a 3-byte FID", {}, ["00A4020C03011C00"], 0x6A87),
    ("SFI read with bad P1 bits", {}, ["00B0DC0004"], 0x6A86),
    ("unknown instruction", {}, ["00CA010100"], 0x6D00),
    ("proprietary class", {}, ["80A4040C07A0000002471001"], 0x6E00),
    ("chained SELECT", {}, ["10A4040C07A0000002471001"], 0x6884),
    ("malformed APDU (Lc too long)", {}, ["00A4040C09A000000247"], 0x6700),
    ("extended APDU on a short-only card", {"behaviour_supports_extended_length": False},
     ["00B00000000100"], 0x6700),
    ("GET CHALLENGE", {}, ["0084000008"], 0x9000),
    ("GET CHALLENGE wrong Le", {}, ["0084000004"], 0x6700),
    ("GET CHALLENGE on a card without BAC", {"behaviour_supports_bac": False}, ["0084000008"], 0x6D00),
    ("EXTERNAL AUTHENTICATE outside the eMRTD application", {},
     ["0084000008", "0082000028" + "00" * 40 + "28"], 0x6985),
    ("EXTERNAL AUTHENTICATE without challenge", {}, [SELECT_APP, "0082000028" + "00" * 40 + "28"], 0x6985),
    ("INTERNAL AUTHENTICATE on a card without an AA key", {}, ["00880000080102030405060708" + "00"], 0x6D00),
    ("Chip Authentication before access control", {}, ["0022 41A6 03 910100".replace(" ", "")], 0x6982),
    ("GENERAL AUTHENTICATE without MSE:Set AT", {}, ["10860000027C0000"], 0x6985),
    ("MSE with unknown P1P2", {}, ["002281B6038301AA"], 0x6A86),
]


@pytest.mark.parametrize(("description", "changes", "apdus", "expected"), PLAIN_CASES,
                         ids=[case[0] for case in PLAIN_CASES])
def test_status_words_before_access_control(description: str, changes: dict[str, object], apdus: list[str],
                                            expected: int) -> None:
    card = make_card(**changes)
    assert sw_of(run_plain(card, *apdus)) == expected


def test_read_ef_card_access_plain() -> None:
    card = make_card()
    assert run_plain(card, SELECT_CARD_ACCESS, "00B0000000") == CARD_ACCESS + H("6282")  # Le 256 > 22 bytes
    assert run_plain(card, "00B0000016") == CARD_ACCESS + H("9000")


# (description, card changes, plain APDUs sent through secure messaging after BAC, expected SW, data)
PROTECTED_CASES = [
    ("read EF.COM", {}, [SELECT_COM, "00B0000016"], 0x9000, EF_COM),
    ("read by SFI", {}, ["00B09E0004"], 0x9000, EF_COM[:4]),
    ("read past the end: fewer bytes than Le", {}, [SELECT_COM, "00B0001020"], 0x6282, EF_COM[0x10:]),
    ("read past the end: 6Cxx on this card", {"behaviour_answer_6cxx_on_wrong_le": True},
     [SELECT_COM, "00B0001020"], 0x6C06, b""),
    ("offset at the end", {}, [SELECT_COM, "00B0001601"], 0x6B00, b""),
    ("offset beyond the end", {}, [SELECT_COM, "00B0010001"], 0x6B00, b""),
    ("DG3 protected by EAC", {}, ["00A4020C020103", "00B0000004"], 0x6982, b""),
    ("absent DG11", {}, ["00A4020C02010B"], 0x6A82, b""),
    ("read above the card's maximum Le", {"behaviour_max_le": 0xDF}, ["00A4020C020102", "00B00000E0"],
     0x6700, b""),
    ("6Cxx above the card's maximum Le", {"behaviour_max_le": 0xDF, "behaviour_answer_6cxx_on_wrong_le": True},
     ["00A4020C020102", "00B00000E0"], 0x6CDF, b""),
    ("3DES short read of 231 bytes fits", {}, ["00A4020C020102", "00B00000E7"], 0x9000, FILES[0x0102][:0xE7]),
    ("3DES short read of 232 bytes does not fit", {}, ["00A4020C020102", "00B00000E8"], 0x6700, b""),
    ("odd READ BINARY beyond offset 32767", {}, ["00A4020C020102", "00B1000005540300800010"], 0x9000,
     H("530E") + FILES[0x0102][0x8000:0x800E]),  # Le counts the DO'53' header too
    ("odd READ BINARY past the end", {}, ["00A4020C020102", "00B10000055403009C2820"], 0x6282,
     H("5318") + FILES[0x0102][40_000 - 24:]),
    ("odd READ BINARY offset beyond the end", {}, ["00A4020C020102", "00B1000005540300FFFF10"], 0x6B00, b""),
    ("odd READ BINARY without DO'54'", {}, ["00A4020C020102", "00B1000005530300000010"], 0x6A80, b""),
    ("SELECT EF.COM with FCP", {}, ["00A40200" + "02011E" + "00"], 0x9000, H("620B80020016820101830201" + "1E")),
    ("INTERNAL AUTHENTICATE without a key", {}, ["00880000080102030405060708" + "00"], 0x6D00, b""),
]


@pytest.mark.parametrize(("description", "changes", "apdus", "expected_sw", "expected_data"), PROTECTED_CASES,
                         ids=[case[0] for case in PROTECTED_CASES])
def test_status_words_after_bac(description: str, changes: dict[str, object], apdus: list[str],
                                expected_sw: int, expected_data: bytes) -> None:
    card = make_card(**changes)
    sm = bac(card)
    data, sw = b"", 0
    for apdu in apdus:
        raw = H(apdu)
        body = raw[5:5 + raw[4]] if len(raw) > 5 else b""
        le = raw[-1] or 256 if len(raw) in (5, 6 + raw[4]) else None
        data, sw = sm.unwrap(card.process(sm.wrap(raw[1], raw[2], raw[3], body, le)))
    assert (sw, data) == (expected_sw, expected_data)
    assert card.secure_messaging_active  # ordinary errors do not end the session


def test_errors_under_sm_can_be_bare_status_words() -> None:
    card = make_card(behaviour_plain_sw_on_error=True)
    sm = bac(card)
    response = card.process(sm.wrap(0xA4, 0x02, 0x0C, H("010B")))
    assert response == H("6A82")
    assert card.secure_messaging_active
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)


@pytest.mark.parametrize("extended_supported", [True, False])
def test_extended_length_read_under_aes_secure_messaging(extended_supported: bool) -> None:
    # the generous card of the "generous" profile: one response carries the whole file
    card = make_card(behaviour_supports_extended_length=extended_supported, behaviour_max_response_apdu=65538)
    sm = pace_can(card)
    assert sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001")))) == (b"", 0x9000)
    response = card.process(sm.wrap(0xB0, 0x82, 0x00, le=65536, extended=True))  # SFI 2 = DG2, offset 0
    if not extended_supported:
        assert response == H("6700")
        return
    data, sw = sm.unwrap(response)
    assert (sw, data) == (0x6282, FILES[0x0102])  # the whole 40 000-byte file, fewer than Le


def test_aes_short_read_limit_is_223_bytes() -> None:
    card = make_card()
    sm = pace_can(card)
    sm.unwrap(card.process(sm.wrap(0xA4, 0x04, 0x0C, H("A0000002471001"))))
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=0xDF))) == (FILES[0x0102][:0xDF], 0x9000)
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=0xE0))) == (b"", 0x6700)
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x82, 0x00, le=256))) == (b"", 0x6700)


def test_extra_plain_application_ndef_tag() -> None:
    from simulators.card.image import AID_NDEF_TAG, ExtraApplication

    ndef = ExtraApplication(AID_NDEF_TAG, {0xE103: H("000F20003B00340406E10400FF0000"), 0xE104: H("0003D10101")})
    card = make_card(applications=(ndef,), emrtd_application=False)
    assert sw_of(card.process(H(SELECT_APP))) == 0x6A82
    assert card.process(H("00A4040007D276000085010100")) == H("9000")
    assert card.process(H("00A4000C02E103")) == H("9000")
    assert card.process(H("00B000000F")) == H("000F20003B00340406E10400FF0000") + H("9000")
    assert card.process(H("00A4000C02E104")) + card.process(H("00B0000005")) == H("9000") + H("0003D10101") + H(
        "9000")
