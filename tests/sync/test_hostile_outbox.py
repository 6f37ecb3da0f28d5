"""The outbox against a hostile or failing backend (issue 13): a 4xx whose text echoes the request leaves
no ID number in the database (item 8: the error is stored classified and masked), and an event the
backend keeps answering 5xx is parked after a bounded number of attempts while every event behind it
gets through, kept and shown in the sync status (``sync --status``), until the operator retries it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.errors import BackendUnavailableError
from simulators.backends.server import MockBackends
from sync.syncer import PARK_AFTER_ATTEMPTS, Syncer
from tests.sync.helpers import open_store
from tests.sync.test_syncer import TOKEN, insurance_events, real_uploader

ROOT = Path(__file__).resolve().parents[2]


def raw_bytes(folder: Path) -> bytes:
    """Everything SQLite has on disk for the store: the file, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in folder.glob("agent.sqlite3*"))


def test_a_4xx_that_echoes_the_request_leaves_no_id_number_in_the_database(tmp_path):
    with open_store(tmp_path) as store:
        insurance_events(store, 3)
        numbers = [item.payload["id_number"] for item in store.outbox.pending(10)]
        with MockBackends(token=TOKEN) as backends:
            backends.set_faults(hostile="echo_4xx")
            report = Syncer(store, real_uploader(backends)).drain()
            assert report.remaining == 3 and report.error == "insurance: backend rejected (HTTP 422)"
            assert backends.events() == []  # nothing taken
        status = store.outbox.status()
        assert status.last_error == "insurance: backend rejected (HTTP 422)"
    stored = raw_bytes(tmp_path)
    for number in numbers:
        assert number.encode() not in stored


def test_a_rejected_receipt_reason_is_masked_before_it_is_stored(tmp_path):
    with open_store(tmp_path) as store:
        ids = insurance_events(store, 2)
        number = store.outbox.pending(1)[0].payload["id_number"]
        store.outbox.settle(rejected={ids[0]: f"no card for {number}"})
        assert number not in store.outbox.status().last_error
    assert number.encode() not in raw_bytes(tmp_path)


class PoisonedBackend:
    """The real uploader over loopback, except that the backend answers 503 to any batch holding one
    particular event (it crashes on it), as a backend with a bug does."""

    def __init__(self, backends: MockBackends, poison: str) -> None:
        self.inner = real_uploader(backends)
        self.poison = poison
        self.batches: list[list[str]] = []

    def upload(self, destination, events):
        self.batches.append([e["event_id"] for e in events])
        if any(e["event_id"] == self.poison for e in events):
            raise BackendUnavailableError(f"{destination}: HTTP 503")
        return self.inner.upload(destination, events)


def test_an_event_the_backend_keeps_failing_on_is_parked_and_the_others_get_through(tmp_path):
    with open_store(tmp_path) as store, MockBackends(token=TOKEN) as backends:
        ids = insurance_events(store, 6)
        uploader = PoisonedBackend(backends, poison=ids[0])
        syncer = Syncer(store, uploader, batch_size=10)
        reports = [syncer.drain() for _ in range(PARK_AFTER_ATTEMPTS + 1)]
        # Blocked (each batch holds the poison) until it has failed PARK_AFTER_ATTEMPTS times; then parked.
        assert all(r.delivered == 0 for r in reports[:PARK_AFTER_ATTEMPTS])
        assert reports[-1].parked == 1 and reports[-1].delivered == 5 and reports[-1].remaining == 0
        assert sorted(e["event_id"] for e in backends.events()) == sorted(ids[1:])
        status = store.outbox.status()
        assert (status.parked, status.pending, status.sent) == (1, 0, 5)
        assert status.parked_events[0]["event_id"] == ids[0]
        assert status.parked_events[0]["error"].startswith("parked: insurance: backend unavailable (HTTP 503)")
        # Parked: not offered again, not purged, until the operator retries it.
        sent_before = len(uploader.batches)
        syncer.drain()
        store.purge(retention_days=0)
        assert len(uploader.batches) == sent_before and store.outbox.state(ids[0]) == "parked"
        assert store.outbox.requeue_parked() == 1
        assert store.outbox.status().pending == 1


def test_an_outage_parks_nothing(tmp_path):
    with open_store(tmp_path) as store, MockBackends(token=TOKEN) as backends:
        insurance_events(store, 4)
        syncer = Syncer(store, real_uploader(backends), batch_size=10)
        backends.set_faults(error_rate=1.0)
        for _ in range(PARK_AFTER_ATTEMPTS + 3):
            assert syncer.drain().parked == 0
        backends.clear_faults()
        report = syncer.drain()
        assert report.delivered == 4 and store.outbox.status().parked == 0


def test_sync_status_shows_the_parked_event(tmp_path):
    with open_store(tmp_path) as store, MockBackends(token=TOKEN) as backends:
        ids = insurance_events(store, 2)
        syncer = Syncer(store, PoisonedBackend(backends, poison=ids[0]), batch_size=10, park_after=1)
        syncer.drain()
        syncer.drain()
        assert store.outbox.status().parked == 1
    env = {**os.environ, "CCCD_AGENT__STORE__PATH": str(tmp_path / "agent.sqlite3"),
           "CCCD_AGENT__STORE__KEY_FILE": str(tmp_path / "keys" / "store.key")}
    shown = subprocess.run([sys.executable, "-m", "agent", "sync", "--status", "--json"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60, check=True)
    status = json.loads(shown.stdout)
    assert status["parked"] == 1 and status["parked_events"][0]["event_id"] == ids[0]
    plain = subprocess.run([sys.executable, "-m", "agent", "sync", "--status"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60, check=True)
    assert ids[0] in plain.stdout
