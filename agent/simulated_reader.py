"""A simulated CCCD on a reader, for the demo, `read --simulate` and the benchmarks: the card of a
simulator profile is put on pcscd's virtual reader (vpcd) and read through pyscard exactly like a
physical card, when the machine has pcscd and the vpcd driver; otherwise it is served in process,
and the banner says so.

This is composition code (like agent/app.py): it is the one place in the agent that builds a
simulated card, so it imports the simulators, lazily.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from typing import Any

from agent.errors import AgentError
from agent.icao.transport import Transport

VPCD_READER_PREFIX = "Virtual PCD"
VPCD_FIRST_PORT = 35963  # the CHANNELID of Debian's /etc/reader.conf.d/vpcd: slot n listens on +n
VPCD_PORT_ENV = "CCCD_VPCD_PORT"
PCSC_APPEAR_TIMEOUT_S = 3.0

MODE_PCSC = "pcsc"
MODE_IN_PROCESS = "in-process"

BANNER_IN_PROCESS = (
    "Không có pcscd / đầu đọc ảo vpcd: thẻ mô phỏng chạy trong tiến trình (không qua PC/SC).\n"
    "No pcscd / vpcd virtual reader: the simulated card runs in process (not through PC/SC)."
)


@dataclasses.dataclass
class SimulatedReader:
    """An open connection to a simulated card: ``transport`` to read it, ``mode`` saying how."""

    profile: str
    transport: Transport
    mode: str
    reader_name: str
    card: Any
    banner: str = ""

    def link_estimate_ms(self) -> float | None:
        value = getattr(self.card, "link_estimate_ms", None)
        return float(value) if value is not None else None


def make_card(profile: str, seed: bytes | None = None) -> Any:
    from simulators.card.card import SimulatedCard
    from simulators.card.personalise import build_card_image

    image = build_card_image(profile) if seed is None else build_card_image(profile, seed=seed)
    return SimulatedCard(image)


def simulator_trust_dir(directory: os.PathLike[str] | str) -> None:
    """Write the simulator's test CSCA certificates and CRLs where a trust store can load them."""
    from pathlib import Path

    from simulators.card.pki import write_trust_dir

    write_trust_dir(Path(directory))


@contextlib.contextmanager
def open_simulated_reader(profile: str, *, prefer_pcsc: bool = True, card: Any = None) -> Iterator[SimulatedReader]:
    """Put the profile's card on a free vpcd slot and connect to it through pyscard, or fall back to
    the in-process transport. Closes everything it opened on exit."""
    card = card if card is not None else make_card(profile)
    if prefer_pcsc:
        with contextlib.ExitStack() as stack:
            reader = _try_pcsc(profile, card, stack)
            if reader is not None:
                yield reader
                return
    from simulators.card.transport import InProcessTransport

    transport = InProcessTransport(card)
    try:
        yield SimulatedReader(profile, transport, MODE_IN_PROCESS, "in-process simulator", card, BANNER_IN_PROCESS)
    finally:
        transport.close()


def free_vpcd_slots() -> list[tuple[str, int]]:
    """(reader name, port) of every vpcd slot without a card; empty when pcscd or vpcd is missing."""
    from agent.nfc.pcsc import PcscSystem

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


def _try_pcsc(profile: str, card: Any, stack: contextlib.ExitStack) -> SimulatedReader | None:
    from agent.nfc.pcsc import PcscTransport
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
        stack.callback(transport.close)
        return SimulatedReader(profile, transport, MODE_PCSC, reader_name, card)
    return None


def _wait_card(reader_name: str) -> bool:
    from agent.nfc.pcsc import PcscSystem

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


