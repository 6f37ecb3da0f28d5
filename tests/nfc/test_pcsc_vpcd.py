"""agent.nfc end to end through pyscard + pcscd + the vpcd virtual reader, with a test-only card
process on the other side: listing, presence, transmit, extended length, 61xx passing through
untouched, exclusive access, removal before and during an exchange, the card monitor, an NDEF read."""

from __future__ import annotations

import queue

import ndef
import pytest

from agent.errors import CardRemovedError, ReaderUnavailableError
from agent.nfc.monitor import CardEvent, CardEventKind, CardMonitor
from agent.nfc.ndef import read_ndef
from agent.nfc.pcsc import PcscSystem, PcscTransport
from tests.nfc.conftest import InsertCard
from tests.nfc.fake_vpcd_card import DEFAULT_ATR, ScriptedCard, Type4TagCard
from tests.pcsc_env import PcscEnvironment, VpcdSlot

pytestmark = pytest.mark.pcsc

SELECT_APP = bytes.fromhex("00A4040C07A0000002471001")


def test_readers_are_listed_without_a_card(pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot) -> None:
    statuses = {status.name: status for status in PcscSystem().readers()}
    assert vpcd_slot.reader in statuses
    assert not statuses[vpcd_slot.reader].card_present
    assert statuses[vpcd_slot.reader].atr is None


def test_connecting_without_a_card_is_card_removed(vpcd_slot: VpcdSlot) -> None:
    with pytest.raises(CardRemovedError) as caught:
        PcscTransport(vpcd_slot.reader)
    assert caught.value.message_key == "error.no_card"


def test_unknown_reader_is_reader_unavailable(pcsc_env: PcscEnvironment) -> None:
    with pytest.raises(ReaderUnavailableError) as caught:
        PcscSystem().connect("No Such Reader 00 00")
    assert caught.value.message_key == "error.reader_not_found"


