"""The link to the card as the protocol core sees it: a :class:`Transport` that moves encoded APDUs,
the ``Send`` callable every handshake and file read is written against, and the processors stacked
between them (ISO/IEC 7816-4 §5.1.3 and §12.1: response chaining with GET RESPONSE on 61xx and the
re-send with the exact Le on 6Cxx; an APDU trace that records headers, lengths and status words but
never data). Secure messaging is the next processor up (:class:`agent.icao.secure_messaging.SecureChannel`).

Also the mapping of status words to the error classes of :mod:`agent.errors`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from agent.errors import AccessDeniedError, ApduError, FileNotFoundOnCardError
from agent.icao.apdu import (
    CLA_CHAINING,
    CLA_SM,
    INS_GET_RESPONSE,
    SHORT_MAX_LE,
    SW_COMMAND_NOT_ALLOWED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FILE_NOT_FOUND,
    SW_OK,
    SW_SECURITY_STATUS_NOT_SATISFIED,
    CommandApdu,
    ResponseApdu,
)

Send = Callable[[CommandApdu], ResponseApdu]

SW1_MORE_DATA = 0x61
SW1_WRONG_LE = 0x6C
# A card that keeps answering 61xx forever must not hang us: 65536 bytes need at most 257 rounds
MAX_GET_RESPONSE_ROUNDS = 260


class Transport(Protocol):
    """Moves one encoded command APDU to the card and returns its answer (PC/SC, the simulator, a
    recorded transcript). Raises :class:`agent.errors.TransportError` subclasses on link failures."""

    def transmit(self, apdu: bytes) -> ResponseApdu: ...

    def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class ApduTraceRecord:
    """One exchange as it may be logged: header, Lc, Le, response length and SW. No data, ever."""

    header: bytes
    lc: int
    le: int | None
    response_length: int
    sw: int

    def __str__(self) -> str:
        le = "-" if self.le is None else str(self.le)
        return f"{self.header.hex().upper()} Lc={self.lc} Le={le} -> {self.response_length} bytes SW={self.sw:04X}"


TraceHook = Callable[[ApduTraceRecord], None]


def transport_send(transport: Transport) -> Send:
    """The innermost ``Send``: encode the command and hand it to the transport."""

    def send(command: CommandApdu) -> ResponseApdu:
        return transport.transmit(command.encode())

    return send


class Traced:
    """A processor that reports every exchange passing through it to ``hook`` (headers, lengths and
    status words only). Put it directly over the transport to see what travels on the wire (protected
    APDUs under secure messaging), or over the secure channel to see the plain commands' headers."""

    def __init__(self, send: Send, hook: TraceHook) -> None:
        self._send = send
        self._hook = hook

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        response = self._send(command)
        self._hook(ApduTraceRecord(command.header, len(command.data), command.le, len(response.data), response.sw))
        return response


class ResponseChaining:
    """61xx: fetch the rest with GET RESPONSE and concatenate; 6Cxx: send the command again once
    with Le = xx (0 meaning 256).

    A command under secure messaging is never re-sent on 6Cxx: the copy would carry a stale send
    sequence counter, so the 6Cxx goes up to the secure channel, which reports it as a status word."""

    def __init__(self, send: Send, *, max_rounds: int = MAX_GET_RESPONSE_ROUNDS) -> None:
        self._send = send
        self._max_rounds = max_rounds

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        response = self._send(command)
        if response.sw1 == SW1_WRONG_LE and not _is_secure_messaging(command):
            exact = response.sw2 or SHORT_MAX_LE
            response = self._send(dataclasses.replace(command, le=exact, extended=False))
        if response.sw1 != SW1_MORE_DATA:
            return response
        chunks = [response.data]
        for _ in range(self._max_rounds):
            # GET RESPONSE is a transport-level command: plain CLA even when the command was protected
            plain_cla = command.cla & ~(CLA_SM | CLA_CHAINING) & 0xFF
            response = self._send(CommandApdu(plain_cla, INS_GET_RESPONSE, 0, 0, le=response.sw2 or SHORT_MAX_LE))
            chunks.append(response.data)
            if response.sw1 != SW1_MORE_DATA:
                return ResponseApdu(b"".join(chunks), response.sw)
        raise ApduError("card kept answering 61xx", response.sw, command="GET RESPONSE")


def _is_secure_messaging(command: CommandApdu) -> bool:
    return command.cla & CLA_SM == CLA_SM


def build_send(transport: Transport, *, trace: TraceHook | None = None) -> Send:
    """The standard chain over a transport: [trace] -> response chaining. Wrap the result in a
    secure channel once access control has run."""
    send: Send = transport_send(transport)
    if trace is not None:
        send = Traced(send, trace)
    return ResponseChaining(send)


def error_for_sw(sw: int, command: str) -> ApduError:
    """The error class of :mod:`agent.errors` that fits a failing status word."""
    if sw in (SW_SECURITY_STATUS_NOT_SATISFIED, SW_CONDITIONS_NOT_SATISFIED, SW_COMMAND_NOT_ALLOWED):
        return AccessDeniedError(f"{command} refused", sw, command=command)
    if sw == SW_FILE_NOT_FOUND:
        return FileNotFoundOnCardError(f"{command}: file not found", sw, command=command)
    return ApduError(f"{command} failed", sw, command=command)


def check_sw(response: ResponseApdu, command: str) -> ResponseApdu:
    """Return ``response`` when its SW is 9000, else raise the fitting :class:`ApduError`."""
    if response.sw != SW_OK:
        raise error_for_sw(response.sw, command)
    return response
