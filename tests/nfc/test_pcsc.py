"""agent.nfc.pcsc against a fake scard module: error mapping, reader listing and choice, exclusive
connect with shared fallback, protocol negotiation, transmit and close, card removal, reader memory."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import pytest

from agent.errors import CardRemovedError, ReaderUnavailableError, TransferError, TransportError
from agent.icao.apdu import ResponseApdu
from agent.nfc import pcsc
from agent.nfc.pcsc import PcscSystem, PcscTransport, ReaderMemory
from tests.nfc.fake_scard import FakeScard

READER = "ACS ACR1252 1S CL Reader PICC 00 00"
CONTACT = "Generic USB Smart Card Reader 00 00"


def echo_card(apdu: bytes) -> bytes:
    return apdu[5:] + b"\x90\x00" if len(apdu) > 5 else b"\x90\x00"


@pytest.fixture
def scard() -> FakeScard:
    fake = FakeScard()
    fake.add_reader(READER, echo_card, atr=bytes.fromhex("3B8F8001804F0CA000000306030001000000006A"))
    return fake


# --- the PC/SC service and the reader list ----------------------------------------------------


@pytest.mark.parametrize("hresult", [0x8010001D, 0x8010001E, 0x8010001D - 0x100000000])
def test_service_not_running_is_reader_unavailable_with_what_to_do(scard: FakeScard, hresult: int) -> None:
    scard.service_error = hresult
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscSystem(scard).readers()
    error = caught.value
    assert error.message_key == "error.pcsc_service_down"
    assert error.retryable
    assert "pcscd" in error.message and "Smart Card" in error.message
    assert error.detail is not None and "0x8010001" in error.detail


def test_service_stopping_between_calls_is_reader_unavailable(scard: FakeScard) -> None:
    scard.list_error = pcsc.SCARD_E_SERVICE_STOPPED
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscSystem(scard).readers()
    assert caught.value.message_key == "error.pcsc_service_down"


def test_no_reader_is_reader_unavailable_saying_plug_it_in() -> None:
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscSystem(FakeScard()).readers()
    assert caught.value.message_key == "error.no_reader"
    assert "plug the reader" in caught.value.message


def test_context_is_released_after_listing(scard: FakeScard) -> None:
    PcscSystem(scard).readers()
    assert not scard.contexts


def test_readers_report_card_presence_and_atr(scard: FakeScard) -> None:
    scard.add_reader(CONTACT)
    statuses = {status.name: status for status in PcscSystem(scard).readers()}
    assert statuses[READER].card_present and statuses[READER].atr == scard.readers[READER].atr
    assert statuses[READER].contactless
    assert not statuses[CONTACT].card_present and statuses[CONTACT].atr is None
    assert not statuses[CONTACT].contactless
    as_json = statuses[READER].as_json()
    assert as_json["atr"] == scard.readers[READER].atr.hex(" ").upper()
    assert as_json["card_present"] is True


def test_mute_card_is_reported_and_never_chosen(scard: FakeScard) -> None:
    scard.readers[READER].mute = True
    (status,) = PcscSystem(scard).readers()
    assert status.mute
    with pytest.raises(CardRemovedError) as caught:
        PcscSystem(scard).choose_reader()
    assert caught.value.message_key == "error.no_card"


def test_choose_reader_prefers_the_contactless_one_holding_a_card(scard: FakeScard) -> None:
    scard.add_reader(CONTACT, echo_card)
    scard.add_reader("Empty PICC reader 00 00")
    assert PcscSystem(scard).choose_reader() == READER


def test_choose_reader_takes_a_contact_reader_when_only_it_holds_a_card(scard: FakeScard) -> None:
    scard.remove(READER)
    scard.add_reader(CONTACT, echo_card)
    assert PcscSystem(scard).choose_reader() == CONTACT


def test_choose_named_reader_that_is_absent(scard: FakeScard) -> None:
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscSystem(scard).choose_reader("Nope 00 00")
    assert caught.value.message_key == "error.reader_not_found"
    assert READER in caught.value.message


def test_no_card_anywhere(scard: FakeScard) -> None:
    scard.remove(READER)
    with pytest.raises(CardRemovedError) as caught:
        PcscSystem(scard).connect()
    assert caught.value.message_key == "error.no_card"


# --- connecting ---------------------------------------------------------------------------------


def test_connect_is_exclusive_t1_and_reads_the_atr(scard: FakeScard) -> None:
    with PcscSystem(scard).connect(READER) as transport:
        assert not transport.shared
        assert transport.protocol == "T=1" and transport.extended_length_possible
        assert transport.atr == scard.readers[READER].atr
        (connect,) = [call for call in scard.calls if call[0] == "SCardConnect"]
        assert connect[2] == scard.SCARD_SHARE_EXCLUSIVE
        assert connect[3] == scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1


def test_connect_falls_back_to_shared_on_sharing_violation(scard: FakeScard) -> None:
    scard.other_program_shared = True
    with PcscTransport(READER, scard=scard) as transport:
        assert transport.shared
        modes = [call[2] for call in scard.calls if call[0] == "SCardConnect"]
        assert modes == [scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_SHARE_SHARED]


def test_reader_held_exclusively_by_another_program(scard: FakeScard) -> None:
    scard.other_program_exclusive = True
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscTransport(READER, scard=scard)
    assert caught.value.message_key == "error.reader_busy"
    assert not scard.contexts  # nothing leaked


def test_shared_only_when_asked(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard, exclusive=False) as transport:
        assert transport.shared
        assert [call[2] for call in scard.calls if call[0] == "SCardConnect"] == [scard.SCARD_SHARE_SHARED]


def test_t0_card_is_used_with_t0_and_no_extended_length(scard: FakeScard) -> None:
    scard.readers[READER].protocol = scard.SCARD_PROTOCOL_T0
    with PcscTransport(READER, scard=scard) as transport:
        assert transport.protocol == "T=0" and not transport.extended_length_possible
        transport.transmit(bytes.fromhex("00A4040C00"))
        (transmit,) = [call for call in scard.calls if call[0] == "SCardTransmit"]
        assert transmit[2] == scard.SCARD_PCI_T0


def test_t0_refused_when_only_t1_is_allowed(scard: FakeScard) -> None:
    scard.readers[READER].protocol = scard.SCARD_PROTOCOL_T0
    with pytest.raises(TransportError) as caught:
        PcscTransport(READER, scard=scard, allow_t0=False)
    assert "SCARD_E_PROTO_MISMATCH" in caught.value.message
    assert not scard.contexts


def test_connect_without_card(scard: FakeScard) -> None:
    scard.remove(READER)
    with pytest.raises(CardRemovedError) as caught:
        PcscTransport(READER, scard=scard)
    assert caught.value.message_key == "error.no_card"
    assert not scard.contexts


def test_connect_to_unknown_reader(scard: FakeScard) -> None:
    with pytest.raises(ReaderUnavailableError):
        PcscTransport("Gone 00 00", scard=scard)


# --- transmitting -------------------------------------------------------------------------------


def test_transmit_returns_the_response_apdu(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard) as transport:
        reply = transport.transmit(bytes.fromhex("80EE000003AABBCC"))
        assert reply == ResponseApdu(bytes.fromhex("AABBCC"), 0x9000)
        assert transport.apdu_count == 1


def test_close_resets_the_card_releases_everything_and_is_idempotent(scard: FakeScard) -> None:
    transport = PcscTransport(READER, scard=scard)
    transport.close()
    transport.close()
    (disconnect,) = [call for call in scard.calls if call[0] == "SCardDisconnect"]
    assert disconnect[2] == scard.SCARD_RESET_CARD
    assert not scard.contexts and not scard.cards
    with pytest.raises(TransportError):
        transport.transmit(b"\x00\xa4\x00\x00")


def test_close_can_leave_the_card_powered(scard: FakeScard) -> None:
    PcscTransport(READER, scard=scard, reset_on_close=False).close()
    (disconnect,) = [call for call in scard.calls if call[0] == "SCardDisconnect"]
    assert disconnect[2] == scard.SCARD_LEAVE_CARD


@pytest.mark.parametrize("hresult", [pcsc.SCARD_W_REMOVED_CARD, pcsc.SCARD_E_NO_SMARTCARD])
def test_card_gone_codes_are_card_removed(scard: FakeScard, hresult: int) -> None:
    with PcscTransport(READER, scard=scard) as transport:
        scard.transmit_errors.append(hresult)
        with pytest.raises(CardRemovedError) as caught:
            transport.transmit(b"\x00\xb0\x00\x00\x00")
        assert caught.value.retryable
        assert caught.value.message_key == "error.card_removed"


@pytest.mark.parametrize(
    "hresult", [pcsc.SCARD_E_NOT_TRANSACTED, pcsc.SCARD_W_UNRESPONSIVE_CARD, pcsc.SCARD_W_UNPOWERED_CARD]
)
def test_ambiguous_failure_with_the_card_gone_is_card_removed(scard: FakeScard, hresult: int) -> None:
    scard.remove_on_transmit = True
    with PcscTransport(READER, scard=scard, removal_grace=0.5) as transport:
        scard.transmit_errors.append(hresult)
        with pytest.raises(CardRemovedError):
            transport.transmit(b"\x00\xb0\x00\x00\x00")


def test_card_leaving_shortly_after_the_failure_is_still_card_removed(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard, removal_grace=2.0) as transport:
        scard.transmit_errors.append(pcsc.SCARD_E_NOT_TRANSACTED)
        timer = threading.Timer(0.05, scard.remove, args=(READER,))
        timer.start()
        try:
            with pytest.raises(CardRemovedError):
                transport.transmit(b"\x00\xb0\x00\x00\x00")
        finally:
            timer.cancel()


@pytest.mark.parametrize("hresult", [pcsc.SCARD_E_NOT_TRANSACTED, pcsc.SCARD_F_COMM_ERROR])
def test_ambiguous_failure_with_the_card_still_there_is_a_failed_transfer(scard: FakeScard, hresult: int) -> None:
    with PcscTransport(READER, scard=scard, removal_grace=0.05) as transport:
        scard.transmit_errors.append(hresult)
        with pytest.raises(TransferError) as caught:
            transport.transmit(b"\x00\xb0\x00\x00\x00")
        assert caught.value.detail == pcsc.hresult_name(hresult)
        assert caught.value.retryable and isinstance(caught.value, TransportError)
        # the link is still usable afterwards
        assert transport.transmit(b"\x00\xa4\x00\x00").sw == 0x9000


def test_empty_response_with_the_card_gone_is_card_removed(scard: FakeScard) -> None:
    scard.remove_on_transmit = True
    scard.empty_responses = 1
    with PcscTransport(READER, scard=scard) as transport, pytest.raises(CardRemovedError):
        transport.transmit(b"\x00\xb0\x00\x00\x00")


def test_empty_response_with_the_card_there_is_a_failed_transfer(scard: FakeScard) -> None:
    scard.empty_responses = 1
    with PcscTransport(READER, scard=scard, removal_grace=0.05) as transport:
        with pytest.raises(TransferError) as caught:
            transport.transmit(b"\x00\xb0\x00\x00\x00")
        assert caught.value.detail == "empty response"


def test_a_receive_buffer_too_small_is_a_failed_transfer_at_once(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard, removal_grace=5.0) as transport:
        scard.transmit_errors.append(pcsc.SCARD_E_INSUFFICIENT_BUFFER)
        started = time.monotonic()
        with pytest.raises(TransferError) as caught:
            transport.transmit(b"\x00\xb0\x00\x00\x00")
        assert time.monotonic() - started < 1.0  # no wait for a removal: the card is not in question
        assert "SCARD_E_INSUFFICIENT_BUFFER 0x80100008" in caught.value.message
        assert transport.transmit(b"\x00\xa4\x00\x00").sw == 0x9000  # the link goes on


def test_other_io_failure_is_transport_error_with_the_code(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard) as transport:
        scard.transmit_errors.append(0x80100001)  # SCARD_F_INTERNAL_ERROR
        with pytest.raises(TransportError) as caught:
            transport.transmit(b"\x00\xb0\x00\x00\x00")
        assert type(caught.value) is TransportError
        assert "0x80100001" in caught.value.message


def test_reader_unplugged_mid_exchange_is_reader_unavailable(scard: FakeScard) -> None:
    with PcscTransport(READER, scard=scard) as transport:
        scard.transmit_errors.append(pcsc.SCARD_E_READER_UNAVAILABLE)
        with pytest.raises(ReaderUnavailableError):
            transport.transmit(b"\x00\xb0\x00\x00\x00")


def test_trace_logs_headers_lengths_and_status_words_only(
    scard: FakeScard, caplog: pytest.LogCaptureFixture
) -> None:
    secret = bytes.fromhex("0123456789ABCDEF")
    with caplog.at_level(logging.DEBUG, logger="agent.nfc.pcsc"), PcscTransport(READER, scard=scard) as transport:
        transport.transmit(bytes.fromhex("80EE0000") + bytes([len(secret)]) + secret)
    text = caplog.text.upper()
    assert "80EE0000" in text and "9000" in text
    assert secret.hex().upper() not in text and "89ABCDEF" not in text


@pytest.mark.parametrize(
    ("hresult", "kind", "key"),
    [
        (pcsc.SCARD_E_NO_SERVICE, ReaderUnavailableError, "error.pcsc_service_down"),
        (pcsc.SCARD_E_SERVICE_STOPPED, ReaderUnavailableError, "error.pcsc_service_down"),
        (pcsc.SCARD_E_NO_READERS_AVAILABLE, ReaderUnavailableError, "error.no_reader"),
        (pcsc.SCARD_E_UNKNOWN_READER, ReaderUnavailableError, "error.reader_not_found"),
        (pcsc.SCARD_E_READER_UNAVAILABLE, ReaderUnavailableError, "error.reader_not_found"),
        (pcsc.SCARD_E_SHARING_VIOLATION, ReaderUnavailableError, "error.reader_busy"),
        (pcsc.SCARD_W_REMOVED_CARD, CardRemovedError, "error.card_removed"),
        (pcsc.SCARD_E_NO_SMARTCARD, CardRemovedError, "error.card_removed"),
        (pcsc.SCARD_W_RESET_CARD, TransportError, "error.transport"),
        (pcsc.SCARD_E_TIMEOUT, TransportError, "error.transport"),
        (0x80100001, TransportError, "error.transport"),
    ],
)
def test_error_table(hresult: int, kind: type[TransportError], key: str) -> None:
    error = pcsc.error_for(hresult, "SCardTransmit", "R 00 00")
    assert type(error) is kind
    assert error.message_key == key
    assert error.retryable


def test_every_operator_message_key_is_in_the_catalogue() -> None:
    from agent import messages

    for key in (pcsc.MSG_SERVICE_DOWN, pcsc.MSG_NO_READER, pcsc.MSG_READER_NOT_FOUND, pcsc.MSG_READER_BUSY,
                pcsc.MSG_NO_CARD):
        assert key in messages.CATALOGUE


def test_importing_agent_nfc_does_not_import_pyscard() -> None:
    code = (
        "import sys\n"
        "import agent.nfc.pcsc, agent.nfc.monitor, agent.nfc.ndef, agent.commands.readers\n"
        "agent.nfc.pcsc.PcscSystem()\n"
        "assert 'smartcard' not in sys.modules, 'pyscard imported eagerly'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- per-reader memory --------------------------------------------------------------------------


def test_reader_memory() -> None:
    memory: ReaderMemory[tuple[bool, int]] = ReaderMemory()
    assert memory.get(READER) is None and READER not in memory
    memory.remember(READER, (False, 223))
    memory.remember(CONTACT, (True, 65536))
    assert memory.get(READER) == (False, 223) and READER in memory and len(memory) == 2
    memory.remember(READER, (True, 1024))
    assert memory.get(READER) == (True, 1024)
    memory.forget(READER)
    memory.forget(READER)
    assert memory.get(READER) is None and len(memory) == 1


def test_reader_memory_get_or_create_keeps_one_object_per_reader() -> None:
    memory: ReaderMemory[dict[str, int]] = ReaderMemory()
    first = memory.get_or_create(READER, dict)
    first["max_chunk"] = 223  # the read logic updates the object it was given
    assert memory.get_or_create(READER, dict) is first
    assert memory.get_or_create(CONTACT, dict) is not first
    assert memory.get(READER) == {"max_chunk": 223}
