"""A fake of pyscard's low-level ``smartcard.scard`` module, enough for agent.nfc: contexts, reader
listing, status changes (blocking, cancellable, with the event counter in the high word), connect
with sharing rules, transmit to a responder, and switches to make each call fail with a chosen code.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable

from agent.nfc import pcsc

Responder = Callable[[bytes], bytes]


@dataclasses.dataclass
class FakeReader:
    card: Responder | None = None
    atr: bytes = b"\x3b\x80\x80\x01\x01"
    protocol: int = 2  # T=1
    mute: bool = False
    events: int = 0
    exclusive_owner: int | None = None
    shared_users: int = 0


class FakeScard:
    SCARD_SCOPE_USER = 0
    SCARD_SHARE_EXCLUSIVE = 1
    SCARD_SHARE_SHARED = 2
    SCARD_PROTOCOL_T0 = 1
    SCARD_PROTOCOL_T1 = 2
    SCARD_LEAVE_CARD = 0
    SCARD_RESET_CARD = 1
    SCARD_UNPOWER_CARD = 2
    SCARD_PCI_T0 = "pci-t0"
    SCARD_PCI_T1 = "pci-t1"
    SCARD_STATE_UNAWARE = 0

    def __init__(self) -> None:
        self.readers: dict[str, FakeReader] = {}
        self.service_error: int | None = None  # SCardEstablishContext fails with it when set
        self.list_error: int | None = None
        self.pnp_supported = True  # whether the PnP pseudo-reader is known
        self.list_delay = 0.0  # seconds SCardListReaders takes (a round trip to a busy service)
        self.status_error: int | None = None
        self.transmit_errors: list[int] = []  # popped one per SCardTransmit
        self.empty_responses = 0  # this many SCardTransmit calls "succeed" with no bytes
        self.remove_on_transmit = False  # the card leaves as the next transmit fails
        self.other_program_exclusive = False  # another program holds every reader exclusively
        self.other_program_shared = False  # another program holds every reader in shared mode
        self.calls: list[tuple[object, ...]] = []
        self.contexts: set[int] = set()
        self.cards: dict[int, tuple[str, int]] = {}
        self.cancelled: set[int] = set()
        self.waiting: set[int] = set()
        self._ids = itertools.count(1)
        self._changed = threading.Condition()

    # --- test controls ----------------------------------------------------------------------
    def add_reader(self, name: str, card: Responder | None = None, **options: object) -> FakeReader:
        with self._changed:
            reader = FakeReader(card=card, **options)  # type: ignore[arg-type]
            self.readers[name] = reader
            self._changed.notify_all()
            return reader

    def remove_reader(self, name: str) -> None:
        with self._changed:
            del self.readers[name]
            self._changed.notify_all()

    def insert(self, name: str, card: Responder, atr: bytes | None = None) -> None:
        with self._changed:
            reader = self.readers[name]
            reader.card = card
            if atr is not None:
                reader.atr = atr
            reader.events += 1
            self._changed.notify_all()

    def remove(self, name: str) -> None:
        with self._changed:
            reader = self.readers[name]
            reader.card = None
            reader.events += 1
            self._changed.notify_all()

    def swap(self, name: str, card: Responder) -> None:
        """Card taken away and another put down between two observations."""
        with self._changed:
            reader = self.readers[name]
            reader.card = card
            reader.events += 2
            self._changed.notify_all()

    # --- the scard API ----------------------------------------------------------------------
    def SCardEstablishContext(self, scope: int) -> tuple[int, int | None]:
        self.calls.append(("SCardEstablishContext", scope))
        if self.service_error is not None:
            return self.service_error, None
        context = next(self._ids)
        self.contexts.add(context)
        return 0, context

    def SCardReleaseContext(self, context: int) -> int:
        self.calls.append(("SCardReleaseContext", context))
        self.contexts.discard(context)
        return 0

    def SCardListReaders(self, context: int, groups: list[str]) -> tuple[int, list[str]]:
        self.calls.append(("SCardListReaders", context))
        if self.list_delay:
            time.sleep(self.list_delay)
        if self.service_error is not None:
            return self.service_error, []
        if self.list_error is not None:
            return self.list_error, []
        if not self.readers:
            return pcsc.SCARD_E_NO_READERS_AVAILABLE, []
        return 0, list(self.readers)

    def _state(self, name: str) -> tuple[int, list[int]]:
        reader = self.readers.get(name)
        if reader is None:
            return pcsc.SCARD_STATE_UNKNOWN, []
        if reader.card is None:
            return pcsc.SCARD_STATE_EMPTY | (reader.events << 16), []
        state = pcsc.SCARD_STATE_PRESENT | (reader.events << 16)
        if reader.mute:
            state |= pcsc.SCARD_STATE_MUTE
        if reader.exclusive_owner is not None:
            state |= pcsc.SCARD_STATE_EXCLUSIVE
        if reader.shared_users:
            state |= pcsc.SCARD_STATE_INUSE
        return state, list(reader.atr)

    def SCardGetStatusChange(
        self, context: int, timeout_ms: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[tuple[str, int, list[int]]]]:
        self.calls.append(("SCardGetStatusChange", context, timeout_ms))
        deadline = time.monotonic() + timeout_ms / 1000
        with self._changed:
            while True:
                if self.service_error is not None:
                    return self.service_error, []
                if self.status_error is not None:
                    return self.status_error, []
                if context in self.cancelled:
                    self.cancelled.discard(context)
                    return pcsc.SCARD_E_CANCELLED, []
                result = []
                changed = False
                for name, current in states:
                    if name == "\\\\?PnP?\\Notification" and not self.pnp_supported:
                        return pcsc.SCARD_E_UNKNOWN_READER, []
                    if name == "\\\\?PnP?\\Notification":
                        state = len(self.readers) << 16
                        if (current >> 16) != len(self.readers) or current == 0:
                            state |= pcsc.SCARD_STATE_CHANGED
                            changed = True
                        result.append((name, state, []))
                        continue
                    if name not in self.readers:
                        return pcsc.SCARD_E_UNKNOWN_READER, []
                    state, atr = self._state(name)
                    if current == pcsc.SCARD_STATE_UNAWARE or (current & ~pcsc.SCARD_STATE_CHANGED) != state:
                        state |= pcsc.SCARD_STATE_CHANGED
                        changed = True
                    result.append((name, state, atr))
                if changed:
                    return 0, result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return pcsc.SCARD_E_TIMEOUT, []
                self.waiting.add(context)
                try:
                    self._changed.wait(remaining)
                finally:
                    self.waiting.discard(context)

    def SCardCancel(self, context: int) -> int:
        # Like pcsc-lite and WinSCard: only a call in progress is cancelled; otherwise a no-op.
        with self._changed:
            if context in self.waiting:
                self.cancelled.add(context)
                self._changed.notify_all()
        return 0

    def SCardConnect(self, context: int, name: str, mode: int, protocols: int) -> tuple[int, int, int]:
        self.calls.append(("SCardConnect", name, mode, protocols))
        reader = self.readers.get(name)
        if reader is None:
            return pcsc.SCARD_E_UNKNOWN_READER, 0, 0
        if reader.card is None:
            return pcsc.SCARD_E_NO_SMARTCARD, 0, 0
        if self.other_program_exclusive or reader.exclusive_owner is not None:
            return pcsc.SCARD_E_SHARING_VIOLATION, 0, 0
        if mode == self.SCARD_SHARE_EXCLUSIVE and (self.other_program_shared or reader.shared_users):
            return pcsc.SCARD_E_SHARING_VIOLATION, 0, 0
        if not reader.protocol & protocols:
            return pcsc.SCARD_E_PROTO_MISMATCH, 0, 0
        handle = next(self._ids)
        self.cards[handle] = (name, mode)
        if mode == self.SCARD_SHARE_EXCLUSIVE:
            reader.exclusive_owner = handle
        else:
            reader.shared_users += 1
        return 0, handle, reader.protocol

    def SCardStatus(self, handle: int) -> tuple[int, str, int, int, list[int]]:
        name, _ = self.cards[handle]
        reader = self.readers.get(name)
        if reader is None or reader.card is None:
            return pcsc.SCARD_W_REMOVED_CARD, "", 0, 0, []
        return 0, name, pcsc.SCARD_STATE_PRESENT, reader.protocol, list(reader.atr)

    def SCardTransmit(self, handle: int, pci: str, apdu: list[int]) -> tuple[int, list[int]]:
        self.calls.append(("SCardTransmit", handle, pci, bytes(apdu)))
        name, _ = self.cards[handle]
        reader = self.readers.get(name)
        if self.transmit_errors or self.empty_responses:
            if self.remove_on_transmit and reader is not None:
                self.remove(name)
            if self.empty_responses:
                self.empty_responses -= 1
                return 0, []
            return self.transmit_errors.pop(0), []
        if reader is None or reader.card is None:
            return pcsc.SCARD_W_REMOVED_CARD, []
        return 0, list(reader.card(bytes(apdu)))

    def SCardDisconnect(self, handle: int, disposition: int) -> int:
        self.calls.append(("SCardDisconnect", handle, disposition))
        name, mode = self.cards.pop(handle)
        reader = self.readers.get(name)
        if reader is not None:
            if mode == self.SCARD_SHARE_EXCLUSIVE:
                reader.exclusive_owner = None
            else:
                reader.shared_users -= 1
        return 0
