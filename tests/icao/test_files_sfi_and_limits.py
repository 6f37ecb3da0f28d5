"""File reading as issue 12 wants it (items 8-10), against a fake card: EF.ATR/INFO read and parsed
(ISO/IEC 7816-4 §12.7.1) with every malformed variant a DocumentError; chunks sized from the card's
announced buffer and from the reader's learned limit; READ BINARY by short EF identifier with the
fallback to SELECT remembered per reader; a failed transfer lowering the reader's limit; a read resumed
where it stopped."""

from __future__ import annotations

import dataclasses

import pytest

from agent.errors import AccessDeniedError, DocumentError, FileNotFoundOnCardError, TransferError
from agent.icao import tlv
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.crypto import AES_128
from agent.icao.files import (
    FID_EF_ATR_INFO,
    SFI_REFUSED_SWS,
    UNKNOWN_CARD,
    CardInfo,
    ReadLimits,
    parse_atr_info,
    read_card_info,
    read_ef,
)
from tests.icao.test_files import FakeCard, SecureCard, lds_file

DG2 = 0x0102
SFI_DG2 = 0x02


@dataclasses.dataclass
class SfiCard(FakeCard):
    """The fake card, also taking READ BINARY by short EF identifier (or refusing it with ``sfi_sw``),
    announcing ``atr_info`` in EF.ATR/INFO, answering FCP, and failing transfers larger than
    ``receive_limit`` (a reader's buffer) with TransferError."""

    sfi_sw: int | None = None
    atr_info: bytes | None = None
    receive_limit: int | None = None
    sfi_files: dict[int, int] = dataclasses.field(default_factory=lambda: {SFI_DG2: DG2, 0x1E: 0x011E})

    def __post_init__(self) -> None:
        if self.atr_info is not None:
            self.files = {**self.files, FID_EF_ATR_INFO: self.atr_info}

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        if command.ins == 0xB0 and command.p1 & 0x80:
            self.log.append(command)
            if self.sfi_sw is not None:
                return ResponseApdu(b"", self.sfi_sw)
            fid = self.sfi_files.get(command.p1 & 0x1F)
            if fid is None or fid not in self.files:
                return ResponseApdu(b"", 0x6A82)
            self.current = fid
            plain = dataclasses.replace(command, p1=0, p2=command.p2)
            response = self._read(plain)
        elif command.ins == 0xA4 and command.p2 == 0x04:  # SELECT with FCP
            self.log.append(command)
            fid = int.from_bytes(command.data, "big")
            if fid not in self.files:
                return ResponseApdu(b"", 0x6A82)
            self.current = fid
            size = len(self.files[fid])
            response = ResponseApdu(tlv.encode(0x62, tlv.encode(0x80, size.to_bytes(2, "big"))), 0x9000)
        else:
            response = super().__call__(command)
        if self.receive_limit is not None and len(response.data) + 2 > self.receive_limit:
            raise TransferError("the reader could not take that response")
        return response


ATR_2K = bytes.fromhex("47039401607F66080202080002020800")  # what the simulated card writes: 2 KB each way


# --- EF.ATR/INFO ------------------------------------------------------------------------------------------


def test_ef_atr_info_gives_the_cards_limits_and_capabilities() -> None:
    info = parse_atr_info(ATR_2K)
    assert info == CardInfo(max_command=2048, max_response=2048, extended_length=True, short_ef_identifiers=True)
    assert "responses up to 2048 bytes" in info.describe()


def test_padding_after_the_objects_is_ignored_and_unknown_objects_too() -> None:
    data = tlv.encode(0x80, b"\x01") + ATR_2K + bytes(10) + b"\xff" * 4
    assert parse_atr_info(data).max_response == 2048


