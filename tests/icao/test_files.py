"""Reading EFs (Doc 9303-10, ISO/IEC 7816-4 §11): selection, a small file in one READ BINARY, the
length from the header (and the 8-byte header read for cards that refuse an Le past the end of a
file), chunk sizes under plain and secure messaging, step-down on 6700 / 6B00 / 6282 / 6Cxx with the
size remembered per reader, extended length detection, READ BINARY B1 above offset 32767, progress
and cancel."""

from __future__ import annotations

import dataclasses

import pytest

from agent.errors import (
    AccessDeniedError,
    ApduError,
    CardRemovedError,
    DocumentError,
    FileNotFoundOnCardError,
    OperationCancelledError,
    TransportError,
)
from agent.icao import lds_registry as registry
from agent.icao import tlv
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.crypto import AES_128, TDES, CipherSuite
from agent.icao.files import (
    DEFAULT_EXTENDED_CHUNK,
    HEADER_MIN_LENGTH,
    ReadLimits,
    read_ef,
    select_application,
    select_mf,
)
from agent.icao.secure_messaging import SecureChannel, SecureMessaging
from tests.icao.test_secure_messaging import CardSideSM

EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


def lds_file(tag: int, size: int) -> bytes:
    """A file of exactly ``size`` bytes: tag, length and a recognisable body."""
    for header in range(2, 7):
        body = size - header
        if len(tlv.encode(tag, bytes(body))) == size:
            return tlv.encode(tag, bytes((i * 7 + i // 256) % 256 for i in range(body)))
    raise AssertionError(size)


@dataclasses.dataclass
class FakeCard:
    """A plain card holding files, with the limits and quirks of real cards and readers."""

    files: dict[int, bytes]
    max_le: int = 65536  # larger plain reads are refused ...
    too_long_sw: int = 0x6700  # ... with this SW (0x6C00 = answer 6Cxx with the exact length)
    past_end_sw: int | None = None  # answer an Le past the end of the file with this SW (0x6C00: 6Cxx)
    extended: bool = True  # extended-length APDUs accepted
    extended_breaks_reader: bool = False  # the reader fails on them instead of the card refusing
    mf_sw: int = 0x9000
    protected: frozenset[int] = frozenset()
    read_sw: int | None = None  # answer every READ BINARY with this SW
    empty_reads: bool = False
    log: list[CommandApdu] = dataclasses.field(default_factory=list)
    current: int | None = None

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        self.log.append(command)
        if command.needs_extended and not self.extended:
            if self.extended_breaks_reader:
                raise TransportError("reader dropped the card")
            return ResponseApdu(b"", 0x6700)
        if command.ins == 0xA4:
            return self._select(command)
        if command.ins in (0xB0, 0xB1):
            return self._read(command)
        return ResponseApdu(b"", 0x6D00)

    def _select(self, command: CommandApdu) -> ResponseApdu:
        if command.p1 == 0x00:
            return ResponseApdu(b"", self.mf_sw)
        if command.p1 == 0x04:
            return ResponseApdu(b"", 0x9000 if command.data == bytes.fromhex("A0000002471001") else 0x6A82)
        assert (command.p1, command.p2, command.le) == (0x02, 0x0C, None)
        fid = int.from_bytes(command.data, "big")
        if fid in self.protected:
            return ResponseApdu(b"", 0x6982)
        if fid not in self.files:
            return ResponseApdu(b"", 0x6A82)
        self.current = fid
        return ResponseApdu(b"", 0x9000)

    def _read(self, command: CommandApdu) -> ResponseApdu:
        if self.read_sw is not None:
            return ResponseApdu(b"", self.read_sw)
        assert self.current is not None and command.le is not None
        content = self.files[self.current]
        le = command.le
        if command.ins == 0xB0:
            assert not command.p1 & 0x80
            offset = (command.p1 << 8) | command.p2
        else:
            item = tlv.decode_single(command.data, 0x54)
            offset = int.from_bytes(item.value, "big")
        if le > self.max_le:
            if self.too_long_sw == 0x6C00:
                return ResponseApdu(b"", 0x6C00 | (self.max_le & 0xFF))
            return ResponseApdu(b"", self.too_long_sw)
        if self.empty_reads:
            return ResponseApdu(b"", 0x9000)
        if offset >= len(content):
            return ResponseApdu(b"", 0x6B00)
        if self.past_end_sw is not None and command.ins == 0xB0 and offset + le > len(content):
            if self.past_end_sw == 0x6C00:
                return ResponseApdu(b"", 0x6C00 | (len(content) - offset))
            return ResponseApdu(b"", self.past_end_sw)
        if command.ins == 0xB0:
            chunk = content[offset : offset + le]
            return ResponseApdu(chunk, 0x9000 if len(chunk) == le else 0x6282)
        room = le - 2 if le - 2 < 0x80 else le - 3 if le - 3 < 0x100 else le - 4
        chunk = content[offset : offset + room]
        return ResponseApdu(tlv.encode(0x53, chunk), 0x9000)

    def reads(self) -> list[CommandApdu]:
        return [c for c in self.log if c.ins in (0xB0, 0xB1)]


class SecureCard:
    """The fake card behind secure messaging: unwrap, serve, wrap (errors optionally unprotected)."""

    def __init__(
        self, card: FakeCard, suite: CipherSuite, *, unprotected_errors: bool = False, extended: bool = True
    ) -> None:
        k_enc, k_mac = bytes(range(suite.key_length)), bytes(range(50, 50 + suite.key_length))
        self.card = card
        self.side = CardSideSM(suite.is_aes, k_enc, k_mac, 0)
        self.host = SecureMessaging(suite, k_enc, k_mac, 0)
        self.unprotected_errors = unprotected_errors
        self.extended = extended

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        if command.needs_extended and not self.extended:
            return ResponseApdu(b"", 0x6700)  # refused as an APDU: secure messaging never saw it
        plain = self.side.unwrap_command(command)
        response = self.card(plain)
        if self.unprotected_errors and response.sw != 0x9000 and not response.data:
            return response  # the command was counted, the answer goes unprotected
        return self.side.wrap_response(response.data, response.sw, odd=bool(plain.ins & 1))

    def channel(self) -> SecureChannel:
        return SecureChannel(self, self.host)


# --- selection and plain reads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extended_ok", "card_supports_extended", "read_binary"),
    [(None, None, "00B00000000000"), (False, None, "00B0000000"), (None, False, "00B0000000")],
    ids=["extended", "short", "card-without-extended"],
)
def test_a_small_file_costs_one_read_binary(
    extended_ok: bool | None, card_supports_extended: bool | None, read_binary: str
) -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM})
    progress: list[tuple[int, int]] = []
    data = read_ef(
        card,
        registry.EF_COM.fid,
        limits=ReadLimits(extended_ok=extended_ok),
        progress=lambda d, t: progress.append((d, t)),
        card_supports_extended=card_supports_extended,
    )
    assert data == EF_COM
    assert [c.encode().hex().upper() for c in card.log] == ["00A4020C02011E", read_binary]
    assert progress == [(22, 22)]  # one report, already the whole file


