"""An in-process :class:`Transport` over a :class:`~simulators.card.card.SimulatedCard`: the host
code talks to the simulated chip exactly as it talks to a PC/SC reader (``transmit`` raw bytes, get an
:class:`~agent.icao.apdu.ResponseApdu`), without pcscd, for unit and integration tests.

A card that leaves the field (removed, or a removal fault) surfaces as
:class:`agent.errors.CardRemovedError`, the host-facing error of a torn read.
"""

from __future__ import annotations

from agent.errors import CardRemovedError, TransportError
from agent.icao.apdu import ResponseApdu
from simulators.card.card import SimulatedCard
from simulators.card.faults import CardGoneError


class InProcessTransport:
    """Transport (docs/architecture.md "Key types") to a simulated card in the same process."""

    def __init__(self, card: SimulatedCard) -> None:
        self.card = card
        self.closed = False
        self.apdu_count = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        try:
            self.atr = card.power_on()
        except CardGoneError as exc:
            raise CardRemovedError("no card on the simulated reader") from exc

    def transmit(self, apdu: bytes) -> ResponseApdu:
        if self.closed:
            raise TransportError("the simulated reader connection is closed")
        try:
            raw = self.card.process(bytes(apdu))
        except CardGoneError as exc:
            raise CardRemovedError("the card left the simulated reader") from exc
        self.apdu_count += 1
        self.bytes_sent += len(apdu)
        self.bytes_received += len(raw)
        return ResponseApdu.decode(raw)

    @property
    def link_estimate_ms(self) -> float:
        return self.card.link_estimate_ms

    def close(self) -> None:
        self.closed = True
