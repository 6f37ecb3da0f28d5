"""Secure messaging of ICAO Doc 9303-11 §9.8 (ISO/IEC 7816-4 §10): protecting command APDUs and
verifying and decrypting response APDUs with the session keys of BAC or PACE, for 3DES (retail MAC,
zero IV, 8-byte SSC) and AES-128/192/256 (CMAC, IV = E(K_enc, SSC), 16-byte SSC).

Data objects: DO'87 (padding indicator 01 + cryptogram, even INS) or DO'85 (cryptogram, odd INS such
as READ BINARY B1), DO'97 (Le), DO'99 (status word), DO'8E (MAC). A response whose MAC is wrong, that
lacks DO'99 or DO'8E, or that does not decrypt to well-padded data raises
:class:`agent.errors.SecureMessagingError`; it is never silently accepted. A bare status word
without any data object (cards answer SM errors, and often access errors, unprotected) is
passed up as that status word unless it claims success, which only a protected response may.

Send sequence counter after a bare status word: the card checked (and counted) the command but
protected no answer, so only the command's step counts. One exception, handled by
:class:`SecureChannel`: a bare 6700 to an extended-length APDU means the card or reader refused the
APDU's format before secure messaging saw it, so the command's step is taken back too.
"""

from __future__ import annotations

import hmac

from agent.errors import SecureMessagingError, TlvError
from agent.icao import tlv
from agent.icao.apdu import (
    CLA_SM,
    EXTENDED_MAX,
    SHORT_MAX_LC,
    SHORT_MAX_LE,
    SW_OK,
    SW_WRONG_LENGTH,
    CommandApdu,
    ResponseApdu,
)
from agent.icao.crypto import CipherSuite, pad
from agent.icao.transport import Send

TAG_CRYPTOGRAM_ODD = 0x85  # BER-TLV plain value (odd INS), no padding-content indicator
TAG_CRYPTOGRAM = 0x87  # padding-content indicator ‖ cryptogram
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01
MAC_LENGTH = 8
_MAC_DO_LENGTH = 2 + MAC_LENGTH
_STATUS_DO_LENGTH = 4


class SecureMessaging:
    """The state of one secure-messaging session: cipher suite, session keys and the send sequence
    counter, which :meth:`wrap` and :meth:`unwrap` each advance by one."""

    def __init__(self, suite: CipherSuite, k_enc: bytes, k_mac: bytes, ssc: int) -> None:
        if len(k_enc) != suite.key_length or len(k_mac) != suite.key_length:
            raise ValueError(f"{suite.name} session keys must be {suite.key_length} bytes")
        self.suite = suite
        self._k_enc = bytes(k_enc)
        self._k_mac = bytes(k_mac)
        # The key objects are built once per session; every APDU still gets its own CBC context
        self._cipher = suite.keyed_cipher(self._k_enc)
        self._mac_key = suite.keyed_mac(self._k_mac)
        self._zero_iv = bytes(suite.block_size)
        self._ssc_length = 16 if suite.is_aes else 8
        if not 0 <= ssc < 1 << (8 * self._ssc_length):
            raise ValueError(f"SSC does not fit in {self._ssc_length} bytes")
        self._ssc = ssc

    def __repr__(self) -> str:
        return f"SecureMessaging({self.suite.name})"

    @property
    def ssc(self) -> int:
        return self._ssc

    @property
    def block_size(self) -> int:
        return self.suite.block_size

    def _next_ssc(self) -> bytes:
        self._ssc = (self._ssc + 1) % (1 << (8 * self._ssc_length))
        return self._ssc.to_bytes(self._ssc_length, "big")

    def _iv(self, ssc: bytes) -> bytes:
        if self.suite.is_aes:
            return self._cipher.encrypt_block(ssc)
        return self._zero_iv

    def _mac(self, ssc: bytes, data: bytes) -> bytes:
        return self._mac_key.mac(pad(ssc + data, self.block_size))

    def wrap(self, command: CommandApdu) -> CommandApdu:
        """The protected form of a plain command (Doc 9303-11 §9.8.4). Extended length is used when
        the plain command needs it or when the protected data no longer fits a short Lc."""
        if command.cla & CLA_SM:
            raise SecureMessagingError("command is already marked as secure messaging")
        cla = command.cla | CLA_SM
        header = bytes((cla, command.ins, command.p1, command.p2))
        ssc = self._next_ssc()
        extended = command.needs_extended
        data_do = b""
        if command.data:
            cryptogram = self._cipher.encrypt(pad(command.data, self.block_size), self._iv(ssc))
            if command.ins & 1:
                data_do = tlv.encode(TAG_CRYPTOGRAM_ODD, cryptogram)
            else:
                data_do = tlv.encode(TAG_CRYPTOGRAM, bytes([PADDING_INDICATOR]) + cryptogram)
        le_do = b""
        if command.le is not None:
            le_bytes = (command.le % EXTENDED_MAX).to_bytes(2, "big") if extended else bytes([command.le % 256])
            le_do = tlv.encode(TAG_LE, le_bytes)
        mac = self._mac(ssc, pad(header, self.block_size) + data_do + le_do)
        body = data_do + le_do + tlv.encode(TAG_MAC, mac)
        outer_extended = extended or len(body) > SHORT_MAX_LC
        return CommandApdu(
            cla,
            command.ins,
            command.p1,
            command.p2,
            body,
            le=EXTENDED_MAX if outer_extended else SHORT_MAX_LE,
            extended=outer_extended,
        )

    def rewind(self, ssc: int) -> None:
        """Set the SSC back to its value before a command the card never processed."""
        if not 0 <= ssc < 1 << (8 * self._ssc_length):
            raise ValueError(f"SSC does not fit in {self._ssc_length} bytes")
        self._ssc = ssc

    def unwrap(self, response: ResponseApdu) -> ResponseApdu:
        """Verify and decrypt a protected response (Doc 9303-11 §9.8.5). A bare error status word
        is returned as it is, without advancing the SSC (see the module notes)."""
        if not response.data:
            if response.sw == SW_OK:
                raise SecureMessagingError("card answered success without secure messaging")
            return ResponseApdu(b"", response.sw)
        ssc = self._next_ssc()
        data = response.data
        objects = _split_objects(data)
        tag, mac_object_start, value_start, end = objects[-1]
        if tag != TAG_MAC:
            raise SecureMessagingError("response lacks DO'8E (MAC) at its end")
        if end - value_start != MAC_LENGTH:
            raise SecureMessagingError("DO'8E does not hold an 8-byte MAC")
        if not hmac.compare_digest(self._mac(ssc, data[:mac_object_start]), data[value_start:end]):
            raise SecureMessagingError("response MAC does not verify")
        status: bytes | None = None
        cryptogram: bytes | None = None
        indicator_expected = False
        for tag, _start, value_start, end in objects[:-1]:
            if tag == TAG_STATUS and status is None:
                status = data[value_start:end]
            elif tag in (TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_ODD) and cryptogram is None:
                cryptogram = data[value_start:end]
                indicator_expected = tag == TAG_CRYPTOGRAM
            else:
                raise SecureMessagingError(f"unexpected or repeated data object {tag:X} in the response")
        if status is None or len(status) != 2:
            raise SecureMessagingError("response lacks DO'99 (status word)")
        plain = b""
        if cryptogram is not None:
            plain = self._decrypt(ssc, cryptogram, indicator_expected)
        return ResponseApdu(plain, int.from_bytes(status, "big"))

    def _decrypt(self, ssc: bytes, value: bytes, indicator_expected: bool) -> bytes:
        if indicator_expected:
            if not value or value[0] != PADDING_INDICATOR:
                raise SecureMessagingError("DO'87 has no padding indicator 01")
            value = value[1:]
        if not value or len(value) % self.block_size:
            raise SecureMessagingError("cryptogram is not a whole number of cipher blocks")
        plain = self._cipher.decrypt(value, self._iv(ssc))
        return strict_unpad(plain, self.block_size)


