"""agent.nfc.monitor against the fake scard module: insert/remove events, cards already present,
a swap between two wake-ups, readers coming and going, the service stopping and coming back, and a
stop() that returns at once even while the thread is blocked in SCardGetStatusChange."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from agent.nfc.monitor import CardEvent, CardEventKind, CardMonitor
from tests.nfc.fake_scard import FakeScard

READER = "Reader A 00 00"
OTHER = "Reader B 00 00"
WAIT = 3.0


def card(apdu: bytes) -> bytes:
    return b"\x90\x00"


def next_event(monitor: CardMonitor) -> CardEvent:
    return monitor.events.get(timeout=WAIT)


def no_more_events(monitor: CardMonitor) -> bool:
    try:
        event = monitor.events.get(timeout=0.1)
    except queue.Empty:
        return True
    raise AssertionError(f"unexpected event {event}")


@pytest.fixture
def scard() -> FakeScard:
    fake = FakeScard()
    fake.add_reader(READER)
    return fake


def test_insert_and_remove(scard: FakeScard) -> None:
    with CardMonitor(scard=scard, wait_slice=30) as monitor:
        scard.insert(READER, card, atr=b"\x3b\x01")
        event = next_event(monitor)
        assert (event.kind, event.reader, event.atr) == (CardEventKind.INSERTED, READER, b"\x3b\x01")
        scard.remove(READER)
        event = next_event(monitor)
        assert (event.kind, event.reader, event.atr) == (CardEventKind.REMOVED, READER, None)
        assert no_more_events(monitor)


def test_card_already_present_is_reported_unless_told_not_to(scard: FakeScard) -> None:
    scard.insert(READER, card)
    with CardMonitor(scard=scard) as monitor:
        assert next_event(monitor).kind is CardEventKind.INSERTED
    with CardMonitor(scard=scard, report_present=False) as monitor:
        assert no_more_events(monitor)
        scard.remove(READER)
        assert next_event(monitor).kind is CardEventKind.REMOVED


def test_swap_between_wake_ups_gives_removed_then_inserted(scard: FakeScard) -> None:
    scard.insert(READER, card)
    with CardMonitor(scard=scard, report_present=False) as monitor:
        scard.swap(READER, card)
        assert [next_event(monitor).kind, next_event(monitor).kind] == [
            CardEventKind.REMOVED,
            CardEventKind.INSERTED,
        ]


def test_readers_coming_and_going(scard: FakeScard) -> None:
    with CardMonitor(scard=scard, wait_slice=30) as monitor:
        scard.add_reader(OTHER, card)
        assert [(e.kind, e.reader) for e in (next_event(monitor), next_event(monitor))] == [
            (CardEventKind.READER_ADDED, OTHER),
            (CardEventKind.INSERTED, OTHER),
        ]
        scard.remove_reader(OTHER)
        assert [(e.kind, e.reader) for e in (next_event(monitor), next_event(monitor))] == [
            (CardEventKind.REMOVED, OTHER),
            (CardEventKind.READER_REMOVED, OTHER),
        ]


def test_only_the_chosen_readers_are_watched(scard: FakeScard) -> None:
    scard.add_reader(OTHER)
    with CardMonitor(scard=scard, readers=[OTHER]) as monitor:
        scard.insert(READER, card)
        scard.insert(OTHER, card)
        event = next_event(monitor)
        assert (event.kind, event.reader) == (CardEventKind.INSERTED, OTHER)
        assert no_more_events(monitor)


def test_service_lost_and_back(scard: FakeScard) -> None:
    scard.insert(READER, card)
    with CardMonitor(scard=scard, retry_interval=0.02) as monitor:
        assert next_event(monitor).kind is CardEventKind.INSERTED
        with scard._changed:
            scard.service_error = 0x8010001D
            scard._changed.notify_all()
        assert [next_event(monitor).kind for _ in range(3)] == [
            CardEventKind.REMOVED,
            CardEventKind.READER_REMOVED,
            CardEventKind.SERVICE_LOST,
        ]
        scard.service_error = None
        assert [next_event(monitor).kind for _ in range(3)] == [
            CardEventKind.SERVICE_BACK,
            CardEventKind.READER_ADDED,
            CardEventKind.INSERTED,
        ]
        assert no_more_events(monitor)


def test_service_down_at_start(scard: FakeScard) -> None:
    scard.service_error = 0x8010001D
    monitor = CardMonitor(scard=scard, retry_interval=0.02)
    monitor.start()
    try:
        assert next_event(monitor).kind is CardEventKind.SERVICE_LOST
        assert no_more_events(monitor)
    finally:
        monitor.stop()


def test_stop_wakes_the_blocked_thread_and_joins_it(scard: FakeScard) -> None:
    monitor = CardMonitor(scard=scard, wait_slice=60)
    monitor.start()
    assert monitor.running
    time.sleep(0.05)  # let it block in SCardGetStatusChange
    stopper = threading.Thread(target=monitor.stop)
    stopper.start()
    stopper.join(WAIT)
    assert not stopper.is_alive(), "stop() did not return"
    assert not monitor.running
    assert not scard.contexts  # its context was released


def test_events_go_to_the_queue_given(scard: FakeScard) -> None:
    events: queue.Queue[CardEvent] = queue.Queue()
    with CardMonitor(events, scard=scard):
        scard.insert(READER, card)
        assert events.get(timeout=WAIT).kind is CardEventKind.INSERTED


def test_nothing_runs_before_start(scard: FakeScard) -> None:
    before = threading.active_count()
    monitor = CardMonitor(scard=scard)
    assert not monitor.running and threading.active_count() == before
    assert not scard.calls
    monitor.stop()  # harmless when never started


def test_a_context_that_breaks_is_reopened_without_card_events(scard: FakeScard) -> None:
    scard.insert(READER, card)
    with CardMonitor(scard=scard, report_present=False) as monitor:
        with scard._changed:
            scard.status_error = 0x80100003  # SCARD_E_INVALID_HANDLE, e.g. after a service restart
            scard._changed.notify_all()
        time.sleep(0.1)
        scard.status_error = None
        assert no_more_events(monitor)
        reopened = [call for call in scard.calls if call[0] == "SCardEstablishContext"]
        assert len(reopened) >= 2
        scard.remove(READER)
        assert next_event(monitor).kind is CardEventKind.REMOVED


def test_stop_right_after_an_event_does_not_lose_the_wake_up(scard: FakeScard) -> None:
    # The thread may be between two SCardGetStatusChange calls when stop() cancels: the cancel
    # must be repeated, or the next call would block for its whole 60 s slice.
    scard.list_delay = 0.05  # widen the gap between two calls, as a real service round trip does
    for _ in range(3):
        monitor = CardMonitor(scard=scard, wait_slice=60, report_present=False)
        monitor.start()
        scard.insert(READER, card)
        monitor.events.get(timeout=WAIT)
        stopper = threading.Thread(target=monitor.stop)
        stopper.start()
        stopper.join(WAIT)
        assert not stopper.is_alive() and not monitor.running
        scard.remove(READER)


def test_first_reader_plugged_in_wakes_the_monitor_at_once() -> None:
    scard = FakeScard()
    with CardMonitor(scard=scard, wait_slice=30) as monitor:
        scard.add_reader(READER, card)
        assert [next_event(monitor).kind, next_event(monitor).kind] == [
            CardEventKind.READER_ADDED,
            CardEventKind.INSERTED,
        ]


@pytest.mark.parametrize("with_reader", [True, False])
def test_without_the_pnp_pseudo_reader_readers_are_polled_not_spun_on(with_reader: bool) -> None:
    scard = FakeScard()
    scard.pnp_supported = False
    if with_reader:
        scard.add_reader(READER)
    with CardMonitor(scard=scard, wait_slice=0.1) as monitor:
        time.sleep(0.3)
        waits = [call for call in scard.calls if call[0] in ("SCardGetStatusChange", "SCardListReaders")]
        assert len(waits) < 40, "the monitor spins"
        scard.add_reader(OTHER, card)
        assert [next_event(monitor).kind, next_event(monitor).kind] == [
            CardEventKind.READER_ADDED,
            CardEventKind.INSERTED,
        ]
        if with_reader:
            scard.insert(READER, card)
            assert next_event(monitor).kind is CardEventKind.INSERTED