def test_lengths_alone_imply_extended_length() -> None:
    only_lengths = tlv.encode(0x7F66, tlv.encode(0x02, b"\x04\x00") + tlv.encode(0x02, b"\x04\x00"))
    info = parse_atr_info(only_lengths)
    assert info.extended_length is True and info.short_ef_identifiers is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bytes.fromhex("7F6604020208"), "not BER-TLV"),
        (tlv.encode(0x7F66, tlv.encode(0x02, b"\x08\x00")), "two maximum lengths"),
        (tlv.encode(0x7F66, tlv.encode(0x04, b"\x08\x00") + tlv.encode(0x02, b"\x08\x00")), "two maximum lengths"),
        (tlv.encode(0x7F66, tlv.encode(0x02, b"\x01") + tlv.encode(0x02, b"\x01")), "no APDU fits"),
        (tlv.encode(0x47, b""), "1 to 3 bytes"),
        (tlv.encode(0x47, b"\x01\x02\x03\x04"), "1 to 3 bytes"),
        (ATR_2K + b"\x00\x00\x47", "after the padding"),
    ],
)
def test_a_malformed_ef_atr_info_is_a_document_error_naming_it(data: bytes, words: str) -> None:
    with pytest.raises(DocumentError, match=words) as caught:
        parse_atr_info(data)
    assert caught.value.file == "EF.ATR/INFO"


def test_read_card_info_reads_the_whole_file_in_one_read_binary() -> None:
    card = SfiCard({}, atr_info=ATR_2K)
    info, raw = read_card_info(card, limits=ReadLimits())
    assert raw == ATR_2K and info.max_response == 2048
    assert [c.ins for c in card.log] == [0xA4, 0xB0]


def test_read_card_info_asks_the_fcp_of_a_card_refusing_an_le_past_the_end() -> None:
    card = SfiCard({}, atr_info=ATR_2K, past_end_sw=0x6700)
    info, raw = read_card_info(card, limits=ReadLimits())
    assert raw == ATR_2K and info.max_command == 2048
    assert [(c.ins, c.p2) for c in card.log] == [(0xA4, 0x0C), (0xB0, 0x00), (0xA4, 0x04), (0xB0, 0x00)]
    assert card.log[-1].le == len(ATR_2K)


def test_a_card_without_ef_atr_info_is_unknown() -> None:
    card = SfiCard({})
    assert read_card_info(card, limits=ReadLimits()) == (UNKNOWN_CARD, None)
    assert len(card.log) == 1  # one refused SELECT


# --- chunks sized by the card and by the reader ----------------------------------------------------------


