"""Serial (COM) QR scanners through a real pseudo-terminal pair (os.openpty): the scanner's end writes, the
agent reads it with pyserial as it reads a USB CDC port. Framing by CR / LF / CR LF and by idle time,
bytes that are not UTF-8, and a scanner unplugged (the terminal closed) and plugged back (a new one under
the same name, as udev's /dev/serial/by-id links do), through the desk's reader loop to a result."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.errors import ScannerUnavailableError
from agent.qr.serial_port import MAX_FRAME_BYTES, Framer, SerialScanner, frame_text, probe_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

CCCD = "001093047064|123456789|Lê Thị Hà|01021993|Nữ|Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội|04102021"


def test_frames_end_at_cr_lf_or_crlf_and_after_idle_time() -> None:
    framer = Framer(idle_s=0.1)
    assert framer.feed(b"abc\r\ndef\rgh", 0.0) == [b"abc", b"def"]  # CR LF is one end, no empty frame
    assert framer.idle(0.05) == []
    assert framer.idle(0.11) == [b"gh"]  # a scanner that sends no terminator
    assert framer.feed(b"one", 1.0) == [] and framer.feed(b"two", 1.5) == [b"one"]  # silence split them
    assert framer.feed(b"\n", 1.55) == [b"two"]
    assert framer.feed(b"x" * (MAX_FRAME_BYTES + 1) + b"\n", 2.0) == [] and framer.dropped == 1
    assert framer.feed(b"\r\n\r\n", 3.0) == []


def test_bytes_that_are_not_utf8_are_marked() -> None:
    assert frame_text(CCCD.encode()) == CCCD
    assert "\ufffd" in frame_text("Lê".encode("cp1258"))


class Pty:
    """A scanner on a pseudo-terminal, reached through a stable link as a by-id device name is."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def pty(tmp_path):
    scanner = Pty(tmp_path / "ttyACM0")
    yield scanner
    scanner.close()


def _collect(scanner: SerialScanner, stop: threading.Event, out: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            for item in scanner.codes(stop):
                out.append(item)
        except ScannerUnavailableError as error:
            out.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_codes_through_a_pty_then_unplugged_then_plugged_back(pty) -> None:
    stop = threading.Event()
    items: list[object] = []
    thread = _collect(SerialScanner(str(pty.link), baud=9600, idle_s=0.1), stop, items)
    _wait(lambda: items[:1] == [None])  # listening
    pty.send(CCCD.encode() + b"\r\n")
    pty.send(b"second code without terminator")
    _wait(lambda: len(items) >= 3)
    assert items[1:3] == [CCCD, "second code without terminator"]

    pty.unplug()
    _wait(lambda: isinstance(items[-1], ScannerUnavailableError))
    thread.join(2)
    assert "unplugged" in str(items[-1])
    with pytest.raises(ScannerUnavailableError):  # the link points nowhere now
        probe_port(str(pty.link))

    pty.plug()
    probe_port(str(pty.link), baud=115200)
    items.clear()
    thread = _collect(SerialScanner(str(pty.link), baud=115200, idle_s=0.1), stop, items)
    _wait(lambda: items[:1] == [None])
    pty.send(CCCD.encode() + b"\n")
    _wait(lambda: len(items) >= 2)
    assert items[1] == CCCD
    stop.set()
    thread.join(2)
    assert not thread.is_alive()


def test_a_port_that_is_not_there(tmp_path) -> None:
    with pytest.raises(ScannerUnavailableError) as raised:
        next(SerialScanner(str(tmp_path / "COM99")).codes(threading.Event()))
    assert "COM99" in raised.value.message and raised.value.retryable


def test_a_serial_scan_reaches_the_desk_and_the_scanner_state_follows_the_plug(tmp_path, pty) -> None:
    from agent.wiring.demo import simulated_site

    config = tmp_path / "site.toml"
    config.write_text(f'[qr]\nserial_port = "{pty.link}"\nserial_idle_ms = 80\n', encoding="utf-8")
    with simulated_site(tmp_path / "desk", config=str(config)) as site:
        agent = site.agent
        _wait(lambda: agent.status()["scanner"]["state"] == "ok")
        assert agent.status()["scanner"] == {"state": "ok", "port": str(pty.link), "kind": "serial"}
        person = site.people["insured"]
        scans = agent.worker.scans
        pty.send(person.qr_text().encode() + b"\r")
        _wait(lambda: agent.worker.scans > scans, timeout=15)
        latest = agent.service.latest()
        assert latest is not None and latest.result.source == "qr"
        assert latest.result.identity.id_number == person.id_number
        assert latest.result.check is not None and latest.result.check.status == "valid"

        pty.unplug()
        _wait(lambda: agent.status()["scanner"]["state"] == "unavailable")
        assert agent.status()["scanner"]["message_key"] == "error.scanner_unavailable"
        pty.plug()
        _wait(lambda: agent.status()["scanner"]["state"] == "ok", timeout=5)  # retried every second
        scans = agent.worker.scans
        pty.send(site.people["expired"].qr_text().encode() + b"\r\n")
        _wait(lambda: agent.worker.scans > scans, timeout=15)
        assert agent.service.latest().result.identity.id_number == site.people["expired"].id_number


def test_the_doctor_opens_the_configured_port(tmp_path, pty) -> None:
    from agent import doctor
    from agent.settings import load_settings

    def settings(port: str):
        return load_settings(None, environ={}, overrides={"qr": {"serial_port": port, "serial_baud": 14400}})

    probes = doctor.Probes(agent_running=lambda _settings: False)
    [ok] = doctor.check_scanners(settings(str(pty.link)), probes)
    assert ok.status == doctor.OK and "14400 baud" in ok.summary
    [missing] = doctor.check_scanners(settings(str(tmp_path / "ttyUSB9")), probes)
    assert missing.status == doctor.FAIL and missing.fix == "doctor.fix.scanner"
    running = doctor.Probes(agent_running=lambda _settings: True)
    [busy] = doctor.check_scanners(settings(str(tmp_path / "ttyUSB9")), running)
    assert busy.status == doctor.OK and "running desk agent" in busy.summary
    [none] = doctor.check_scanners(settings(""), probes)
    assert none.status == doctor.OK and "keyboard-wedge" in none.summary


def test_the_scanner_settings_are_checked() -> None:
    from agent.errors import ConfigError
    from agent.settings import load_settings

    assert load_settings(None, environ={}).qr.serial_baud == 9600
    with pytest.raises(ConfigError, match=r"qr\.serial_baud"):
        load_settings(None, environ={}, overrides={"qr": {"serial_baud": 9601}})
    with pytest.raises(ConfigError, match=r"qr\.wedge_idle_ms"):
        load_settings(None, environ={}, overrides={"qr": {"wedge_idle_ms": 5}})
