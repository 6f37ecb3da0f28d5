"""The composition root's chip reader: what a reader has shown it can take is kept per reader."""

from __future__ import annotations

from typing import Any

from agent.app import bind_chip_reader
from agent.icao.files import ReadLimits
from agent.settings import load_settings


class FakeTransport:
    def __init__(self, reader: str, *, extended: bool = True) -> None:
        self.reader = reader
        self.extended_length_possible = extended


def test_read_limits_are_kept_per_reader_and_follow_the_setting() -> None:
    seen: list[ReadLimits] = []

    def fake_read_chip(transport: Any, **kwargs: Any) -> None:
        seen.append(kwargs["limits"])

    read = bind_chip_reader(fake_read_chip, load_settings(environ={}), trust_store=None)
    read(FakeTransport("ACS ACR1252 PICC"))
    seen[0].extended_ok = False  # the first read learned that extended length does not get through
    read(FakeTransport("ACS ACR1252 PICC"))
    read(FakeTransport("Other reader"))
    read(FakeTransport("T=0 reader", extended=False))
    assert seen[1] is seen[0] and seen[1].extended_ok is False
    assert seen[2] is not seen[0] and seen[2].extended_ok is None  # "auto": to be learned
    assert seen[3].extended_ok is False

    never = bind_chip_reader(
        fake_read_chip, load_settings(environ={"CCCD_AGENT__READER__EXTENDED_LENGTH": "never"}), trust_store=None
    )
    never(FakeTransport("ACS ACR1252 PICC"))
    assert seen[-1].extended_ok is False