def test_card_present_with_its_atr_and_transmit(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    card = insert_card(ScriptedCard({SELECT_APP: b"\x90\x00"}))
    statuses = {status.name: status for status in PcscSystem().readers()}
    assert statuses[vpcd_slot.reader].card_present
    assert statuses[vpcd_slot.reader].atr == DEFAULT_ATR
    assert PcscSystem().choose_reader(vpcd_slot.reader) == vpcd_slot.reader
    with PcscSystem().connect(vpcd_slot.reader) as transport:
        assert transport.atr == DEFAULT_ATR
        assert transport.protocol == "T=1" and not transport.shared
        assert transport.transmit(SELECT_APP).sw == 0x9000
        assert transport.transmit(bytes.fromhex("00B0000004")).sw == 0x6D00
    assert card.apdus == [SELECT_APP, bytes.fromhex("00B0000004")]


def test_extended_length_apdus_pass_through(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    card = insert_card(ScriptedCard())
    payload = bytes(range(256)) * 4 + b"tail"
    extended_echo = bytes.fromhex("80EE0000") + b"\x00" + len(payload).to_bytes(2, "big") + payload + b"\x00\x00"
    extended_read = bytes.fromhex("80EA0000") + b"\x00" + (4096).to_bytes(2, "big")
    with PcscTransport(vpcd_slot.reader) as transport:
        assert transport.extended_length_possible
        echoed = transport.transmit(extended_echo)
        assert (echoed.sw, echoed.data) == (0x9000, payload)
        pattern = transport.transmit(extended_read)
        assert pattern.sw == 0x9000 and pattern.data == bytes(i & 0xFF for i in range(4096))
    assert card.apdus == [extended_echo, extended_read]


def test_response_chaining_is_left_to_the_caller(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    long_answer = bytes(range(200)) + b"\x90\x00"
    insert_card(ScriptedCard({SELECT_APP: long_answer}, chain_limit=64))
    with PcscTransport(vpcd_slot.reader) as transport:
        first = transport.transmit(SELECT_APP)
        assert first.sw == 0x6188 and first.data == long_answer[:64]
        rest = transport.transmit(bytes.fromhex("00C0000088"))
        assert rest.sw == 0x9000 and first.data + rest.data == long_answer[:-2]


def test_second_exclusive_user_is_refused_and_shared_user_makes_us_share(
    insert_card: InsertCard, vpcd_slot: VpcdSlot
) -> None:
    insert_card(ScriptedCard())
    with PcscTransport(vpcd_slot.reader) as first:
        assert not first.shared
        with pytest.raises(ReaderUnavailableError) as caught:
            PcscTransport(vpcd_slot.reader)
        assert caught.value.message_key == "error.reader_busy"
    with PcscTransport(vpcd_slot.reader, exclusive=False) as other_program:
        assert other_program.shared
        with PcscTransport(vpcd_slot.reader) as ours:
            assert ours.shared
            assert ours.transmit(bytes.fromhex("80EE000001AA")).data == b"\xaa"


def test_card_removed_between_apdus(
    pcsc_env: PcscEnvironment, insert_card: InsertCard, vpcd_slot: VpcdSlot
) -> None:
    card = insert_card(ScriptedCard())
    with PcscTransport(vpcd_slot.reader) as transport:
        assert transport.transmit(bytes.fromhex("80EE000001AA")).sw == 0x9000
        card.remove()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
        with pytest.raises(CardRemovedError):
            transport.transmit(bytes.fromhex("80EE000001AA"))


@pytest.mark.parametrize("torn_at", [1, 2, 3])
def test_card_removed_mid_exchange(
    pcsc_env: PcscEnvironment, insert_card: InsertCard, vpcd_slot: VpcdSlot, torn_at: int
) -> None:
    card = insert_card(ScriptedCard(), drop_on_apdu=torn_at)
    with PcscTransport(vpcd_slot.reader, removal_grace=2.0) as transport:
        with pytest.raises(CardRemovedError):
            for _ in range(torn_at):
                transport.transmit(bytes.fromhex("80EE000002AABB"))
        assert card.dropped.is_set() and len(card.apdus) == torn_at
    card.remove()
    pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
    # The next card reads fine.
    insert_card(ScriptedCard())
    with PcscTransport(vpcd_slot.reader) as transport:
        assert transport.transmit(bytes.fromhex("80EE000001CC")).data == b"\xcc"


def test_monitor_sees_insert_and_remove(
    pcsc_env: PcscEnvironment, insert_card: InsertCard, vpcd_slot: VpcdSlot
) -> None:
    events: queue.Queue[CardEvent] = queue.Queue()
    with CardMonitor(events, readers=[vpcd_slot.reader]):
        card = insert_card(ScriptedCard(), wait=False)
        inserted = events.get(timeout=5)
        assert (inserted.kind, inserted.reader, inserted.atr) == (CardEventKind.INSERTED, vpcd_slot.reader, DEFAULT_ATR)
        # Talking to the card (connect, reset on close) is not an insertion or a removal.
        with PcscTransport(vpcd_slot.reader) as transport:
            transport.transmit(bytes.fromhex("80EE000001AA"))
        card.remove()
        removed = events.get(timeout=5)
        assert (removed.kind, removed.reader) == (CardEventKind.REMOVED, vpcd_slot.reader)
        with pytest.raises(queue.Empty):
            events.get(timeout=0.5)


def test_ndef_type4_tag_through_vpcd(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    text = "Phiếu khám số 17 — phòng 204"
    uri = "https://clinic.example/checkin?token=Zm9v"
    message = b"".join(ndef.message_encoder([ndef.TextRecord(text, "vi"), ndef.UriRecord(uri)]))
    insert_card(Type4TagCard(message))
    with PcscSystem().connect(vpcd_slot.reader) as transport:
        content = read_ndef(transport)
    assert [record.text for record in content.records] == [text, None]
    assert content.records[1].uri == uri
