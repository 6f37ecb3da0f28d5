"""The card side of secure messaging (ICAO Doc 9303-11 §9.8, ISO/IEC 7816-4 §10): verifying and
decrypting protected command APDUs and protecting responses, with 3DES (retail MAC, zero IV) or AES
(CMAC, IV = E(KSEnc, SSC)), the send sequence counter incremented before every command and response.

Written independently of the host's secure messaging (docs/architecture.md "Layers", rule 5); only the
block-cipher, MAC and BER-TLV primitives are shared. A command that fails verification raises :class:`SmError` carrying
the status word the card answers (6987 missing data objects, 6988 incorrect data objects); the card then
answers that status word without protection and forgets the session (§9.8.5).
"""

from __future__ import annotations

import dataclasses

from agent.errors import ApduFormatError, TlvError
from agent.icao import tlv
from agent.icao.apdu import SW_SM_DATA_INCORRECT, SW_SM_DATA_MISSING, CommandApdu
from agent.icao.crypto import CipherSuite, pad, unpad

CLA_SM_BITS = 0x0C
TAG_ENCRYPTED_PADDED = 0x87  # padding-content indicator byte + cryptogram (even INS)
TAG_ENCRYPTED = 0x85  # cryptogram, no indicator (odd INS)
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01
MAC_LENGTH = 8

# §9.8.4: [DO'85' or DO'87'] [DO'97'] before DO'8E', in this order.
_ALLOWED_COMMAND_OBJECTS: tuple[list[int], ...] = (
    [], [TAG_LE], [TAG_ENCRYPTED_PADDED], [TAG_ENCRYPTED],
    [TAG_ENCRYPTED_PADDED, TAG_LE], [TAG_ENCRYPTED, TAG_LE],
)


