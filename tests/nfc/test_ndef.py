"""agent.nfc.ndef over an in-process Type 4 Tag: the read sequence, chaining, the extended (v3.0)
form with odd READ BINARY, and a typed error for every malformed or refused step."""

from __future__ import annotations

import ndef
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import AccessDeniedError, ApduError, DocumentError, FileNotFoundOnCardError
from agent.icao.apdu import ResponseApdu
from agent.nfc.ndef import CapabilityContainer, decode_message, read_ndef
from tests.nfc.fake_vpcd_card import ScriptedCard, Type4TagCard

TEXT = "Nguyễn Văn A — mã hẹn 0042"
URI = "https://vneid.example/verify?t=abc123"


def message(*records: ndef.Record) -> bytes:
    return b"".join(ndef.message_encoder(list(records)))


SAMPLE = message(ndef.TextRecord(TEXT, "vi"), ndef.UriRecord(URI))


class Wire:
    """A Transport in front of a card callable that records what went over it."""

    def __init__(self, card: object) -> None:
        self.card = card
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> ResponseApdu:
        self.sent.append(apdu)
        return ResponseApdu.decode(self.card(apdu))  # type: ignore[operator]


def test_reads_text_and_uri_records() -> None:
    wire = Wire(Type4TagCard(SAMPLE))
    content = read_ndef(wire)
    assert content.message == SAMPLE
    text, uri = content.records
    assert text.record_type == "urn:nfc:wkt:T" and text.text == TEXT and text.language == "vi"
    assert uri.record_type == "urn:nfc:wkt:U" and uri.uri == URI
    assert content.capability.file_id == 0xE104 and content.capability.version == (2, 0)
    assert wire.sent[0] == bytes.fromhex("00A4040007D276000085010100")
    assert wire.sent[1] == bytes.fromhex("00A4000C02E103")
    assert TEXT not in repr(content) and URI not in repr(content)


def test_reads_in_chunks_no_larger_than_the_tag_allows() -> None:
    long_text = "x" * 1000
    tag = Type4TagCard(message(ndef.TextRecord(long_text, "en")), max_read=0x20)
    content = read_ndef(Wire(tag))
    assert content.records[0].text == long_text
    assert all(length <= 0x20 for _, length in tag.reads)


def test_caller_can_cap_the_chunk_size() -> None:
    tag = Type4TagCard(message(ndef.TextRecord("y" * 600, "en")), max_read=0xFF)
    read_ndef(Wire(tag), max_chunk=100)
    assert max(length for _, length in tag.reads) == 100


def test_follows_61xx_response_chaining() -> None:
    tag = Type4TagCard(SAMPLE, max_read=0xFF, chain_limit=16)
    wire = Wire(tag)
    assert read_ndef(wire).message == SAMPLE
    assert any(apdu[1] == 0xC0 for apdu in wire.sent)


def test_follows_6cxx_wrong_length() -> None:
    inner = Type4TagCard(SAMPLE)
    seen: set[bytes] = set()

    def picky(apdu: bytes) -> bytes:
        # Answers every READ BINARY once with 6C and a smaller Le, and serves the retry.
        if apdu[1] == 0xB0 and apdu not in seen and apdu[-1] > 1:
            seen.add(apdu[:-1] + bytes([apdu[-1] - 1]))
            return bytes([0x6C, apdu[-1] - 1])
        return inner(apdu)

    wire = Wire(picky)
    content = read_ndef(wire, max_chunk=0x10)
    assert content.message == SAMPLE
    assert len(seen) > 3
    assert all(retry in wire.sent for retry in seen)


def test_extended_v3_tag_with_odd_read_binary_past_7fff() -> None:
    big = message(ndef.Record("application/octet-stream", "blob", bytes(range(256)) * 140))
    tag = Type4TagCard(big, extended=True, max_read=0xFF, max_size=len(big) + 4)
    wire = Wire(tag)
    content = read_ndef(wire)
    assert content.capability.extended and content.capability.version == (3, 0)
    assert content.message == big
    assert any(apdu[1] == 0xB1 for apdu in wire.sent)
    assert content.records[0].payload == bytes(range(256)) * 140


def test_mapping_version_1_tag() -> None:
    wire = Wire(Type4TagCard(SAMPLE, version_1=True))
    content = read_ndef(wire)
    assert content.message == SAMPLE and content.capability.version == (1, 0)
    assert bytes.fromhex("00A4040007D276000085010000") in wire.sent
    assert bytes.fromhex("00A4000002E103") in wire.sent


def test_empty_ndef_message_has_no_records() -> None:
    assert read_ndef(Wire(Type4TagCard(b""))).records == ()


