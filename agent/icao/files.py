"""Reading elementary files of an eMRTD (Doc 9303-10 §3.6 and §4, ISO/IEC 7816-4 §11.2-11.3): the
first READ BINARY names the file by its short EF identifier (P1 = 0x80 | SFI, Doc 9303-10 §4.6 gives
every LDS file one), which selects it without a SELECT; a card that refuses that form is read with
SELECT by file identifier (P1=02 P2=0C) instead, and the refusal is remembered per reader. That first
read asks for a whole chunk (the file's BER-TLV header gives its length; a small file is then read
whole, since a card answers a file shorter than Le with what it has, 9000 or 6282), then the rest comes
in the largest chunks the card and the reader allow. A card that complains about the length of that
first read gets an 8-byte header read instead.

How large a chunk may be: the card says it in EF.ATR/INFO (ISO/IEC 7816-4 §12.7.1, the extended length
information DO'7F66' holding the largest command and response APDU, and the card capabilities DO'47'
saying whether the card takes extended lengths and short EF identifiers: :class:`CardInfo`); chunks are
extended-length reads when reader and card take them, else the largest short read (223 bytes under AES
secure messaging, 231 under 3DES, 256 in plain). A chunk answered with 6700, 6B00, 6282 (without data)
or 6Cxx is read again smaller (6Cxx: with exactly xx), and the size that worked is remembered in a
:class:`ReadLimits` the caller keeps per reader. A transfer the reader or PC/SC stack fails
(:class:`agent.errors.TransferError`) lowers the largest response this reader is trusted to deliver.
Offsets above 32767 use READ BINARY with odd INS (B1) and the offset in DO'54. A progress callback
sees ``(done, total)`` after every chunk and a cancel callable is checked between chunks.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable

from agent.errors import (
    ApduError,
    CardRemovedError,
    DocumentError,
    FileNotFoundOnCardError,
    OperationCancelledError,
    SecureMessagingError,
    TlvError,
    TransferError,
    TransportError,
)
from agent.icao import tlv
from agent.icao.apdu import (
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SHORT_MAX_LE,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INCORRECT_P1P2,
    SW_INS_NOT_SUPPORTED,
    SW_OK,
    SW_WARNING_END_OF_FILE,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CommandApdu,
    ResponseApdu,
)
from agent.icao.crypto import CipherSuite
from agent.icao.secure_messaging import max_plain_read, wrapped_response_length
from agent.icao.transport import Send, check_sw, error_for_sw

AID_EMRTD = bytes.fromhex("A0000002471001")
FID_MF = 0x3F00  # the LDS files themselves are in agent.icao.lds_registry

SELECT_P1_MF = 0x00
SELECT_P1_EF_UNDER_CURRENT_DF = 0x02
SELECT_P1_BY_DF_NAME = 0x04
SELECT_P2_NO_RESPONSE = 0x0C
SELECT_P2_FCP = 0x04
TAG_FCP = 0x62
TAG_FILE_SIZE = 0x80

TAG_OFFSET = 0x54
TAG_DISCRETIONARY_DATA = 0x53

MAX_SHORT_OFFSET = 0x7FFF  # P1 bit 8 of READ BINARY B0 flags a short EF identifier instead
READ_BINARY_SFI = 0x80  # P1 of READ BINARY naming the file by its short EF identifier; P2 is the offset
MAX_SFI = 0x1E
MAX_SFI_OFFSET = 0xFF
# A card that does not take short EF identifiers answers one of these to READ BINARY with P1 bit 8 set
# (ISO/IEC 7816-4 §5.6: wrong parameters, function or instruction not supported, command incompatible
# with the file structure). 6B00 here is not "offset beyond the end": the offset is 0.
SW_COMMAND_INCOMPATIBLE = 0x6981
SFI_REFUSED_SWS = frozenset(
    {SW_INCORRECT_P1P2, SW_WRONG_P1P2, SW_FUNCTION_NOT_SUPPORTED, SW_COMMAND_INCOMPATIBLE, SW_INS_NOT_SUPPORTED}
)
SW_TRAILER = 2
SHORT_RESPONSE_APDU = SHORT_MAX_LE + SW_TRAILER  # what any reader delivers: a short response with its SW
EXTENDED_RESPONSE_APDU = 65536 + SW_TRAILER

# EF.ATR/INFO (ISO/IEC 7816-4 §12.2.2): in the MF, selected by file identifier (it has no SFI of its own
# in the eMRTD file system)
FID_EF_ATR_INFO = 0x2F01
FILE_EF_ATR_INFO = "EF.ATR/INFO"
TAG_CARD_CAPABILITIES = 0x47
TAG_EXTENDED_LENGTH_INFO = 0x7F66
TAG_INTEGER = 0x02
CAPABILITY_SHORT_EF_IDENTIFIER = 0x04  # first software function table, b3
CAPABILITY_EXTENDED_LENGTH = 0x40  # third software function table, b7
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
    ``max_response``: the largest response APDU (data and SW1-SW2) this reader is trusted to deliver
    after one it failed to transfer (:class:`agent.errors.TransferError`); None while none failed.
    ``sfi_ok``: None until a READ BINARY by short EF identifier was tried, then whether the cards here
    take it (a refusal makes the next reads on this reader select by file identifier from the start).
    """

    extended_ok: bool | None = None
    max_chunk: int | None = None
    max_extended_chunk: int = DEFAULT_EXTENDED_CHUNK
    max_response: int | None = None
    sfi_ok: bool | None = None

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

    def after_transfer_failure(self, response_apdu: int) -> None:
        """The reader failed to deliver a response of ``response_apdu`` bytes: trust it with at most
        the next power of two below. A short response that failed says nothing about sizes."""
        if response_apdu <= SHORT_RESPONSE_APDU:
            return
        smaller = max(_next_smaller(response_apdu), SHORT_RESPONSE_APDU)
        self.max_response = smaller if self.max_response is None else min(self.max_response, smaller)


