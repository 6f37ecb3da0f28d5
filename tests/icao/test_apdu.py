"""Command and response APDUs (ISO/IEC 7816-4 §5.1): the seven encodings by table, Hypothesis
round trips and fuzzing, and the processors over a transport (61xx / 6Cxx, the trace hook) and the
status-word-to-error mapping."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import AccessDeniedError, ApduError, ApduFormatError, FileNotFoundOnCardError
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.transport import (
    ApduTraceRecord,
    ResponseChaining,
    Traced,
    build_send,
    check_sw,
    error_for_sw,
)

# --- encodings by case ---------------------------------------------------------------------------

CASES = [
    ("case 1", CommandApdu(0x00, 0xA4, 0x00, 0x0C), "00A4000C"),
    ("case 2S", CommandApdu(0x00, 0x84, 0x00, 0x00, le=8), "0084000008"),
    ("case 2S Le 256", CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000"),
    ("case 3S", CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("011E")), "00A4020C02011E"),
    ("case 4S", CommandApdu(0x00, 0x82, 0x00, 0x00, bytes(2), le=0x28), "008200000200" + "0028"),
    ("case 2E", CommandApdu(0x00, 0xB0, 0x00, 0x00, le=0x1000), "00B0000000" + "1000"),
    ("case 2E Le 65536", CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536), "00B0000000" + "0000"),
    ("case 3E", CommandApdu(0x00, 0xDA, 0x00, 0x00, bytes(300)), "00DA000000012C" + "00" * 300),
    (
        "case 4E",
        CommandApdu(0x0C, 0xB0, 0x00, 0x00, bytes(3), le=65536, extended=True),
        "0CB00000000003000000" + "0000",
    ),
    ("case 2E forced", CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4, extended=True), "00B00000000004"),
]


@pytest.mark.parametrize(("name", "apdu", "wire"), CASES, ids=[c[0] for c in CASES])
def test_encoding_table(name: str, apdu: CommandApdu, wire: str) -> None:
    assert apdu.encode().hex().upper() == wire.upper()
    assert CommandApdu.decode(bytes.fromhex(wire)).encode() == apdu.encode()


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "00",
        "00A400",
        "00A4020C0501",
        "00B000000000",
        "00DA000000000000",
        "00DA0000000003AABB",
        "00DA000003AABBCCDDEE",
    ],
)
def test_malformed_commands(wire: str) -> None:
    with pytest.raises(ApduFormatError):
        CommandApdu.decode(bytes.fromhex(wire))


@pytest.mark.parametrize("kwargs", [{"cla": 256}, {"ins": -1}, {"le": 0}, {"le": 65537}, {"data": bytes(65536)}])
def test_invalid_fields_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"cla": 0, "ins": 0xB0, "p1": 0, "p2": 0}
    with pytest.raises(ApduFormatError):
        CommandApdu(**{**base, **kwargs})  # type: ignore[arg-type]


def test_response_decoding() -> None:
    response = ResponseApdu.decode(bytes.fromhex("0102036282"))
    assert (response.data, response.sw, response.sw1, response.sw2, response.ok) == (
        b"\x01\x02\x03",
        0x6282,
        0x62,
        0x82,
        False,
    )
    assert ResponseApdu.decode(bytes.fromhex("9000")).ok
    with pytest.raises(ApduFormatError):
        ResponseApdu.decode(b"\x90")


def test_response_repr_hides_data() -> None:
    assert "0102" not in repr(ResponseApdu(b"\x01\x02", 0x9000))


# --- Hypothesis: round trip and fuzz -------------------------------------------------------------

byte = st.integers(min_value=0, max_value=255)


@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    extended = draw(st.booleans())
    max_data = 600 if extended else 255
    data = draw(st.binary(max_size=max_data))
    le = draw(st.none() | st.integers(min_value=1, max_value=65536 if extended else 256))
    return CommandApdu(draw(byte), draw(byte), draw(byte), draw(byte), data, le=le, extended=extended)


@given(commands())
def test_command_round_trip(command: CommandApdu) -> None:
    wire = command.encode()
    decoded = CommandApdu.decode(wire)
    assert decoded.encode() == wire
    assert (decoded.header, decoded.data, decoded.le) == (command.header, command.data, command.le)
    if command.data or command.le is not None:
        assert decoded.needs_extended == command.needs_extended


@given(st.binary(max_size=80))
def test_command_fuzz(raw: bytes) -> None:
    try:
        decoded = CommandApdu.decode(raw)
    except ApduFormatError:
        return
    assert decoded.encode() == raw  # every valid encoding is canonical


@given(st.binary(min_size=4, max_size=4), st.integers(min_value=0, max_value=300), st.binary(max_size=3))
def test_command_fuzz_around_extended_lengths(header: bytes, lc: int, tail: bytes) -> None:
    raw = header + b"\x00" + lc.to_bytes(2, "big") + bytes(min(lc, 280)) + tail
    try:
        decoded = CommandApdu.decode(raw)
    except ApduFormatError:
        return
    assert decoded.encode() == raw


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=0xFFFF))
def test_response_round_trip(data: bytes, sw: int) -> None:
    response = ResponseApdu(data, sw)
    assert ResponseApdu.decode(response.encode()) == response


@given(st.binary(max_size=40))
def test_response_fuzz(raw: bytes) -> None:
    try:
        response = ResponseApdu.decode(raw)
    except ApduFormatError:
        assert len(raw) < 2
        return
    assert response.encode() == raw


def test_response_with_an_impossible_status_word_is_refused() -> None:
    with pytest.raises(ApduFormatError):
        ResponseApdu(b"", 0x10000)


# --- processors ----------------------------------------------------------------------------------


class FakeTransport:
    """A card scripted by command (hex) -> list of responses (hex) handed out in turn."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.sent: list[str] = []
        self.closed = False

    def transmit(self, apdu: bytes) -> ResponseApdu:
        wire = apdu.hex().upper()
        self.sent.append(wire)
        return ResponseApdu.decode(bytes.fromhex(self.answers[wire].pop(0)))

    def close(self) -> None:
        self.closed = True