def test_a_small_file_answered_9000_is_read_in_one_read_binary() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM})

    def plain_9000(command: CommandApdu) -> ResponseApdu:
        response = card(command)
        return ResponseApdu(response.data, 0x9000) if response.sw == 0x6282 and response.data else response

    assert read_ef(plain_9000, registry.EF_COM.fid, limits=ReadLimits(extended_ok=False)) == EF_COM
    assert len(card.reads()) == 1


def test_a_file_longer_than_the_declared_length_is_cut_to_it() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM + bytes(10)})  # padding after the TLV
    assert read_ef(card, registry.EF_COM.fid, limits=ReadLimits(extended_ok=False)) == EF_COM
    assert len(card.reads()) == 1


def test_file_shorter_than_the_header_read() -> None:
    card = FakeCard({0x0101: bytes.fromhex("610100")})
    assert read_ef(card, 0x0101, limits=ReadLimits()) == bytes.fromhex("610100")
    assert len(card.reads()) == 1


# --- cards that refuse an Le past the end of the file --------------------------------------------


def test_6700_past_the_end_falls_back_to_the_header_read() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, past_end_sw=0x6700)
    limits = ReadLimits(extended_ok=False)
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    assert [c.le for c in card.reads()] == [256, HEADER_MIN_LENGTH, len(EF_COM) - HEADER_MIN_LENGTH]
    assert limits.max_chunk is None  # the refusal was about the end of the file, not the reader


