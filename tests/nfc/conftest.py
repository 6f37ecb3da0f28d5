"""Fixtures of the agent.nfc tests: the shared real-PC/SC fixtures of tests.pcsc_env, and
``insert_card``, which puts a test-only card (tests/nfc/fake_vpcd_card.py) on a vpcd reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import tests.conftest as root_conftest
from tests.nfc.fake_vpcd_card import DEFAULT_ATR, Responder, VpcdCard
from tests.pcsc_env import PcscEnvironment, VpcdSlot

# Until tests/conftest.py loads the plugin for the whole suite (pytest_plugins = ["tests.pcsc_env"]),
# take its fixtures from here; pytest forbids pytest_plugins in a nested conftest.
if "tests.pcsc_env" not in getattr(root_conftest, "pytest_plugins", ()):
    from tests.pcsc_env import pcsc_env, vpcd_slot  # noqa: F401

InsertCard = Callable[..., VpcdCard]


@pytest.fixture
def insert_card(pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot) -> Iterator[InsertCard]:
    """``insert_card(respond, *, atr=..., drop_on_apdu=None, wait=True)``: connect a card process
    to the first vpcd slot and (by default) wait until pcscd shows it. Every card is removed after
    the test, and the slot waited empty, before the next test starts."""
    cards: list[VpcdCard] = []

    def insert(
        respond: Responder, *, atr: bytes = DEFAULT_ATR, drop_on_apdu: int | None = None, wait: bool = True
    ) -> VpcdCard:
        card = VpcdCard(vpcd_slot.port, respond, host=vpcd_slot.host, atr=atr, drop_on_apdu=drop_on_apdu)
        cards.append(card.insert())
        if wait:
            pcsc_env.wait_for_card(vpcd_slot.reader, present=True)
        return card

    yield insert
    for card in cards:
        card.remove()
