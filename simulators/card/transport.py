"""An in-process :class:`Transport` over a :class:`~simulators.card.card.SimulatedCard`: the host
code talks to the simulated chip exactly as it talks to a PC/SC reader (``transmit`` raw bytes, get an
:class:`~agent.icao.apdu.ResponseApdu`), without pcscd, for unit and integration tests.

A card that leaves the field (removed, or a removal fault) surfaces as
:class:`agent.errors.CardRemovedError`, the host-facing error of a torn read. A reader that fails a
transfer (its receive buffer, ``receive_limit``, smaller than the card's response, or the card's
``lose_response`` fault) surfaces as :class:`agent.errors.TransferError`: the card executed the
command, the host never saw the answer.
"""

from __future__ import annotations

from agent.errors import CardRemovedError, TransferError, TransportError
from agent.icao.apdu import ResponseApdu
from simulators.card.card import SimulatedCard
from simulators.card.faults import CardGoneError, ResponseLostError


class InProcessTransport:
    """Transport (docs/architecture.md "Key types") to a simulated card in the same process."""

    def __init__(self, card: SimulatedCard, *, receive_limit: int | None = None) -> None:
        self.card = card
        self.receive_limit = receive_limit  # the largest response APDU this simulated reader receives
        self.transfer_failures = 0
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
        except ResponseLostError as exc:
            self.apdu_count += 1
            self.transfer_failures += 1
            raise TransferError(f"the simulated reader lost the card's response ({exc})") from exc
        self.apdu_count += 1
        if self.receive_limit is not None and len(raw) > self.receive_limit:
            self.transfer_failures += 1
            raise TransferError(
                f"a response of {len(raw)} bytes exceeds the simulated reader's {self.receive_limit}-byte buffer"
            )
        self.bytes_sent += len(apdu)
        self.bytes_received += len(raw)
        return ResponseApdu.decode(raw)

    @property
    def link_estimate_ms(self) -> float:
        return self.card.link_estimate_ms

    def close(self) -> None:
        self.closed = True