@dataclasses.dataclass(frozen=True)
class CardInfo:
    """What a card says of itself in EF.ATR/INFO (ISO/IEC 7816-4 §12.7.1, §12.1.1.9): the largest
    command and response APDU it handles (DO'7F66', extended length information), and from its card
    capabilities (DO'47') whether it takes extended Lc/Le and short EF identifiers. None: not said."""

    max_command: int | None = None
    max_response: int | None = None
    extended_length: bool | None = None
    short_ef_identifiers: bool | None = None

    def describe(self) -> str:
        parts = []
        if self.max_response is not None:
            parts.append(f"responses up to {self.max_response} bytes")
        if self.max_command is not None:
            parts.append(f"commands up to {self.max_command} bytes")
        if self.extended_length is not None:
            parts.append("extended length" if self.extended_length else "short APDUs only")
        if self.short_ef_identifiers is not None:
            parts.append("short EF identifiers" if self.short_ef_identifiers else "no short EF identifiers")
        return ", ".join(parts) or "nothing about lengths"


UNKNOWN_CARD = CardInfo()


def _atr_info_objects(data: bytes) -> list[tlv.Tlv]:
    """The data objects of EF.ATR/INFO up to the padding: a 00 or FF where a tag would start ends them
    (ISO/IEC 7816-4 §5.2.2: those bytes are not tags)."""
    found: list[tlv.Tlv] = []
    offset = 0
    while offset < len(data) and data[offset] not in (0x00, 0xFF):
        item, offset = tlv.decode_one(data, offset)
        found.append(item)
    if bytes(data[offset:]).strip(b"\x00\xff"):
        raise DocumentError("bytes after the padding", file=FILE_EF_ATR_INFO)
    return found


