"""``python -m agent demo`` as a newcomer runs it: a subprocess on free ports serves the desk page and
the API, produces every outcome of its cycle, and on Ctrl-C (SIGINT) stops everything it started —
its child processes (checked by pid), its listening ports, its data directory."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import tests.conftest as root_conftest
from agent.wiring.demo import demo_people
from tests.pcsc_env import PcscEnvironment

if "tests.pcsc_env" not in getattr(root_conftest, "pytest_plugins", ()):
    from tests.pcsc_env import pcsc_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "demo-test-token"
START_TIMEOUT_S = 60.0
CYCLE_TIMEOUT_S = 90.0


class Demo:
    """The demo subprocess, its output collected line by line by a reader thread."""

    def __init__(self, *extra: str, env_extra: dict[str, str] | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent", "demo", "--port", "0", "--token", TOKEN, "--step-seconds", "0.5", *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed; output:\n" + "\n".join(self.lines[-60:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclasses.dataclass(frozen=True)
class Running:
    """Where a started demo serves, listens and keeps its data."""

    url: str
    api_port: int
    backend_port: int
    data_dir: Path
    headers: dict[str, str]


def wait_started(demo: Demo, profile: str = "clinic") -> Running:
    """Wait for the demo's banner; check the desk page is served and the API wants the token."""
    pattern = rf"Desk page \({profile}, demo\): (http://127\.0\.0\.1:\d+)/#token="
    url = demo.wait_for(pattern, START_TIMEOUT_S).group(1)
    backend_port = int(demo.wait_for(r"mock backends on http://127\.0\.0\.1:(\d+)", 5).group(1))
    data_dir = Path(demo.wait_for(r"\[demo\] data in (\S+)", 5).group(1))
    page = httpx.get(url + "/", timeout=10)
    assert page.status_code == 200 and "desk.js" in page.text
    assert httpx.get(url + "/api/status", timeout=10).status_code == 401
    return Running(url, int(url.rsplit(":", 1)[1]), backend_port, data_dir, {"Authorization": f"Bearer {TOKEN}"})


def results(running: Running) -> list[dict]:
    """The history of the demo's results through the API, newest first."""
    return httpx.get(running.url + "/api/results?size=100", headers=running.headers, timeout=10).json()["results"]


def stop_with_sigint(demo: Demo, running: Running) -> None:
    """Ctrl-C stops everything the demo started: its children, its ports, its data directory."""
    descendants = children_of(demo.process.pid)
    assert running.data_dir.is_dir() and port_open(running.api_port) and port_open(running.backend_port)
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(30) == 0
    demo.wait_for(r"\[demo\] stopped", 5)
    for pid in descendants:
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), f"child {pid} outlived the demo"
    assert not port_open(running.api_port), "the desk API still listens"
    assert not port_open(running.backend_port), "the mock backends still listen"
    assert not running.data_dir.exists(), "the demo data directory was left behind"


def run_demo_cycle(*extra: str, env_extra: dict[str, str] | None = None) -> tuple[Demo, list[str]]:
    demo = Demo(*extra, env_extra=env_extra)
    try:
        running = wait_started(demo)
        demo.wait_for(r"\[demo\] 1\.10 ", CYCLE_TIMEOUT_S)
        demo.wait_for(r"backend up; records pending: 0", 30)
        history = results(running)
        verdicts = {(r["source"], r["verdict"]) for r in history}
        assert {("qr", "verified"), ("chip", "verified"), ("chip", "warning"), ("chip", "rejected"),
                ("chip", "cannot_check")} <= verdicts, verdicts
        checks = [r["check"] for r in history if r["check"]]
        assert any(c["from_cache"] for c in checks)
        assert {c["status"] for c in checks} >= {"valid", "expired", "not_found", "unavailable"}
        latest = httpx.get(running.url + "/api/results/latest", headers=running.headers, timeout=10).json()["result"]
        assert latest["result_id"]
        stop_with_sigint(demo, running)
        return demo, demo.lines
    finally:
        demo.stop()


@pytest.mark.slow
def test_demo_in_process_shows_every_outcome_and_stops_cleanly(tmp_path):
    # With the most talkative logging (DEBUG and the APDU trace), still no personal data in the output,
    # nor in the log file, which gets the same records.
    log_file = tmp_path / "logs" / "agent.log"
    talkative = {"CCCD_AGENT__LOG__LEVEL": "DEBUG", "CCCD_AGENT__LOG__APDU_TRACE": "true",
                 "CCCD_AGENT__LOG__FILE": str(log_file)}
    _demo, lines = run_demo_cycle("--simulator", "in-process", env_extra=talkative)
    assert any("in-process card simulator" in line for line in lines)  # the banner says so
    assert any("APDU " in line for line in lines)  # the trace was on
    logged = log_file.read_text(encoding="utf-8")
    assert "APDU " in logged and "DEBUG" in logged  # the file had the same talkative records
    output = "\n".join(lines)
    for person in demo_people().values():
        for value in (person.id_number, person.full_name, person.full_name.upper(), person.permanent_residence):
            assert value not in output, "personal data in the demo's output or logs"
            assert value not in logged, "personal data in the log file"


@pytest.mark.slow
@pytest.mark.pcsc
def test_demo_through_pcscd_and_vpcd(pcsc_env: PcscEnvironment):
    _demo, lines = run_demo_cycle("--simulator", "pcsc")
    assert any("simulated cards on the PC/SC virtual reader" in line for line in lines)
    assert not any("in-process card simulator" in line for line in lines)


@pytest.mark.slow
def test_demo_stops_on_sigterm_before_any_cycle():
    demo = Demo("--simulator", "in-process")
    try:
        demo.wait_for(r"Desk page", START_TIMEOUT_S)
        demo.process.send_signal(signal.SIGTERM)
        assert demo.process.wait(30) == 0
        demo.wait_for(r"\[demo\] stopped", 5)
    finally:
        demo.stop()
