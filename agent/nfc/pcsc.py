"""The PC/SC adapter over pyscard's thin ``smartcard.scard`` wrapper (WinSCard on Windows, pcsc-lite
elsewhere): reader discovery, exclusive-then-shared connection with T=1/T=0 negotiation, and a raw
:class:`PcscTransport` that sends ISO/IEC 7816-4 command APDUs and returns response APDUs unchanged
(response chaining 61xx/6Cxx is left to the processors above it). Every PC/SC failure is turned into
one of the agent's transport errors: the service or reader missing into ``ReaderUnavailableError``,
the card absent or gone into ``CardRemovedError``, a transfer that failed with the card still on the
reader (a receive buffer too small, SCARD_E_INSUFFICIENT_BUFFER; a reader error mid-response; a
response too short to be one) into ``TransferError``, anything else into ``TransportError``.

The ``scard`` module object is passed in (``scard=``) so tests can hand in a fake; by default it is
imported lazily, on first use, never at import time.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from agent.errors import CardRemovedError, ReaderUnavailableError, TransferError, TransportError
from agent.icao.apdu import ResponseApdu

log = logging.getLogger(__name__)

# PC/SC return codes. They are the same numbers in WinSCard and pcsc-lite; pyscard may hand them
# back signed on some platforms, so every comparison goes through normalize_hresult().
SCARD_S_SUCCESS = 0x00000000
SCARD_E_CANCELLED = 0x80100002
SCARD_E_INVALID_HANDLE = 0x80100003
SCARD_E_INSUFFICIENT_BUFFER = 0x80100008
SCARD_E_UNKNOWN_READER = 0x80100009
SCARD_E_TIMEOUT = 0x8010000A
SCARD_E_SHARING_VIOLATION = 0x8010000B
SCARD_E_NO_SMARTCARD = 0x8010000C
SCARD_E_PROTO_MISMATCH = 0x8010000F
SCARD_F_COMM_ERROR = 0x80100013
SCARD_E_NOT_TRANSACTED = 0x80100016
SCARD_E_READER_UNAVAILABLE = 0x80100017
SCARD_E_NO_SERVICE = 0x8010001D
SCARD_E_SERVICE_STOPPED = 0x8010001E
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
SCARD_W_UNRESPONSIVE_CARD = 0x80100066
SCARD_W_UNPOWERED_CARD = 0x80100067
SCARD_W_RESET_CARD = 0x80100068
SCARD_W_REMOVED_CARD = 0x80100069

# Reader state bits (SCARD_READERSTATE.dwEventState); identical on both stacks.
SCARD_STATE_UNAWARE = 0x0000
SCARD_STATE_CHANGED = 0x0002
SCARD_STATE_UNKNOWN = 0x0004
SCARD_STATE_UNAVAILABLE = 0x0008
SCARD_STATE_EMPTY = 0x0010
SCARD_STATE_PRESENT = 0x0020
SCARD_STATE_EXCLUSIVE = 0x0080
SCARD_STATE_INUSE = 0x0100
SCARD_STATE_MUTE = 0x0200

HRESULT_NAMES = {
    SCARD_E_CANCELLED: "SCARD_E_CANCELLED",
    SCARD_E_INVALID_HANDLE: "SCARD_E_INVALID_HANDLE",
    SCARD_E_INSUFFICIENT_BUFFER: "SCARD_E_INSUFFICIENT_BUFFER",
    SCARD_F_COMM_ERROR: "SCARD_F_COMM_ERROR",
    SCARD_E_UNKNOWN_READER: "SCARD_E_UNKNOWN_READER",
    SCARD_E_TIMEOUT: "SCARD_E_TIMEOUT",
    SCARD_E_SHARING_VIOLATION: "SCARD_E_SHARING_VIOLATION",
    SCARD_E_NO_SMARTCARD: "SCARD_E_NO_SMARTCARD",
    SCARD_E_PROTO_MISMATCH: "SCARD_E_PROTO_MISMATCH",
    SCARD_E_NOT_TRANSACTED: "SCARD_E_NOT_TRANSACTED",
    SCARD_E_READER_UNAVAILABLE: "SCARD_E_READER_UNAVAILABLE",
    SCARD_E_NO_SERVICE: "SCARD_E_NO_SERVICE",
    SCARD_E_SERVICE_STOPPED: "SCARD_E_SERVICE_STOPPED",
    SCARD_E_NO_READERS_AVAILABLE: "SCARD_E_NO_READERS_AVAILABLE",
    SCARD_W_UNRESPONSIVE_CARD: "SCARD_W_UNRESPONSIVE_CARD",
    SCARD_W_UNPOWERED_CARD: "SCARD_W_UNPOWERED_CARD",
    SCARD_W_RESET_CARD: "SCARD_W_RESET_CARD",
    SCARD_W_REMOVED_CARD: "SCARD_W_REMOVED_CARD",
}

SERVICE_DOWN = frozenset({SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED})
READER_GONE = frozenset({SCARD_E_UNKNOWN_READER, SCARD_E_READER_UNAVAILABLE})
CARD_GONE = frozenset({SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD})
# Failures that a card leaving the field typically produces, but that a flaky link or a reader
# refusing an APDU (e.g. an extended one) produce too: the reader is asked whether the card is
# still there before deciding between CardRemovedError and TransportError.
MAYBE_CARD_GONE = frozenset(
    {SCARD_E_NOT_TRANSACTED, SCARD_W_UNRESPONSIVE_CARD, SCARD_W_UNPOWERED_CARD, SCARD_E_INVALID_HANDLE,
     SCARD_F_COMM_ERROR}
)
# A transfer that failed for the reader's or the stack's sake, with the card still there: the response
# did not fit the receive buffer. Whether the card executed the command is unknown (TransferError).
TRANSFER_FAILED = frozenset({SCARD_E_INSUFFICIENT_BUFFER})

# Operator message keys (agent.messages) for the cases a receptionist can fix.
MSG_SERVICE_DOWN = "error.pcsc_service_down"
MSG_NO_READER = "error.no_reader"
MSG_READER_NOT_FOUND = "error.reader_not_found"
MSG_READER_BUSY = "error.reader_busy"
MSG_NO_CARD = "error.no_card"

# Words in reader names that mark the contactless interface of common PC/SC readers (ACS "PICC",
# Identiv "CL", HID/Omnikey "Contactless"): preferred when no reader is named.
CONTACTLESS_HINTS = ("picc", "contactless", " cl ", "nfc")


def load_scard() -> Any:
    """pyscard's low-level module, imported only when PC/SC is actually used."""
    from smartcard import scard

    return scard


