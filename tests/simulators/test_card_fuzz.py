"""Whatever bytes a terminal sends, the simulated card answers with a status word (and never raises):
random APDUs in every state (plain, after BAC, during PACE), random protected APDUs with a correct MAC,
and random GENERAL AUTHENTICATE / MSE payloads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulators.card.card import SimulatedCard
from tests.simulators.test_card_fixtures import bac, make_card
from tests.simulators.test_card_minihost import seeded_rng

INSTRUCTIONS = st.sampled_from([0xA4, 0xB0, 0xB1, 0x84, 0x82, 0x22, 0x86, 0x88, 0xCA, 0xC0])


def answered(card: SimulatedCard, apdu: bytes) -> bytes:
    response = card.process(apdu)
    assert len(response) >= 2
    return response


@given(st.binary(max_size=300))
def test_random_bytes_get_a_status_word(raw: bytes) -> None:
    card = make_card()
    answered(card, raw)
    answered(card, bytes.fromhex("00A4040C07A0000002471001"))  # and the card still works afterwards


@given(st.sampled_from([0x00, 0x10, 0x0C]), INSTRUCTIONS, st.integers(0, 255), st.integers(0, 255),
       st.binary(max_size=270), st.one_of(st.none(), st.integers(1, 65536)))
def test_structured_apdus_get_a_status_word(cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> None:
    from agent.icao.apdu import CommandApdu

    card = make_card()
    answered(card, CommandApdu(cla, ins, p1, p2, data, le).encode())


@given(INSTRUCTIONS, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300),
       st.one_of(st.none(), st.integers(1, 256)))
def test_protected_apdus_with_good_mac_get_an_answer(ins: int, p1: int, p2: int, data: bytes, le: int | None) -> None:
    card = make_card(active_auth_private_key_der=None)
    sm = bac(card)
    response = answered(card, sm.wrap(ins, p1, p2, data, le, extended=len(data) > 200))
    if len(response) > 2:
        sm.unwrap(response)  # protected answers verify


@given(st.binary(max_size=200), st.binary(max_size=200), st.booleans())
def test_pace_payloads_get_a_status_word(first: bytes, second: bytes, wrap: bool) -> None:
    card = SimulatedCard(make_card().image, rng=seeded_rng(3))
    answered(card, bytes.fromhex("0022C1A40F800A04007F00070202040202830102"))
    answered(card, bytes.fromhex("10860000027C0000"))
    for payload in (first, second):
        body = (b"\x7C" + bytes([len(payload)]) + payload) if wrap and len(payload) < 128 else payload
        apdu = bytes([0x10, 0x86, 0, 0, len(body)]) + body + b"\x00" if 0 < len(body) < 256 else b"\x10\x86\0\0"
        answered(card, apdu)