class SmError(Exception):
    """A protected command the card cannot accept; ``sw`` is the answer (sent without SM)."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(f"{reason} (SW {sw:04X})")
        self.sw = sw


def is_protected(cla: int) -> bool:
    """CLA b4-b3 = 11: secure messaging with the header authenticated (ISO/IEC 7816-4 §5.4.1)."""
    return cla & CLA_SM_BITS == CLA_SM_BITS and not cla & 0x80


@dataclasses.dataclass
class CardSession:
    """One secure-messaging session of the card: keys, cipher and the send sequence counter."""

    suite: CipherSuite
    ks_enc: bytes = dataclasses.field(repr=False)
    ks_mac: bytes = dataclasses.field(repr=False)
    ssc: int = dataclasses.field(default=0, repr=False)

    @property
    def block_size(self) -> int:
        return self.suite.block_size

    def _ssc_bytes(self) -> bytes:
        return (self.ssc % (1 << (8 * self.block_size))).to_bytes(self.block_size, "big")

    def _next_ssc(self) -> bytes:
        self.ssc += 1
        return self._ssc_bytes()

    def _iv(self, ssc: bytes) -> bytes:
        if self.suite.is_aes:
            return self.suite.encrypt(self.ks_enc, ssc)  # E(KSEnc, SSC), §9.8.7.1: a one-block ECB
        return bytes(self.block_size)

    def _mac(self, ssc: bytes, data: bytes) -> bytes:
        return self.suite.mac(self.ks_mac, pad(ssc + data, self.block_size))

    # --- commands -----------------------------------------------------------------------------

    def unwrap(self, command: CommandApdu) -> CommandApdu:
        """Verify and decrypt a protected command; the result carries the plain CLA (SM bits off)."""
        try:
            objects = tlv.decode_all(command.data)
        except TlvError as exc:
            raise SmError(SW_SM_DATA_INCORRECT, "malformed SM data objects") from exc
        if not objects or objects[-1].tag != TAG_MAC:
            raise SmError(SW_SM_DATA_MISSING, "DO'8E' missing")
        body = objects[:-1]
        tags = [item.tag for item in body]
        if tags not in _ALLOWED_COMMAND_OBJECTS:
            raise SmError(SW_SM_DATA_INCORRECT, "unexpected SM data objects")
        ssc = self._next_ssc()
        header = pad(command.header, self.block_size)
        macced = header + b"".join(item.encode() for item in body)
        if len(objects[-1].value) != MAC_LENGTH or self._mac(ssc, macced) != objects[-1].value:
            raise SmError(SW_SM_DATA_INCORRECT, "wrong MAC")
        data = b""
        le: int | None = None
        for item in body:
            if item.tag == TAG_LE:
                le = _decode_le(item.value, extended=command.extended)
            else:
                data = self._decrypt(item.tag, item.value, ssc)
        try:
            return CommandApdu(command.cla & ~CLA_SM_BITS & 0xFF, command.ins, command.p1, command.p2,
                               data, le, extended=command.extended)
        except ApduFormatError as exc:
            raise SmError(SW_SM_DATA_INCORRECT, "protected command cannot be rebuilt") from exc

    def _decrypt(self, tag: int, value: bytes, ssc: bytes) -> bytes:
        cryptogram = value
        if tag == TAG_ENCRYPTED_PADDED:
            if not value or value[0] != PADDING_INDICATOR:
                raise SmError(SW_SM_DATA_INCORRECT, "DO'87' without padding indicator 01")
            cryptogram = value[1:]
        if not cryptogram or len(cryptogram) % self.block_size:
            raise SmError(SW_SM_DATA_INCORRECT, "cryptogram is not a whole number of blocks")
        plain = self.suite.decrypt(self.ks_enc, cryptogram, self._iv(ssc))
        try:
            return unpad(plain)
        except ValueError as exc:
            raise SmError(SW_SM_DATA_INCORRECT, "bad padding in cryptogram") from exc

    # --- responses ----------------------------------------------------------------------------

    def wrap(self, ins: int, data: bytes, sw: int, *, corrupt_mac: bool = False) -> bytes:
        """The protected response [DO'87'|DO'85'] DO'99' DO'8E' followed by SW1-SW2."""
        ssc = self._next_ssc()
        objects = b""
        if data:
            cryptogram = self.suite.encrypt(self.ks_enc, pad(data, self.block_size), self._iv(ssc))
            if ins & 1:
                objects += tlv.encode(TAG_ENCRYPTED, cryptogram)
            else:
                objects += tlv.encode(TAG_ENCRYPTED_PADDED, bytes([PADDING_INDICATOR]) + cryptogram)
        objects += tlv.encode(TAG_STATUS, sw.to_bytes(2, "big"))
        mac = self._mac(ssc, objects)
        if corrupt_mac:
            mac = bytes([mac[0] ^ 0x01]) + mac[1:]
        return objects + tlv.encode(TAG_MAC, mac) + sw.to_bytes(2, "big")

    def wrapped_length(self, ins: int, data_length: int) -> int:
        """Length of the response data field ``wrap`` produces for ``data_length`` plain bytes."""
        length = 4 + 2 + MAC_LENGTH  # DO'99' and DO'8E'
        if data_length:
            padded = (data_length // self.block_size + 1) * self.block_size
            inner = padded + (0 if ins & 1 else 1)
            length += 1 + len(tlv.encode_length(inner)) + inner
        return length

    def largest_plain_response(self, ins: int, limit: int) -> int:
        """The most plain response bytes whose protected form fits ``limit`` response bytes."""
        size = limit
        while size > 0 and self.wrapped_length(ins, size) > limit:
            size -= 1
        return size


def _decode_le(value: bytes, *, extended: bool) -> int:
    """DO'97': one byte (00 = 256) or two bytes (0000 = 65536, the extended maximum)."""
    if len(value) == 1:
        return value[0] or 256
    if len(value) == 2:
        return int.from_bytes(value, "big") or 65536
    if not value:
        return 65536 if extended else 256
    raise SmError(SW_SM_DATA_INCORRECT, "DO'97' longer than two bytes")
