"""The wiring of a desk (agent.wiring.production) and ``python -m agent serve``: the real store, syncer, backend
clients and audit log wired around the desk service against the mock backends; the exam roster kept
for offline check-in from the start; the status the page shows; serve started and stopped by signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from agent.audit import verify_log
from agent.models import Verdict
from agent.settings import load_settings
from agent.wiring.production import build_agent
from simulators.backends.data import build_world
from simulators.backends.server import MockBackends
from tests.serve_process import serve

ROOT = Path(__file__).resolve().parents[2]
BACKEND_TOKEN = "app-test-token"


@pytest.fixture(scope="module")
def world():
    return build_world(11, today=date.today(), population=400, sessions=2, session_size=40)


@pytest.fixture
def backends(world):
    with MockBackends(token=BACKEND_TOKEN, world=world) as running:
        yield running


def settings_for(tmp_path: Path, backends: MockBackends, profile: str):
    return load_settings(environ={}, overrides={
        "site": {"profile": profile, "operator": "thu-ky-02", "site_id": "test-site"},
        "backends": {"insurance_url": backends.insurance_url, "licensing_url": backends.licensing_url,
                     "token": BACKEND_TOKEN, "retries": 0, "connect_timeout_s": 0.5, "read_timeout_s": 1.0,
                     "breaker_failures": 1, "breaker_reset_s": 0.3},
        "store": {"path": str(tmp_path / "agent.sqlite3"), "key_file": str(tmp_path / "keys" / "store.key")},
        "trust": {"csca_dir": str(tmp_path / "trust")},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        "sync": {"interval_s": 0.2},
        "qr": {"camera": ""},
    })


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_exam_desk_keeps_the_roster_offline_and_syncs_check_ins(tmp_path, backends, world):
    agent = build_agent(settings_for(tmp_path, backends, "exam"), use_pcsc=False, use_camera=False, token="t")
    try:
        agent.start()
        wait_for(lambda: agent.store.rosters.info() is not None)  # downloaded at start
        session = min(world.sessions.values(), key=lambda s: s.exam_date)
        first, second = session.candidates[0], session.candidates[1]

        online = agent.service.verify_manual(first.id_number).result
        assert online.verdict is Verdict.VERIFIED and online.checks[0].details["candidate_no"] == first.candidate_no
        wait_for(lambda: any(e.get("event_id") == online.result_id for e in backends.events()))

        backends.set_faults(down=True)
        offline = agent.service.verify_manual(second.id_number).result
        assert offline.verdict is Verdict.VERIFIED and offline.checks[0].from_cache
        status = agent.status()
        assert status["backend"]["state"] == "offline"
        assert status["readers"]["state"] == "disabled" and status["camera"]["state"] == "disabled"
        assert status["sync"]["pending"] == 1

        backends.clear_faults()
        agent.sync_thread.wake()
        wait_for(lambda: agent.store.outbox.status().pending == 0, timeout=15)
        assert agent.status()["backend"]["state"] == "online"
        delivered = [e for e in backends.events() if e.get("event_id") == offline.result_id]
        assert len(delivered) == 1
    finally:
        agent.close()
    report = verify_log(tmp_path / "audit.jsonl", None)
    assert report.ok and report.actions["verification"] == 2
    assert report.actions["agent_started"] == 1 and report.actions["agent_stopped"] == 1
    assert report.operators == {"thu-ky-02": 4}


def test_serve_prints_the_page_address_and_stops_on_sigint(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "CCCD_AGENT__STORE__PATH": str(tmp_path / "agent.sqlite3"),
           "CCCD_AGENT__STORE__KEY_FILE": str(tmp_path / "store.key"),
           "CCCD_AGENT__TRUST__CSCA_DIR": str(tmp_path / "trust"),
           "CCCD_AGENT__AUDIT__PATH": str(tmp_path / "audit.jsonl")}
    with serve(env, "serve-token") as served:
        assert served.profile == "clinic"
        response = served.status("serve-token")
        assert response.status_code == 200 and response.json()["site_profile"] == "clinic"
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(20) == 0
    report = verify_log(tmp_path / "audit.jsonl", None)
    assert report.ok and report.actions == {"agent_started": 1, "agent_stopped": 1}


def test_serve_prints_openapi(tmp_path):
    env = {**os.environ, "CCCD_AGENT__STORE__PATH": str(tmp_path / "agent.sqlite3"),
           "CCCD_AGENT__STORE__KEY_FILE": str(tmp_path / "store.key"),
           "CCCD_AGENT__TRUST__CSCA_DIR": str(tmp_path / "trust"),
           "CCCD_AGENT__AUDIT__PATH": str(tmp_path / "audit.jsonl")}
    done = subprocess.run([sys.executable, "-m", "agent", "serve", "--print-openapi", "--no-reader", "--no-camera"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"/api/verify/manual"' in done.stdout
