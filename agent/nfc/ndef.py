"""Reading an NFC Forum Type 4 Tag (a tag, or a phone presenting a token by card emulation) over any
Transport: SELECT the NDEF Tag Application, read the Capability Container (E103), SELECT the NDEF file
it names, read NLEN (or ENLEN) and then the NDEF message, and decode it into records with ndeflib.
Implements the NDEF detection and read procedure of the NFC Forum Type 4 Tag specification (mapping
versions 2.0 and 3.0, and 1.0 tags through their older AID and SELECT form; READ BINARY with the
odd-instruction form for offsets past 7FFFh), with ISO/IEC 7816-4 response chaining (61xx, 6Cxx) by the
shared processor of :mod:`agent.icao.transport`.

Failures are typed: a card without the NDEF application gives ``FileNotFoundOnCardError`` (message
``error.not_ndef_tag``), a file the tag will not let us read gives ``AccessDeniedError``, a malformed
Capability Container or NDEF message gives ``DocumentError``; transport errors pass through.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ndef

from agent.errors import AccessDeniedError, DocumentError, FileNotFoundOnCardError, TlvError
from agent.icao import tlv
from agent.icao.apdu import (
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SW_FILE_NOT_FOUND,
    SW_OK,
    SW_WARNING_END_OF_FILE,
    CommandApdu,
    ResponseApdu,
)
from agent.icao.transport import ResponseChaining, Transport, error_for_sw, transport_send

AID_NDEF_TAG_V2 = bytes.fromhex("D2760000850101")
AID_NDEF_TAG_V1 = bytes.fromhex("D2760000850100")
FID_CAPABILITY_CONTAINER = 0xE103

P1_SELECT_BY_NAME = 0x04
P1_SELECT_BY_FID = 0x00
P2_FIRST_WITH_FCI = 0x00
P2_NO_RESPONSE_DATA = 0x0C

TAG_NDEF_FILE_CONTROL = 0x04
TAG_EXTENDED_NDEF_FILE_CONTROL = 0x06
TAG_DISCRETIONARY_DATA = 0x53
TAG_OFFSET_DATA = 0x54

ACCESS_GRANTED = 0x00
MIN_CC_LENGTH = 15
MAX_SHORT_OFFSET = 0x7FFF
SHORT_MAX_READ = 255  # Le 00 would mean 256, which some tags mishandle
FORBIDDEN_FILE_IDS = frozenset({0x0000, 0xE102, 0xE103, 0x3F00, 0x3FFF, 0xFFFF})


@dataclasses.dataclass(frozen=True)
class CapabilityContainer:
    """The tag's Capability Container file: mapping version, the largest READ BINARY answer (``max_read``,
    MLe) and command (``max_write``, MLc) it takes, and the NDEF file's id, size and access bytes."""

    version: tuple[int, int]
    max_read: int
    max_write: int
    file_id: int
    max_size: int
    read_access: int
    write_access: int
    extended: bool

    @classmethod
    def parse(cls, raw: bytes) -> CapabilityContainer:
        if len(raw) < MIN_CC_LENGTH:
            raise DocumentError(f"capability container of {len(raw)} bytes is shorter than 15", file="NDEF CC")
        cc_length = int.from_bytes(raw[0:2], "big")
        if cc_length < MIN_CC_LENGTH or cc_length > len(raw):
            raise DocumentError(f"CCLEN {cc_length} does not fit the {len(raw)} bytes read", file="NDEF CC")
        version = (raw[2] >> 4, raw[2] & 0x0F)
        if version[0] not in (1, 2, 3):
            raise DocumentError(f"unsupported mapping version {version[0]}.{version[1]}", file="NDEF CC")
        max_read = int.from_bytes(raw[3:5], "big")
        max_write = int.from_bytes(raw[5:7], "big")
        if max_read < 1 or max_write < 1:
            raise DocumentError(f"MLe {max_read} / MLc {max_write} out of range", file="NDEF CC")
        tag, length = raw[7], raw[8]
        if tag == TAG_NDEF_FILE_CONTROL and length == 6:
            size_bytes = 2
        elif tag == TAG_EXTENDED_NDEF_FILE_CONTROL and length == 8:
            size_bytes = 4
        else:
            raise DocumentError(f"no NDEF file control TLV (T={tag:02X} L={length})", file="NDEF CC")
        if 9 + length > cc_length:
            raise DocumentError("NDEF file control TLV runs past CCLEN", file="NDEF CC")
        value = raw[9 : 9 + length]
        file_id = int.from_bytes(value[0:2], "big")
        if file_id in FORBIDDEN_FILE_IDS:
            raise DocumentError(f"reserved NDEF file id {file_id:04X}", file="NDEF CC")
        max_size = int.from_bytes(value[2 : 2 + size_bytes], "big")
        if max_size < size_bytes:
            raise DocumentError(f"NDEF file size {max_size} cannot hold its length field", file="NDEF CC")
        return cls(
            version=version,
            max_read=max_read,
            max_write=max_write,
            file_id=file_id,
            max_size=max_size,
            read_access=value[2 + size_bytes],
            write_access=value[3 + size_bytes],
            extended=size_bytes == 4,
        )


