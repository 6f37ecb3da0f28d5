"""The API served for real: it binds loopback only, whatever it is asked; the event stream delivers a
new result to a client as it happens; the server stops with its streams open."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from agent.api.app import create_api
from agent.api.server import LoopbackServer, bind_loopback, loopback_addresses
from agent.errors import ConfigError
from agent.settings import load_settings
from tests.api.conftest import TOKEN
from tests.api.desk_fakes import ID_HANG, make_desk, qr_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "*", "192.0.2.10", "10.1.2.3", "2001:db8::1", "8.8.8.8"])
def test_refuses_to_bind_anything_but_loopback(host):
    with pytest.raises(ConfigError) as caught:
        bind_loopback(host, 0)
    assert caught.value.key == "api.host"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_binds_loopback(host):
    sock = bind_loopback(host, 0)
    try:
        assert sock.getsockname()[0].startswith("127.") or sock.getsockname()[0] == "::1"
    finally:
        sock.close()


def test_every_address_of_the_name_must_be_loopback():
    assert all(address.startswith("127.") or address == "::1" for _f, address in loopback_addresses("localhost"))


def test_settings_refuse_a_non_loopback_host():
    with pytest.raises(ConfigError):
        load_settings(environ={"CCCD_AGENT__API__HOST": "0.0.0.0"})


def test_serve_command_refuses_a_non_loopback_host(tmp_path):
    env = {**os.environ, "CCCD_AGENT__API__HOST": "0.0.0.0", "CCCD_AGENT__STORE__PATH": str(tmp_path / "s.db")}
    done = subprocess.run([sys.executable, "-m", "agent", "serve", "--no-reader", "--no-camera"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 78  # EX_CONFIG
    assert "api.host" in done.stderr and "loopback" in done.stderr


def _outside_address() -> str | None:
    """This machine's address on a real interface, if it has one (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET: routing only decides the source address
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.fixture
def served(tmp_path):
    desk = make_desk(tmp_path)
    app = create_api(desk.service, token=TOKEN)
    server = LoopbackServer(app, port=0, on_stop=desk.service.hub.close).start_in_thread()
    yield desk, server
    server.stop()
    desk.close()


def test_running_server_is_reachable_on_loopback_only(served):
    _desk, server = served
    assert server.host == "127.0.0.1"
    response = httpx.get(f"{server.url}/api/status", headers={"X-Agent-Token": TOKEN}, timeout=5)
    assert response.status_code == 200
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback interface to try")
    with pytest.raises(OSError), socket.create_connection((outside, server.port), timeout=2):
        pass


def test_stream_delivers_a_new_result_and_ends_when_the_server_stops(served):
    desk, server = served
    received: list[tuple[str, dict]] = []
    connected = threading.Event()
    finished = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/results/stream", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=httpx.Timeout(10, read=20)) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    received.append((kind, json.loads(line[6:])))
                    connected.set()
        finished.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)  # the current reader state comes first
    assert received[0][0] == "reader"
    started = time.monotonic()
    desk.service.verify_qr_text(qr_text())
    deadline = time.monotonic() + 10
    while not any(kind == "result" for kind, _ in received) and time.monotonic() < deadline:
        time.sleep(0.01)
    result = next(data for kind, data in received if kind == "result")
    assert result["identity"]["id_number"] == ID_HANG
    assert time.monotonic() - started < 5
    server.stop()
    assert finished.wait(10), "the stream did not end when the server stopped"