def test_6700_past_the_end_of_a_large_file_reads_it_whole() -> None:
    content = lds_file(0x75, 1000)
    card = FakeCard({0x0102: content}, past_end_sw=0x6700)
    limits = ReadLimits(extended_ok=False)
    assert read_ef(card, 0x0102, limits=limits) == content
    assert [c.le for c in card.reads()] == [256, 256, 256, 232]  # the first chunk fits: no fallback
    assert limits.max_chunk is None


def test_6700_past_the_end_does_not_cost_the_reader_its_extended_length() -> None:
    # an extended first read refused by such a card says nothing about extended length
    card = FakeCard({registry.EF_COM.fid: EF_COM, 0x0102: lds_file(0x75, 2000)}, past_end_sw=0x6700)
    limits = ReadLimits()
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    header_then_rest = [HEADER_MIN_LENGTH, len(EF_COM) - HEADER_MIN_LENGTH]
    assert [c.le for c in card.reads()] == [DEFAULT_EXTENDED_CHUNK, 256, *header_then_rest]
    assert limits.extended_ok is None
    card.log.clear()
    assert read_ef(card, 0x0102, limits=limits) == lds_file(0x75, 2000)
    assert [c.le for c in card.reads()] == [DEFAULT_EXTENDED_CHUNK, 256, 2000 - 256]
    assert limits.extended_ok is True
    card.log.clear()
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    assert limits.extended_ok is True  # kept after another refused first read


@pytest.mark.parametrize("size", [2, 3, 5, 7])
def test_a_file_under_8_bytes_on_a_card_refusing_le_past_the_end(size: int) -> None:
    content = {2: "6100", 3: "5F0100", 5: "5F0102ABCD", 7: "6105AABBCCDDEE"}[size]
    card = FakeCard({0x0101: bytes.fromhex(content)}, past_end_sw=0x6700)
    assert read_ef(card, 0x0101, limits=ReadLimits(extended_ok=False)) == bytes.fromhex(content)


def test_6cxx_on_the_first_read_is_followed() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, past_end_sw=0x6C00)
    limits = ReadLimits(extended_ok=False)
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    assert [c.le for c in card.reads()] == [256, len(EF_COM)]  # no header read: 6C16 named the size
    assert limits.max_chunk is None


def test_a_learned_chunk_smaller_than_the_header_still_reads_the_header() -> None:
    content = lds_file(0x5F2E, 300)  # 5F2E 82 0127: a five-byte header
    limits = ReadLimits(extended_ok=False, max_chunk=4)
    card = FakeCard({0x0102: content})
    assert read_ef(card, 0x0102, limits=limits) == content
    assert [c.le for c in card.reads()][:3] == [4, 1, 4]  # the header's fifth byte, then chunks of 4
    assert max(c.le or 0 for c in card.reads()) == 4


def test_select_errors_map_to_their_classes() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, protected=frozenset({0x0103}))
    with pytest.raises(AccessDeniedError) as denied:
        read_ef(card, 0x0103, limits=ReadLimits())
    assert denied.value.sw == 0x6982
    with pytest.raises(FileNotFoundOnCardError) as missing:
        read_ef(card, 0x010B, limits=ReadLimits())
    assert missing.value.sw == 0x6A82


@pytest.mark.parametrize(
    ("sw", "cls"), [(0x6982, AccessDeniedError), (0x6F00, ApduError), (0x6A82, FileNotFoundOnCardError)]
)
def test_read_errors_map_to_their_classes(sw: int, cls: type[ApduError]) -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, read_sw=sw)
    with pytest.raises(cls) as caught:
        read_ef(card, registry.EF_COM.fid, limits=ReadLimits())
    assert caught.value.sw == sw
    assert len(card.reads()) == 1  # no step-down loop on an error that is not about length


def test_select_mf_answering_6d00_is_tolerated() -> None:
    assert select_mf(FakeCard({}, mf_sw=0x6D00)) is False
    assert select_mf(FakeCard({})) is True
    select_application(FakeCard({}))
    with pytest.raises(FileNotFoundOnCardError):
        select_application(FakeCard({}), bytes.fromhex("A0000002472001"))