def normalize_hresult(hresult: int) -> int:
    return int(hresult) & 0xFFFFFFFF


def hresult_name(hresult: int) -> str:
    code = normalize_hresult(hresult)
    return f"{HRESULT_NAMES.get(code, 'PC/SC error')} 0x{code:08X}"


def _unavailable(message: str, key: str, hresult: int | None = None) -> ReaderUnavailableError:
    error = ReaderUnavailableError(message, detail=hresult_name(hresult) if hresult is not None else None)
    error.message_key = key
    return error


def service_down_error(hresult: int) -> ReaderUnavailableError:
    return _unavailable(
        f"the PC/SC smart-card service is not running ({hresult_name(hresult)}): on Windows the 'Smart Card' "
        "service (SCardSvr) starts when a reader is plugged in, so plug the reader in; on Linux start pcscd",
        MSG_SERVICE_DOWN,
        hresult,
    )


def no_reader_error() -> ReaderUnavailableError:
    return _unavailable(
        "no smart-card reader is connected: plug the reader into a USB port and wait a few seconds",
        MSG_NO_READER,
    )


def reader_not_found_error(reader: str, available: Iterable[str]) -> ReaderUnavailableError:
    names = ", ".join(repr(name) for name in available) or "none"
    return _unavailable(
        f"reader {reader!r} is not connected (connected readers: {names}): check its cable or choose another",
        MSG_READER_NOT_FOUND,
    )


def no_card_error(reader: str | None, hresult: int | None = None) -> CardRemovedError:
    where = f"reader {reader!r}" if reader else "any reader"
    error = CardRemovedError(
        f"no card on {where}: put the card on the reader", detail=hresult_name(hresult) if hresult else None
    )
    error.message_key = MSG_NO_CARD
    return error


