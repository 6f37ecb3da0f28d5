"""ISO/IEC 7816-4 command and response APDUs (§5.1): the four cases in short and extended length,
status words as data, and the instruction bytes Doc 9303 uses.

Encoding picks the short form whenever it fits unless ``extended`` is forced; decoding accepts every
valid form and raises :class:`agent.errors.ApduFormatError` on anything else.
"""

from __future__ import annotations

import dataclasses

from agent.errors import ApduFormatError

CLA_PLAIN = 0x00
CLA_SM = 0x0C
CLA_CHAINING = 0x10

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_INTERNAL_AUTHENTICATE = 0x88
INS_MANAGE_SECURITY_ENVIRONMENT = 0x22
INS_GENERAL_AUTHENTICATE = 0x86
INS_GET_RESPONSE = 0xC0

SW_OK = 0x9000
SW_WARNING_END_OF_FILE = 0x6282
SW_VERIFICATION_FAILED = 0x6300
SW_WRONG_LENGTH = 0x6700
SW_SM_DATA_MISSING = 0x6987
SW_SM_DATA_INCORRECT = 0x6988
SW_SECURITY_STATUS_NOT_SATISFIED = 0x6982
SW_AUTH_METHOD_BLOCKED = 0x6983
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_COMMAND_NOT_ALLOWED = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_LC_INCONSISTENT = 0x6A87
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

SHORT_MAX_LC = 255
SHORT_MAX_LE = 256
EXTENDED_MAX = 65536


@dataclasses.dataclass(frozen=True)
class CommandApdu:
    """CLA INS P1 P2 [Lc data] [Le]. ``le`` None means case 1/3 (no response data expected); 256 or
    65536 are the "maximum" values encoded as 00 / 0000."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = dataclasses.field(default=b"", repr=False)
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ApduFormatError(f"{name} {value} is not a byte")
        if len(self.data) >= EXTENDED_MAX:
            raise ApduFormatError(f"command data of {len(self.data)} bytes is too long")
        if self.le is not None and not 1 <= self.le <= EXTENDED_MAX:
            raise ApduFormatError(f"Le {self.le} out of range")

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    @property
    def needs_extended(self) -> bool:
        return self.extended or len(self.data) > SHORT_MAX_LC or (self.le is not None and self.le > SHORT_MAX_LE)

    def encode(self) -> bytes:
        out = bytearray(self.header)
        if not self.needs_extended:
            if self.data:
                out += bytes([len(self.data)]) + self.data
            if self.le is not None:
                out.append(self.le & 0xFF)  # 256 -> 00
            return bytes(out)
        if self.data:
            out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                out += (self.le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
        elif self.le is not None:
            out += b"\x00" + (self.le & 0xFFFF).to_bytes(2, "big")
        return bytes(out)

    def with_cla(self, cla: int) -> CommandApdu:
        return dataclasses.replace(self, cla=cla)

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Parse any of the seven valid encodings (case 1, 2S, 3S, 4S, 2E, 3E, 4E)."""
        if len(raw) < 4:
            raise ApduFormatError(f"command APDU of {len(raw)} bytes is shorter than its header")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # short Lc
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], le=body[-1] or 256)
            raise ApduFormatError(f"Lc {lc} does not match a body of {len(body)} bytes")
        # extended: 00 followed by two bytes
        if len(body) == 3:
            return cls(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or EXTENDED_MAX, extended=True)
        if len(body) < 3:
            raise ApduFormatError("truncated extended length")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ApduFormatError("extended Lc of zero")
        if len(body) == 3 + lc:
            return cls(cla, ins, p1, p2, body[3:], extended=True)
        if len(body) == 5 + lc:
            le = int.from_bytes(body[-2:], "big") or EXTENDED_MAX
            return cls(cla, ins, p1, p2, body[3 : 3 + lc], le=le, extended=True)
        raise ApduFormatError(f"extended Lc {lc} does not match a body of {len(body)} bytes")


@dataclasses.dataclass(frozen=True)
class ResponseApdu:
    data: bytes = dataclasses.field(repr=False)
    sw: int

    def __post_init__(self) -> None:
        if not 0 <= self.sw <= 0xFFFF:
            raise ApduFormatError(f"status word {self.sw} is not two bytes")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise ApduFormatError(f"response APDU of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def __repr__(self) -> str:
        return f"ResponseApdu(len={len(self.data)}, sw={self.sw:04X})"