def test_plain_short_reads_use_256_byte_chunks() -> None:
    content = lds_file(0x77, 1000)
    card = FakeCard({0x011D: content})
    assert read_ef(card, 0x011D, limits=ReadLimits(extended_ok=False)) == content
    assert [c.le for c in card.reads()] == [256, 256, 256, 232]


@pytest.mark.parametrize("past_end_sw", [None, 0x6700])
@pytest.mark.parametrize(
    "content", ["5F", "5F80", "5F2E80", "5F2E85FFFFFFFFFF00"], ids=["cut", "cut-tag", "indefinite", "too-long"]
)
def test_garbled_header_is_a_document_error(content: str, past_end_sw: int | None) -> None:
    card = FakeCard({0x0101: bytes.fromhex(content)}, past_end_sw=past_end_sw)
    with pytest.raises(DocumentError, match="BER-TLV"):
        read_ef(card, 0x0101, limits=ReadLimits())
    # bounded: at worst the header read steps down to one byte, then one more byte is tried
    assert len(card.reads()) <= (7 if past_end_sw else 1)


def test_a_cut_header_completed_a_byte_at_a_time_keeps_the_cards_error() -> None:
    # one byte per read, then 6A86 (not a length complaint) past it: the card's own error is kept
    card = FakeCard({0x0101: bytes.fromhex("5F2E03AABBCC")}, max_le=1)

    def refuses_after(command: CommandApdu) -> ResponseApdu:
        if command.ins == 0xB0 and command.p2 > 1:
            return ResponseApdu(b"", 0x6A86)
        return card(command)

    with pytest.raises(ApduError) as caught:
        read_ef(refuses_after, 0x0101, limits=ReadLimits(extended_ok=False, max_chunk=1))
    assert caught.value.sw == 0x6A86


def test_a_cut_header_on_a_one_byte_chunk_card() -> None:
    content = lds_file(0x5F2E, 300)
    card = FakeCard({0x0102: content}, max_le=1)
    limits = ReadLimits(extended_ok=False)
    assert read_ef(card, 0x0102, limits=limits) == content
    assert limits.max_chunk == 1


def test_absurd_declared_length_is_refused() -> None:
    card = FakeCard({0x0102: bytes.fromhex("758400FFFFFF") + bytes(10)})
    with pytest.raises(DocumentError, match="limit"):
        read_ef(card, 0x0102, limits=ReadLimits())


def test_card_returning_no_data_does_not_hang() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, empty_reads=True)
    with pytest.raises(ApduError, match="no data"):
        read_ef(card, registry.EF_COM.fid, limits=ReadLimits())


# --- extended length -----------------------------------------------------------------------------


def test_extended_length_reads_a_large_file_in_one_read_binary() -> None:
    content = lds_file(0x75, 30000)
    limits = ReadLimits()
    card = FakeCard({0x0102: content})
    assert read_ef(card, 0x0102, limits=limits) == content
    assert limits.extended_ok is True
    assert [c.le for c in card.reads()] == [DEFAULT_EXTENDED_CHUNK]
    assert card.reads()[0].needs_extended


def test_extended_length_is_used_and_remembered_when_it_works() -> None:
    content = lds_file(0x75, 10000)
    limits = ReadLimits(max_extended_chunk=4096)
    card = FakeCard({0x0102: content})
    assert read_ef(card, 0x0102, limits=limits) == content
    assert limits.extended_ok is True
    assert [c.le for c in card.reads()] == [4096, 4096, 10000 - 8192]
    assert all(c.needs_extended for c in card.reads())
    card.log.clear()
    assert read_ef(card, 0x0102, limits=limits) == content
    assert [c.le for c in card.reads()] == [4096, 4096, 10000 - 8192]


def test_extended_length_above_32767_uses_b1_in_large_chunks() -> None:
    content = lds_file(0x75, 70000)
    card = FakeCard({0x0102: content})
    assert read_ef(card, 0x0102, limits=ReadLimits()) == content
    reads = card.reads()
    assert [c.ins for c in reads] == [0xB0, 0xB1]
    assert reads[0].le == DEFAULT_EXTENDED_CHUNK and reads[1].needs_extended