def test_card_without_the_ndef_application() -> None:
    with pytest.raises(FileNotFoundOnCardError) as caught:
        read_ndef(Wire(ScriptedCard()))
    assert caught.value.message_key == "error.not_ndef_tag"
    assert caught.value.sw == 0x6D00


def test_ndef_file_missing() -> None:
    tag = Type4TagCard(SAMPLE)
    del tag.files[0xE104]
    with pytest.raises(FileNotFoundOnCardError):
        read_ndef(Wire(tag))


def test_read_access_refused_by_the_cc() -> None:
    with pytest.raises(AccessDeniedError):
        read_ndef(Wire(Type4TagCard(SAMPLE, read_access=0xFF)))


def test_read_refused_by_the_tag() -> None:
    tag = Type4TagCard(SAMPLE)

    def locked(apdu: bytes) -> bytes:
        if apdu[1] == 0xB0 and tag.current is tag.ndef_file:
            return b"\x69\x82"
        return tag(apdu)

    with pytest.raises(AccessDeniedError) as caught:
        read_ndef(Wire(locked))
    assert caught.value.sw == 0x6982


def test_other_status_word_is_apdu_error() -> None:
    tag = Type4TagCard(SAMPLE)

    def broken(apdu: bytes) -> bytes:
        return b"\x6f\x00" if apdu[1] == 0xB0 else tag(apdu)

    with pytest.raises(ApduError) as caught:
        read_ndef(Wire(broken))
    assert caught.value.sw == 0x6F00


def test_nlen_larger_than_the_file() -> None:
    with pytest.raises(DocumentError):
        read_ndef(Wire(Type4TagCard(SAMPLE, nlen=0x2000, max_size=0x100)))


def test_nlen_past_the_data_the_tag_holds_does_not_hang() -> None:
    with pytest.raises(DocumentError):
        read_ndef(Wire(Type4TagCard(SAMPLE, nlen=len(SAMPLE) + 50, max_size=0x1000)))


def test_malformed_message() -> None:
    with pytest.raises(DocumentError) as caught:
        read_ndef(Wire(Type4TagCard(SAMPLE[:-3], nlen=len(SAMPLE) - 3)))
    assert caught.value.file == "NDEF"


def test_endless_61xx_is_an_error_not_a_hang() -> None:
    tag = Type4TagCard(SAMPLE)

    def endless(apdu: bytes) -> bytes:
        return b"\x01\x61\x10" if apdu[1] in (0xB0, 0xC0) else tag(apdu)

    with pytest.raises(ApduError, match="61xx"):
        read_ndef(Wire(endless))


VALID_CC = bytes.fromhex("000F20003B00340406E10401000000")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (VALID_CC[:14], "shorter"),
        (bytes.fromhex("000E") + VALID_CC[2:], "CCLEN"),
        (bytes.fromhex("0030") + VALID_CC[2:], "CCLEN"),
        (VALID_CC[:2] + b"\x40" + VALID_CC[3:], "version"),
        (VALID_CC[:3] + b"\x00\x00" + VALID_CC[5:], "MLe"),
        (VALID_CC[:7] + b"\x05\x06" + VALID_CC[9:], "TLV"),
        (VALID_CC[:9] + b"\xe1\x03" + VALID_CC[11:], "reserved"),
        (VALID_CC[:9] + b"\x00\x00" + VALID_CC[11:], "reserved"),
    ],
)
def test_malformed_capability_container(raw: bytes, problem: str) -> None:
    with pytest.raises(DocumentError) as caught:
        CapabilityContainer.parse(raw)
    assert problem in caught.value.message


def test_valid_capability_container() -> None:
    cc = CapabilityContainer.parse(VALID_CC)
    assert cc == CapabilityContainer(
        version=(2, 0), max_read=0x3B, max_write=0x34, file_id=0xE104, max_size=0x0100, read_access=0,
        write_access=0, extended=False,
    )


@given(st.binary(max_size=40))
def test_any_cc_bytes_give_a_cc_or_a_document_error(raw: bytes) -> None:
    try:
        CapabilityContainer.parse(raw)
    except DocumentError:
        pass


@given(st.binary(max_size=200))
def test_any_message_bytes_give_records_or_a_document_error(raw: bytes) -> None:
    try:
        records = decode_message(raw)
    except DocumentError:
        return
    assert isinstance(records, tuple)


@given(st.lists(st.text(max_size=60), min_size=1, max_size=4), st.sampled_from(["vi", "en", "fr"]))
def test_text_records_round_trip_through_a_tag(texts: list[str], language: str) -> None:
    raw = message(*(ndef.TextRecord(text, language) for text in texts))
    records = read_ndef(Wire(Type4TagCard(raw, max_read=0x3B))).records
    assert [record.text for record in records] == texts
