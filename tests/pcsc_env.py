"""Real PC/SC for tests: pcscd with the vsmartcard vpcd virtual reader driver (see
docs/reference/platform.md "pcscd" and "The vpcd virtual reader"). A pytest plugin: load it with
``pytest_plugins = ["tests.pcsc_env"]``.

Fixtures:
- ``pcsc_env`` (session): a :class:`PcscEnvironment`. Reuses a running pcscd, or starts ``pcscd -f``
  (root only) and stops that one by pid at the end of the session; waits until the vpcd readers are
  listed. When something is missing it skips with a message naming it, or fails when ``CI`` is set.
- ``vpcd_slot`` (function): the first vpcd slot (``.reader``, ``.host``, ``.port``), checked empty
  before the test and waited empty after it, so that a card left behind shows up at the test that
  left it.

A card process connects to ``slot.host:slot.port`` and speaks the vpcd protocol; then
``pcsc_env.wait_for_card(slot.reader)`` returns once pcscd sees it (pcscd polls about every 0.4 s).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

VPCD_READER_PREFIX = "Virtual PCD"
VPCD_DEFAULT_PORT = 0x8C7B  # 35963, the CHANNELID of Debian's /etc/reader.conf.d/vpcd
VPCD_HOST = "127.0.0.1"
READER_CONF_DIR = Path("/etc/reader.conf.d")
PCSCD_FALLBACKS = (Path("/usr/sbin/pcscd"), Path("/usr/local/sbin/pcscd"))  # sbin is not on every PATH
PORT_ENV = "CCCD_VPCD_PORT"
POLL_INTERVAL = 0.01
STARTUP_TIMEOUT = 10.0

SCARD_STATE_PRESENT = 0x0020
SCARD_STATE_MUTE = 0x0200
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(what: str) -> NoReturn:
    """Skip locally, fail in CI: a PC/SC test that skips in CI hides a broken pipeline."""
    message = f"real PC/SC unavailable: {what}"
    if in_ci():
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@dataclasses.dataclass(frozen=True)
class VpcdSlot:
    """One vpcd reader slot: pcscd shows ``reader``; a card process connects to ``host:port``."""

    reader: str
    port: int
    host: str = VPCD_HOST


@dataclasses.dataclass
class PcscEnvironment:
    slots: tuple[VpcdSlot, ...]
    started_pcscd: bool
    pcscd_pid: int | None
    scard: Any = dataclasses.field(repr=False)

    def slot(self, index: int = 0) -> VpcdSlot:
        return self.slots[index]

    def reader_state(self, reader: str) -> tuple[int, bytes]:
        """The reader's dwEventState and ATR, asked of pcscd right now."""
        scard = self.scard
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == 0, f"SCardEstablishContext: 0x{hresult & 0xFFFFFFFF:08X}"
        try:
            hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
            assert hresult == 0, f"SCardGetStatusChange: 0x{hresult & 0xFFFFFFFF:08X}"
            _, state, atr = states[0]
            return state, bytes(atr or ())
        finally:
            scard.SCardReleaseContext(context)

    def card_present(self, reader: str) -> bool:
        state, _ = self.reader_state(reader)
        return bool(state & SCARD_STATE_PRESENT) and not state & SCARD_STATE_MUTE

    def wait_for_card(self, reader: str, present: bool = True, timeout: float = 3.0) -> float:
        """Block until pcscd shows a card in ``reader`` (or none); returns the seconds it took."""
        start = time.monotonic()
        while self.card_present(reader) != present:
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{reader!r}: card {'never appeared' if present else 'still present'}")
            time.sleep(POLL_INTERVAL)
        return time.monotonic() - start


def _load_scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:
        unavailable(f"pyscard cannot be imported ({exc}); install it with libpcsclite-dev present")
    return scard