@dataclasses.dataclass(frozen=True)
class NdefRecord:
    """One decoded record. ``text`` is set for Text records, ``uri`` for URI records; payloads may
    carry a token or personal data, so they stay out of ``repr``."""

    record_type: str
    name: str
    payload: bytes = dataclasses.field(repr=False)
    text: str | None = dataclasses.field(default=None, repr=False)
    language: str | None = None
    uri: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class NdefContent:
    capability: CapabilityContainer
    message: bytes = dataclasses.field(repr=False)
    records: tuple[NdefRecord, ...]


def decode_message(message: bytes) -> tuple[NdefRecord, ...]:
    """Decode an NDEF message (NFC Forum NDEF 1.0) into records; DocumentError when malformed."""
    try:
        decoded = list(ndef.message_decoder(message, errors="strict"))
    except (ndef.DecodeError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise DocumentError(f"malformed NDEF message: {exc}", file="NDEF") from exc
    return tuple(_record(item) for item in decoded)


def _record(item: Any) -> NdefRecord:
    text = language = uri = None
    if isinstance(item, ndef.TextRecord):
        text, language = item.text, item.language
    elif isinstance(item, ndef.UriRecord):
        uri = item.iri
    return NdefRecord(
        record_type=str(item.type), name=str(item.name), payload=bytes(item.data), text=text, language=language, uri=uri
    )


def read_ndef(transport: Transport, *, max_chunk: int = SHORT_MAX_READ) -> NdefContent:
    """Read and decode the NDEF message of the Type 4 Tag behind ``transport``."""
    _select_application(transport)
    _select_file(transport, FID_CAPABILITY_CONTAINER, "NDEF CC")
    cc_chunk = max(1, min(max_chunk, SHORT_MAX_READ))
    raw_cc = _read_range(transport, 0, MIN_CC_LENGTH, cc_chunk, "NDEF CC")
    cc_length = int.from_bytes(raw_cc[0:2], "big")
    if cc_length > len(raw_cc):
        raw_cc += _read_range(transport, len(raw_cc), cc_length - len(raw_cc), cc_chunk, "NDEF CC")
    capability = CapabilityContainer.parse(raw_cc)
    if capability.read_access != ACCESS_GRANTED:
        raise AccessDeniedError(
            f"the tag grants no read access to its NDEF file (access byte {capability.read_access:02X})",
            sw=0x6982,
            command="READ BINARY",
        )
    _select_file(transport, capability.file_id, "NDEF")
    length_size = 4 if capability.extended else 2
    chunk = max(1, min(max_chunk, capability.max_read, SHORT_MAX_READ))
    length_bytes = _read_range(transport, 0, length_size, chunk, "NDEF")
    message_length = int.from_bytes(length_bytes, "big")
    if message_length > capability.max_size - length_size:
        raise DocumentError(
            f"NLEN {message_length} exceeds the file size {capability.max_size} in the CC", file="NDEF"
        )
    message = _read_range(transport, length_size, message_length, chunk, "NDEF")
    return NdefContent(capability=capability, message=message, records=decode_message(message))


def _exchange(transport: Transport, command: CommandApdu) -> ResponseApdu:
    """Send one command through the shared response-chaining processor (61xx GET RESPONSE, 6Cxx)."""
    return ResponseChaining(transport_send(transport))(command)


def _select_application(transport: Transport) -> None:
    last = SW_OK
    for aid in (AID_NDEF_TAG_V2, AID_NDEF_TAG_V1):
        reply = _exchange(transport, CommandApdu(0x00, INS_SELECT, P1_SELECT_BY_NAME, P2_FIRST_WITH_FCI, aid, le=256))
        if reply.sw == SW_OK:
            return
        last = reply.sw
    error = FileNotFoundOnCardError("no NFC Forum Type 4 Tag (NDEF) application", last, command="SELECT")
    error.message_key = "error.not_ndef_tag"
    raise error


def _select_file(transport: Transport, file_id: int, name: str) -> None:
    fid = file_id.to_bytes(2, "big")
    reply = _exchange(transport, CommandApdu(0x00, INS_SELECT, P1_SELECT_BY_FID, P2_NO_RESPONSE_DATA, fid))
    if reply.sw not in (SW_OK, SW_FILE_NOT_FOUND):
        # Mapping version 1.0 tags want P2 00 and answer with an FCI.
        reply = _exchange(transport, CommandApdu(0x00, INS_SELECT, P1_SELECT_BY_FID, P2_FIRST_WITH_FCI, fid))
    _check(reply, f"SELECT {name}", name)


def _check(reply: ResponseApdu, command: str, name: str, *, end_of_file_ok: bool = False) -> None:
    if reply.sw == SW_OK or (end_of_file_ok and reply.sw == SW_WARNING_END_OF_FILE):
        return
    raise error_for_sw(reply.sw, f"{command} ({name})")


def _read(transport: Transport, offset: int, length: int, name: str) -> bytes:
    """One READ BINARY of up to ``length`` bytes at ``offset`` (B0 below 8000h, B1 above)."""
    if offset <= MAX_SHORT_OFFSET:
        command = CommandApdu(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=length)
        reply = _exchange(transport, command)
        _check(reply, "READ BINARY", name, end_of_file_ok=True)
        return reply.data
    offset_do = bytes([TAG_OFFSET_DATA, 3]) + offset.to_bytes(3, "big")
    reply = _exchange(transport, CommandApdu(0x00, INS_READ_BINARY_ODD, 0, 0, offset_do, le=length + 4))
    _check(reply, "READ BINARY (odd)", name, end_of_file_ok=True)
    try:
        item, _end = tlv.decode_one(reply.data)
    except TlvError as exc:
        raise DocumentError(f"odd READ BINARY answer is not a discretionary-data object: {exc}", file=name) from exc
    if item.tag != TAG_DISCRETIONARY_DATA:
        raise DocumentError("odd READ BINARY answer is not a discretionary-data object", file=name)
    return item.value


def _read_range(transport: Transport, offset: int, length: int, chunk: int, name: str) -> bytes:
    out = bytearray()
    while len(out) < length:
        position = offset + len(out)
        # The odd form wraps the data in DO'53 (up to 4 bytes of header) and must stay short.
        limit = chunk if position <= MAX_SHORT_OFFSET else min(chunk, SHORT_MAX_READ - 4)
        want = min(limit, length - len(out))
        data = _read(transport, position, want, name)
        if not data:
            raise DocumentError(f"the tag returned no data at offset {position}", file=name)
        out += data[:want]
    return bytes(out)