def parse_atr_info(data: bytes) -> CardInfo:
    """EF.ATR/INFO: its top-level data objects (padding 00 / FF tolerated). DocumentError naming the
    file when a DO that matters is malformed; DOs it does not use are ignored."""
    max_command = max_response = None
    extended = sfi = None
    try:
        for item in _atr_info_objects(bytes(data)):
            if item.tag == TAG_EXTENDED_LENGTH_INFO:
                numbers = item.children()
                if len(numbers) < 2 or any(n.tag != TAG_INTEGER or not n.value or len(n.value) > 4 for n in numbers):
                    raise DocumentError("DO'7F66' does not hold the two maximum lengths", file=FILE_EF_ATR_INFO)
                max_command = int.from_bytes(numbers[0].value, "big")
                max_response = int.from_bytes(numbers[1].value, "big")
                if max_command < 5 or max_response < SW_TRAILER + 1:
                    raise DocumentError("DO'7F66' gives lengths no APDU fits in", file=FILE_EF_ATR_INFO)
            elif item.tag == TAG_CARD_CAPABILITIES:
                if not 1 <= len(item.value) <= 3:
                    raise DocumentError("DO'47' is not 1 to 3 bytes of card capabilities", file=FILE_EF_ATR_INFO)
                sfi = bool(item.value[0] & CAPABILITY_SHORT_EF_IDENTIFIER)
                if len(item.value) == 3:
                    extended = bool(item.value[2] & CAPABILITY_EXTENDED_LENGTH)
    except TlvError as exc:
        raise DocumentError(f"not BER-TLV: {exc.message}", file=FILE_EF_ATR_INFO) from exc
    if max_response is not None and extended is None:
        extended = max_response > SHORT_RESPONSE_APDU  # the lengths imply it
    return CardInfo(max_command, max_response, extended, sfi)


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
    sfi: int | None = None,
    card: CardInfo = UNKNOWN_CARD,
    resume: bytes = b"",
    sink: bytearray | None = None,
) -> bytes:
    """Read EF ``fid`` whole: by its short EF identifier ``sfi`` when there is one and neither the card
    (``card``, from EF.ATR/INFO) nor this reader (``limits.sfi_ok``) has said no, else after a SELECT.
    ``suite`` is the secure-messaging cipher of ``send`` (None for plain reads); it sets the largest
    short chunk. ``sink``, when given, holds what has been read so far at any moment (so that a read
    a failed transfer interrupts leaves it); ``resume`` holds such bytes of an earlier attempt (from
    offset 0): the read goes on after them, once the file is selected again. Raises AccessDeniedError
    (6982), FileNotFoundOnCardError (6A82), ApduError, OperationCancelledError or DocumentError."""
    label = f"{fid:04X}"
    if card_supports_extended is None:
        card_supports_extended = card.extended_length
    use_sfi = (
        sfi is not None and not resume and limits.sfi_ok is not False and card.short_ef_identifiers is not False
    )
    if use_sfi:
        assert sfi is not None
        if not 0 < sfi <= MAX_SFI:
            raise ValueError(f"short EF identifier {sfi:#x} out of range")
        try:
            data = read_selected(send, limits=limits, suite=suite, progress=progress, cancel=cancel,
                                 card_supports_extended=card_supports_extended, max_size=max_size, label=label,
                                 sfi=sfi, card=card, sink=sink)  # fmt: skip
        except _SfiRefusedError:
            limits.sfi_ok = False  # this reader's cards do not take it: select from now on
        except FileNotFoundOnCardError:
            if limits.sfi_ok:
                raise  # short EF identifiers work here: the file is absent
            # absent, or only its SFI unknown to a card not yet seen taking SFIs: the SELECT below tells
        else:
            limits.sfi_ok = True
            return data
    select_ef(send, fid)
    return read_selected(
        send,
        limits=limits,
        suite=suite,
        progress=progress,
        cancel=cancel,
        card_supports_extended=card_supports_extended,
        max_size=max_size,
        label=label,
        card=card,
        resume=resume,
        sink=sink,
    )


class _SfiRefusedError(Exception):
    """The card answered a READ BINARY by short EF identifier with a status word saying it does not
    take that form (SFI_REFUSED_SWS)."""


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
    sfi: int | None = None,
    card: CardInfo = UNKNOWN_CARD,
    resume: bytes = b"",
    sink: bytearray | None = None,
) -> bytes:
    """Read the currently selected EF whole (see :func:`read_ef`); with ``sfi``, the first READ BINARY
    names (and so selects) the file by its short EF identifier."""
    reader = _ChunkReader(send, limits, suite, card_supports_extended is not False, label, sfi=sfi, card=card)
    _check_cancel(cancel)
    head = b""
    total = 0
    if resume:
        try:
            _header, total = tlv.header_length(resume)
            head = resume
        except TlvError:
            head = b""  # not even the header was read: start again
    if not head:
        head, total = _read_head(reader, label)
    if total > max_size:
        raise DocumentError(f"declared length {total} exceeds the limit of {max_size} bytes", file=label)
    data = sink if sink is not None else bytearray()
    data[:] = head[:total]
    if progress is not None:
        progress(len(data), total)
    while len(data) < total:
        _check_cancel(cancel)
        remaining = total - len(data)
        data += reader.read(len(data), remaining)[:remaining]
        if progress is not None:
            progress(len(data), total)
    return bytes(data)


def read_card_info(send: Send, *, limits: ReadLimits) -> tuple[CardInfo, bytes | None]:
    """EF.ATR/INFO of the card just reset (in the MF, public, read in plain before access control):
    what it says of its lengths, and the file's bytes. A card without it (6A82, or any refusal) is
    :data:`UNKNOWN_CARD`; a malformed one raises DocumentError (the caller notes it and goes on)."""
    # Not one TLV (a sequence of data objects): read whole with one short READ BINARY, the file's size
    # from its FCP (DO'80') when the card refuses an Le past the end of a file.
    try:
        select_ef(send, FID_EF_ATR_INFO)
        response = send(CommandApdu(0x00, INS_READ_BINARY, 0, 0, le=SHORT_MAX_LE))
        if _is_length_complaint(response.sw) and not response.data:
            size = _file_size(send, FID_EF_ATR_INFO)
            response = send(CommandApdu(0x00, INS_READ_BINARY, 0, 0, le=size))
        if response.sw not in (SW_OK, SW_WARNING_END_OF_FILE) or not response.data:
            raise error_for_sw(response.sw, f"READ BINARY {FILE_EF_ATR_INFO}")
    except ApduError:
        return UNKNOWN_CARD, None
    return parse_atr_info(response.data), response.data


