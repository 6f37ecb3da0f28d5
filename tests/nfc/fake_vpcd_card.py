"""A test-only card process for the vpcd virtual reader, plus a few tiny cards to put behind it.

:class:`VpcdCard` connects to a vpcd port and speaks its wire protocol (2-byte big-endian length +
payload in one write; a 1-byte payload is control: 0 power off, 1 power on, 2 reset, 4 send the ATR;
anything longer is a command APDU answered with the response APDU). TCP_NODELAY once and TCP_QUICKACK
before every receive, per docs/reference/platform.md "The vpcd latency trap". ``remove()`` closes the
socket, which is how a card leaves the field; ``drop_on_apdu=N`` closes it upon the Nth command APDU
without answering (torn exchange).

The cards are callables ``bytes -> bytes`` (command APDU in, response APDU out):
:class:`ScriptedCard` answers from a table, echoes, serves long answers, and chains with 61xx;
:class:`Type4TagCard` is an NFC Forum Type 4 Tag serving an NDEF message.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import socket
import struct
import threading
from collections.abc import Callable

# 3B 8n 80 01 + historical bytes + TCK: the PC/SC part 3 shape of a contactless ATR (T=1).
HISTORICAL = b"CCCDTEST"
ATR_BODY = bytes([0x3B, 0x80 | len(HISTORICAL), 0x80, 0x01]) + HISTORICAL
DEFAULT_ATR = ATR_BODY + bytes([functools.reduce(operator.xor, ATR_BODY[1:], 0)])

CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4

Responder = Callable[[bytes], bytes]


class VpcdCard:
    def __init__(
        self,
        port: int,
        respond: Responder,
        *,
        host: str = "127.0.0.1",
        atr: bytes = DEFAULT_ATR,
        drop_on_apdu: int | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.respond = respond
        self.atr = atr
        self.drop_on_apdu = drop_on_apdu
        self.apdus: list[bytes] = []
        self.controls: list[int] = []
        self.dropped = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self) -> VpcdCard:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"vpcd-card-{self.port}", daemon=True)
        self._thread.start()
        return self

    def remove(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> VpcdCard:
        return self.insert()

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                message = self._receive(sock)
                if message is None:
                    return
                if len(message) == 1:
                    self.controls.append(message[0])
                    if message[0] == CTRL_ATR:
                        self._send(sock, self.atr)
                    continue
                self.apdus.append(message)
                if self.drop_on_apdu is not None and len(self.apdus) >= self.drop_on_apdu:
                    self.dropped.set()
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    return
                self._send(sock, self.respond(message))
        except OSError:
            return

    @staticmethod
    def _receive(sock: socket.socket) -> bytes | None:
        header = VpcdCard._exactly(sock, 2)
        if header is None:
            return None
        (length,) = struct.unpack(">H", header)
        return VpcdCard._exactly(sock, length)

    @staticmethod
    def _exactly(sock: socket.socket, count: int) -> bytes | None:
        data = bytearray()
        while len(data) < count:
            if hasattr(socket, "TCP_QUICKACK"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    @staticmethod
    def _send(sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)


SW_OK = b"\x90\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
SW_END_OF_FILE = b"\x62\x82"
SW_CONDITIONS = b"\x69\x85"
INS_ECHO = 0xEE  # proprietary: answers the command data back
INS_PATTERN = 0xEA  # proprietary: answers Le bytes counting from 0
INS_GET_RESPONSE = 0xC0


def parse_command(apdu: bytes) -> tuple[bytes, bytes, int | None]:
    """(header, data, Le) of a short or extended command APDU; enough for these tiny cards."""
    header, body = apdu[:4], apdu[4:]
    if not body:
        return header, b"", None
    if len(body) == 1:
        return header, b"", body[0] or 256
    if body[0] != 0:
        lc = body[0]
        data = body[1 : 1 + lc]
        rest = body[1 + lc :]
        return header, data, (rest[0] or 256) if rest else None
    if len(body) == 3:
        return header, b"", int.from_bytes(body[1:3], "big") or 65536
    lc = int.from_bytes(body[1:3], "big")
    data = body[3 : 3 + lc]
    rest = body[3 + lc :]
    return header, data, (int.from_bytes(rest, "big") or 65536) if rest else None


class ScriptedCard:
    """Answers from ``table`` (exact command bytes -> response APDU), echoes INS EE, serves INS EA
    patterns of Le bytes, and splits answers longer than ``chain_limit`` into 61xx + GET RESPONSE."""

    def __init__(self, table: dict[bytes, bytes] | None = None, *, chain_limit: int | None = None) -> None:
        self.table = dict(table or {})
        self.chain_limit = chain_limit
        self._pending = b""
        self._pending_sw = SW_OK

    def __call__(self, apdu: bytes) -> bytes:
        header, data, le = parse_command(apdu)
        if header[1] == INS_GET_RESPONSE and self._pending:
            return self._next_part(le or 256)
        self._pending = b""
        if apdu in self.table:
            response = self.table[apdu]
        elif header[1] == INS_ECHO:
            response = data + SW_OK
        elif header[1] == INS_PATTERN:
            response = bytes(i & 0xFF for i in range(le or 0)) + SW_OK
        else:
            response = SW_INS_NOT_SUPPORTED
        body, sw = response[:-2], response[-2:]
        if self.chain_limit is not None and len(body) > self.chain_limit:
            self._pending, self._pending_sw = body, sw
            return self._next_part(self.chain_limit)
        return response

    def _next_part(self, size: int) -> bytes:
        part, self._pending = self._pending[:size], self._pending[size:]
        if not self._pending:
            return part + self._pending_sw
        return part + bytes([0x61, min(len(self._pending), 256) & 0xFF])


class Type4TagCard:
    """An NFC Forum Type 4 Tag: NDEF application D2760000850101, CC file E103, one NDEF file."""

    AID = bytes.fromhex("D2760000850101")

    def __init__(
        self,
        message: bytes,
        *,
        file_id: int = 0xE104,
        max_read: int = 0x3B,
        max_size: int | None = None,
        read_access: int = 0x00,
        extended: bool = False,
        nlen: int | None = None,
        cc: bytes | None = None,
        chain_limit: int | None = None,
        version_1: bool = False,
    ) -> None:
        # A mapping version 1.0 tag: the older AID, and SELECT by file id only with P2 00.
        self.aid = bytes.fromhex("D2760000850100") if version_1 else self.AID
        self.version_1 = version_1
        self.extended = extended
        size_field = 4 if extended else 2
        length = len(message) if nlen is None else nlen
        self.ndef_file = length.to_bytes(size_field, "big") + message
        capacity = max_size if max_size is not None else max(len(self.ndef_file), 0x0100)
        if cc is None:
            if extended:
                control = bytes([0x06, 0x08]) + file_id.to_bytes(2, "big") + capacity.to_bytes(4, "big")
                version = 0x30
            else:
                control = bytes([0x04, 0x06]) + file_id.to_bytes(2, "big") + capacity.to_bytes(2, "big")
                version = 0x10 if version_1 else 0x20
            control += bytes([read_access, 0x00])
            body = bytes([version]) + max_read.to_bytes(2, "big") + (0x34).to_bytes(2, "big") + control
            cc = (2 + len(body)).to_bytes(2, "big") + body
        self.files = {0xE103: cc, file_id: self.ndef_file}
        self.max_read = max_read
        self.chain_limit = chain_limit
        self.application_selected = False
        self.current: bytes | None = None
        self.reads: list[tuple[int, int]] = []
        self._pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        header, data, le = parse_command(apdu)
        _cla, ins, p1, p2 = header
        if ins == INS_GET_RESPONSE and self._pending:
            part, self._pending = self._pending[: le or 256], self._pending[le or 256 :]
            return part + (bytes([0x61, min(len(self._pending), 256) & 0xFF]) if self._pending else SW_OK)
        if ins == 0xA4 and p1 == 0x04:
            self.application_selected = data == self.aid
            self.current = None
            return SW_OK if self.application_selected else SW_FILE_NOT_FOUND
        if ins == 0xA4 and p1 == 0x00:
            if self.version_1 and p2 != 0x00:
                return b"\x6a\x86"
            fid = int.from_bytes(data, "big") if len(data) == 2 else -1
            if not self.application_selected or fid not in self.files:
                return SW_FILE_NOT_FOUND
            self.current = self.files[fid]
            return SW_OK
        if ins == 0xB0:
            if self.current is None:
                return SW_CONDITIONS
            offset = (p1 << 8) | p2
            return self._read(offset, le or 256)
        if ins == 0xB1 and data[:2] == b"\x54\x03":
            if self.current is None:
                return SW_CONDITIONS
            offset = int.from_bytes(data[2:5], "big")
            inner = self._read(offset, max(0, (le or 256) - 4))
            content, sw = inner[:-2], inner[-2:]
            return bytes([0x53, len(content)]) + content + sw if len(content) < 0x80 else (
                bytes([0x53, 0x81, len(content)]) + content + sw
            )
        return SW_INS_NOT_SUPPORTED

    def _read(self, offset: int, le: int) -> bytes:
        assert self.current is not None
        if offset > len(self.current):
            return SW_WRONG_P1P2
        le = min(le, self.max_read)
        self.reads.append((offset, le))
        chunk = self.current[offset : offset + le]
        sw = SW_OK if len(chunk) == le else SW_END_OF_FILE
        if self.chain_limit is not None and len(chunk) > self.chain_limit:
            first, self._pending = chunk[: self.chain_limit], chunk[self.chain_limit :]
            return first + bytes([0x61, len(self._pending)])
        return chunk + sw