def _list_readers(scard: Any) -> list[str] | None:
    """Reader names, or None when no pcscd answers."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != 0:
        return None
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult & 0xFFFFFFFF == SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != 0:
            return None
        return list(names)
    finally:
        scard.SCardReleaseContext(context)


def _vpcd_base_port() -> int:
    if os.environ.get(PORT_ENV):
        return int(os.environ[PORT_ENV], 0)
    with contextlib.suppress(OSError):
        for conf in sorted(READER_CONF_DIR.iterdir()):
            text = conf.read_text(errors="replace")
            if "libifdvpcd" not in text:
                continue
            match = re.search(r"^\s*CHANNELID\s+(0x[0-9a-fA-F]+|\d+)", text, re.MULTILINE) or re.search(
                r"^\s*DEVICENAME\s+\S*:(0x[0-9a-fA-F]+|\d+)", text, re.MULTILINE
            )
            if match:
                return int(match.group(1), 0)
    return VPCD_DEFAULT_PORT


def _vpcd_slots(names: list[str]) -> tuple[VpcdSlot, ...]:
    base = _vpcd_base_port()
    slots = []
    for name in sorted(n for n in names if n.startswith(VPCD_READER_PREFIX)):
        # pcsc-lite names a reader "FRIENDLYNAME <reader index> <slot>"; vpcd serves slot n on base + n.
        match = re.search(r"(\d+)\s*$", name)
        slots.append(VpcdSlot(reader=name, port=base + int(match.group(1)) if match else base))
    return tuple(slots)


def _wait_for_vpcd(
    scard: Any, process: subprocess.Popen[bytes] | None, timeout: float = STARTUP_TIMEOUT
) -> list[str] | None:
    deadline = time.monotonic() + timeout
    names: list[str] | None = None
    while time.monotonic() < deadline:
        names = _list_readers(scard)
        if names and any(n.startswith(VPCD_READER_PREFIX) for n in names):
            return names
        if process is not None and process.poll() is not None:
            return _list_readers(scard)  # it exited: maybe another pcscd won the race
        time.sleep(POLL_INTERVAL)
    return names


def _start_pcscd(log_path: Path) -> subprocess.Popen[bytes]:
    if sys.platform == "win32":
        unavailable("pcscd and vpcd are the Linux way to real PC/SC; on Windows use a physical reader")
    binary = shutil.which("pcscd") or next((str(p) for p in PCSCD_FALLBACKS if p.exists()), None)
    if binary is None:
        unavailable("pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        unavailable("pcscd is not running and only root can start it (sudo pcscd)")
    log_file = log_path.open("wb")
    try:
        return subprocess.Popen([binary, "-f"], stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        log_file.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def pcsc_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscEnvironment]:
    scard = _load_scard()
    process: subprocess.Popen[bytes] | None = None
    names = _list_readers(scard)
    if names is not None and not _vpcd_slots(names):
        names = _wait_for_vpcd(scard, None, timeout=2.0)  # a pcscd someone else just started
    if names is None:
        log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
        process = _start_pcscd(log_path)
        names = _wait_for_vpcd(scard, process)
        if process.poll() is not None:
            process = None  # another pcscd was already starting; we reuse it and stop nothing
        if names is None:
            if process is not None:
                _stop(process)
            unavailable(f"pcscd did not come up within {STARTUP_TIMEOUT:.0f} s (log: {log_path})")
    slots = _vpcd_slots(names)
    if not slots:
        if process is not None:
            _stop(process)
        unavailable(
            f"pcscd lists no {VPCD_READER_PREFIX!r} reader (readers: {names}); "
            "install the vpcd driver (apt-get install vsmartcard-vpcd) and restart pcscd"
        )
    environment = PcscEnvironment(
        slots=slots, started_pcscd=process is not None, pcscd_pid=process.pid if process else None, scard=scard
    )
    try:
        yield environment
    finally:
        if process is not None:
            _stop(process)


@pytest.fixture
def vpcd_slot(pcsc_env: PcscEnvironment) -> Iterator[VpcdSlot]:
    slot = pcsc_env.slot(0)
    try:
        pcsc_env.wait_for_card(slot.reader, present=False, timeout=3.0)
    except AssertionError:
        pytest.fail(
            f"{slot.reader!r} already holds a card: another card process is connected to vpcd port {slot.port} "
            "(a `python -m simulators card` left running, or a test session in parallel)",
            pytrace=False,
        )
    yield slot
    try:
        pcsc_env.wait_for_card(slot.reader, present=False, timeout=3.0)
    except AssertionError:
        pytest.fail(f"the test left a card in {slot.reader!r}: remove every card it inserted", pytrace=False)