def _file_size(send: Send, fid: int) -> int:
    """An EF's size from its FCP (SELECT with P2=04; ISO/IEC 7816-4 §7.4.3, DO'80' in DO'62')."""
    command = CommandApdu(
        0x00, INS_SELECT, SELECT_P1_EF_UNDER_CURRENT_DF, SELECT_P2_FCP, fid.to_bytes(2, "big"), le=SHORT_MAX_LE
    )
    response = check_sw(send(command), f"SELECT {fid:04X}")
    try:
        size = tlv.decode_single(response.data, TAG_FCP).find(TAG_FILE_SIZE)
    except TlvError as exc:
        raise DocumentError(f"FCP is not BER-TLV: {exc.message}", file=f"{fid:04X}") from exc
    if size is None or not 0 < int.from_bytes(size.value, "big") <= SHORT_MAX_LE:
        raise DocumentError("FCP gives no usable file size", file=f"{fid:04X}")
    return int.from_bytes(size.value, "big")


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
        self,
        send: Send,
        limits: ReadLimits,
        suite: CipherSuite | None,
        extended_allowed: bool,
        label: str,
        *,
        sfi: int | None = None,
        card: CardInfo = UNKNOWN_CARD,
    ) -> None:
        self._send = send
        self._limits = limits
        self._suite = suite
        self._extended_allowed = extended_allowed
        self._label = label
        self._sfi = sfi  # until the first read succeeds: it names (and selects) the file
        self._card = card
        self.last_read_full = False  # whether the last successful read got every byte it asked for

    def _response_limit(self) -> int:
        """The largest response APDU (data and SW) the card and this reader take."""
        limit = EXTENDED_RESPONSE_APDU
        for cap in (self._card.max_response, self._limits.max_response):
            if cap is not None:
                limit = min(limit, cap)
        return limit

    def _short_limit(self) -> int:
        limit = max_plain_read(self._suite, limit=min(SHORT_MAX_LE, self._response_limit() - SW_TRAILER))
        if self._limits.max_chunk is not None:
            limit = min(limit, self._limits.max_chunk)
        return limit

    def _extended_limit(self) -> int:
        fits = max_plain_read(self._suite, extended=True, limit=self._response_limit() - SW_TRAILER)
        return max(min(self._limits.max_extended_chunk, fits), self._short_limit())

    def _wire_response(self, size: int, odd: bool) -> int:
        """The response APDU a read of ``size`` plain bytes asks the reader to deliver."""
        if self._suite is None:
            return size + SW_TRAILER
        return wrapped_response_length(size, self._suite.block_size, odd_ins=odd) + SW_TRAILER

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
        short_max = max_plain_read(self._suite)
        # Extended only when a short read cannot hold the chunk: a learned max_chunk caps short reads,
        # and a short read above it is what the card refused before.
        if needed > short_max and self._extended_allowed and self._limits.extended_ok is not False:
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
            extended = size > short_max
            try:
                response = self._read_binary(offset, size, odd, wanted, extended)
            except CardRemovedError:
                raise  # says nothing about what the reader can take
            except TransferError:
                # The reader could not deliver this response: trust it with less from now on. The
                # secure channel's counter is lost with it, so the caller opens a new session.
                self._limits.after_transfer_failure(self._wire_response(size, odd))
                raise
            except (TransportError, SecureMessagingError):
                if extended:
                    self._limits.extended_ok = False  # the reader or card choked on it: never again
                raise
            if response.sw == SW_OK or (response.sw == SW_WARNING_END_OF_FILE and response.data):
                if not response.data:
                    raise ApduError("READ BINARY returned no data", response.sw, command=command)
                self.last_read_full = len(response.data) >= size
                self._sfi = None  # the file is the current EF now
                if extended:
                    self._limits.extended_ok = True
                elif extended_refused and not self.last_read_full:
                    # This card answers an Le past the end of the file with what it has, so its
                    # refusal was of the extended length itself.
                    self._limits.extended_ok = False
                elif stepped_down and learnable and size < short_max:
                    self._limits.max_chunk = size
                return self._content(response, odd)
            if self._sfi is not None and response.sw in SFI_REFUSED_SWS:
                raise _SfiRefusedError
            if not _is_length_complaint(response.sw):
                raise error_for_sw(response.sw, command)
            exact = (response.sw2 or SHORT_MAX_LE) if response.sw1 == SW1_WRONG_LE else None
            if extended:
                # A card that caps its responses says so in EF.ATR/INFO (read before this); one that
                # does not is read with short APDUs from here, like a card without extended length.
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
        if self._sfi is not None and not odd and offset <= MAX_SFI_OFFSET:
            return self._send(
                CommandApdu(0x00, INS_READ_BINARY, READ_BINARY_SFI | self._sfi, offset, le=size, extended=extended)
            )
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