def test_chunks_follow_the_cards_announced_buffer_under_secure_messaging() -> None:
    content = lds_file(0x75, 18_000)
    card = SfiCard({DG2: content}, max_le=2048)
    secure = SecureCard(card, AES_128)
    data = read_ef(secure.channel(), DG2, limits=ReadLimits(), suite=AES_128, sfi=SFI_DG2,
                   card=parse_atr_info(ATR_2K))  # fmt: skip
    assert data == content
    sizes = [c.le for c in card.reads()]
    assert sizes[:-1] == [2015] * (len(sizes) - 1)  # 2015 plain bytes: 2035 protected + SW within 2048
    assert len(sizes) == -(-18_000 // 2015)


def test_a_card_saying_short_apdus_only_is_not_probed_with_extended_length() -> None:
    content = lds_file(0x75, 1000)
    card = SfiCard({DG2: content}, extended=False)
    short_only = CardInfo(extended_length=False, short_ef_identifiers=True)
    assert read_ef(card, DG2, limits=ReadLimits(), sfi=SFI_DG2, card=short_only) == content
    assert all(not c.needs_extended for c in card.log)


def test_a_failed_transfer_lowers_the_readers_limit_and_a_resumed_read_goes_on_from_there() -> None:
    content = lds_file(0x75, 9000)
    card = SfiCard({DG2: content}, receive_limit=1100)
    limits = ReadLimits()
    sink = bytearray()
    with pytest.raises(TransferError):
        read_ef(card, DG2, limits=limits, sfi=SFI_DG2, card=parse_atr_info(ATR_2K), sink=sink)
    assert limits.max_response == 1024  # the largest power of two below the 2048-byte answer
    assert sink == b""  # the first answer itself was lost
    # a read that stops later keeps what it had
    card.receive_limit = None
    card.log.clear()
    partial = bytearray()
    ticks = []

    def stop_at_the_third(done: int, total: int) -> None:
        ticks.append(done)
        if len(ticks) == 3:
            card.receive_limit = 100

    with pytest.raises(TransferError):
        read_ef(card, DG2, limits=limits, sfi=SFI_DG2, card=parse_atr_info(ATR_2K), sink=partial,
                progress=stop_at_the_third)  # fmt: skip
    assert bytes(partial) == content[: len(partial)] and len(partial) == 3 * 1022
    card.receive_limit = None
    card.log.clear()
    rest = read_ef(card, DG2, limits=limits, sfi=SFI_DG2, card=parse_atr_info(ATR_2K), resume=bytes(partial))
    assert rest == content
    assert card.log[0].ins == 0xA4  # resumed after a SELECT: an SFI can only address the first 256 bytes
    assert card.log[1].p1 << 8 | card.log[1].p2 == len(partial)  # from where it stopped, not from 0


@pytest.mark.parametrize("size", [100, 258])
def test_a_short_response_that_fails_says_nothing_about_sizes(size: int) -> None:
    limits = ReadLimits()
    limits.after_transfer_failure(size)
    assert limits.max_response is None


# --- short EF identifiers -----------------------------------------------------------------------------


def test_a_file_is_read_by_its_short_ef_identifier_without_a_select() -> None:
    content = lds_file(0x75, 5000)
    card = SfiCard({DG2: content})
    limits = ReadLimits()
    assert read_ef(card, DG2, limits=limits, sfi=SFI_DG2, card=parse_atr_info(ATR_2K)) == content
    assert [c.ins for c in card.log if c.ins == 0xA4] == []
    assert card.log[0].p1 == 0x80 | SFI_DG2 and card.log[0].p2 == 0
    assert card.log[1].p1 & 0x80 == 0  # the rest by offset in the file the SFI read selected
    assert limits.sfi_ok is True


@pytest.mark.parametrize("sw", sorted(SFI_REFUSED_SWS))
def test_a_refused_short_ef_identifier_falls_back_to_select_and_is_remembered(sw: int) -> None:
    content = lds_file(0x75, 500)
    card = SfiCard({DG2: content}, sfi_sw=sw)
    limits = ReadLimits()
    assert read_ef(card, DG2, limits=limits, sfi=SFI_DG2) == content
    assert [c.ins for c in card.log][:2] == [0xB0, 0xA4]
    assert limits.sfi_ok is False
    card.log.clear()
    assert read_ef(card, DG2, limits=limits, sfi=SFI_DG2) == content
    assert card.log[0].ins == 0xA4  # no SFI attempt on this reader any more


def test_a_card_announcing_no_short_ef_identifiers_is_never_asked() -> None:
    card = SfiCard({DG2: lds_file(0x75, 300)})
    no_sfi = CardInfo(short_ef_identifiers=False)
    read_ef(card, DG2, limits=ReadLimits(), sfi=SFI_DG2, card=no_sfi)
    assert not any(c.ins == 0xB0 and c.p1 & 0x80 for c in card.log)


def test_file_not_found_by_sfi_is_checked_by_select_until_sfis_are_known_to_work() -> None:
    card = SfiCard({DG2: lds_file(0x75, 300)})
    limits = ReadLimits()
    with pytest.raises(FileNotFoundOnCardError):
        read_ef(card, 0x010B, limits=limits, sfi=0x0B)
    assert [c.ins for c in card.log] == [0xB0, 0xA4]  # SFI read, then the SELECT that settles it
    read_ef(card, DG2, limits=limits, sfi=SFI_DG2)
    card.log.clear()
    with pytest.raises(FileNotFoundOnCardError):
        read_ef(card, 0x010B, limits=limits, sfi=0x0B)
    assert [c.ins for c in card.log] == [0xB0]  # short EF identifiers work here: 6A82 is the answer


def test_an_access_refusal_by_sfi_is_the_files_not_the_sfis() -> None:
    card = SfiCard({DG2: lds_file(0x75, 300)}, sfi_sw=0x6982)
    limits = ReadLimits()
    with pytest.raises(AccessDeniedError):
        read_ef(card, DG2, limits=limits, sfi=SFI_DG2)
    assert limits.sfi_ok is None


def test_an_sfi_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        read_ef(SfiCard({}), DG2, limits=ReadLimits(), sfi=0x1F)
