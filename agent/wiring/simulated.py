"""Simulated devices for the demo, ``read --simulate``, the benchmarks and tests: a simulated CCCD on
pcscd's virtual reader (vpcd), read through pyscard exactly like a physical card when the machine has
pcscd and the vpcd driver, otherwise served in process (and the banner says so); the desk's card
sources built on them (:class:`InProcessDesk`, :class:`VpcdDesk`: a tap is ``put_card``); a simulated
webcam showing a QR code; pcscd started as our child when it is installed but not running.

This is the one place in the agent that meets the card simulator (simulators.card) and the frame
generator (simulators.camera); it imports them lazily, so that a desk without them still starts.
Every connection to a simulated card reports the link model's estimate of how long the same exchange
would take on a real 424 kbit/s reader (:meth:`agent.ports.CardConnection.link_estimate_ms`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from agent.errors import AgentError, CardRemovedError
from agent.icao.apdu import ResponseApdu
from agent.icao.transport import Transport
from agent.nfc.pcsc import PcscSystem, PcscTransport
from agent.ports import CardEvent, CardEventKind, ReaderListing
from agent.settings import Settings
from agent.wiring.production import PcscReaders

if TYPE_CHECKING:
    from simulators.card.card import SimulatedCard


class LinkModelled(Protocol):
    """A simulated card that models a real reader's link (simulators.card.link)."""

    @property
    def link_estimate_ms(self) -> float: ...

VPCD_READER_PREFIX = "Virtual PCD"
VPCD_FIRST_PORT = 35963  # the CHANNELID of Debian's /etc/reader.conf.d/vpcd: slot n listens on +n
VPCD_PORT_ENV = "CCCD_VPCD_PORT"
PCSC_APPEAR_TIMEOUT_S = 3.0
PCSCD_START_TIMEOUT_S = 6.0
REMOVAL_TIMEOUT_S = 3.0
PCSCD_PATHS = ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd")

MODE_PCSC = "pcsc"
MODE_IN_PROCESS = "in-process"
IN_PROCESS_READER = "Đầu đọc mô phỏng / Simulated reader (in-process)"

BANNER_IN_PROCESS = (
    "Không có pcscd / đầu đọc ảo vpcd: thẻ mô phỏng chạy trong tiến trình (không qua PC/SC).\n"
    "No pcscd / vpcd virtual reader: the simulated card runs in process (not through PC/SC)."
)

FRAME_SIZE = (640, 480)
CAMERA_FPS = 10.0


# --- simulated cards ------------------------------------------------------------------------------------


def make_card(profile: str, seed: bytes | None = None) -> SimulatedCard:
    from simulators.card.card import SimulatedCard
    from simulators.card.personalise import build_card_image

    image = build_card_image(profile) if seed is None else build_card_image(profile, seed=seed)
    return SimulatedCard(image)


def simulator_trust_dir(directory: os.PathLike[str] | str) -> None:
    """Write the simulator's test CSCA certificates and CRLs where a trust store can load them."""
    from simulators.card.pki import write_trust_dir

    write_trust_dir(Path(directory))


class SimulatedCardConnection:
    """A connection to a simulated card (:class:`agent.ports.CardConnection`), through PC/SC or in
    process, that also reports the card's link-model estimate."""

    def __init__(self, inner: Transport, card: LinkModelled, reader: str, *,
                 extended_length_possible: bool = True) -> None:
        self.inner = inner
        self.card = card
        self._reader = reader
        self._extended = extended_length_possible

    @property
    def reader(self) -> str:
        return self._reader

    @property
    def extended_length_possible(self) -> bool:
        return self._extended

    def link_estimate_ms(self) -> float | None:
        return float(self.card.link_estimate_ms)

    def transmit(self, apdu: bytes) -> ResponseApdu:
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()


def in_process_connection(card: SimulatedCard, reader: str = IN_PROCESS_READER) -> SimulatedCardConnection:
    from simulators.card.transport import InProcessTransport

    return SimulatedCardConnection(InProcessTransport(card), card, reader)


@dataclasses.dataclass
class SimulatedReader:
    """An open connection to a simulated card: ``connection`` to read it, ``mode`` saying how."""

    profile: str
    connection: SimulatedCardConnection
    mode: str
    card: SimulatedCard
    banner: str = ""

    @property
    def reader_name(self) -> str:
        return self.connection.reader