def card_removed_error(reader: str, hresult: int | None) -> CardRemovedError:
    why = f" ({hresult_name(hresult)})" if hresult is not None else ""
    return CardRemovedError(
        f"the card left reader {reader!r} during the exchange{why}",
        detail=hresult_name(hresult) if hresult is not None else None,
    )


def error_for(hresult: int, action: str, reader: str | None = None) -> TransportError:
    """The agent error for a failed PC/SC call (never called with SCARD_S_SUCCESS)."""
    code = normalize_hresult(hresult)
    if code in SERVICE_DOWN:
        return service_down_error(code)
    if code == SCARD_E_NO_READERS_AVAILABLE:
        return no_reader_error()
    if code in READER_GONE:
        return _unavailable(
            f"reader {reader!r} disappeared ({hresult_name(code)}): check its cable", MSG_READER_NOT_FOUND, code
        )
    if code in CARD_GONE:
        return card_removed_error(reader or "?", code)
    if code == SCARD_E_SHARING_VIOLATION:
        return _unavailable(
            f"reader {reader!r} is held by another program ({hresult_name(code)}): close the other card program",
            MSG_READER_BUSY,
            code,
        )
    return TransportError(f"{action} failed on reader {reader!r} ({hresult_name(code)})", detail=hresult_name(code))


@dataclasses.dataclass(frozen=True)
class ReaderStatus:
    """One reader as PC/SC sees it now. ``atr`` is None when no card is present."""

    name: str
    card_present: bool
    atr: bytes | None
    in_use: bool = False
    exclusive: bool = False
    mute: bool = False

    @property
    def contactless(self) -> bool:
        return looks_contactless(self.name)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "card_present": self.card_present,
            "atr": self.atr.hex(" ").upper() if self.atr else None,
            "in_use": self.in_use,
            "exclusive": self.exclusive,
            "mute": self.mute,
            "contactless": self.contactless,
        }


def looks_contactless(name: str) -> bool:
    padded = f" {name.lower()} "
    return any(hint in padded for hint in CONTACTLESS_HINTS)


def status_from_state(name: str, event_state: int, atr: Iterable[int] | None) -> ReaderStatus:
    present = bool(event_state & SCARD_STATE_PRESENT)
    raw_atr = bytes(atr or ())
    return ReaderStatus(
        name=name,
        card_present=present,
        atr=raw_atr if present and raw_atr else None,
        in_use=bool(event_state & SCARD_STATE_INUSE),
        exclusive=bool(event_state & SCARD_STATE_EXCLUSIVE),
        mute=bool(event_state & SCARD_STATE_MUTE),
    )


