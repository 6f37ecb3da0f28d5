"""The vpcd bridge: its wire protocol against a stand-in for vpcd on loopback (framing, controls, APDUs,
insert / remove, reconnects, removal after N APDUs, a failing card), its socket discipline (one write per
answer, TCP_QUICKACK before every recv), the ``card`` command, and, marked ``pcsc``, a real pcscd showing
the card in a "Virtual PCD" reader through pyscard."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from simulators.card import cli
from simulators.card.faults import CardGoneError
from simulators.card.vpcd import (
    VPCD_CTRL_ATR,
    VPCD_CTRL_OFF,
    VPCD_CTRL_ON,
    VPCD_CTRL_RESET,
    VpcdBridge,
    frame,
)

ATR = bytes.fromhex("3B88800142415431000000006F")
TIMEOUT = 5.0


class StubCard:
    """Echoes INS P1 P2 with 9000 and records what the bridge asked of it."""

    def __init__(self) -> None:
        self.apdus: list[bytes] = []
        self.power_ons = 0
        self.calls: list[str] = []
        self.present = True

    def power_on(self) -> bytes:
        self.power_ons += 1
        return ATR

    def power_off(self) -> None:
        self.calls.append("power_off")

    def remove(self) -> None:
        self.calls.append("remove")

    def insert(self) -> None:
        self.calls.append("insert")

    def process(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        return apdu[1:4] + b"\x90\x00"


class FakeVpcd:
    """The server side of the vpcd protocol on an ephemeral loopback port."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(TIMEOUT)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(TIMEOUT)
        return self.conn

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(frame(payload))

    def receive(self) -> bytes:
        assert self.conn is not None
        header = self._exact(2)
        return self._exact(int.from_bytes(header, "big"))

    def _exact(self, size: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("bridge closed the link")
            data += chunk
        return data

    def transmit(self, apdu: bytes) -> bytes:
        self.send(apdu)
        return self.receive()

    def atr(self) -> bytes:
        self.send(bytes([VPCD_CTRL_ATR]))
        return self.receive()

    def wait_closed(self) -> bool:
        """True once the bridge has closed its end (EOF)."""
        assert self.conn is not None
        try:
            return self.conn.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    server = FakeVpcd()
    yield server
    server.close()


@pytest.fixture
def card() -> StubCard:
    return StubCard()


def start_bridge(card: Any, port: int, **options: Any) -> VpcdBridge:
    return VpcdBridge(card, port=port, reconnect_interval=0.05, **options).start()


def test_frame_is_length_then_payload() -> None:
    assert frame(b"\x04") == b"\x00\x01\x04"
    assert frame(bytes(300))[:2] == b"\x01\x2c"
    with pytest.raises(ValueError):
        frame(bytes(0x10000))


def test_bridge_answers_controls_and_apdus(vpcd: FakeVpcd, card: StubCard) -> None:
    bridge = start_bridge(card, vpcd.port)
    try:
        vpcd.accept()
        assert vpcd.atr() == ATR
        vpcd.send(bytes([VPCD_CTRL_ON]))
        assert vpcd.transmit(bytes.fromhex("00A4040C07A0000002471001")) == bytes.fromhex("A4040C9000")
        assert vpcd.transmit(bytes.fromhex("00B0000004")) == bytes.fromhex("B000009000")
        assert card.apdus == [bytes.fromhex("00A4040C07A0000002471001"), bytes.fromhex("00B0000004")]
        assert bridge.apdu_count == 2 and bridge.connected
        vpcd.send(bytes([VPCD_CTRL_OFF]))
        assert vpcd.atr() == ATR  # answered after power off too: the card is still in the field
        assert "power_off" in card.calls
    finally:
        bridge.stop()
    assert not bridge.connected


def test_atr_polls_do_not_reset_the_card(vpcd: FakeVpcd, card: StubCard) -> None:
    with start_bridge(card, vpcd.port):
        vpcd.accept()
        for _ in range(3):
            assert vpcd.atr() == ATR
        assert card.power_ons == 1  # the first ATR powers the card; presence polls must not reset it
        vpcd.send(bytes([VPCD_CTRL_RESET]))
        vpcd.send(bytes([VPCD_CTRL_ON]))
        assert vpcd.atr() == ATR
        assert card.power_ons == 3


def test_unknown_control_bytes_are_ignored(vpcd: FakeVpcd, card: StubCard) -> None:
    with start_bridge(card, vpcd.port):
        vpcd.accept()
        vpcd.send(b"\x09")
        assert vpcd.atr() == ATR


def test_remove_closes_the_link_and_insert_reconnects(vpcd: FakeVpcd, card: StubCard) -> None:
    with start_bridge(card, vpcd.port) as bridge:
        vpcd.accept()
        assert vpcd.atr() == ATR
        bridge.remove()
        assert vpcd.wait_closed()
        assert not bridge.inserted and "remove" in card.calls
        bridge.insert()
        vpcd.accept()
        assert vpcd.atr() == ATR
        assert vpcd.transmit(b"\x00\x84\x00\x00\x08") == b"\x84\x00\x00\x90\x00"
        assert bridge.apdu_count == 1 and bridge.total_apdus == 1
        assert card.calls[-1] == "insert"


def test_toggle_flips_the_card(vpcd: FakeVpcd, card: StubCard) -> None:
    with start_bridge(card, vpcd.port) as bridge:
        vpcd.accept()
        bridge.toggle()
        assert vpcd.wait_closed() and not bridge.inserted
        bridge.toggle()
        vpcd.accept()
        assert bridge.wait_connected(TIMEOUT)


def test_card_leaves_after_n_apdus(vpcd: FakeVpcd, card: StubCard) -> None:
    statuses: list[str] = []
    with start_bridge(card, vpcd.port, remove_after=2, on_status=statuses.append) as bridge:
        vpcd.accept()
        assert vpcd.atr() == ATR
        assert vpcd.transmit(b"\x00\xb0\x00\x00\x01").endswith(b"\x90\x00")
        assert vpcd.transmit(b"\x00\xb0\x00\x01\x01").endswith(b"\x90\x00")
        assert vpcd.wait_closed()
        assert not bridge.inserted
        assert any("after 2 APDUs" in status for status in statuses)
        bridge.insert(remove_after=1)  # the next card, with a new limit
        vpcd.accept()
        assert vpcd.transmit(b"\x00\xb0\x00\x00\x01").endswith(b"\x90\x00")
        assert vpcd.wait_closed()


def test_a_failing_card_answers_6f00(vpcd: FakeVpcd, card: StubCard) -> None:
    def broken(apdu: bytes) -> bytes:
        raise RuntimeError("bug in the card")

    card.process = broken  # type: ignore[method-assign]
    with start_bridge(card, vpcd.port) as bridge:
        vpcd.accept()
        assert vpcd.transmit(b"\x00\xa4\x00\x00") == b"\x6f\x00"
        assert bridge.connected


def test_a_card_that_leaves_by_itself_closes_the_link(vpcd: FakeVpcd, card: StubCard) -> None:
    def gone(apdu: bytes) -> bytes:
        card.present = False
        raise CardGoneError("the card left the field")

    card.process = gone  # type: ignore[method-assign]
    statuses: list[str] = []
    with start_bridge(card, vpcd.port, on_status=statuses.append) as bridge:
        vpcd.accept()
        vpcd.send(b"\x00\xb0\x00\x00\x01")
        assert vpcd.wait_closed()
        assert not bridge.inserted
        assert any("card fault" in status for status in statuses)


def test_bridge_waits_for_vpcd_to_appear() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    statuses: list[str] = []
    bridge = start_bridge(StubCard(), port, on_status=statuses.append)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not statuses and time.monotonic() < deadline:
            time.sleep(0.01)
        assert statuses and "not reachable" in statuses[0]
        server = FakeVpcd(port)
        try:
            server.accept()
            assert server.atr() == ATR
        finally:
            server.close()
    finally:
        bridge.stop()


def test_bridge_reconnects_when_vpcd_drops_the_link(vpcd: FakeVpcd, card: StubCard) -> None:
    with start_bridge(card, vpcd.port) as bridge:
        first = vpcd.accept()
        assert vpcd.atr() == ATR
        first.close()  # pcscd restarted
        vpcd.accept()
        assert vpcd.atr() == ATR
        assert bridge.inserted


def test_starting_removed_does_not_connect(vpcd: FakeVpcd, card: StubCard) -> None:
    vpcd.server.settimeout(0.5)
    with start_bridge(card, vpcd.port, inserted=False) as bridge:
        with pytest.raises(TimeoutError):
            vpcd.accept()
        bridge.insert()
        vpcd.server.settimeout(TIMEOUT)
        vpcd.accept()
        assert vpcd.atr() == ATR


def test_stop_ends_the_thread_even_when_unconnected() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    bridge = start_bridge(StubCard(), port)
    thread = bridge._thread
    bridge.stop()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(RuntimeError):
        bridge.start().start()
    bridge.stop()


# --- socket discipline -------------------------------------------------------------------------------


class RecordingSocket:
    """A scripted socket: hands out the given bytes, records writes and socket options."""

    def __init__(self, incoming: bytes) -> None:
        self.incoming = incoming
        self.events: list[tuple[str, Any]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.events.append(("setsockopt", (level, option, value)))

    def settimeout(self, value: float | None) -> None:
        pass

    def recv(self, size: int) -> bytes:
        self.events.append(("recv", size))
        chunk, self.incoming = self.incoming[:1], self.incoming[1:]  # one byte at a time: the worst case
        return chunk

    def sendall(self, data: bytes) -> None:
        self.events.append(("sendall", data))

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        self.events.append(("close", None))


def test_one_write_per_answer_and_quickack_before_every_recv() -> None:
    script = frame(bytes([VPCD_CTRL_ATR])) + frame(b"\x00\xb0\x00\x00\x10") + frame(bytes([VPCD_CTRL_ATR]))
    recording = RecordingSocket(script)
    closed = threading.Event()

    def connect(address: tuple[str, int], timeout: float) -> Any:
        if closed.is_set():
            raise OSError("only one connection in this test")
        closed.set()
        return recording

    bridge = VpcdBridge(StubCard(), connect=connect, reconnect_interval=0.05).start()
    deadline = time.monotonic() + TIMEOUT
    while ("close", None) not in recording.events and time.monotonic() < deadline:
        time.sleep(0.01)
    bridge.stop()
    writes = [data for kind, data in recording.events if kind == "sendall"]
    assert writes == [frame(ATR), frame(b"\xb0\x00\x00\x90\x00"), frame(ATR)]
    options = [value for kind, value in recording.events if kind == "setsockopt"]
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in options
    assert options.count((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)) == 1  # once, at connect
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        for index, (kind, _) in enumerate(recording.events):
            if kind == "recv":
                assert recording.events[index - 1] == ("setsockopt", (socket.IPPROTO_TCP, quickack, 1))


# --- the card command -----------------------------------------------------------------------------------


def test_card_command_inserts_and_removes_on_stdin(vpcd: FakeVpcd) -> None:
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r")
    commands = os.fdopen(write_fd, "w")
    out = io.StringIO()
    args = cli_args("--profile", "normal", "--vpcd-port", str(vpcd.port))
    result: list[int] = []
    runner = threading.Thread(
        target=lambda: result.append(cli.run_card(args, make_card=lambda _n, _s: StubCard(), stdin=stdin, out=out))
    )
    runner.start()
    try:
        vpcd.accept()
        assert vpcd.atr() == ATR
        commands.write("status\nremove\n")
        commands.flush()
        assert vpcd.wait_closed()
        commands.write("insert\n")
        commands.flush()
        vpcd.accept()
        assert vpcd.transmit(b"\x00\xb0\x00\x00\x01").endswith(b"\x90\x00")
        commands.write("bogus\nquit\n")
        commands.flush()
        runner.join(TIMEOUT)
    finally:
        commands.close()
        runner.join(TIMEOUT)
        stdin.close()
    assert result == [0]
    text = out.getvalue()
    assert "profile normal: ID " in text and " CAN " in text and " MRZ " in text
    assert "card: removed" in text and "card: inserted" in text and "card: connected to vpcd" in text
    assert "unknown command 'bogus'" in text
    assert "stopped after 1 APDUs" in text


def test_card_command_writes_the_trust_dir(vpcd: FakeVpcd, tmp_path: Any) -> None:
    out = io.StringIO()
    args = cli_args("--profile", "ndef-tag", "--vpcd-port", str(vpcd.port), "--removed", "--trust-dir", str(tmp_path))
    assert cli.run_card(args, make_card=lambda _n, _s: StubCard(), stdin=io.StringIO("quit\n"), out=out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csca-ec.crl", "csca-ec.pem", "csca-rsa.crl", "csca-rsa.der"]
    assert "profile ndef-tag:" in out.getvalue()


def test_sigusr1_toggles_the_card() -> None:
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is None:
        pytest.skip("no SIGUSR1 on this platform")

    toggle, quit_requested = threading.Event(), threading.Event()
    previous = signal.getsignal(usr1)
    restore = cli._install_signals(toggle, quit_requested)
    try:
        os.kill(os.getpid(), usr1)
        assert toggle.wait(TIMEOUT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert quit_requested.wait(TIMEOUT)
    finally:
        restore()
    assert signal.getsignal(usr1) == previous


def cli_args(*argv: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["card", *argv])


# --- real PC/SC ---------------------------------------------------------------------------------------


@pytest.mark.pcsc
def test_pcscd_sees_the_card_in_a_virtual_reader(pcsc_env: Any, vpcd_slot: Any) -> None:
    from smartcard.System import readers

    card = StubCard()
    with VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port) as bridge:
        pcsc_env.wait_for_card(vpcd_slot.reader, present=True, timeout=TIMEOUT)
        reader = next(r for r in readers() if str(r) == vpcd_slot.reader)
        connection = reader.createConnection()
        connection.connect()
        try:
            assert bytes(connection.getATR()) == ATR
            data, sw1, sw2 = connection.transmit(list(bytes.fromhex("00A4040C07A0000002471001")))
            assert (bytes(data), sw1, sw2) == (bytes.fromhex("A4040C"), 0x90, 0x00)
        finally:
            connection.disconnect()
        bridge.remove()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=False, timeout=TIMEOUT)
        bridge.insert()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=True, timeout=TIMEOUT)
    pcsc_env.wait_for_card(vpcd_slot.reader, present=False, timeout=TIMEOUT)


@pytest.mark.pcsc
def test_simulated_cccd_answers_through_pcscd(pcsc_env: Any, vpcd_slot: Any) -> None:
    from smartcard.System import readers

    from simulators.card.card import SimulatedCard
    from simulators.card.image import FID_CARD_ACCESS
    from simulators.card.personalise import build_card_image

    image = build_card_image("normal")
    with VpcdBridge(SimulatedCard(image), host=vpcd_slot.host, port=vpcd_slot.port, remove_after=3):
        pcsc_env.wait_for_card(vpcd_slot.reader, present=True, timeout=TIMEOUT)
        connection = next(r for r in readers() if str(r) == vpcd_slot.reader).createConnection()
        connection.connect()
        try:
            _, sw1, sw2 = connection.transmit(list(bytes.fromhex("00A4020C02011C")))
            assert (sw1, sw2) == (0x90, 0x00)
            data, sw1, _ = connection.transmit(list(bytes.fromhex("00B0000016")))
            assert (bytes(data), sw1) == (image.files[FID_CARD_ACCESS], 0x90)
            _, sw1, sw2 = connection.transmit(list(bytes.fromhex("00A4040C07A0000002471001")))
            assert (sw1, sw2) == (0x90, 0x00)
            # the card left the field after 3 APDUs: pcscd reports it gone
            pcsc_env.wait_for_card(vpcd_slot.reader, present=False, timeout=TIMEOUT)
        finally:
            try:
                connection.disconnect()
            except Exception:  # the card is gone; pyscard may complain about the handle
                pass