def test_extended_refused_falls_back_to_short_and_is_not_tried_again() -> None:
    content = lds_file(0x75, 2000)
    limits = ReadLimits()
    card = FakeCard({0x0102: content}, extended=False)
    assert read_ef(card, 0x0102, limits=limits) == content
    assert limits.extended_ok is False
    # the first refusal is ambiguous (the card might refuse an Le past the end of the file); the
    # exact-size extended read of the rest is not, and is the last one tried
    assert [c.le for c in card.reads()][:4] == [DEFAULT_EXTENDED_CHUNK, 256, 2000 - 256, 256]
    assert sum(c.needs_extended for c in card.reads()) == 2
    card.log.clear()
    assert read_ef(card, 0x0102, limits=limits) == content
    assert all(not c.needs_extended for c in card.log)


def test_reader_that_breaks_on_extended_length_is_remembered() -> None:
    limits = ReadLimits()
    card = FakeCard({0x0102: lds_file(0x75, 2000)}, extended=False, extended_breaks_reader=True)
    with pytest.raises(TransportError):
        read_ef(card, 0x0102, limits=limits)
    assert limits.extended_ok is False
    assert read_ef(card, 0x0102, limits=limits) == lds_file(0x75, 2000)  # the retry reads short


def test_extended_refused_on_a_small_file_is_learned_when_the_card_answers_what_it_has() -> None:
    limits = ReadLimits()
    card = FakeCard({registry.EF_COM.fid: EF_COM}, extended=False)
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    # the short retry came back with fewer bytes than asked: this card does not refuse an Le past
    # the end of a file, so it refused the extended length
    assert [c.le for c in card.reads()] == [DEFAULT_EXTENDED_CHUNK, 256]
    assert limits.extended_ok is False
    card.log.clear()
    assert read_ef(card, registry.EF_COM.fid, limits=limits) == EF_COM
    assert [c.le for c in card.reads()] == [256]


@pytest.mark.parametrize("known", [None, True])
def test_a_card_removed_during_an_extended_read_leaves_extended_length_alone(known: bool | None) -> None:
    card = FakeCard({0x0102: lds_file(0x75, 2000)})
    limits = ReadLimits(extended_ok=known)

    def torn(command: CommandApdu) -> ResponseApdu:
        if command.needs_extended:
            raise CardRemovedError("card left the field")
        return card(command)

    with pytest.raises(CardRemovedError):
        read_ef(torn, 0x0102, limits=limits)
    assert limits.extended_ok is known
    assert read_ef(card, 0x0102, limits=limits) == lds_file(0x75, 2000)
    assert limits.extended_ok is True


def test_a_card_removed_during_a_later_extended_chunk_leaves_extended_length_alone() -> None:
    card = FakeCard({0x0102: lds_file(0x75, 10000)})
    limits = ReadLimits(max_extended_chunk=4096)
    reads = 0

    def torn(command: CommandApdu) -> ResponseApdu:
        nonlocal reads
        if command.ins == 0xB0:
            reads += 1
            if reads == 2:
                raise CardRemovedError("card left the field")
        return card(command)

    with pytest.raises(CardRemovedError):
        read_ef(torn, 0x0102, limits=limits)
    assert limits.extended_ok is True  # learned by the first chunk, not undone by the tear


def test_card_without_extended_support_is_not_probed() -> None:
    limits = ReadLimits()
    card = FakeCard({0x0102: lds_file(0x75, 2000)})
    read_ef(card, 0x0102, limits=limits, card_supports_extended=False)
    assert all(not c.needs_extended for c in card.log)
    assert limits.extended_ok is None  # the reader's ability is still unknown


@pytest.mark.parametrize(("setting", "expected"), [("auto", None), ("always", True), ("never", False)])
def test_limits_from_the_setting(setting: str, expected: bool | None) -> None:
    assert ReadLimits.from_setting(setting).extended_ok is expected


def test_limits_from_a_bad_setting() -> None:
    with pytest.raises(ValueError):
        ReadLimits.from_setting("sometimes")


# --- step-down -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sw", [0x6700, 0x6B00, 0x6282])
def test_step_down_on_a_length_complaint_and_remember(sw: int) -> None:
    content = lds_file(0x6D, 700)
    limits = ReadLimits(extended_ok=False)
    card = FakeCard({0x010D: content, 0x010E: lds_file(0x6E, 300)}, max_le=100, too_long_sw=sw)
    assert read_ef(card, 0x010D, limits=limits) == content
    # the first read's complaint leads to the header read, not a step-down that would be learned
    assert [c.le for c in card.reads()][:5] == [256, HEADER_MIN_LENGTH, 256, 128, 64]
    assert limits.max_chunk == 64
    card.log.clear()
    assert read_ef(card, 0x010E, limits=limits) == lds_file(0x6E, 300)
    assert max(c.le or 0 for c in card.reads()) == 64  # no failed attempt on the next file


