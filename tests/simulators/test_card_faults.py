"""Faults injected into the simulated card (removal after N APDUs, corrupted MACs, a chosen SW on a
chosen command, delays) and the in-process transport that turns a removal into CardRemovedError."""

from __future__ import annotations

import pytest

from agent.errors import CardRemovedError, TransportError
from agent.icao.apdu import ResponseApdu
from simulators.card.faults import CardGoneError, Faults
from simulators.card.transport import InProcessTransport
from tests.simulators.test_card_fixtures import EF_COM, bac, make_card
from tests.simulators.test_card_minihost import MiniSm, run_bac, seeded_rng

H = bytes.fromhex


def test_removed_after_n_apdus() -> None:
    card = make_card()
    card.faults.remove_after_apdus = 2
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")
    assert card.process(H("0084000008"))[-2:] == H("9000")
    with pytest.raises(CardGoneError):
        card.process(H("0084000008"))
    assert not card.present
    with pytest.raises(CardGoneError):
        card.process(H("0084000008"))
    with pytest.raises(CardGoneError):
        card.power_on()
    card.insert()  # the fault was consumed: the card works again, from its initial state
    assert card.present
    assert card.process(H("0084000008"))[-2:] == H("9000")


def test_removal_drops_the_session() -> None:
    card = make_card()
    bac(card)
    card.remove()
    card.insert()
    assert not card.secure_messaging_active
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")
    assert card.process(H("00B09E0004")) == H("6982")


def test_faults_can_change_while_running() -> None:
    faults = Faults()
    card = make_card()
    card.faults = faults
    assert card.process(H("0084000008"))[-2:] == H("9000")
    faults.remove_after_apdus = 0
    with pytest.raises(CardGoneError):
        card.process(H("0084000008"))


def test_transport_reports_card_removed() -> None:
    card = make_card()
    transport = InProcessTransport(card)
    assert transport.atr == card.image.atr
    card.faults.remove_after_apdus = 1
    assert transport.transmit(H("00A4040C07A0000002471001")) == ResponseApdu(b"", 0x9000)
    with pytest.raises(CardRemovedError):
        transport.transmit(H("0084000008"))
    assert transport.apdu_count == 1 and transport.bytes_sent == 12 and transport.bytes_received == 2


def test_transport_needs_a_card_and_an_open_connection() -> None:
    card = make_card()
    card.remove()
    with pytest.raises(CardRemovedError):
        InProcessTransport(card)
    card.insert()
    transport = InProcessTransport(card)
    transport.close()
    with pytest.raises(TransportError):
        transport.transmit(H("0084000008"))


@pytest.mark.parametrize("every", [False, True])
def test_corrupted_response_mac(every: bool) -> None:
    card = make_card()
    sm = bac(card)
    if every:
        card.faults.corrupt_every_mac = True
    else:
        card.faults.corrupt_next_mac = True
    with pytest.raises(AssertionError, match="MAC"):
        sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4)))
    second = card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))
    if every:
        with pytest.raises(AssertionError, match="MAC"):
            sm.unwrap(second)
    else:
        assert sm.unwrap(second) == (EF_COM[:4], 0x9000)


def test_mac_corruption_waits_for_a_protected_response() -> None:
    card = make_card()
    card.faults.corrupt_next_mac = True
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")  # plain: nothing to corrupt
    sm = run_bac(card, card.image.mrz_information, seeded_rng(5))
    with pytest.raises(AssertionError, match="MAC"):
        sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4)))


def test_injected_status_word_plain_and_protected() -> None:
    card = make_card()
    injection = card.faults.inject(0x6A82, ins=0xB0, times=2)
    assert card.process(H("00B09C0016")) == H("6A82")
    sm = bac(card)  # the injection matches READ BINARY only
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (b"", 0x6A82)  # protected DO'99'
    assert injection.times == 0
    assert sm.unwrap(card.process(sm.wrap(0xB0, 0x9E, 0x00, le=4))) == (EF_COM[:4], 0x9000)


def test_injection_matches_header_and_can_be_permanent() -> None:
    card = make_card()
    card.faults.inject(0x6D00, ins=0xA4, p1=0x00, p2=0x0C, times=None)
    for _ in range(3):
        assert card.process(H("00A4000C023F00")) == H("6D00")
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")  # P1 04 does not match


def test_injection_during_bac_fails_the_handshake() -> None:
    card = make_card()
    card.faults.inject(0x6300, ins=0x82)
    with pytest.raises(AssertionError):
        run_bac(card, card.image.mrz_information, seeded_rng(3))
    assert not card.secure_messaging_active


def test_delay_is_applied_before_each_answer() -> None:
    slept: list[float] = []
    card = make_card()
    card._sleep = slept.append  # the card's sleep is injectable for exactly this
    card.faults.delay_s = 0.25
    card.process(H("0084000008"))
    card.process(H("0084000008"))
    assert slept == [0.25, 0.25]


class _ViaTransport:
    """Lets the mini host (which calls ``card.process``) talk through a transport instead."""

    def __init__(self, transport: InProcessTransport) -> None:
        self.transport = transport
        self.image = transport.card.image

    def process(self, apdu: bytes) -> bytes:
        response = self.transport.transmit(apdu)
        return response.data + response.sw.to_bytes(2, "big")


def _full_bac_read(transport: InProcessTransport) -> bytes:
    """A small read through the transport: BAC, then EF.COM and DG1 through secure messaging."""
    card = _ViaTransport(transport)
    sm: MiniSm = run_bac(card, card.image.mrz_information, seeded_rng(11))  # type: ignore[arg-type]
    out = b""
    for sfi, length in ((0x9E, 0x16), (0x81, 0x5F)):
        data, sw = sm.unwrap(card.process(sm.wrap(0xB0, sfi, 0x00, le=length)))
        assert sw == 0x9000
        out += data
    return out


def test_tearing_sweep_over_a_bac_read() -> None:
    """The card leaves after each APDU in turn: every position is a CardRemovedError, and the card
    read afterwards (re-inserted) gives the full answer."""
    card = make_card()
    reference = _full_bac_read(InProcessTransport(card))
    total = card.apdu_count
    assert total == 5  # SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE and two protected reads
    for position in range(total):
        card = make_card()
        card.faults.remove_after_apdus = position
        with pytest.raises(CardRemovedError):
            _full_bac_read(InProcessTransport(card))
        assert card.apdu_count == position
        card.insert()
        assert _full_bac_read(InProcessTransport(card)) == reference