class PcscContext:
    """An established PC/SC context (one per thread, as pcsc-lite and WinSCard expect)."""

    def __init__(self, scard: Any | None = None) -> None:
        self.scard = scard if scard is not None else load_scard()
        hresult, handle = self.scard.SCardEstablishContext(self.scard.SCARD_SCOPE_USER)
        if normalize_hresult(hresult) != SCARD_S_SUCCESS:
            raise error_for(hresult, "SCardEstablishContext")
        self.handle: Any = handle

    def close(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            self.scard.SCardReleaseContext(handle)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def reader_names(self) -> list[str]:
        """Connected readers; an empty list when there are none (never an error for that)."""
        hresult, names = self.scard.SCardListReaders(self.handle, [])
        code = normalize_hresult(hresult)
        if code == SCARD_E_NO_READERS_AVAILABLE:
            return []
        if code != SCARD_S_SUCCESS:
            raise error_for(code, "SCardListReaders")
        return list(names or [])

    def statuses(self, names: list[str]) -> list[ReaderStatus]:
        if not names:
            return []
        hresult, states = self.scard.SCardGetStatusChange(
            self.handle, 0, [(name, SCARD_STATE_UNAWARE) for name in names]
        )
        if normalize_hresult(hresult) != SCARD_S_SUCCESS:
            raise error_for(hresult, "SCardGetStatusChange")
        return [status_from_state(name, state, atr) for name, state, atr in states]

    def wait_card_gone(self, reader: str, timeout: float) -> bool:
        """True if the reader reports no card within ``timeout`` seconds (or the reader vanished)."""
        deadline = time.monotonic() + timeout
        state = SCARD_STATE_UNAWARE
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = self.scard.SCardGetStatusChange(self.handle, remaining_ms, [(reader, state)])
            code = normalize_hresult(hresult)
            if code == SCARD_E_TIMEOUT:
                return False
            if code in READER_GONE:
                return True
            if code != SCARD_S_SUCCESS:
                return False
            _, state, _ = states[0]
            if not state & SCARD_STATE_PRESENT:
                return True
            if remaining_ms == 0:
                return False
            state &= ~SCARD_STATE_CHANGED


class PcscSystem:
    """Entry point to the PC/SC stack: list readers, see which hold a card, open a transport."""

    def __init__(self, scard: Any | None = None) -> None:
        self._scard = scard

    @property
    def scard(self) -> Any:
        if self._scard is None:
            self._scard = load_scard()
        return self._scard

    def readers(self) -> list[ReaderStatus]:
        """Every connected reader with its card state; ReaderUnavailableError when there is none."""
        with PcscContext(self.scard) as context:
            names = context.reader_names()
            if not names:
                raise no_reader_error()
            return context.statuses(names)

    def choose_reader(self, reader: str | None = None) -> str:
        """The named reader, or else the reader holding a card (contactless interfaces first)."""
        statuses = self.readers()
        if reader is not None:
            if reader not in {status.name for status in statuses}:
                raise reader_not_found_error(reader, (status.name for status in statuses))
            return reader
        with_card = [status for status in statuses if status.card_present and not status.mute]
        if not with_card:
            raise no_card_error(None)
        with_card.sort(key=lambda status: not status.contactless)
        return with_card[0].name

    def connect(self, reader: str | None = None, **options: Any) -> PcscTransport:
        return PcscTransport(self.choose_reader(reader), scard=self.scard, **options)


class PcscTransport:
    """A connection to the card in one reader: ``transmit(apdu) -> ResponseApdu`` and ``close()``.

    It asks for exclusive access first, so that no other program can interleave APDUs inside our
    secure-messaging session, and falls back to shared access when another program holds the reader
    in shared mode (SCARD_E_SHARING_VIOLATION). ``close()`` resets the card by default, which ends
    any secure-messaging session so that the next program cannot ride on it.
    """

    def __init__(
        self,
        reader: str,
        *,
        scard: Any | None = None,
        exclusive: bool = True,
        allow_t0: bool = True,
        reset_on_close: bool = True,
        removal_grace: float = 0.5,
    ) -> None:
        self.reader = reader
        self.removal_grace = removal_grace
        self._context = PcscContext(scard)
        self.scard = self._context.scard
        self._disposition = self.scard.SCARD_RESET_CARD if reset_on_close else self.scard.SCARD_LEAVE_CARD
        self._lock = threading.Lock()
        self._card: Any = None
        self._pci: Any = None
        self.shared = not exclusive
        self.protocol = ""
        self.atr = b""
        self.apdu_count = 0
        try:
            self._connect(exclusive, allow_t0)
            self.atr = self._read_atr()
        except BaseException:
            self.close()
            raise

    def _connect(self, exclusive: bool, allow_t0: bool) -> None:
        scard = self.scard
        protocols = scard.SCARD_PROTOCOL_T1 | (scard.SCARD_PROTOCOL_T0 if allow_t0 else 0)
        modes = [scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_SHARE_SHARED] if exclusive else [scard.SCARD_SHARE_SHARED]
        code = SCARD_S_SUCCESS
        for mode in modes:
            hresult, card, active = scard.SCardConnect(self._context.handle, self.reader, mode, protocols)
            code = normalize_hresult(hresult)
            if code == SCARD_S_SUCCESS:
                self._card = card
                self.shared = mode == scard.SCARD_SHARE_SHARED
                self._set_protocol(active)
                log.debug("connected to %r (%s, shared=%s)", self.reader, self.protocol, self.shared)
                return
            if code != SCARD_E_SHARING_VIOLATION:
                break
            log.info("reader %r is in use by another program; trying shared access", self.reader)
        if code in CARD_GONE:
            raise no_card_error(self.reader, code)
        raise error_for(code, "SCardConnect", self.reader)

    def _set_protocol(self, active: int) -> None:
        scard = self.scard
        if active == scard.SCARD_PROTOCOL_T1:
            self.protocol = "T=1"
            self._pci = scard.SCARD_PCI_T1
        elif active == scard.SCARD_PROTOCOL_T0:
            self.protocol = "T=0"
            self._pci = scard.SCARD_PCI_T0
        else:
            raise TransportError(f"reader {self.reader!r} negotiated no usable protocol ({active!r})")

    @property
    def extended_length_possible(self) -> bool:
        """Under T=0 an extended-length APDU only travels wrapped in ENVELOPE commands, which this
        transport does not do: the read logic should stay with short APDUs."""
        return self.protocol == "T=1"

    def link_estimate_ms(self) -> float | None:
        """A real reader's time is the wall clock's: no model to ask (agent.ports.CardConnection)."""
        return None

    def _read_atr(self) -> bytes:
        hresult, _reader, _state, _protocol, atr = self.scard.SCardStatus(self._card)
        if normalize_hresult(hresult) != SCARD_S_SUCCESS:
            raise self._failure(hresult, "SCardStatus")
        return bytes(atr or ())

    def transmit(self, apdu: bytes) -> ResponseApdu:
        if self._card is None:
            raise TransportError(f"the connection to reader {self.reader!r} is closed")
        with self._lock:
            self.apdu_count += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("> %s len=%d", apdu[:4].hex().upper(), len(apdu))
            hresult, response = self.scard.SCardTransmit(self._card, self._pci, list(apdu))
            code = normalize_hresult(hresult)
            if code != SCARD_S_SUCCESS:
                raise self._failure(code, "SCardTransmit")
            raw = bytes(response or ())
            if len(raw) < 2:
                # vpcd and some drivers report a link that dropped mid-exchange as "success, no bytes".
                raise self._failure(None, f"SCardTransmit returned {len(raw)} bytes;")
            reply = ResponseApdu(raw[:-2], int.from_bytes(raw[-2:], "big"))
            if log.isEnabledFor(logging.DEBUG):
                log.debug("< %04X len=%d", reply.sw, len(reply.data))
            return reply

    def _failure(self, hresult: int | None, action: str) -> TransportError:
        code = normalize_hresult(hresult) if hresult is not None else None
        if code is not None and code in TRANSFER_FAILED:
            detail = hresult_name(code)
            return TransferError(f"{action} failed on reader {self.reader!r} ({detail})", detail=detail)
        if code is not None and code not in MAYBE_CARD_GONE:
            return error_for(code, action, self.reader)
        if self._context.wait_card_gone(self.reader, self.removal_grace):
            return card_removed_error(self.reader, code)
        # The card is still there: this one transfer failed (a reader error mid-response, a response
        # too short to be one), and what the card did with the command is unknown.
        detail = hresult_name(code) if code is not None else "empty response"
        return TransferError(f"{action} failed on reader {self.reader!r} ({detail})", detail=detail)

    def close(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            # A card already gone makes disconnect fail; the handle is released either way.
            self.scard.SCardDisconnect(card, self._disposition)
        self._context.close()

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PcscTransport(reader={self.reader!r}, open={self._card is not None})"


T = TypeVar("T")


class ReaderMemory(Generic[T]):
    """What the read logic learned about each reader (``agent.icao.files.ReadLimits``: whether
    extended-length APDUs get through it and the largest chunk that worked), keyed by reader name:
    ``memory.get_or_create(transport.reader, ReadLimits)``. Thread-safe and in memory only, so a
    reader swapped for another model under the same name is re-learned after a restart.
    """

    def __init__(self) -> None:
        self._values: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, reader: str) -> T | None:
        with self._lock:
            return self._values.get(reader)

    def get_or_create(self, reader: str, create: Callable[[], T]) -> T:
        """The value kept for ``reader``, or a new one from ``create()`` that is kept from now on."""
        with self._lock:
            if reader not in self._values:
                self._values[reader] = create()
            return self._values[reader]

    def remember(self, reader: str, value: T) -> None:
        with self._lock:
            self._values[reader] = value

    def forget(self, reader: str) -> None:
        with self._lock:
            self._values.pop(reader, None)

    def __contains__(self, reader: object) -> bool:
        with self._lock:
            return reader in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
