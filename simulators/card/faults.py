"""Faults a test or an operator can inject into the simulated card while it runs: the card leaving
the field after a given number of APDUs (the tearing that ISO/IEC 14443 readers see when a citizen
pulls the card away), a response lost after the card executed the command (a reader or PC/SC stack
failing the transfer, the card still on the reader), a corrupted secure-messaging MAC on the next or on
every response, a chosen status word answered to a chosen command, and an artificial delay before each
answer.

The :class:`Faults` object is shared, mutable state: the card reads it on every APDU, so whoever holds
it (a test, the vpcd bridge's control channel) may change it between APDUs. The card consumes one-shot
faults (the removal countdown, ``corrupt_next_mac``, injections with a finite ``times``) as they fire.
"""

from __future__ import annotations

import dataclasses
import threading


class ResponseLostError(Exception):
    """The card answered, but its response never reached the host: raised by
    :meth:`simulators.card.card.SimulatedCard.process` for a ``lose_response`` fault. The in-process
    transport turns it into :class:`agent.errors.TransferError`; the vpcd bridge answers pcscd with a
    response too short to be one, as a reader whose transfer failed does."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a response of {size} bytes was lost")
        self.size = size


class CardGoneError(Exception):
    """The simulated card is not in the field: it answers nothing.

    Raised by :meth:`simulators.card.card.SimulatedCard.process` for the in-process transport, which
    turns it into :class:`agent.errors.CardRemovedError`; the vpcd bridge sees the same state through
    ``SimulatedCard.present`` and reports the card as absent to pcscd.
    """


@dataclasses.dataclass
class SwInjection:
    """Answer ``sw`` (with no data) instead of executing a matching command.

    A command matches when every given field equals the plain command's (after secure messaging is
    removed, so the same injection works before and after access control). ``times`` is how many more
    commands it answers; None means every matching command.
    """

    sw: int
    ins: int | None = None
    p1: int | None = None
    p2: int | None = None
    times: int | None = 1

    def matches(self, ins: int, p1: int, p2: int) -> bool:
        return (
            (self.times is None or self.times > 0)
            and (self.ins is None or self.ins == ins)
            and (self.p1 is None or self.p1 == p1)
            and (self.p2 is None or self.p2 == p2)
        )


@dataclasses.dataclass
class Faults:
    """What goes wrong next. Every field may be changed while the card runs."""

    remove_after_apdus: int | None = None  # answer this many more APDUs, then leave the field
    lose_response_after_apdus: int | None = None  # answer this many more APDUs, then lose the next response
    lose_next_response: bool = False
    corrupt_next_mac: bool = False  # flip a bit of DO'8E' in the next protected response
    corrupt_every_mac: bool = False
    injections: list[SwInjection] = dataclasses.field(default_factory=list)
    delay_s: float = 0.0  # wait before every answer (the card, not the link model)
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock, repr=False, compare=False)

    def inject(self, sw: int, *, ins: int | None = None, p1: int | None = None, p2: int | None = None,
               times: int | None = 1) -> SwInjection:
        """Add an injection and return it (so a caller can later remove it)."""
        injection = SwInjection(sw, ins, p1, p2, times)
        with self.lock:
            self.injections.append(injection)
        return injection

    def take_injection(self, ins: int, p1: int, p2: int) -> int | None:
        """The status word to answer for this command, consuming one use of the injection."""
        with self.lock:
            for injection in self.injections:
                if injection.matches(ins, p1, p2):
                    if injection.times is not None:
                        injection.times -= 1
                    return injection.sw
            return None

    def removal_due(self) -> bool:
        """True when the card must leave the field instead of answering the current APDU; the
        countdown is consumed so that a re-inserted card works again."""
        with self.lock:
            if self.remove_after_apdus is not None and self.remove_after_apdus <= 0:
                self.remove_after_apdus = None
                return True
            return False

    def count_answered(self) -> None:
        with self.lock:
            if self.remove_after_apdus is not None:
                self.remove_after_apdus -= 1
            if self.lose_response_after_apdus is not None:
                self.lose_response_after_apdus -= 1

    def take_response_loss(self) -> bool:
        """True when the response the card just computed must be lost (one-shot)."""
        with self.lock:
            if self.lose_next_response:
                self.lose_next_response = False
                return True
            if self.lose_response_after_apdus is not None and self.lose_response_after_apdus < 0:
                self.lose_response_after_apdus = None
                return True
            return False

    def take_mac_corruption(self) -> bool:
        with self.lock:
            if self.corrupt_every_mac:
                return True
            if self.corrupt_next_mac:
                self.corrupt_next_mac = False
                return True
            return False