def test_6cxx_gives_the_exact_size() -> None:
    content = lds_file(0x6D, 700)
    limits = ReadLimits(extended_ok=False)
    card = FakeCard({0x010D: content}, max_le=100, too_long_sw=0x6C00)
    assert read_ef(card, 0x010D, limits=limits) == content
    assert [c.le for c in card.reads()][:4] == [256, 100, 256, 100]
    assert limits.max_chunk == 100
    card.log.clear()
    assert read_ef(card, 0x010D, limits=limits) == content
    assert max(c.le or 0 for c in card.reads()) == 100


def test_a_learned_chunk_is_not_bypassed_below_the_extended_threshold() -> None:
    # max_chunk 64 learned, extended still possible: a 136-byte rest is two short reads of 64, not
    # a short read of 136 that the card refused before
    content = lds_file(0x6E, 200)
    limits = ReadLimits(max_chunk=64)
    card = FakeCard({0x010E: content}, max_le=64)
    assert read_ef(card, 0x010E, limits=limits) == content
    assert [c.le for c in card.reads()] == [DEFAULT_EXTENDED_CHUNK, 64, 64, 64, 8]
    assert limits.max_chunk == 64


def test_a_refused_final_chunk_does_not_shrink_the_memory() -> None:
    # 300 bytes: 256 first (fine), then the final 44 refused once by a moody card
    content = lds_file(0x6E, 300)
    limits = ReadLimits(extended_ok=False)
    card = FakeCard({0x010E: content}, max_le=256)
    refusals = iter([True])

    def moody(command: CommandApdu) -> ResponseApdu:
        if command.ins == 0xB0 and command.le == 44 and next(refusals, False):
            return ResponseApdu(b"", 0x6700)
        return card(command)

    assert read_ef(moody, 0x010E, limits=limits) == content
    assert [c.le for c in card.reads()] == [256, 32, 12]  # the refused 44 never reached the card
    assert limits.max_chunk is None


def test_step_down_ends_in_an_error_when_nothing_works() -> None:
    card = FakeCard({0x010D: lds_file(0x6D, 700)}, max_le=0)
    with pytest.raises(ApduError) as caught:
        read_ef(card, 0x010D, limits=ReadLimits(extended_ok=False))
    assert caught.value.sw == 0x6700
    assert len(card.reads()) <= 5


# --- offsets above 32767 -------------------------------------------------------------------------


def test_offsets_above_32767_use_read_binary_b1() -> None:
    content = lds_file(0x75, 33500)
    card = FakeCard({0x0102: content})
    assert read_ef(card, 0x0102, limits=ReadLimits(extended_ok=False)) == content
    reads = card.reads()
    for command in reads:
        if command.ins == 0xB0:
            assert ((command.p1 << 8) | command.p2) <= 0x7FFF
        else:
            offset = int.from_bytes(tlv.decode_single(command.data, 0x54).value, "big")
            assert offset > 0x7FFF and (command.p1, command.p2) == (0, 0)
    assert reads[-1].ins == 0xB1
    assert reads[-2].ins == 0xB1


# --- under secure messaging ----------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "chunk"), [(AES_128, 223), (TDES, 231)], ids=["AES", "3DES"])
def test_secure_messaging_reads_use_the_largest_short_chunk(suite: CipherSuite, chunk: int) -> None:
    content = lds_file(0x77, 1200)
    card = FakeCard({0x011D: content}, extended=False)
    secure = SecureCard(card, suite)
    assert read_ef(secure.channel(), 0x011D, limits=ReadLimits(extended_ok=False), suite=suite) == content
    assert [c.le for c in card.reads()] == [chunk] * (1200 // chunk) + [1200 % chunk]


@pytest.mark.parametrize(("suite", "chunk"), [(AES_128, 223), (TDES, 231)], ids=["AES", "3DES"])
def test_a_small_file_under_secure_messaging_costs_one_read_binary(suite: CipherSuite, chunk: int) -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM}, extended=False)
    secure = SecureCard(card, suite)
    assert read_ef(secure.channel(), registry.EF_COM.fid, limits=ReadLimits(extended_ok=False), suite=suite) == EF_COM
    assert [c.le for c in card.reads()] == [chunk]


