"""Reading elementary files of an eMRTD (Doc 9303-10 §3.6 and §4, ISO/IEC 7816-4 §11.2-11.3): select
by file identifier (SELECT with P1=02 P2=0C), read a first whole chunk (the file's BER-TLV header
gives its length; a small file is then read whole, since a card answers a file shorter than Le with
what it has, 9000 or 6282), then the rest in the largest chunks the card and the reader allow. A card
that complains about the length of that first read gets an 8-byte header read instead.

Chunks are extended-length reads when the reader and card take them, else the largest short read
(223 bytes under AES secure messaging, 231 under 3DES, 256 in plain). A chunk answered with 6700,
6B00, 6282 (without data) or 6Cxx is read again smaller (6Cxx: with exactly xx), and the size that
worked is remembered in a :class:`ReadLimits` the caller keeps per reader. Offsets above 32767 use
READ BINARY with odd INS (B1) and the offset in DO'54. A progress callback sees ``(done, total)``
after every chunk and a cancel callable is checked between chunks.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable

from agent.errors import (
    ApduError,
    CardRemovedError,
    DocumentError,
    OperationCancelledError,
    SecureMessagingError,
    TlvError,
    TransportError,
)
from agent.icao import tlv
from agent.icao.apdu import (
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SHORT_MAX_LE,
    SW_OK,
    SW_WARNING_END_OF_FILE,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CommandApdu,
    ResponseApdu,
)
from agent.icao.crypto import CipherSuite
from agent.icao.secure_messaging import max_plain_read
from agent.icao.transport import Send, check_sw, error_for_sw

AID_EMRTD = bytes.fromhex("A0000002471001")
FID_MF = 0x3F00  # the LDS files themselves are in agent.icao.lds_registry

SELECT_P1_MF = 0x00
SELECT_P1_EF_UNDER_CURRENT_DF = 0x02
SELECT_P1_BY_DF_NAME = 0x04
SELECT_P2_NO_RESPONSE = 0x0C

TAG_OFFSET = 0x54
TAG_DISCRETIONARY_DATA = 0x53

MAX_SHORT_OFFSET = 0x7FFF  # P1 bit 8 of READ BINARY B0 flags a short EF identifier instead
HEADER_MIN_LENGTH = 8  # tag (up to 2 bytes) and length (up to 5 bytes) of any LDS file
# The largest extended read we ask for; the secure-messaging overhead caps it a little lower. A reader
# that refuses it falls back to short reads once and the per-reader ReadLimits remembers that.
DEFAULT_EXTENDED_CHUNK = 65536
DEFAULT_MAX_FILE_SIZE = 1 << 20
SW1_WRONG_LE = 0x6C
STEP_DOWN_SWS = frozenset({SW_WRONG_LENGTH, SW_WRONG_P1P2, SW_WARNING_END_OF_FILE})

EXTENDED_AUTO = "auto"
EXTENDED_ALWAYS = "always"
EXTENDED_NEVER = "never"

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclasses.dataclass
class ReadLimits:
    """What one reader (with the cards seen on it) has shown it can take; the caller keeps one per
    reader and hands it to every read so that a step-down is learned once.

    ``extended_ok``: None until an extended-length read was tried, then whether it worked.
    ``max_chunk``: the largest short Le that worked after a step-down, None while none was needed.
    """

    extended_ok: bool | None = None
    max_chunk: int | None = None
    max_extended_chunk: int = DEFAULT_EXTENDED_CHUNK

    @classmethod
    def from_setting(cls, extended_length: str) -> ReadLimits:
        """From the ``reader.extended_length`` setting: auto (probe), always or never."""
        if extended_length == EXTENDED_AUTO:
            return cls()
        if extended_length == EXTENDED_ALWAYS:
            return cls(extended_ok=True)
        if extended_length == EXTENDED_NEVER:
            return cls(extended_ok=False)
        raise ValueError(f"extended_length must be auto, always or never, not {extended_length!r}")


def select_ef(send: Send, fid: int) -> None:
    """SELECT an EF under the current DF by its identifier, without FCI (P1=02 P2=0C)."""
    response = send(
        CommandApdu(0x00, INS_SELECT, SELECT_P1_EF_UNDER_CURRENT_DF, SELECT_P2_NO_RESPONSE, fid.to_bytes(2, "big"))
    )
    check_sw(response, f"SELECT {fid:04X}")


def select_mf(send: Send) -> bool:
    """SELECT the master file; False when the card refuses (some CCCDs answer 6D00), which is
    harmless: after reset the MF is current anyway."""
    response = send(CommandApdu(0x00, INS_SELECT, SELECT_P1_MF, SELECT_P2_NO_RESPONSE, FID_MF.to_bytes(2, "big")))
    return response.sw == SW_OK


def select_application(send: Send, aid: bytes = AID_EMRTD) -> None:
    """SELECT the eMRTD (LDS1) application by its AID."""
    response = send(CommandApdu(0x00, INS_SELECT, SELECT_P1_BY_DF_NAME, SELECT_P2_NO_RESPONSE, aid))
    check_sw(response, "SELECT application")


def read_ef(
    send: Send,
    fid: int,
    *,
    limits: ReadLimits,
    suite: CipherSuite | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    card_supports_extended: bool | None = None,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
) -> bytes:
    """Select EF ``fid`` and read it whole. ``suite`` is the secure-messaging cipher of ``send``
    (None for plain reads); it sets the largest short chunk. Raises AccessDeniedError (6982),
    FileNotFoundOnCardError (6A82), ApduError, OperationCancelledError or DocumentError."""
    select_ef(send, fid)
    return read_selected(
        send,
        limits=limits,
        suite=suite,
        progress=progress,
        cancel=cancel,
        card_supports_extended=card_supports_extended,
        max_size=max_size,
        label=f"{fid:04X}",
    )


def read_selected(
    send: Send,
    *,
    limits: ReadLimits,
    suite: CipherSuite | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    card_supports_extended: bool | None = None,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    label: str = "current EF",
) -> bytes:
    """Read the currently selected EF whole (see :func:`read_ef`)."""
    reader = _ChunkReader(send, limits, suite, card_supports_extended is not False, label)
    _check_cancel(cancel)
    head, total = _read_head(reader, label)
    if total > max_size:
        raise DocumentError(f"declared length {total} exceeds the limit of {max_size} bytes", file=label)
    data = bytearray(head[:total])
    if progress is not None:
        progress(len(data), total)
    while len(data) < total:
        _check_cancel(cancel)
        remaining = total - len(data)
        data += reader.read(len(data), remaining)[:remaining]
        if progress is not None:
            progress(len(data), total)
    return bytes(data)


def _read_head(reader: _ChunkReader, label: str) -> tuple[bytes, int]:
    """The first bytes of the current EF (at least its whole BER-TLV header) and its declared size."""
    # The first read asks for a whole chunk, not just the header: a small file then costs one READ
    # BINARY. A card that complains about the length instead (some answer 6700 when Le goes past the
    # end of the file) gets the classic 8-byte header read.
    head = reader.read(0, reader.first_chunk(), learn=False, step_down=False)
    if head is None:
        head = reader.read(0, HEADER_MIN_LENGTH, learn=False)
    while True:
        try:
            _header_size, total = tlv.header_length(head)
        except TlvError as exc:
            # A read capped below the header (a tiny learned max_chunk, or the header read stepped
            # down on a card that refuses Le past the end of a tiny file) may have cut the header
            # short: it goes on a byte at a time (an Le of 1 goes past the end only at the end), unless
            # the card answered with less than asked (the end of the file) or no bytes could complete it.
            more = None
            if reader.last_read_full and _header_is_cut(head):
                more = reader.read(len(head), 1, learn=False, step_down=False)
            if more is None:
                raise DocumentError("file does not start with a BER-TLV header", file=label) from exc
            head += more
            continue
        return head, total


def _header_is_cut(head: bytes) -> bool:
    """Whether ``head`` is the start of a header that more bytes could complete."""
    if len(head) >= HEADER_MIN_LENGTH:
        return False
    try:
        tlv.header_length(head + bytes(HEADER_MIN_LENGTH))
    except TlvError:
        return False
    return True


def _is_length_complaint(sw: int) -> bool:
    return sw in STEP_DOWN_SWS or sw >> 8 == SW1_WRONG_LE


def _check_cancel(cancel: CancelCheck | None) -> None:
    if cancel is not None and cancel():
        raise OperationCancelledError("file read cancelled")


def _next_smaller(size: int) -> int:
    """The largest power of two below ``size`` (0 when none)."""
    if size <= 1:
        return 0
    return 1 << ((size - 1).bit_length() - 1)


def _odd_header_length(content: int) -> int:
    return 1 + len(tlv.encode_length(content))


class _ChunkReader:
    """READ BINARY of one chunk at a time with the step-down rules, learning into ``limits``."""

    def __init__(
        self, send: Send, limits: ReadLimits, suite: CipherSuite | None, extended_allowed: bool, label: str
    ) -> None:
        self._send = send
        self._limits = limits
        self._suite = suite
        self._extended_allowed = extended_allowed
        self._label = label
        self.last_read_full = False  # whether the last successful read got every byte it asked for

    def _short_limit(self) -> int:
        limit = max_plain_read(self._suite)
        if self._limits.max_chunk is not None:
            limit = min(limit, self._limits.max_chunk)
        return limit

    def _extended_limit(self) -> int:
        return max(
            min(self._limits.max_extended_chunk, max_plain_read(self._suite, extended=True)), self._short_limit()
        )

    def first_chunk(self) -> int:
        """The size of the first read of a file: the largest chunk this reader and card allow."""
        if self._extended_allowed and self._limits.extended_ok is not False:
            return self._extended_limit()
        return self._short_limit()

    @typing.overload
    def read(self, offset: int, wanted: int, *, learn: bool = ...) -> bytes: ...

    @typing.overload
    def read(self, offset: int, wanted: int, *, learn: bool = ..., step_down: bool) -> bytes | None: ...

    def read(self, offset: int, wanted: int, *, learn: bool = True, step_down: bool = True) -> bytes | None:
        """At least one byte of the current EF from ``offset`` (at most ``wanted``). With
        ``step_down=False`` (the first read of a file) a length complaint returns None instead of a
        smaller retry (6Cxx, which names the exact length, is still followed), and a refused extended
        read is retried short without concluding that extended length does not work: the card may
        only be refusing an Le past the end of the file."""
        odd = offset > MAX_SHORT_OFFSET
        needed = wanted + _odd_header_length(wanted) if odd else wanted
        short_limit = self._short_limit()
        # Extended only when a short read cannot hold the chunk: a learned max_chunk caps short reads,
        # and a short read above it is what the card refused before.
        if needed > max_plain_read(self._suite) and self._extended_allowed and self._limits.extended_ok is not False:
            size = min(needed, self._extended_limit())
        else:
            size = min(needed, short_limit)
        # Only a full-size chunk that had to shrink says something about the reader: a short final
        # chunk refused near the end of the file does not.
        learnable = learn and size >= short_limit
        stepped_down = False
        extended_refused = False  # a first read refused as extended, for a reason not yet known
        command = f"READ BINARY {self._label}"
        while True:
            extended = size > max_plain_read(self._suite)
            try:
                response = self._read_binary(offset, size, odd, wanted, extended)
            except CardRemovedError:
                raise  # says nothing about what the reader can take
            except (TransportError, SecureMessagingError):
                if extended:
                    self._limits.extended_ok = False  # the reader or card choked on it: never again
                raise
            if response.sw == SW_OK or (response.sw == SW_WARNING_END_OF_FILE and response.data):
                if not response.data:
                    raise ApduError("READ BINARY returned no data", response.sw, command=command)
                self.last_read_full = len(response.data) >= size
                if extended:
                    self._limits.extended_ok = True
                elif extended_refused and not self.last_read_full:
                    # This card answers an Le past the end of the file with what it has, so its
                    # refusal was of the extended length itself.
                    self._limits.extended_ok = False
                elif stepped_down and learnable and size < max_plain_read(self._suite):
                    self._limits.max_chunk = size
                return self._content(response, odd)
            if not _is_length_complaint(response.sw):
                raise error_for_sw(response.sw, command)
            exact = (response.sw2 or SHORT_MAX_LE) if response.sw1 == SW1_WRONG_LE else None
            if extended:
                if step_down:
                    self._limits.extended_ok = False
                else:
                    extended_refused = True
                smaller = min(needed, short_limit)
            elif exact is not None and 0 < exact < size:
                smaller = exact
            elif not step_down:
                return None
            else:
                smaller = _next_smaller(size)
            if smaller <= (_odd_header_length(1) if odd else 0):
                raise error_for_sw(response.sw, command)
            size = smaller
            stepped_down = True

    def _read_binary(self, offset: int, size: int, odd: bool, wanted: int, extended: bool) -> ResponseApdu:
        if not odd:
            return self._send(
                CommandApdu(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=size, extended=extended)
            )
        content = min(wanted, size - _odd_header_length(size))
        while content + _odd_header_length(content) > size:
            content -= 1
        offset_do = tlv.encode(TAG_OFFSET, offset.to_bytes((offset.bit_length() + 7) // 8, "big"))
        return self._send(
            CommandApdu(
                0x00,
                INS_READ_BINARY_ODD,
                0x00,
                0x00,
                offset_do,
                le=content + _odd_header_length(content),
                extended=extended,
            )
        )

    def _content(self, response: ResponseApdu, odd: bool) -> bytes:
        if not odd:
            return response.data
        try:
            item, _end = tlv.decode_one(response.data)
        except TlvError as exc:
            raise DocumentError("READ BINARY B1 answer is not a DO'53", file=self._label) from exc
        if item.tag != TAG_DISCRETIONARY_DATA or not item.value:
            raise DocumentError("READ BINARY B1 answer is not a non-empty DO'53", file=self._label)
        return item.value