@contextlib.contextmanager
def open_simulated_reader(profile: str, *, prefer_pcsc: bool = True,
                          card: SimulatedCard | None = None) -> Iterator[SimulatedReader]:
    """Put the profile's card on a free vpcd slot and connect to it through pyscard, or fall back to
    the in-process transport. Closes everything it opened on exit."""
    card = card if card is not None else make_card(profile)
    if prefer_pcsc:
        with contextlib.ExitStack() as stack:
            reader = _try_pcsc(profile, card, stack)
            if reader is not None:
                yield reader
                return
    connection = in_process_connection(card, "in-process simulator")
    try:
        yield SimulatedReader(profile, connection, MODE_IN_PROCESS, card, BANNER_IN_PROCESS)
    finally:
        connection.close()


def free_vpcd_slots() -> list[tuple[str, int]]:
    """(reader name, port) of every vpcd slot without a card; empty when pcscd or vpcd is missing."""
    try:
        statuses = PcscSystem().readers()
    except AgentError:
        return []
    base = int(os.environ.get(VPCD_PORT_ENV, VPCD_FIRST_PORT))
    slots = []
    for status in statuses:
        if status.name.startswith(VPCD_READER_PREFIX) and not status.card_present:
            index = int(status.name.rsplit(" ", 1)[-1]) if status.name.rsplit(" ", 1)[-1].isdigit() else 0
            slots.append((status.name, base + index))
    return slots


def _try_pcsc(profile: str, card: SimulatedCard, stack: contextlib.ExitStack) -> SimulatedReader | None:
    from simulators.card.vpcd import VpcdBridge

    for reader_name, port in free_vpcd_slots():
        bridge = VpcdBridge(card, port=port)
        bridge.start()
        stack.callback(bridge.stop)
        if not bridge.wait_connected(PCSC_APPEAR_TIMEOUT_S) or not _wait_card(reader_name):
            bridge.stop()
            continue
        try:
            transport = PcscTransport(reader_name)
        except AgentError:
            bridge.stop()
            continue
        connection = SimulatedCardConnection(transport, card, reader_name,
                                             extended_length_possible=transport.extended_length_possible)
        stack.callback(connection.close)
        return SimulatedReader(profile, connection, MODE_PCSC, card)
    return None


def _wait_card(reader_name: str) -> bool:
    deadline = time.monotonic() + PCSC_APPEAR_TIMEOUT_S
    system = PcscSystem()
    while time.monotonic() < deadline:
        try:
            if any(s.name == reader_name and s.card_present for s in system.readers()):
                return True
        except AgentError:
            return False
        time.sleep(0.02)
    return False


def pcsc_available() -> bool:
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return False
    return True


# --- the desk's card sources on simulated cards ---------------------------------------------------------


class InProcessDesk:
    """A reader with simulated cards served in process (:class:`agent.ports.CardSource`)."""

    mode = MODE_IN_PROCESS

    def __init__(self, reader_name: str = IN_PROCESS_READER) -> None:
        self.reader_name = reader_name
        self._events: queue.Queue[CardEvent] = queue.Queue()
        self._card: SimulatedCard | None = None
        self._lock = threading.Lock()

    @property
    def events(self) -> queue.Queue[CardEvent]:
        return self._events

    def put_card(self, card: SimulatedCard) -> None:
        with self._lock:
            self._card = card
        self._events.put(CardEvent(CardEventKind.INSERTED, self.reader_name))

    def remove_card(self) -> None:
        with self._lock:
            self._card = None
        self._events.put(CardEvent(CardEventKind.REMOVED, self.reader_name))

    def connect(self, reader: str) -> SimulatedCardConnection:
        with self._lock:
            card = self._card
        if card is None:
            raise CardRemovedError("no card on the simulated reader")
        return in_process_connection(card, self.reader_name)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def listing(self) -> ReaderListing:
        with self._lock:
            present = self._card is not None
        return ReaderListing("ok", ({"name": self.reader_name, "card_present": present, "contactless": True},),
                             simulated=True)