def test_secure_messaging_with_b1_and_extended_length() -> None:
    content = lds_file(0x75, 40000)
    card = FakeCard({0x0102: content})
    secure = SecureCard(card, AES_128)
    limits = ReadLimits(max_extended_chunk=4096)
    assert read_ef(secure.channel(), 0x0102, limits=limits, suite=AES_128) == content
    assert limits.extended_ok is True
    assert any(c.ins == 0xB1 for c in card.reads())
    assert all(c.needs_extended for c in card.reads())


def test_secure_messaging_reads_a_large_file_in_one_extended_read() -> None:
    content = lds_file(0x75, 20000)
    card = FakeCard({0x0102: content})
    secure = SecureCard(card, AES_128)
    limits = ReadLimits()
    assert read_ef(secure.channel(), 0x0102, limits=limits, suite=AES_128) == content
    (only,) = card.reads()
    assert only.le is not None and 20000 < only.le < DEFAULT_EXTENDED_CHUNK  # less the SM overhead


def test_extended_refused_before_secure_messaging_falls_back_in_step() -> None:
    content = lds_file(0x75, 3000)
    card = FakeCard({0x0102: content})
    secure = SecureCard(card, AES_128, extended=False)
    limits = ReadLimits()
    assert read_ef(secure.channel(), 0x0102, limits=limits, suite=AES_128) == content
    assert limits.extended_ok is False
    # the refused extended commands never reached the card, and the channel stayed in step
    assert [c.le for c in card.reads()] == [223] * (3000 // 223) + [3000 % 223]


def test_unprotected_6cxx_under_secure_messaging_steps_down() -> None:
    content = lds_file(0x6D, 700)
    card = FakeCard({0x010D: content}, max_le=0x80, too_long_sw=0x6C00)
    secure = SecureCard(card, AES_128, unprotected_errors=True)
    limits = ReadLimits(extended_ok=False)
    assert read_ef(secure.channel(), 0x010D, limits=limits, suite=AES_128) == content
    assert limits.max_chunk == 0x80


def test_unprotected_6982_under_secure_messaging_is_access_denied() -> None:
    card = FakeCard({0x0103: b"\x63\x00"}, protected=frozenset({0x0103}))
    secure = SecureCard(card, AES_128, unprotected_errors=True)
    with pytest.raises(AccessDeniedError):
        read_ef(secure.channel(), 0x0103, limits=ReadLimits(), suite=AES_128)


# --- progress and cancel -------------------------------------------------------------------------


def test_progress_reports_every_chunk() -> None:
    content = lds_file(0x75, 1000)
    seen: list[tuple[int, int]] = []
    read_ef(
        FakeCard({0x0102: content}),
        0x0102,
        limits=ReadLimits(extended_ok=False),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(256, 1000), (512, 1000), (768, 1000), (1000, 1000)]


def test_progress_after_the_header_read() -> None:
    content = lds_file(0x75, 200)
    seen: list[tuple[int, int]] = []
    read_ef(
        FakeCard({0x0102: content}, past_end_sw=0x6700),
        0x0102,
        limits=ReadLimits(extended_ok=False),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(HEADER_MIN_LENGTH, 200), (200, 200)]


def test_cancel_between_chunks() -> None:
    content = lds_file(0x75, 1000)
    card = FakeCard({0x0102: content})
    chunks: list[int] = []
    with pytest.raises(OperationCancelledError):
        read_ef(
            card,
            0x0102,
            limits=ReadLimits(extended_ok=False),
            progress=lambda d, t: chunks.append(d),
            cancel=lambda: len(chunks) >= 2,
        )
    assert len(card.reads()) == 2  # nothing read after the cancel


def test_cancel_before_the_first_read() -> None:
    card = FakeCard({registry.EF_COM.fid: EF_COM})
    with pytest.raises(OperationCancelledError):
        read_ef(card, registry.EF_COM.fid, limits=ReadLimits(), cancel=lambda: True)
    assert card.reads() == []