def strict_unpad(data: bytes, block_size: int) -> bytes:
    """Remove ISO/IEC 9797-1 padding method 2, which must sit in the last block."""
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= block_size:
        raise SecureMessagingError("decrypted data is not correctly padded")
    return stripped[:-1]


def _split_objects(data: bytes) -> list[tuple[int, int, int, int]]:
    """(tag, object start, value start, value end) of each top-level data object of a protected
    response: offsets only, so that the values are copied once, when they are used."""
    objects: list[tuple[int, int, int, int]] = []
    offset = 0
    size = len(data)
    try:
        while offset < size:
            tag, value_start = tlv.read_tag(data, offset)
            length, value_start = tlv.read_length(data, value_start)
            end = value_start + length
            if end > size:
                raise TlvError(f"tag {tag:X} declares {length} bytes but only {size - value_start} remain")
            objects.append((tag, offset, value_start, end))
            offset = end
    except TlvError as exc:
        raise SecureMessagingError("protected response is not well-formed BER-TLV") from exc
    return objects


def wrapped_response_length(plain_length: int, block_size: int, *, odd_ins: bool) -> int:
    """The data field of the protected answer to a READ BINARY of ``plain_length`` bytes: DO'87' (or
    DO'85' for odd INS) with the padded cryptogram, DO'99' and DO'8E'."""
    padded = (plain_length // block_size + 1) * block_size
    value = padded if odd_ins else padded + 1
    return 1 + len(tlv.encode_length(value)) + value + _STATUS_DO_LENGTH + _MAC_DO_LENGTH


def max_plain_read(
    suite: CipherSuite | None, *, extended: bool = False, odd_ins: bool = False, limit: int | None = None
) -> int:
    """The largest Le of a plain READ BINARY whose answer still fits one response data field (256
    bytes, or 65536 with extended length, or ``limit`` when the card or the reader takes less) once
    protected: 223 with AES, 231 with 3DES, 256 without secure messaging (ICAO-VECTORS "Constants")."""
    ceiling = EXTENDED_MAX if extended else SHORT_MAX_LE
    limit = ceiling if limit is None else min(limit, ceiling)
    if suite is None:
        return limit
    # Every extra plain byte costs at least one protected byte, so start from the limit and walk down
    # whole cipher blocks until the protected answer fits.
    length = limit - (limit % suite.block_size) - 1
    while length > 0 and wrapped_response_length(length, suite.block_size, odd_ins=odd_ins) > limit:
        length -= suite.block_size
    return max(length, 0)


class SecureChannel:
    """The secure-messaging processor: a ``Send`` that protects each command with ``sm`` and
    verifies its answer, over the ``Send`` below (normally the response-chaining processor)."""

    def __init__(self, send: Send, sm: SecureMessaging) -> None:
        self._send = send
        self.sm = sm

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        before = self.sm.ssc
        protected = self.sm.wrap(command)
        response = self._send(protected)
        if protected.needs_extended and not response.data and response.sw == SW_WRONG_LENGTH:
            # Refused as an APDU (no extended length here), so the card never counted it
            self.sm.rewind(before)
        return self.sm.unwrap(response)