class VpcdDesk:
    """The simulated card on pcscd's virtual reader: the agent reads it through pyscard like a real one."""

    mode = MODE_PCSC

    def __init__(self, settings: Settings, reader_name: str, port: int) -> None:
        from simulators.card.vpcd import VpcdBridge

        self.reader_name = reader_name
        self.pcsc = PcscReaders(settings, name=reader_name)
        self.bridge = VpcdBridge(_NoCard(), port=port, inserted=False)
        self._card: LinkModelled = _NoCard()

    @property
    def events(self) -> queue.Queue[CardEvent]:
        return self.pcsc.events

    def put_card(self, card: SimulatedCard) -> None:
        self._card = card
        self.bridge.insert(card=card)

    def remove_card(self) -> None:
        """Take the card away and wait until pcscd has seen it go (it polls vpcd about every 0.4 s): a
        card put back sooner would look to pcscd as if it had never left, and no tap would be seen."""
        self.bridge.remove()
        deadline = time.monotonic() + REMOVAL_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                readers = self.pcsc.system.readers()
            except AgentError:
                return
            if not any(r.name == self.reader_name and r.card_present for r in readers):
                return
            time.sleep(0.02)

    def connect(self, reader: str) -> SimulatedCardConnection:
        transport = self.pcsc.connect(reader)
        return SimulatedCardConnection(transport, self._card, transport.reader,
                                       extended_length_possible=transport.extended_length_possible)

    def start(self) -> None:
        self.bridge.start()
        self.pcsc.start()

    def stop(self) -> None:
        self.pcsc.stop()
        self.bridge.stop()

    def listing(self) -> ReaderListing:
        return dataclasses.replace(self.pcsc.listing(), simulated=True)


class _NoCard:
    """What the virtual reader holds between taps."""

    link_estimate_ms = 0.0

    def power_on(self) -> bytes:
        raise AgentError("no card yet")

    def process(self, apdu: bytes) -> bytes:
        return b"\x6f\x00"


# --- a simulated webcam ----------------------------------------------------------------------------------


class DemoCamera:
    """A simulated webcam: an empty grey desk, or a QR code held in front of it."""

    def __init__(self, size: tuple[int, int] = FRAME_SIZE, fps: float = CAMERA_FPS) -> None:
        self.width, self.height = size
        self.interval = 1.0 / fps
        self._blank = np.full((self.height, self.width), 170, dtype=np.uint8)
        self._frame = self._blank
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        from simulators.camera.qr_image import render_qr

        symbol = render_qr(text, module_px=5)
        frame = self._blank.copy()
        top = max(0, (self.height - symbol.shape[0]) // 2)
        left = max(0, (self.width - symbol.shape[1]) // 2)
        part = symbol[: self.height - top, : self.width - left]
        frame[top : top + part.shape[0], left : left + part.shape[1]] = part
        with self._lock:
            self._frame = frame

    def clear(self) -> None:
        with self._lock:
            self._frame = self._blank

    def read(self) -> np.ndarray:
        time.sleep(self.interval)
        with self._lock:
            return self._frame

    def close(self) -> None:
        pass  # the same camera is opened again when the QR loop restarts


# --- pcscd ------------------------------------------------------------------------------------------------


def start_pcscd(work: Path, say: Callable[[str], None]) -> subprocess.Popen[bytes] | None:
    """Start pcscd in the foreground as our child when it is installed and not running (root only)."""
    binary = shutil.which("pcscd") or next((p for p in PCSCD_PATHS if os.path.exists(p)), None)
    if binary is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    log_file = (work / "pcscd.log").open("wb")
    try:
        process = subprocess.Popen([binary, "-f"], stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    finally:
        log_file.close()
    say(f"[demo] started pcscd (pid {process.pid})")
    return process


def stop_child(process: subprocess.Popen[bytes], name: str, say: Callable[[str], None]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    say(f"[demo] stopped {name} (pid {process.pid})")


def find_vpcd_slot(deadline: float) -> tuple[str, int] | None:
    """A free vpcd slot (the last one: tests use the first), waiting until ``deadline`` for pcscd."""
    while True:
        slots = free_vpcd_slots()
        if slots:
            return sorted(slots)[-1]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def vpcd_or_start_pcscd(settings: Settings, work: Path, say: Callable[[str], None],
                        children: list[tuple[subprocess.Popen[bytes], str]]) -> VpcdDesk | None:
    """A desk on a free vpcd slot, starting pcscd (kept in ``children``) when it is not running."""
    if not pcsc_available():
        return None
    slot = find_vpcd_slot(time.monotonic())
    if slot is None:
        process = start_pcscd(work, say)
        if process is not None:
            children.append((process, "pcscd"))
            slot = find_vpcd_slot(time.monotonic() + PCSCD_START_TIMEOUT_S)
    if slot is None:
        return None
    say(f"[demo] simulated cards on the PC/SC virtual reader {slot[0]!r} (vpcd port {slot[1]})")
    return VpcdDesk(settings, *slot)

