"""Card images and helpers shared by the simulated card's tests (contents are arbitrary bytes: the card serves
files, it does not parse them)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from simulators.card.card import SimulatedCard
from simulators.card.image import CardBehaviour, CardImage, ChipAuthKey, PaceSetup
from tests.simulators.test_card_minihost import MiniSm, run_bac, run_pace, seeded_rng

MRZ_INFORMATION = "C03005988790010113001019"  # document C03005988, born 900101, expires 300101
CAN = "123456"
OID_PACE_ECDH_GM_AES128 = "0.4.0.127.0.7.2.2.4.2.2"
CARD_ACCESS = bytes.fromhex("31143012060A04007F0007020204020202010202010D")
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


def _blob(label: str, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


FILES = {
    0x011C: CARD_ACCESS,
    0x011E: EF_COM,
    0x011D: _blob("sod", 1500),
    0x0101: _blob("dg1", 95),
    0x0102: _blob("dg2", 40_000),  # beyond 32 767: offsets there need READ BINARY B1
    0x0103: _blob("dg3", 300),
    0x010D: _blob("dg13", 700),
    0x010E: _blob("dg14", 400),
    0x010F: _blob("dg15", 300),
}


def make_image(**changes: object) -> CardImage:
    """A CCCD-like image: PACE (ECDH-GM-AES-128, brainpoolP256r1) and BAC; ``behaviour_*`` keys
    change the behaviour, other keys the image."""
    prefix = "behaviour_"
    behaviour_changes = {key[len(prefix):]: value for key, value in changes.items() if key.startswith(prefix)}
    image_changes = {key: value for key, value in changes.items() if not key.startswith(prefix)}
    image = CardImage(
        files=dict(FILES),
        mrz_information=MRZ_INFORMATION,
        can=CAN,
        pace=(PaceSetup(OID_PACE_ECDH_GM_AES128, 13),),
        chip_auth=ChipAuthKey("0.4.0.127.0.7.2.2.3.2.2", 13, 0x1234567890ABCDEF1234567890ABCDEF),
        behaviour=dataclasses.replace(CardBehaviour(), **behaviour_changes),  # type: ignore[arg-type]
    )
    return dataclasses.replace(image, **image_changes)  # type: ignore[arg-type]


def make_card(**changes: Any) -> SimulatedCard:
    """A card of :func:`make_image` with a seeded random source (``seed``, default 1)."""
    seed = int(changes.pop("seed", 1))
    return SimulatedCard(make_image(**changes), rng=seeded_rng(seed))


def bac(card: SimulatedCard, seed: int = 99) -> MiniSm:
    return run_bac(card, card.image.mrz_information, seeded_rng(seed))


def pace_can(card: SimulatedCard, seed: int = 98) -> MiniSm:
    setup = card.image.pace[0]
    return run_pace(card, setup.protocol_oid, setup.parameter_id, 0x02, card.image.can.encode(), seeded_rng(seed))