def test_61xx_is_followed_by_get_response_and_concatenated() -> None:
    transport = FakeTransport(
        {
            "00B0000000": ["AAAA6104"],
            "00C0000004": ["BBBBBBBB6102"],
            "00C0000002": ["CCCC9000"],
        }
    )
    response = build_send(transport)(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256))
    assert response == ResponseApdu(bytes.fromhex("AAAABBBBBBBBCCCC"), 0x9000)
    assert transport.sent == ["00B0000000", "00C0000004", "00C0000002"]


def test_6cxx_resends_with_the_exact_le() -> None:
    transport = FakeTransport({"00B0000000": ["6C12"], "00B0000012": ["11" * 18 + "9000"]})
    response = build_send(transport)(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256))
    assert response.data == bytes([0x11]) * 18 and response.ok
    assert transport.sent == ["00B0000000", "00B0000012"]


def test_6cxx_is_not_looped() -> None:
    transport = FakeTransport({"00B0000000": ["6C12"], "00B0000012": ["6C12"]})
    response = build_send(transport)(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256))
    assert response.sw == 0x6C12 and len(transport.sent) == 2


def test_6cxx_to_a_protected_command_is_passed_up() -> None:
    transport = FakeTransport({"0CB000000D9701048E08ED6705417E96BA5500": ["6C04"]})
    protected = CommandApdu.decode(bytes.fromhex("0CB000000D9701048E08ED6705417E96BA5500"))
    assert build_send(transport)(protected).sw == 0x6C04
    assert len(transport.sent) == 1


def test_get_response_under_secure_messaging_is_plain() -> None:
    transport = FakeTransport({"0CB0000000": ["AA6101"], "00C0000001": ["BB9000"]})
    assert build_send(transport)(CommandApdu(0x0C, 0xB0, 0x00, 0x00, le=256)).data == b"\xaa\xbb"


def test_endless_61xx_is_cut_off() -> None:
    def card(command: CommandApdu) -> ResponseApdu:
        return ResponseApdu(b"\x00", 0x6101)

    with pytest.raises(ApduError):
        ResponseChaining(card, max_rounds=5)(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=1))


def test_trace_records_headers_lengths_and_sw_but_no_data() -> None:
    records: list[ApduTraceRecord] = []
    secret = bytes.fromhex("DEADBEEFCAFE")
    transport = FakeTransport({"00A4020C06" + secret.hex().upper(): [secret.hex().upper() + "6A82"]})
    send = build_send(transport, trace=records.append)
    send(CommandApdu(0x00, 0xA4, 0x02, 0x0C, secret))
    assert records == [ApduTraceRecord(bytes.fromhex("00A4020C"), 6, None, 6, 0x6A82)]
    text = str(records[0])
    assert "6A82" in text and "00A4020C" in text and "DEADBEEF" not in text.upper()
    assert "DEAD" not in repr(records[0]).upper()


def test_traced_processor_passes_responses_through() -> None:
    seen: list[ApduTraceRecord] = []

    def card(command: CommandApdu) -> ResponseApdu:
        return ResponseApdu(b"\x01", 0x9000)

    assert Traced(card, seen.append)(CommandApdu(0, 0xB0, 0, 0, le=1)) == ResponseApdu(b"\x01", 0x9000)
    assert dataclasses.astuple(seen[0])[1:] == (0, 1, 1, 0x9000)


@pytest.mark.parametrize(
    ("sw", "cls"),
    [
        (0x6982, AccessDeniedError),
        (0x6985, AccessDeniedError),
        (0x6986, AccessDeniedError),
        (0x6A82, FileNotFoundOnCardError),
        (0x6700, ApduError),
        (0x6D00, ApduError),
    ],
)
def test_error_for_sw(sw: int, cls: type[ApduError]) -> None:
    error = error_for_sw(sw, "READ BINARY")
    assert type(error) is cls and error.sw == sw and f"{sw:04X}" in str(error)
    with pytest.raises(cls):
        check_sw(ResponseApdu(b"", sw), "READ BINARY")
    assert check_sw(ResponseApdu(b"\x01", 0x9000), "X").data == b"\x01"
