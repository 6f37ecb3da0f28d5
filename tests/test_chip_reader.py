"""The desk's chip reader (agent.chip.ConfiguredChipReader): what a reader has shown it can take is kept
per reader name, and follows the ``reader.extended_length`` setting."""

from __future__ import annotations

from agent.chip import ConfiguredChipReader
from agent.icao.apdu import ResponseApdu
from agent.icao.trust import TrustStore
from agent.settings import load_settings


class FakeConnection:
    def __init__(self, reader: str, *, extended: bool = True) -> None:
        self.reader = reader
        self.extended_length_possible = extended

    def transmit(self, apdu: bytes) -> ResponseApdu:
        raise AssertionError("not read")

    def link_estimate_ms(self) -> float | None:
        return None

    def close(self) -> None:
        pass


def test_read_limits_are_kept_per_reader_and_follow_the_setting() -> None:
    reader = ConfiguredChipReader(load_settings(environ={}), TrustStore())
    seen = [reader.limits_for(FakeConnection("ACS ACR1252 PICC"))]
    seen[0].extended_ok = False  # the first read learned that extended length does not get through
    seen.append(reader.limits_for(FakeConnection("ACS ACR1252 PICC")))
    seen.append(reader.limits_for(FakeConnection("Other reader")))
    seen.append(reader.limits_for(FakeConnection("T=0 reader", extended=False)))
    assert seen[1] is seen[0] and seen[1].extended_ok is False
    assert seen[2] is not seen[0] and seen[2].extended_ok is None  # "auto": to be learned
    assert seen[3].extended_ok is False

    never = ConfiguredChipReader(load_settings(environ={"CCCD_AGENT__READER__EXTENDED_LENGTH": "never"}), TrustStore())
    assert never.limits_for(FakeConnection("ACS ACR1252 PICC")).extended_ok is False
